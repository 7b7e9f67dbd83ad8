"""WebSocket streams through a real server: snapshot then numbered deltas, filters,
subscribe/unsubscribe on the multiplexed endpoint, bad ops, and slow clients dropped."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import websockets

from perpd.model import Order, OrderStatus, OrderType, Side
from api_support import TOKENS, Api, same

pytestmark = pytest.mark.anyio

ORDER = {"account": "paper", "symbol": "BTC", "side": "buy", "size": "0.001", "price": "50000"}
AUTH = {"Authorization": f"Bearer {TOKENS['reader']}"}


async def recv(ws: Any, *, type_: str | None = None, channel: str | None = None, topic: str | None = None) -> dict[str, Any]:
    """The next frame matching the given fields (others, such as book updates, are skipped)."""
    while True:
        frame = json.loads(await ws.recv())
        if (type_ is None or frame.get("type") == type_) and (channel is None or frame.get("channel") == channel) and (
            topic is None or frame.get("topic") == topic
        ):
            return frame


async def test_the_orders_stream_starts_with_a_snapshot_then_numbered_updates(api: Api) -> None:
    async with api.client() as http:
        resting = (await http.post("/api/v1/orders", json=ORDER)).json()["orders"][0]
        async with websockets.connect(f"{api.ws_url}/orders?account=paper", additional_headers=AUTH) as ws:
            snapshot = await recv(ws)
            cancelled = (await http.delete(f"/api/v1/orders/{resting['client_id']}")).json()
            placed = (await http.post("/api/v1/orders", json={**ORDER, "price": "50001"})).json()["orders"][0]
            first = await recv(ws, type_="update")
            updates = [first]
            while updates[-1]["data"]["client_id"] != placed["client_id"] or updates[-1]["data"]["status"] != "open":
                updates.append(await recv(ws, type_="update"))
    assert {k: v for k, v in snapshot.items() if k != "data"} == {"type": "snapshot", "channel": "orders", "seq": 0}
    assert [same(o) for o in snapshot["data"]] == [same(resting)]
    assert [u["seq"] for u in updates] == list(range(1, len(updates) + 1))
    assert same(updates[0]["data"]) == same(cancelled)
    assert same(updates[-1]["data"]) == same(placed)  # the same JSON shape as the REST answer


async def test_the_orders_stream_filters_by_account(api: Api) -> None:
    async with api.client() as http, websockets.connect(f"{api.ws_url}/orders?account=spare", additional_headers=AUTH) as ws:
        assert (await recv(ws))["data"] == []
        await http.post("/api/v1/orders", json=ORDER)  # paper: filtered out
        spare = (await http.post("/api/v1/orders", json={**ORDER, "account": "spare"})).json()["orders"][0]
        update = await recv(ws, type_="update")
        while update["data"]["status"] != "open":
            update = await recv(ws, type_="update")
    assert update["data"]["account"] == "spare" and update["data"]["client_id"] == spare["client_id"]


async def test_the_markets_stream_sends_book_snapshots_then_book_updates_for_the_subscribed_symbol(api: Api) -> None:
    async with websockets.connect(f"{api.ws_url}/markets?symbols=ETH&depth=5", additional_headers=AUTH) as ws:
        snapshot = await recv(ws)
        book = await recv(ws, type_="update", topic="book")
        second = await recv(ws, type_="update", topic="book")
    assert snapshot["type"] == "snapshot" and snapshot["channel"] == "markets"
    assert {b["symbol"] for b in snapshot["data"]["books"]} <= {"ETH-PERP"}
    assert book["data"]["symbol"] == "ETH-PERP" and len(book["data"]["bids"]) <= 5
    assert Decimal(book["data"]["bids"][0]["price"]) < Decimal(book["data"]["asks"][0]["price"])
    assert second["seq"] > book["seq"] >= 1
    assert second["data"]["seq"] > book["data"]["seq"]  # the venue book's own sequence moves on


async def test_the_multiplexed_socket_subscribes_and_unsubscribes_channels(api: Api) -> None:
    async with websockets.connect(api.ws_url, additional_headers=AUTH) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channel": "positions", "id": 1}))
        positions = await recv(ws)
        await ws.send(json.dumps({"op": "subscribe", "channel": "account", "account": "paper", "id": 2}))
        account = await recv(ws, type_="snapshot")
        await ws.send(json.dumps({"op": "subscribe", "channel": "events", "id": 3}))
        events = await recv(ws, type_="snapshot")
        await ws.send(json.dumps({"op": "unsubscribe", "channel": "account", "id": 4}))
        gone = await recv(ws, type_="unsubscribed")
        await ws.send(json.dumps({"op": "ping", "id": 5}))
        pong = await recv(ws, type_="pong")
    assert positions == {"type": "snapshot", "channel": "positions", "seq": 0, "data": []}
    assert account["channel"] == "account"
    assert [b["account"] for b in account["data"]["balances"]] == ["paper"]
    assert Decimal(account["data"]["balances"][0]["equity"]) == 100_000
    assert events["channel"] == "events" and "trading_states" in events["data"]
    assert gone == {"type": "unsubscribed", "channel": "account", "id": 4}
    assert pong == {"type": "pong", "id": 5}


async def test_account_updates_arrive_after_a_fill(api: Api) -> None:
    async with api.client() as http, websockets.connect(f"{api.ws_url}/account?account=paper", additional_headers=AUTH) as ws:
        await recv(ws)
        r = await http.post("/api/v1/orders", json={"account": "paper", "symbol": "BTC", "side": "buy", "type": "market", "size": "0.001"})
        assert r.status_code == 201, r.text
        fill = await recv(ws, topic="fills")
        position = await recv(ws, topic="positions")
    assert fill["data"]["account"] == "paper" and fill["data"]["side"] == "buy"
    assert position["data"]["symbol"] == "BTC-PERP" and Decimal(position["data"]["size"]) == Decimal("0.001")


@pytest.mark.parametrize(
    ("op", "error_type", "text"),
    [
        ("{nope", "malformed_json", "malformed"),
        (json.dumps({"op": "subscribe", "channel": "gossip", "id": 9}), "invalid_request", "channel"),
        (json.dumps({"op": "dance"}), "invalid_request", "op"),
        (json.dumps({"op": "subscribe", "channel": "orders", "account": "nobody", "id": 9}), "invalid_request", "nobody"),
        (json.dumps({"op": "subscribe", "channel": "markets", "depth": 10**9}), "invalid_request", "depth"),
    ],
)
async def test_a_bad_op_gets_an_error_frame_and_the_socket_stays_open(api: Api, op: str, error_type: str, text: str) -> None:
    async with websockets.connect(api.ws_url, additional_headers=AUTH) as ws:
        await ws.send(op)
        error = await recv(ws, type_="error")
        await ws.send(json.dumps({"op": "ping"}))
        assert (await recv(ws, type_="pong"))["type"] == "pong"
    assert error["error"]["type"] == error_type
    assert text in error["error"]["message"]


async def test_a_per_channel_endpoint_serves_only_its_channel(api: Api) -> None:
    async with websockets.connect(f"{api.ws_url}/positions", additional_headers=AUTH) as ws:
        await recv(ws)
        await ws.send(json.dumps({"op": "subscribe", "channel": "orders", "id": 1}))
        error = await recv(ws, type_="error")
    assert "'positions' channel" in error["error"]["message"]


async def test_a_client_too_far_behind_is_closed_with_1013_and_the_daemon_goes_on(api: Api) -> None:
    from perpd.api.ws import MAX_BEHIND

    engine = api.daemon.engine
    order = Order("paper", "sim", "pd-x", "BTC-PERP", Side.BUY, OrderType.LIMIT, Decimal(1), OrderStatus.OPEN, price=Decimal(1))
    async with websockets.connect(f"{api.ws_url}/orders", additional_headers=AUTH) as ws:
        await recv(ws)
        # Published in one synchronous burst: the client's buffer overflows before it reads.
        for _ in range(MAX_BEHIND + 1):
            engine.bus.publish("orders", order, key=order.client_id)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    async with api.client() as http:
        assert (await http.get("/api/v1/status")).status_code == 200


async def test_websockets_work_on_the_unix_socket_without_a_token(api: Api) -> None:
    async with websockets.unix_connect(str(api.socket), "ws://localhost/ws/v1/positions") as ws:
        snapshot = await recv(ws)
    assert snapshot["channel"] == "positions"


async def test_ws_clients_are_counted_in_status_and_metrics(api: Api) -> None:
    async with websockets.connect(f"{api.ws_url}/positions", additional_headers=AUTH) as ws, api.client("reader") as http:
        await recv(ws)
        status = (await http.get("/api/v1/status")).json()
        metrics = (await http.get("/metrics")).text
    assert status["ws_clients"] == 1
    assert 'perpd_ws_clients{endpoint="positions"} 1.0' in metrics


async def test_the_fills_stream_sends_each_fill_and_funding_payment_as_it_is_journaled(api: Api) -> None:
    engine = api.daemon.engine
    exchange = engine.venues["sim"].engine
    async with api.client() as http, websockets.connect(f"{api.ws_url}/fills?account=paper", additional_headers=AUTH) as ws:
        assert (await recv(ws, type_="snapshot"))["data"] == {"fills": [], "payments": []}
        r = await http.post("/api/v1/orders", json={"account": "paper", "symbol": "BTC", "side": "buy", "type": "market", "size": "0.001"})
        assert r.status_code == 201, r.text
        fill = await recv(ws, topic="fills")
        assert fill["data"]["account"] == "paper" and fill["data"]["client_id"] == r.json()["orders"][0]["client_id"]
        exchange.step(exchange.now_ms + exchange.funding_interval_ms)  # a funding interval passes on the venue
        await engine.sync.resync("paper")  # where payments are fetched
        payment = await recv(ws, topic="payments")
        assert payment["data"]["account"] == "paper" and payment["data"]["symbol"] == "BTC-PERP"
        assert Decimal(payment["data"]["position"]) == Decimal("0.001")
    async with websockets.connect(f"{api.ws_url}/fills?account=paper", additional_headers=AUTH) as ws:
        snapshot = (await recv(ws, type_="snapshot"))["data"]
    assert [f["trade_id"] for f in snapshot["fills"]] == [fill["data"]["trade_id"]]
    assert payment["data"] in snapshot["payments"]
    async with websockets.connect(f"{api.ws_url}/fills?account=spare", additional_headers=AUTH) as ws:
        assert (await recv(ws, type_="snapshot"))["data"] == {"fills": [], "payments": []}
