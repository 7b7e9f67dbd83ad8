"""The emulator's /stream: hello, subscription errors, auth, and txs sent over the socket."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import orjson
import pytest
import websockets
from lighter_support import registered, serve
from pydantic import SecretStr

from perpd.clock import SystemClock
from perpd.errors import AuthError
from venues.lighter.emulator import create_app
from venues.lighter.ratelimit import tier_of
from venues.lighter.signing import LighterSigner, SignerPool
from venues.lighter.transport import LighterTransport

pytestmark = pytest.mark.anyio
ACCOUNT, KEY = 3003, 5


@pytest.fixture
async def url(api_key: str) -> AsyncIterator[str]:
    async with serve(create_app(seed=3, api_keys=registered(api_key, ACCOUNT, KEY))) as base:
        yield base


@pytest.fixture
def signer(url: str, api_key: str) -> Any:
    pool = SignerPool(1)
    yield LighterSigner(pool, url=url, chain_id=300, account_index=ACCOUNT, keys={KEY: SecretStr(api_key)})
    pool.close()


async def frames(ws: Any, *messages: dict[str, Any], count: int) -> list[dict[str, Any]]:
    for message in messages:
        await ws.send(orjson.dumps(message).decode())
    out = []
    with anyio.fail_after(10):
        while len(out) < count:
            frame = json.loads(await ws.recv())
            if not str(frame.get("type", "")).startswith("update/"):  # replies only, not the feed
                out.append(frame)
    return out


async def test_the_hello_and_subscription_errors_have_lighters_shapes(url: str) -> None:
    async with websockets.connect(url.replace("http", "ws") + "/stream") as ws:
        (hello,) = await frames(ws, count=1)
        assert hello["type"] == "connected" and hello["session_id"]
        replies = await frames(
            ws,
            {"type": "subscribe", "channel": "market_stats/0"},
            {"type": "subscribe", "channel": "market_stats/0"},
            {"type": "subscribe", "channel": "no_such_thing/0"},
            {"type": "unsubscribe", "channel": "order_book/0"},
            {"type": "ping"},
            count=5,
        )
        assert replies[0]["type"] == "subscribed/market_stats" and replies[0]["channel"] == "market_stats:0"
        assert replies[1] == {"error": {"code": 30003, "message": "Already Subscribed to : market_stats:0"}}
        assert replies[2]["error"]["code"] == 30005
        assert replies[3]["error"]["code"] == 30002
        assert replies[4] == {"type": "pong"}


async def test_private_channels_need_a_valid_token_for_their_own_account(url: str, signer: Any) -> None:
    token = await signer.auth_token(key=KEY, deadline_s=int(time.time()) + 600)
    async with websockets.connect(url.replace("http", "ws") + "/stream") as ws:
        await frames(ws, count=1)
        replies = await frames(
            ws,
            {"type": "subscribe", "channel": f"account_all_orders/{ACCOUNT}"},
            {"type": "subscribe", "channel": f"account_all_orders/{ACCOUNT + 1}", "auth": token},
            {"type": "subscribe", "channel": f"account_all_orders/{ACCOUNT}", "auth": token[:-2] + "zz"},
            {"type": "subscribe", "channel": f"account_all_orders/{ACCOUNT}", "auth": token},
            count=4,
        )
        assert [r.get("error", {}).get("code") for r in replies[:3]] == [20013, 20013, 20013]
        assert replies[3]["type"] == "subscribed/account_all_orders" and replies[3]["orders"] == {}


async def test_txs_sent_over_the_socket_are_applied_and_answered(url: str, signer: Any) -> None:
    await signer.register()
    single = await signer.create_order(
        key=KEY, nonce=0, market_index=0, client_order_index=77, base_amount=1000, price=300000,
        is_ask=False, order_type=0, time_in_force=1, reduce_only=False, trigger_price=0, order_expiry=-1,
    )
    batch = [
        await signer.create_order(
            key=KEY, nonce=1 + i, market_index=0, client_order_index=78 + i, base_amount=1000, price=300000 - i,
            is_ask=False, order_type=0, time_in_force=1, reduce_only=False, trigger_price=0, order_expiry=-1,
        )
        for i in range(2)
    ]
    async with websockets.connect(url.replace("http", "ws") + "/stream") as ws:
        await frames(ws, count=1)
        replies = await frames(
            ws,
            {"type": "jsonapi/sendtx", "data": {"id": "a", "tx_type": single.tx_type,
                                                 "tx_info": json.loads(single.tx_info)}},
            {"type": "jsonapi/sendtxbatch", "data": {
                "id": "b", "tx_types": json.dumps([t.tx_type for t in batch]),
                "tx_infos": json.dumps([t.tx_info for t in batch])}},
            {"type": "jsonapi/sendtx", "data": {"id": "c", "tx_type": single.tx_type,
                                                 "tx_info": json.loads(single.tx_info)}},
            count=3,
        )
    assert (replies[0]["type"], replies[0]["id"], replies[0]["code"]) == ("jsonapi/sendtx", "a", 200)
    assert len(replies[1]["tx_hash"]) == 2
    assert replies[2]["error"]["code"] == 21104  # the same nonce again


async def test_private_rest_reads_without_a_token_are_auth_errors(url: str) -> None:
    transport = LighterTransport(rest_url=url, ws_url="", timeout_secs=5, tier=tier_of("premium"), clock=SystemClock())
    try:
        with pytest.raises(AuthError):
            await transport.get("/api/v1/accountActiveOrders", {"account_index": ACCOUNT})
    finally:
        await transport.close()
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.get("/api/v1/accountActiveOrders", params={"account_index": ACCOUNT},
                                  headers={"authorization": "1:2:3:abc"})
        assert answer.status_code == 401 and answer.json()["code"] == 20013
