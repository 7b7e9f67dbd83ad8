"""`perpd onboard` for Lighter: a new API key, registered by the account owner's Ethereum key.

What lighter-sdk's `examples/system_setup.py` does: find the account of the owner's
address (`accountsByL1Address`; or the account_index given or configured), make an API
key pair, and send a ChangePubKey (tx type 8) for the chosen key index, signed by the
new key and, over Lighter's "Register Lighter Account" text, by the owner's Ethereum key;
then check `apikeys` shows the new public key there. The Ethereum key is used for that one
signature: it is not stored, not sent, not kept in anything this returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import eth_account
import httpx
from pydantic import SecretStr

from perpd.errors import AuthError, InvalidRequest, VenueRejected
from venues.lighter.config import LighterAccountConfig, LighterVenueConfig
from venues.lighter.constants import MAINNET_CHAIN_ID, MAINNET_REST, TESTNET_CHAIN_ID, TESTNET_REST
from venues.lighter.errors import map_transport
from venues.lighter.signing import LighterSigner, SignerPool, create_api_key

FIRST_FREE_INDEX = 3  # 0, 1 and 2 belong to Lighter's own apps


def _get(http: httpx.Client, path: str, **params: Any) -> Any:
    try:
        response = http.get(path, params=params)
    except httpx.HTTPError as exc:
        raise map_transport(exc, sent=False) from exc
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or body.get("code") != 200:
        raise VenueRejected(f"lighter: GET {path} answered {response.status_code}: {response.text[:200]}", venue="lighter")
    return body


def onboard(
    *,
    account: str,
    venue_name: str,
    venue: LighterVenueConfig,
    current: LighterAccountConfig | None,
    master: SecretStr,
    store: Callable[[str, SecretStr], str],
    options: Mapping[str, Any],
    say: Callable[[str], None],
) -> str:
    """Register a new API key for the owner's account; store it; return the account's TOML.

    Options: `account_index` (default: the configured one, else the owner's master account),
    `key_index` (default: the lowest free index from 3)."""
    try:
        owner = eth_account.Account.from_key(master.get_secret_value()).address
    except (ValueError, TypeError):
        raise AuthError("lighter: the owner's key is not an Ethereum private key", venue="lighter") from None
    testnet = venue.network == "testnet"
    url = venue.rest_url or (TESTNET_REST if testnet else MAINNET_REST)
    chain_id = venue.chain_id or (TESTNET_CHAIN_ID if testnet else MAINNET_CHAIN_ID)
    with httpx.Client(base_url=url, timeout=venue.timeout_secs) as http:
        index = options.get("account_index")
        if index is None:
            index = current.account_index if current else min(
                a["index"] for a in _get(http, "/api/v1/accountsByL1Address", l1_address=owner)["sub_accounts"])
        index = int(index)
        taken = {k["api_key_index"] for k in _get(http, "/api/v1/apikeys", account_index=index)["api_keys"]}
        key = options.get("key_index")
        if key is None:
            key = next(i for i in range(FIRST_FREE_INDEX, 255) if i not in taken and not (
                current and any(k.index == i for k in current.api_keys)))
        key = int(key)
        if not 0 <= key <= 254:
            raise InvalidRequest(f"key index {key}: Lighter's API key indices are 0 .. 254")
        private, public = create_api_key()
        nonce = _get(http, "/api/v1/nextNonce", account_index=index, api_key_index=key)["nonce"]
        pool = SignerPool(1)
        try:
            signer = LighterSigner(pool, url=url, chain_id=chain_id, account_index=index, keys={key: SecretStr(private)})
            tx = signer.change_pub_key_sync(key=key, nonce=nonce, public_key=public, eth_private_key=master)
        finally:
            pool.close()
        try:
            response = http.post("/api/v1/sendTx", data={"tx_type": tx.tx_type, "tx_info": tx.tx_info})
        except httpx.HTTPError as exc:
            raise map_transport(exc, sent=True) from exc
        answer = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if answer.get("code") != 200:
            raise VenueRejected(f"lighter: the key registration was refused: {response.text[:300]}", venue="lighter",
                                code=answer.get("code"))
        shown = _get(http, "/api/v1/apikeys", account_index=index, api_key_index=key)["api_keys"]
        if [k["public_key"] for k in shown] != [public.removeprefix("0x")]:
            raise VenueRejected(f"lighter: key {key} of account {index} does not show the new key yet: "
                                f"{json.dumps(shown)[:200]}", venue="lighter")
    say(f"registered API key {key} of account {index} (owner {owner}) on {url}")
    reference = store(f"{account}-key-{key}", SecretStr(private))
    keys = [f'{{ index = {k.index}, secret = "{k.secret}" }}' for k in (current.api_keys if current else ())
            if k.index != key]
    keys.append(f'{{ index = {key}, secret = "{reference}" }}')
    return "\n".join([
        f"[accounts.{account}]",
        f'venue = "{venue_name}"',
        f"account_index = {index}",
        f"api_keys = [{', '.join(keys)}]",
    ])
