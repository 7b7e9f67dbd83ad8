"""Faults: dropped streams resync, throttles and 5xx are unknown outcomes, and an order
accepted behind a timeout is found by its cloid, never duplicated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import anyio
import pytest
from hl_support import rig, subscribed

from perpd.errors import OutcomeUnknown, RateLimited, Unavailable, VenueRejected
from perpd.model import BookUpdate, OrderRequest, OrderStatus, OrderType, OrderUpdate, Side, StreamGap
from venues.base import Channel, ClientIdFormat
from venues.hyperliquid.config import HyperliquidVenueConfig
from venues.hyperliquid.venue import HyperliquidVenue

pytestmark = pytest.mark.anyio
D = Decimal


def cid(n: int) -> str:
    return ClientIdFormat.HEX128.derive("faults", n)


def buy(n: int, price: str = "60000") -> OrderRequest:
    return OrderRequest(cid(n), "BTC-PERP", Side.BUY, OrderType.LIMIT, D("0.001"), D(price))


async def next_of(stream: AsyncIterator[object], *kinds: type) -> object:
    with anyio.fail_after(10):
        async for event in stream:
            if isinstance(event, kinds):
                return event
    raise AssertionError("stream ended")


async def test_a_throttled_order_is_an_unknown_outcome_not_a_rejection() -> None:
    async with rig() as r:
        s = r.session()
        r.emulator.faults.fail_next(429)
        with pytest.raises(RateLimited) as throttled:
            await s.create_order(buy(1))
        assert isinstance(throttled.value, OutcomeUnknown) and not isinstance(throttled.value, VenueRejected)
        assert await s.fetch_order(cid(1)) is None  # resolved by cloid: it never reached the book


async def test_a_server_error_on_any_write_is_an_unknown_outcome() -> None:
    async with rig() as r:
        s = r.session()
        await s.create_order(buy(2))
        r.emulator.faults.fail_next(500, count=2)
        with pytest.raises(Unavailable):
            await s.create_order(buy(3))
        with pytest.raises(Unavailable):
            await s.cancel_order(cid(2))
        assert await s.cancel_order(cid(2)) is True  # the next try goes through


async def test_an_order_accepted_behind_a_timeout_is_resolved_by_cloid_without_a_duplicate() -> None:
    async with rig(timeout_secs=0.5) as r:
        s = r.session()
        r.emulator.faults.accept_then_delay(2.0)
        with pytest.raises(OutcomeUnknown) as unknown:
            await s.create_order(buy(4))
        assert not isinstance(unknown.value, VenueRejected)
        found = await s.fetch_order(cid(4))
        assert found is not None and found.status is OrderStatus.OPEN
        with pytest.raises(VenueRejected) as again:  # a resend under the same cloid cannot duplicate it
            await s.create_order(buy(4))
        assert again.value.code == "duplicate_client_id"
        assert [o.client_id for o in await s.fetch_open_orders()] == [cid(4)]


async def test_an_unreachable_venue_is_unavailable() -> None:
    config = HyperliquidVenueConfig(network="testnet", rest_url="http://127.0.0.1:9", timeout_secs=1)
    venue = HyperliquidVenue("down", config)
    with pytest.raises(Unavailable):
        await venue.load_markets()
    await venue.close()


async def test_a_dropped_account_stream_reports_a_gap_and_keeps_streaming() -> None:
    async with rig() as r:
        s = r.session()
        stream = s.watch_account()
        async with anyio.create_task_group() as tg:
            events: list[object] = []

            async def collect() -> None:
                async for event in stream:
                    events.append(event)

            tg.start_soon(collect)
            with anyio.fail_after(10):
                await subscribed(r.emulator, 2)  # orderUpdates and userFills
                r.emulator.hub.drop_all()
                while not any(isinstance(e, StreamGap) for e in events):
                    await anyio.sleep(0.01)
                await subscribed(r.emulator, 2)  # both again, on the new connection
                await s.create_order(buy(5))
                while not any(isinstance(e, OrderUpdate) for e in events):
                    await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
        gap = next(e for e in events if isinstance(e, StreamGap))
        assert gap.account == "main" and gap.venue == "hl"  # type: ignore[attr-defined]
        update = next(e for e in events if isinstance(e, OrderUpdate))
        assert events.index(gap) < events.index(update) and update.order.client_id == cid(5)  # type: ignore[attr-defined]


async def test_a_dropped_market_stream_reports_a_gap_then_a_fresh_book() -> None:
    async with rig() as r:
        stream = r.venue.watch([Channel("book", "ETH")])
        first = await next_of(stream, BookUpdate)
        r.emulator.hub.drop_all()
        gap = await next_of(stream, StreamGap, BookUpdate)
        while isinstance(gap, BookUpdate):  # pushes queued before the drop
            gap = await next_of(stream, StreamGap, BookUpdate)
        after = await next_of(stream, BookUpdate)
        assert gap.account is None  # type: ignore[attr-defined]
        assert after.snapshot and after.seq > first.seq  # type: ignore[attr-defined]
        await stream.aclose()  # type: ignore[attr-defined]
