"""WebSocket streams through a real server: snapshot then numbered deltas, filters,
subscribe/unsubscribe on the multiplexed endpoint, bad ops, and slow clients dropped.

Every test that can runs twice: on the daemon's own port, and on the port of the fan-out
worker processes ([api.fanout], `perpd.api.fanout`), which must serve the same channels
the same way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import websockets

from perpd.model import Order, OrderStatus, OrderType, Side
from perpd.portfolio import LocalBook
from tests.polling import eventually
from api_support import TOKENS, Api, same, start_api, stop_api, write_config

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["daemon", "fanout"])
async def api(request: pytest.FixtureRequest, tmp_path: Path, socket_dir: Path, tokens_env: None) -> AsyncIterator[Api]:
    running = await start_api(write_config(tmp_path, socket_dir / "run" / "perpd.sock"))
    try:
        if request.param == "fanout":
            await running.serve_fanout()
        yield running
    finally:
        await stop_api(running)

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


async def test_a_subscription_may_take_some_of_its_channels_topics(api: Api) -> None:
    async with websockets.connect(f"{api.ws_url}/markets?symbols=BTC&topics=book", additional_headers=AUTH) as ws:
        await recv(ws, type_="snapshot")
        topics = {(await recv(ws, type_="update"))["topic"] for _ in range(20)}
        await ws.send(json.dumps({"op": "subscribe", "channel": "markets", "topics": ["book", "gossip"], "id": 4}))
        error = await recv(ws, type_="error")
        await ws.send(json.dumps({"op": "ping"}))
        await recv(ws, type_="pong")
        assert (await asyncio.wait_for(recv(ws, type_="update"), 10))["topic"] == "book"  # the refused op left the old subscription
        await ws.send(json.dumps({"op": "subscribe", "channel": "markets", "account": "nobody", "id": 5}))
        assert "nobody" in (await recv(ws, type_="error"))["error"]["message"]
        assert (await asyncio.wait_for(recv(ws, type_="update"), 10))["topic"] == "book"  # so did this one
    assert topics == {"book"}  # the sim trades BTC every step: without the filter, trades and tickers come too
    assert error["id"] == 4 and error["error"]["details"] == {"field": "topics"}
    assert "no topic 'gossip'" in error["error"]["message"]


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
    async with websockets.connect(f"{api.ws_url}/orders", additional_headers=AUTH, max_queue=1) as ws:
        await recv(ws)
        # Bursts of more than the inbox holds, published synchronously, while the client
        # reads nothing. On the daemon's port the first burst overflows the inbox; a
        # fan-out worker first fills the socket's buffers (megabytes on loopback), then
        # its inbox overflows the same way.
        for _ in range(200):
            for _ in range(MAX_BEHIND + 1):
                engine.bus.publish("orders", order, key=order.client_id)
            await asyncio.sleep(0.02)
            if ws.protocol.close_rcvd is not None:
                break
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    async with api.client() as http:
        assert (await http.get("/api/v1/status")).status_code == 200


async def test_a_slow_reader_gets_the_latest_book_not_a_backlog_and_is_not_dropped(api: Api) -> None:
    engine = api.daemon.engine
    book = LocalBook("sim", "ZZZ-PERP")
    async with websockets.connect(f"{api.ws_url}/markets?symbols=ZZZ", additional_headers=AUTH, max_queue=1, close_timeout=1) as ws:
        await recv(ws)  # the snapshot
        # Far more book updates than the socket buffers hold, while the client reads nothing.
        for burst in range(10):
            for n in range(1_000):
                book.seq = burst * 1_000 + n
                engine.bus.publish("book", book, key="sim:ZZZ-PERP")
            await asyncio.sleep(0.01)
        seqs = [(await recv(ws, topic="book"))["data"]["seq"]]
        while seqs[-1] != book.seq:
            seqs.append((await recv(ws, topic="book"))["data"]["seq"])
    assert seqs == sorted(seqs)
    # The latest book when the client can take one, not the 10,000 updates queued (a queue
    # would have closed it with 1013 past 2,000). How many it gets depends on the socket
    # buffers and the machine: a fan-out worker sends as fast as the client reads.
    assert len(seqs) < 5_000


@pytest.mark.parametrize("api", ["daemon"], indirect=True)  # the fan-out serves TCP only
async def test_websockets_work_on_the_unix_socket_without_a_token(api: Api) -> None:
    async with websockets.unix_connect(str(api.socket), "ws://localhost/ws/v1/positions") as ws:
        snapshot = await recv(ws)
    assert snapshot["channel"] == "positions"


async def test_ws_clients_are_counted_in_status_and_metrics(api: Api) -> None:
    endpoint = "fanout:positions" if api.ws_base else "positions"
    async with websockets.connect(f"{api.ws_url}/positions", additional_headers=AUTH) as ws, api.client("reader") as http:
        await recv(ws)
        # A fan-out worker reports its clients to the daemon every second.
        async def counted() -> dict[str, Any] | None:
            status = (await http.get("/api/v1/status")).json()
            return status if status["ws_clients"] == 1 else None

        status = await eventually(counted, what="the client counted", timeout_secs=10)
        metrics = (await http.get("/metrics")).text
    assert status["ws_clients"] == 1
    assert f'perpd_ws_clients{{endpoint="{endpoint}"}} 1.0' in metrics


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
