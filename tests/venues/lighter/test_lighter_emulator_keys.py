"""The emulator's key lifecycle: only a key registered for an account signs for it.

ChangePubKey (signed by the new key and by the account owner's Ethereum key, as
lighter-sdk's change_api_key sends it) registers a key; `apikeys` and `nextNonce` show
it; an unregistered key, another account's key, a wrong owner or chain id are refused
with Lighter's codes. Signatures are checked with the emulator's own ECgFp5/Poseidon2
verifier against the official signer's outputs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import eth_account
import httpx
import pytest
from lighter_support import fixture, registered, serve

from venues.lighter.emulator import create_app
from venues.lighter.emulator import schnorr
from venues.lighter.emulator.txs import decode, message
from venues.lighter.signing import create_api_key, sdk_signer_module

sdk_signer_module()
import lighter  # noqa: E402 - after the muted first import

pytestmark = pytest.mark.anyio
OWNER_KEY = "0x" + "5c" * 32
OTHER_OWNER_KEY = "0x" + "6d" * 32
ACCOUNT, OTHER = 5005, 6006


def test_the_verifier_accepts_every_signed_sample_and_recomputes_its_hash() -> None:
    vectors = fixture("signing_vectors.sdk-1.1.8.generated.json")
    meta = vectors.pop("_meta")
    key = schnorr.PublicKey(bytes.fromhex(meta["api_public_key"][2:]))
    assert schnorr.public_key_of(bytes.fromhex(meta["api_private_key"][2:])) == key.encoded
    checked = 0
    for vector in vectors.values():
        if "tx_info" not in vector or vector["tx_type"] == 28:  # grouped orders: not emulated
            continue
        info = json.loads(vector["tx_info"])
        tx = decode(vector["tx_type"], vector["tx_info"], info["ExpiredAt"] - 1000)
        digest = message(tx, meta["chain_id"])
        assert schnorr.fp5_to_bytes(digest).hex() == vector["tx_hash"]
        assert key.verify(tx.signature, digest)
        assert not key.verify(tx.signature, message(tx, 300))  # another chain's hash
        tampered = bytearray(tx.signature)
        tampered[0] ^= 1
        assert not key.verify(bytes(tampered), digest)
        checked += 1
    assert checked == 14


@pytest.fixture
async def url() -> AsyncIterator[str]:
    owner = eth_account.Account.from_key(OWNER_KEY).address
    other = eth_account.Account.from_key(OTHER_OWNER_KEY).address
    async with serve(create_app(seed=4, accounts=f"{ACCOUNT}:{owner}:,{OTHER}:{other}:")) as base:
        yield base


async def in_thread(coro: Any) -> Any:
    """Run an SDK coroutine on its own loop and thread: the native signer does blocking HTTP."""
    return await anyio.to_thread.run_sync(lambda: asyncio.run(coro()))


async def change_api_key(url: str, account: int, index: int, private: str, public: str, eth_key: str) -> Any:
    async def flow() -> Any:
        client = lighter.SignerClient(url=url, account_index=account, api_private_keys={index: private})
        try:
            response, err = await client.change_api_key(eth_private_key=eth_key, new_pubkey=public, api_key_index=index)
            return response, err, client.check_client()
        finally:
            await client.close()

    return await in_thread(flow)


async def order(url: str, account: int, index: int, private: str, client_index: int) -> tuple[Any, Any]:
    client = lighter.SignerClient(url=url, account_index=account, api_private_keys={index: private})
    try:
        _, response, err = await client.create_order(0, client_index, 1000, 300000, False, 0, 1)
        return response, err
    finally:
        await client.close()


async def test_change_pub_key_registers_a_key_that_then_trades(url: str) -> None:
    private, public = create_api_key()
    response, err, check = await change_api_key(url, ACCOUNT, 3, private, public, OWNER_KEY)
    assert err is None and response.code == 200 and check is None
    async with httpx.AsyncClient(base_url=url) as http:
        keys = (await http.get("/api/v1/apikeys", params={"account_index": ACCOUNT})).json()["api_keys"]
        assert [(k["api_key_index"], k["public_key"], k["nonce"]) for k in keys] == [(3, public[2:], 1)]
        nonce = (await http.get("/api/v1/nextNonce", params={"account_index": ACCOUNT, "api_key_index": 3})).json()
        assert nonce == {"code": 200, "nonce": 1}
    response, err = await order(url, ACCOUNT, 3, private, 11)
    assert err is None and response.code == 200


async def test_a_key_nobody_registered_is_refused_with_invalid_public_key(url: str) -> None:
    private, _ = create_api_key()
    response, err = await order(url, ACCOUNT, 9, private, 12)
    assert response is None and "21136" in err


async def test_another_accounts_key_or_a_replaced_key_cannot_sign(url: str) -> None:
    mine, mine_public = create_api_key()
    theirs, theirs_public = create_api_key()
    assert (await change_api_key(url, ACCOUNT, 3, mine, mine_public, OWNER_KEY))[1] is None
    assert (await change_api_key(url, OTHER, 3, theirs, theirs_public, OTHER_OWNER_KEY))[1] is None
    response, err = await order(url, ACCOUNT, 3, theirs, 13)  # OTHER's key, signing as ACCOUNT
    assert response is None and "21120" in err
    fresh, fresh_public = create_api_key()
    assert (await change_api_key(url, ACCOUNT, 3, fresh, fresh_public, OWNER_KEY))[1] is None
    response, err = await order(url, ACCOUNT, 3, mine, 14)  # replaced at index 3
    assert response is None and "21120" in err
    response, err = await order(url, ACCOUNT, 3, fresh, 15)
    assert err is None and response.code == 200


async def test_only_the_owners_ethereum_key_registers_keys(url: str) -> None:
    private, public = create_api_key()
    with pytest.raises(lighter.ApiException) as refused:  # change_api_key lets send_tx's 400 through
        await change_api_key(url, ACCOUNT, 4, private, public, OTHER_OWNER_KEY)
    assert refused.value.status == 400 and refused.value.data.code == 21504
    async with httpx.AsyncClient(base_url=url) as http:
        keys = (await http.get("/api/v1/apikeys", params={"account_index": ACCOUNT, "api_key_index": 4})).json()
        assert keys == {"code": 200, "api_keys": []}


async def test_an_auth_token_must_be_signed_by_a_registered_key(url: str) -> None:
    private, _ = create_api_key()
    client = lighter.SignerClient(url=url, account_index=ACCOUNT, api_private_keys={8: private})
    token, err = client.create_auth_token_with_expiry(api_key_index=8)
    await client.close()
    assert err is None
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.get("/api/v1/accountActiveOrders", params={"account_index": ACCOUNT},
                                headers={"authorization": token})
    assert answer.status_code == 401 and answer.json()["code"] == 20013


async def test_a_signature_for_a_chain_the_emulator_does_not_accept_is_refused(api_key: str) -> None:
    app = create_app(seed=4, chain_ids="300", api_keys=registered(api_key, ACCOUNT, 3))
    async with serve(app) as base:
        response, err = await order(base, ACCOUNT, 3, api_key, 16)  # lighter-sdk signs for 304 here
    assert response is None and "21120" in err


async def test_an_unknown_l1_address_gets_a_fresh_account_and_the_demo_account_is_owned(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        address = eth_account.Account.create().address
        first = (await http.get("/api/v1/accountsByL1Address", params={"l1_address": address})).json()
        again = (await http.get("/api/v1/accountsByL1Address", params={"l1_address": address})).json()
        assert first == again and first["l1_address"] == address
        (account,) = first["sub_accounts"]
        assert account["l1_address"] == address.lower() and account["collateral"] == "100000.000000"
        demo = (await http.get("/api/v1/apikeys", params={"account_index": 1001})).json()["api_keys"]
        assert [k["api_key_index"] for k in demo] == [3, 4]
