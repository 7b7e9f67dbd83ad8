"""`perpd onboard` for Hyperliquid: a new agent (API) wallet, approved by the master wallet.

The master key signs `approveAgent` for a freshly generated agent key (and, when the
account opts in with `builder_address` + `builder_fee_tenths_bp`, `approveBuilderFee`),
as the official SDK's `Exchange.approve_agent` does. The master key is used for those
signatures only: it is not stored, not sent, not kept in anything this returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import eth_account
import httpx
from hyperliquid.utils.signing import sign_agent, sign_approve_builder_fee
from pydantic import SecretStr

from perpd.errors import AuthError, InvalidRequest
from venues.hyperliquid.config import HyperliquidAccountConfig, HyperliquidVenueConfig
from venues.hyperliquid.errors import action_error, http_error, transport_error
from venues.hyperliquid.transport import MAINNET_URL, TESTNET_URL

DEFAULT_AGENT_NAME = "perpd"


def _post_action(url: str, action: dict[str, Any], signature: dict[str, Any], nonce: int, timeout_secs: float) -> Any:
    body = {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None}
    try:
        response = httpx.post(f"{url.rstrip('/')}/exchange", json=body, timeout=timeout_secs)
    except httpx.HTTPError as exc:
        raise transport_error(exc) from exc
    if response.status_code != 200:
        raise http_error(response.status_code, response.text, retry_after=response.headers.get("retry-after"))
    answer = response.json()
    if answer.get("status") != "ok":
        raise action_error(str(answer.get("response")))
    return answer


def onboard(
    *,
    account: str,
    venue_name: str,
    venue: HyperliquidVenueConfig,
    current: HyperliquidAccountConfig | None,
    master: SecretStr,
    store: Callable[[str, SecretStr], str],
    options: Mapping[str, Any],
    say: Callable[[str], None],
) -> str:
    """Approve a new agent for the master wallet; store its key; return the account's TOML.

    Options: `agent_name` (default "perpd"; approving a name again replaces that agent),
    `builder` + `builder_fee` (tenths of a bp), else the account's own builder settings."""
    try:
        wallet = eth_account.Account.from_key(master.get_secret_value())
    except (ValueError, TypeError):
        raise AuthError("hyperliquid: the master key is not an Ethereum private key", venue="hyperliquid") from None
    master_address = wallet.address
    if current is not None and current.account_address.lower() != master_address.lower():
        raise InvalidRequest(f"accounts.{account}.account_address is {current.account_address}, "
                             f"but the master key given is {master_address}'s")
    is_mainnet = venue.network == "mainnet"
    url = venue.rest_url or (MAINNET_URL if is_mainnet else TESTNET_URL)
    agent = eth_account.Account.create()
    name = str(options.get("agent_name") or DEFAULT_AGENT_NAME)
    nonce = int(time.time() * 1000)
    action = {"type": "approveAgent", "agentAddress": agent.address, "agentName": name, "nonce": nonce}
    signature = sign_agent(wallet, action, is_mainnet)
    _post_action(url, action, signature, nonce, venue.timeout_secs)
    say(f"approved agent {agent.address} ({name!r}) for {master_address} on {url}")

    builder = options.get("builder") or (current.builder_address if current else None)
    fee = options.get("builder_fee")
    fee_tenths = int(fee) if fee is not None else (current.builder_fee_tenths_bp if current else None)
    if builder and fee_tenths:
        nonce += 1
        rate = f"{Decimal(fee_tenths) / 1000}%"  # tenths of a bp as a percentage: 10 -> "0.01%"
        fee_action = {"type": "approveBuilderFee", "maxFeeRate": rate, "builder": str(builder).lower(), "nonce": nonce}
        _post_action(url, fee_action, sign_approve_builder_fee(wallet, fee_action, is_mainnet), nonce, venue.timeout_secs)
        say(f"approved a builder fee of up to {rate} for {builder}")

    reference = store(f"{account}-agent", SecretStr(agent.key.to_0x_hex()))
    lines = [
        f"[accounts.{account}]",
        f'venue = "{venue_name}"',
        f'account_address = "{master_address}"',
        f'signer = "{reference}"                  # agent {agent.address}',
    ]
    if builder and fee_tenths:
        lines += [f'builder_address = "{builder}"', f"builder_fee_tenths_bp = {fee_tenths}"]
    return "\n".join(lines)
