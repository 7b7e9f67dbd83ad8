"""An EdgeX account session against the emulator: the account stream's orders carry
their cumulative fill and its fills their client id and a unique trade id; fills read
back with client ids; batch cancels; what EdgeX cannot do is refused locally; the
streams resync after gaps and reconnects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest
from edgex_support import account_config, edgex_world

from perpd.errors import InvalidRequest, NotSupported
from perpd.model import (
    BookUpdate,
    FillUpdate,
    MarginMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    Side,
    StreamGap,
    TimeInForce,
)
from tests.contract.helpers import eventually, new_client_id, next_matching, wait_for_status
from venues.base import Channel

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world() -> AsyncIterator[tuple[Any, Any, Any]]:
    async with edgex_world(seed=17) as world:
        yield world


def market(session: Any, side: Side, size: str) -> OrderRequest:
    return OrderRequest(new_client_id(session), "BTC-PERP", side, OrderType.MARKET, D(size), tif=TimeInForce.IOC)


async def far_limit(venue: Any, session: Any, side: Side = Side.BUY, size: str = "0.001") -> OrderRequest:
    mark = (await venue.fetch_ticker("BTC")).mark_price
    price = (mark * (D("0.8") if side is Side.BUY else D("1.2"))).quantize(D("0.1"))
    return OrderRequest(new_client_id(session), "BTC-PERP", side, OrderType.LIMIT, D(size), price)


async def test_the_account_stream_carries_cumulative_fills_and_client_ids(world: Any) -> None:
    emulator, venue, session = world
    stream = session.watch_account()
    try:
        resting = await far_limit(venue, session)
        await session.create_order(resting)
        await next_matching(stream, lambda e: isinstance(e, OrderUpdate) and e.order.client_id == resting.client_id,
                            10, "the stream live")
        # Big enough to walk several levels of the book: several fills, one order.
        request = market(session, Side.BUY, "1.5")
        await session.create_order(request)
        orders: list[Any] = []
        fills: list[Any] = []

        def done(event: object) -> bool:
            if isinstance(event, OrderUpdate) and event.order.client_id == request.client_id:
                orders.append(event.order)
            if isinstance(event, FillUpdate) and event.fill.client_id == request.client_id:
                fills.append(event.fill)
            return bool(orders) and orders[-1].status is OrderStatus.FILLED and sum(f.size for f in fills) == request.size

        await next_matching(stream, done, 10, "the order filled and all its fills")
        assert len(fills) > 1 and len({f.trade_id for f in fills}) == len(fills)
        assert orders[-1].filled_size == request.size
        assert orders[-1].avg_fill_price == sum(f.price * f.size for f in fills) / request.size
        position = await next_matching(stream, lambda e: isinstance(e, PositionUpdate), 10, "a position update")
        assert position.position.size == request.size  # type: ignore[attr-defined]
    finally:
        await stream.aclose()


async def test_fills_read_back_with_the_client_ids_of_orders_this_session_never_saw(world: Any) -> None:
    emulator, venue, session = world
    request = market(session, Side.SELL, "0.01")
    await session.create_order(request)
    await wait_for_status(session, request.client_id, {OrderStatus.FILLED}, 10)
    config, resolver = account_config(emulator.keyring.by_account[session.account_id])
    fresh = venue.session("other", config, resolver)
    await fresh.connect()
    fills = await fresh.fetch_fills()
    assert fills and {f.client_id for f in fills} == {request.client_id}
    assert sum(f.size for f in fills) == D("0.01") and all(f.side is Side.SELL for f in fills)


async def test_cancel_orders_cancels_a_batch_in_one_request(world: Any) -> None:
    emulator, venue, session = world
    requests = [await far_limit(venue, session) for _ in range(3)]
    for request in requests:
        await session.create_order(request)
    ids = [r.client_id for r in requests]
    assert await session.cancel_orders(ids) == [True, True, True]
    assert await session.cancel_orders(ids) == [False, False, False]
    for request in requests:
        order = await session.fetch_order(request.client_id)
        assert order.status is OrderStatus.CANCELLED and order.reason == "USER_CANCELED"


async def test_what_edgex_cannot_do_is_refused_locally(world: Any) -> None:
    emulator, venue, session = world
    with pytest.raises(NotSupported):
        await session.set_leverage("BTC", 2, MarginMode.ISOLATED)
    with pytest.raises(NotSupported):
        await session.cancel_all_after(60)
    resting = await far_limit(venue, session)
    await session.create_order(resting)
    with pytest.raises(NotSupported):
        await session.edit_order(resting.client_id, new_client_id=new_client_id(session), price=D(50000))
    with pytest.raises(InvalidRequest):
        await session.create_order(OrderRequest(new_client_id(session), "BTC-PERP", Side.BUY, OrderType.MARKET,
                                                D("0.001"), tif=TimeInForce.POST_ONLY))
    with pytest.raises(InvalidRequest):  # off the lot grid: refused before signing
        await session.create_order(OrderRequest(new_client_id(session), "BTC-PERP", Side.BUY, OrderType.LIMIT,
                                                D("0.0015"), D(50000)))
    assert await session.cancel_all_orders() == 1


async def test_fill_or_kill_fills_completely_or_not_at_all(world: Any) -> None:
    emulator, venue, session = world
    request = OrderRequest(new_client_id(session), "BTC-PERP", Side.BUY, OrderType.MARKET, D("0.002"),
                           tif=TimeInForce.FOK)
    await session.create_order(request)
    order = await wait_for_status(session, request.client_id, {OrderStatus.FILLED}, 10)
    assert order.filled_size == D("0.002") and order.tif is TimeInForce.FOK


async def test_a_book_gap_resyncs_the_book_from_a_fresh_snapshot(world: Any) -> None:
    emulator, venue, session = world
    stream = venue.watch([Channel("book", "BTC")])
    try:
        first = await next_matching(stream, lambda e: isinstance(e, BookUpdate), 10, "the snapshot")
        assert first.snapshot  # type: ignore[attr-defined]
        emulator.faults.drop_book_deltas = 1
        await session.create_order(await far_limit(venue, session))  # moves the book: a change is lost
        await session.create_order(await far_limit(venue, session, Side.SELL))
        await next_matching(stream, lambda e: isinstance(e, StreamGap), 10, "the gap")
        again = await next_matching(stream, lambda e: isinstance(e, BookUpdate), 10, "a fresh snapshot")
        assert again.snapshot  # type: ignore[attr-defined]
    finally:
        await stream.aclose()


async def test_the_account_stream_reports_a_skipped_version_and_a_dropped_socket(world: Any) -> None:
    emulator, venue, session = world
    stream = session.watch_account()
    try:
        await session.create_order(await far_limit(venue, session))
        await next_matching(stream, lambda e: isinstance(e, OrderUpdate), 10, "the stream live")
        emulator.faults.skip_account_versions = 1
        await session.create_order(await far_limit(venue, session))
        await next_matching(stream, lambda e: isinstance(e, StreamGap) and "version" in e.reason, 10, "a version gap")
        emulator.drop_ws()
        await next_matching(stream, lambda e: isinstance(e, StreamGap), 10, "the lost socket")
        request = await far_limit(venue, session)

        async def placed() -> bool:  # the stream is back: our next order shows on it
            await session.create_order(request)
            return True

        await eventually(placed, 10, "an order placed")
        await next_matching(stream, lambda e: isinstance(e, OrderUpdate) and e.order.client_id == request.client_id,
                            10, "the order on the reconnected stream")
    finally:
        await stream.aclose()
