"""Walk every recorded or documented Lighter sample: its endpoint, tx type or WS channel must
be served by the emulator, in the sample's shape.

tests/fixtures/lighter holds every file of ../shared/venues/lighter (checked here when
that folder is beside the repo). REST and WS samples are asked of an emulator where the
test account has traded (the same JSON types and every key the sample has, recursively;
maps keyed by market or asset id are compared by their first entry). The signed tx
samples (lighter-sdk's own signer, account 12345 key 5, chain 304) are sent as they are
to an emulator whose clock stands at their signing time, with their key registered.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import eth_account
import httpx
import orjson
import pytest
import websockets
from lighter_support import registered, serve

from perpd.clock import ManualClock
from tests import samples
from tests.samples import ShapeRules
from venues.lighter.emulator import create_app
from venues.lighter.signing import sdk_signer_module

sdk_signer_module()
import lighter  # noqa: E402 - after the muted first import

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lighter"
SHARED = Path(__file__).resolve().parents[4] / "shared" / "venues" / "lighter"
ACCOUNT, KEY = 9009, 3
OWNER = eth_account.Account.from_key("0x" + "9a" * 32).address
# Not an endpoint: signing oracles and vectors (checked in test_lighter_emulator_keys), and
# OpenAPI's OrderBookDepth schema, which no REST path of lighter-sdk 1.1.8 returns (its
# shape is the order_book WS payload's, checked here through ws_order_book.*).
NOT_ENDPOINTS = {"README.md", "signing_auth_token_oracle.nautilus.json", "signing_tx_oracle.nautilus.json",
                 "signing_vectors.sdk-1.1.8.generated.json", "rest_orderBook_depth.resp.schemafixture.nautilus.json"}
RULES = ShapeRules(
    placeholder="string",  # OpenAPI's placeholder value
    maps=frozenset({"orders", "positions", "trades", "assets", "market_stats"}),  # keyed by market / asset id
    none_may_be_absent=True,  # a key whose sample value is None may be absent
)


def shape_gaps(sample: Any, answer: Any, *, stringified: bool = False) -> list[str]:
    """Where `answer` lacks the shape of `sample` (tests/samples.py, with Lighter's rules)."""
    return samples.shape_gaps(sample, answer, stringified=stringified, rules=RULES)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_the_fixtures_hold_every_shared_sample() -> None:
    if SHARED.is_dir():
        assert sorted(p.name for p in SHARED.iterdir()) == sorted(p.name for p in FIXTURES.iterdir())


@pytest.fixture
async def world(api_key: str) -> AsyncIterator[tuple[str, str]]:
    """(url, auth token): an emulator where ACCOUNT holds a position and a resting order."""
    app = create_app(seed=21, accounts=f"{ACCOUNT}:{OWNER}:", api_keys=registered(api_key, ACCOUNT, KEY),
                     ws_ping_secs=0.5)
    async with serve(app) as url:
        client = lighter.SignerClient(url=url, account_index=ACCOUNT, api_private_keys={KEY: api_key})
        try:
            _, response, err = await client.create_market_order(0, 1, 1000, 400000, False)
            assert err is None and response.code == 200
            _, response, err = await client.create_order(0, 2, 500, 200000, False, 0, 1)
            assert err is None and response.code == 200
            token, err = client.create_auth_token_with_expiry(api_key_index=KEY)
            assert err is None
            yield url, token
        finally:
            await client.close()


REST: dict[str, tuple[str, dict[str, Any]]] = {
    "rest_account": ("/api/v1/account", {"by": "index", "value": ACCOUNT}),
    "rest_account_with_positions": ("/api/v1/account", {"by": "index", "value": ACCOUNT}),
    "rest_accountActiveOrders": ("/api/v1/accountActiveOrders", {"account_index": ACCOUNT, "market_id": 0}),
    "rest_accountInactiveOrders": ("/api/v1/accountInactiveOrders", {"account_index": ACCOUNT, "limit": 10}),
    "rest_accountLimits": ("/api/v1/accountLimits", {"account_index": ACCOUNT}),
    "rest_accountsByL1Address": ("/api/v1/accountsByL1Address", {"l1_address": OWNER}),
    "rest_assetDetails": ("/api/v1/assetDetails", {}),
    "rest_candles": ("/api/v1/candles", {"market_id": 0, "resolution": "1m", "start_timestamp": 0,
                                         "end_timestamp": 2**42, "count_back": 10}),
    "rest_candles_null": ("/api/v1/candles", {"market_id": 2, "resolution": "1w", "start_timestamp": 0,
                                              "end_timestamp": 1, "count_back": 10}),
    "rest_funding-rates": ("/api/v1/funding-rates", {}),
    "rest_fundings": ("/api/v1/fundings", {"market_id": 0, "resolution": "1h", "start_timestamp": 0,
                                           "end_timestamp": 2**42, "count_back": 10}),
    "rest_nextNonce": ("/api/v1/nextNonce", {"account_index": ACCOUNT, "api_key_index": KEY}),
    "rest_orderBookDetails": ("/api/v1/orderBookDetails", {"market_id": 0}),
    "rest_orderBookOrders": ("/api/v1/orderBookOrders", {"market_id": 0, "limit": 1}),
    "rest_orderBooks": ("/api/v1/orderBooks", {}),
    "rest_recentTrades": ("/api/v1/recentTrades", {"market_id": 0, "limit": 10}),
    "rest_root_status": ("/", {}),
    "rest_trades": ("/api/v1/trades", {"sort_by": "timestamp", "limit": 10, "account_index": ACCOUNT}),
}


async def test_every_rest_sample_is_served_in_its_shape(world: tuple[str, str]) -> None:
    url, token = world
    gaps: dict[str, list[str]] = {}
    async with httpx.AsyncClient(base_url=url, headers={"authorization": token}) as http:
        for path in sorted(FIXTURES.glob("rest_*.resp.*.json")):
            if path.name in NOT_ENDPOINTS or path.name.startswith("rest_sendTx"):
                continue  # sendTx answers: test_every_signed_tx_sample_is_served
            route, params = REST[path.name.split(".")[0]]
            answer = await http.get(route, params=params)
            assert answer.status_code == 200, (path.name, answer.text)
            if found := shape_gaps(load(path.name), answer.json(), stringified=".ccxt." in path.name):
                gaps[path.name] = found
        request = load("rest_accountActiveOrders.req.generated.json")  # the SDK's request, our account
        answer = await http.get(request.get("path", "/api/v1/accountActiveOrders"),
                                params={"account_index": ACCOUNT})
        assert answer.status_code == 200
    assert not gaps, json.dumps(gaps, indent=1)


def signing_time_app() -> Any:
    """An emulator whose clock stands when the samples were signed, their key registered."""
    vectors = load("signing_vectors.sdk-1.1.8.generated.json")
    first = json.loads(vectors["create_order_limit_gtt_bid"]["tx_info"])
    clock = ManualClock(first["ExpiredAt"] - 60_000)
    return create_app(seed=5, clock=clock, background=False, api_keys=f"12345:5={vectors['_meta']['api_public_key']}")


async def test_every_signed_tx_sample_is_served() -> None:
    """Each tx_info sample is verified and executed (a refusal is the book's, not the tx's)."""
    app = signing_time_app()
    emulator = app.state.lighter
    answers: dict[str, Any] = {}
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        for path in sorted(FIXTURES.glob("tx_info.*.json")):
            info = load(path.name)
            kind = {"L2CreateOrder": 14, "L2CancelOrder": 15, "L2CancelAllOrders": 16, "L2ModifyOrder": 17,
                    "L2UpdateLeverage": 20, "L2CreateGroupedOrders": 28}[path.name.split(".")[1]]
            emulator.exchange.nonces[(12345, 5)] = info["Nonce"]  # each was signed with its own nonce
            answer = await http.post("/api/v1/sendTx", data={"tx_type": kind, "tx_info": json.dumps(info)})
            body = answer.json()
            answers[path.name] = body
            assert answer.status_code in (200, 400), (path.name, body)
            assert body["code"] not in (21120, 21136, 21501, 21505), (path.name, body)  # verified and known
    assert answers["tx_info.L2CreateGroupedOrders.otoco.generated.json"]["code"] == 200


@pytest.mark.parametrize("sample", ["rest_sendTx.req.generated.json", "rest_sendTxBatch.req.generated.json"])
async def test_the_sdk_send_forms_are_served_in_the_answers_shape(sample: str) -> None:
    app = signing_time_app()
    form = load(sample)["form_fields"]
    infos = [form["tx_info"]] if "tx_info" in form else json.loads(form["tx_infos"])
    app.state.lighter.exchange.nonces[(12345, 5)] = json.loads(infos[0])["Nonce"]
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(load(sample)["path"], data=form)
    assert answer.status_code == 200, answer.text
    if "tx_info" in form:
        assert not shape_gaps(load("rest_sendTx.resp.ccxt.json"), answer.json())
    else:
        assert len(answer.json()["tx_hash"]) == len(infos)


WS: dict[str, str] = {  # sample stem -> the channel asked
    "ws_account_all_assets": f"account_all_assets/{ACCOUNT}",
    "ws_account_all_positions": f"account_all_positions/{ACCOUNT}",
    "ws_account_all_trades": f"account_all_trades/{ACCOUNT}",
    "ws_account_orders": f"account_orders/0/{ACCOUNT}",
    "ws_candle": "candle/0/1m",
    "ws_height": "height",
    "ws_market_stats": "market_stats/0",
    "ws_market_stats_all": "market_stats/all",
    "ws_order_book": "order_book/0",
    "ws_ticker": "ticker/0",
    "ws_trade": "trade/0",
    "ws_user_stats": f"user_stats/{ACCOUNT}",
}


async def _next(ws: Any, wanted: str, secs: float = 10.0) -> dict[str, Any]:
    with anyio.fail_after(secs):
        while True:
            frame = orjson.loads(await ws.recv())
            if frame.get("type") == wanted:
                return frame


async def test_every_ws_sample_channel_and_frame_is_served_in_its_shape(world: tuple[str, str], api_key: str) -> None:
    url, token = world
    gaps: dict[str, list[str]] = {}
    async with websockets.connect(url.replace("http", "ws", 1) + "/stream") as ws:
        hello = orjson.loads(await ws.recv())
        assert not shape_gaps(load("ws_connected.ccxt.json"), hello)
        for path in sorted(FIXTURES.glob("ws_*.json")):
            stem, kind = path.name.split(".")[:2]
            if stem not in WS:
                continue
            channel = WS[stem]
            await ws.send(orjson.dumps({"type": "subscribe", "channel": channel, "auth": token}).decode())
            name = channel.split("/")[0]
            frame = await _next(ws, f"subscribed/{name}")
            if kind.startswith("update"):
                if name.startswith("account") or name in ("user_stats", "trade", "candle"):  # our trade makes it
                    client = lighter.SignerClient(url=url, account_index=ACCOUNT, api_private_keys={KEY: api_key})
                    _, _, err = await client.create_market_order(0, int(time.time() * 1000) % 10**9, 500, 400000, False)
                    await client.close()
                    assert err is None
                frame = await _next(ws, f"update/{name}", 20)
            await ws.send(orjson.dumps({"type": "unsubscribe", "channel": channel}).decode())
            await _next(ws, "unsubscribed")
            sample = load(path.name)
            if stem == "ws_order_book" and "empty" in kind:
                sample["order_book"] = {k: v for k, v in sample["order_book"].items() if k not in ("asks", "bids")}
            if found := shape_gaps(sample, frame):
                gaps[path.name] = found
        await ws.send(orjson.dumps({"type": "unsubscribe", "channel": "order_book/0"}).decode())
        not_subscribed = orjson.loads(await ws.recv())
        assert not shape_gaps(load("ws_error_not_subscribed.ccxt.json"), not_subscribed)
        for frame in load("ws_client_frames.examples.json"):  # the SDK's own frames are understood
            if frame["type"] == "subscribe" and "auth" in frame:
                frame = {**frame, "channel": f"account_all_orders/{ACCOUNT}", "auth": token}
            await ws.send(orjson.dumps(frame).decode())
        for channel in ("trade/0", "market_stats/all", f"account_all_orders/{ACCOUNT}"):  # quiet now
            await ws.send(orjson.dumps({"type": "unsubscribe", "channel": channel}).decode())
        server_ping = await _next(ws, "ping", 5)  # a quiet socket gets the server's ping
        assert server_ping == load("ws_ping.server.ccxt.json")
        request = load("ws_jsonapi_sendtx.req.generated.json")
        await ws.send(orjson.dumps(request).decode())
        reply = await _next(ws, "jsonapi/sendtx")
        assert reply["error"]["code"] == 21501  # signed in November for another clock: expired
    assert not gaps, json.dumps(gaps, indent=1)
