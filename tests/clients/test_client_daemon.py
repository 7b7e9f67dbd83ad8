"""The Python client against a real daemon (`perpd run`, sim venue): typed results, typed
errors, idempotent placement, HTTP with tokens, lost answers, and WebSocket streams that
resubscribe after a gap or a dropped connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import websockets
from clients_support import TOKENS, RunningDaemon
from websockets.asyncio.client import unix_connect
from websockets.asyncio.server import unix_serve

from perpd.client import (
    AsyncClient,
    Client,
    DaemonUnreachable,
    Endpoint,
    Forbidden,
    Unauthorized,
)
from perpd.client.aio import AsyncSubscription
from perpd.client.results import Books, Positions, Status
from perpd.client.stream import MarketsSnapshot
from perpd.errors import Denied, InvalidRequest, NotFound, OutcomeUnknown
from perpd.model import Market, Order, OrderStatus, Side

FAR_BID = Decimal(60000)  # inside the 10 % price band, far from the ~65,000 market: rests


def test_reads_come_back_as_domain_models(daemon: RunningDaemon) -> None:
    with daemon.client() as perp:
        status = perp.status()
        markets = perp.markets()
        books = perp.order_book("btc", depth=3)
        positions = perp.positions()
        account = perp.account("paper")
    assert isinstance(status, Status) and set(status.accounts) == {"paper", "spare"}
    assert all(isinstance(m, Market) for m in markets) and {m.symbol for m in markets} >= {"BTC-PERP", "ETH-PERP"}
    assert isinstance(books, Books) and books.symbol == "BTC-PERP" and len(books.books[0].bids) == 3
    assert isinstance(books.books[0].bids[0].price, Decimal) and books.books[0].best_bid < books.books[0].best_ask
    assert isinstance(positions, Positions)
    assert account.config is not None and account.config["leverage"] == {"BTC-PERP": 5}


def test_an_order_placed_then_cancelled_is_typed_and_audited(daemon: RunningDaemon) -> None:
    with daemon.client() as perp:
        placed = perp.buy("0.001", "BTC", FAR_BID, account="paper", post_only=True)
        order = placed[0]
        assert isinstance(order, Order) and order.status is OrderStatus.OPEN and order.side is Side.BUY
        assert order.price == FAR_BID and order.size == Decimal("0.001")
        assert perp.order(order.client_id).client_id == order.client_id
        assert order.client_id in {o.client_id for o in perp.orders(account="paper", live=True)}
        cancelled = perp.cancel(order.client_id)
        audit = perp.events(client_id=order.client_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert [e.action for e in audit] == ["place", "cancel"] and {e.actor for e in audit} == {"local"}


def test_an_unknown_order_is_not_found(daemon: RunningDaemon) -> None:
    with daemon.client() as perp, pytest.raises(NotFound, match="no order with id"):
        perp.order("pd-does-not-exist")


def test_an_order_over_the_policy_limit_is_denied_naming_the_policy(daemon: RunningDaemon) -> None:
    with daemon.client() as perp, pytest.raises(Denied) as denied:
        perp.buy(1, "BTC", 65000, account="paper")
    assert denied.value.policy == "house" and denied.value.limit == "max_order_notional"


def test_an_invalid_order_is_an_invalid_request_naming_the_field(daemon: RunningDaemon) -> None:
    with daemon.client() as perp, pytest.raises(InvalidRequest) as invalid:
        perp.buy("-1", "BTC", 60000, account="paper")
    assert invalid.value.details["fields"][0]["field"] == "size"


def test_the_same_idempotency_key_places_one_order(daemon: RunningDaemon) -> None:
    with daemon.client() as perp:
        first = perp.sell("0.01", "ETH", 3800, account="spare", idempotency_key="clients-test-key-1")
        again = perp.sell("0.01", "ETH", 3800, account="spare", idempotency_key="clients-test-key-1")
        live = [o for o in perp.orders(account="spare", symbol="ETH", live=True) if o.price == 3800]
        perp.cancel_all(account="spare")
    assert [o.client_id for o in again] == [o.client_id for o in first]
    assert len(live) == 1


def test_no_daemon_is_daemon_unreachable(tmp_path: Path) -> None:
    with Client(socket=tmp_path / "none.sock") as perp, pytest.raises(DaemonUnreachable, match="no daemon is listening"):
        perp.status()


@contextlib.contextmanager
def silent_server(path: Path):  # type: ignore[no-untyped-def]
    """A Unix socket that reads a request and hangs up without answering: a lost answer."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join()
        server.close()


def test_a_lost_answer_to_an_order_is_an_unknown_outcome_carrying_the_key_to_retry_with(daemon: RunningDaemon) -> None:
    with silent_server(daemon.dir / "silent.sock") as path, Client(socket=path) as perp:
        with pytest.raises(OutcomeUnknown) as unknown:
            perp.buy("0.001", "BTC", 60000, account="paper", idempotency_key="lost-1")
        with pytest.raises(DaemonUnreachable):
            perp.status()  # a read that lost its answer changed nothing
    assert unknown.value.details == {"idempotency_key": "lost-1"}
    assert "may have taken effect" in unknown.value.message


def test_over_http_a_token_is_needed_and_its_scope_is_enforced() -> None:
    running = RunningDaemon(http=True)
    try:
        with Client(url=running.url, token=TOKENS["PERPD_TEST_TRADER"]) as trader:
            assert trader.status().accounts["paper"]["synced"]
            order = trader.buy("0.001", "BTC", 60000, account="paper")[0]
            assert trader.cancel(order.client_id).status is OrderStatus.CANCELLED
            with pytest.raises(NotFound):
                trader.order("nope")
        with Client(url=running.url, token=TOKENS["PERPD_TEST_READER"]) as reader:
            assert reader.orders(account="paper", limit=1)[0].client_id == order.client_id
            with pytest.raises(Forbidden):
                reader.buy("0.001", "BTC", 60000, account="paper")
            first = next(iter(reader.subscribe("orders", account="paper")))
            assert first.type == "snapshot"
        with Client(url=running.url, token="wrong-token") as stranger, pytest.raises(Unauthorized):
            stranger.status()
    finally:
        running.stop()


# --------------------------------------------------------------------------- streams


@pytest.mark.anyio
async def test_the_async_client_places_and_streams_orders_with_numbered_updates(daemon: RunningDaemon) -> None:
    async with AsyncClient(socket=daemon.socket) as perp, perp.subscribe("orders", account="spare") as stream:
        snapshot = await anext(stream)
        placed = (await perp.buy("0.001", "BTC", 60000, account="spare"))[0]
        await perp.cancel(placed.client_id)
        updates = []
        while not updates or updates[-1].data.status is not OrderStatus.CANCELLED:
            updates.append(await anext(stream))
    assert snapshot.type == "snapshot" and snapshot.seq == 0 and isinstance(snapshot.data, list)
    assert [u.seq for u in updates] == list(range(1, len(updates) + 1))
    assert all(u.topic == "orders" and u.data.client_id == placed.client_id for u in updates)


@contextlib.asynccontextmanager
async def proxy(upstream: Path, path: Path, *, drop_seq: int | None = None, close_after: int | None = None):  # type: ignore[no-untyped-def]
    """A WebSocket relay in front of the daemon that loses one update (`drop_seq`) or
    closes the client's connection as a slow consumer (1013) after `close_after` updates,
    once: the network misbehaving, not the daemon."""
    state = {"dropped": False, "closed": False}

    async def handle(client):  # type: ignore[no-untyped-def]
        async with unix_connect(str(upstream), "ws://localhost/ws/v1") as up:
            async def down() -> None:
                updates = 0
                async for frame in up:
                    message = json.loads(frame)
                    if message.get("type") == "update":
                        updates += 1
                        if message["seq"] == drop_seq and not state["dropped"]:
                            state["dropped"] = True
                            continue
                        if close_after is not None and updates > close_after and not state["closed"]:
                            state["closed"] = True
                            await client.close(code=1013, reason="slow consumer: resubscribe")
                            return
                    await client.send(frame)

            async def upward() -> None:
                async for frame in client:
                    await up.send(frame)

            tasks = [asyncio.create_task(down()), asyncio.create_task(upward())]
            with contextlib.suppress(websockets.ConnectionClosed):
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()

    async with unix_serve(handle, str(path)):
        yield state


async def _until_resync(stream: AsyncSubscription, limit: int = 200) -> list:
    seen = []
    async for message in stream:
        seen.append(message)
        if message.resync or len(seen) >= limit:
            break
    seen.append(await anext(stream))  # and the stream goes on after it
    return seen


@pytest.mark.anyio
async def test_a_missing_sequence_number_resubscribes_and_hands_on_a_fresh_snapshot(daemon: RunningDaemon) -> None:
    async with proxy(daemon.socket, daemon.dir / "gap.sock", drop_seq=2) as state:
        stream = AsyncSubscription(Endpoint(socket=daemon.dir / "gap.sock"), "markets", {"symbols": ["BTC"], "depth": 3})
        async with stream:
            seen = await _until_resync(stream)
    assert state["dropped"]
    assert [(m.type, m.seq, m.resync) for m in seen] == [
        ("snapshot", 0, False), ("update", 1, False), ("snapshot", 0, True), ("update", 1, False)]
    assert stream.protocol.gaps == 1 and isinstance(seen[2].data, MarketsSnapshot)


@pytest.mark.anyio
async def test_a_connection_dropped_as_a_slow_consumer_is_reopened_with_a_fresh_snapshot(daemon: RunningDaemon) -> None:
    async with proxy(daemon.socket, daemon.dir / "slow.sock", close_after=1) as state:
        stream = AsyncSubscription(Endpoint(socket=daemon.dir / "slow.sock"), "markets", {"symbols": ["ETH"]})
        async with stream:
            seen = await _until_resync(stream)
    assert state["closed"]
    assert [(m.type, m.seq, m.resync) for m in seen] == [
        ("snapshot", 0, False), ("update", 1, False), ("snapshot", 0, True), ("update", 1, False)]


def test_the_sync_subscription_streams_books_of_the_symbol_asked_for(daemon: RunningDaemon) -> None:
    with daemon.client() as perp, perp.subscribe("markets", symbols="SOL", depth=2) as stream:
        snapshot = stream.next(timeout_secs=10)
        book = next(m for m in stream if m.topic == "book")
    assert snapshot.type == "snapshot" and {b.symbol for b in snapshot.data.books} <= {"SOL-PERP"}
    assert book.data.symbol == "SOL-PERP" and len(book.data.bids) <= 2


def test_an_unknown_channel_is_refused_before_connecting(daemon: RunningDaemon) -> None:
    with daemon.client() as perp, pytest.raises(ValueError, match="no channel"):
        perp.subscribe("nope")
