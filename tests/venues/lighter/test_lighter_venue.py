"""perpd's Lighter venue and session against the emulator over loopback HTTP and WS."""

from __future__ import annotations

from contextlib import aclosing
from decimal import Decimal
from typing import Any

import anyio
import pytest
from lighter_support import eventually, lighter_world

from perpd.errors import InvalidRequest, NotFound, NotSupported
from perpd.model import (
    BalanceUpdate,
    BookUpdate,
    FillUpdate,
    MarginMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    StreamGap,
    TimeInForce,
    TradeUpdate,
)
from venues.base import Channel

pytestmark = pytest.mark.anyio
D = Decimal


def limit(client_id: str, price: str, size: str = "0.1", side: Side = Side.BUY, **changes: Any) -> OrderRequest:
    return OrderRequest(client_id, "ETH-PERP", side, OrderType.LIMIT, D(size), D(price), **changes)


def market(client_id: str, size: str = "0.1", side: Side = Side.BUY, **changes: Any) -> OrderRequest:
    return OrderRequest(client_id, "ETH-PERP", side, OrderType.MARKET, D(size), tif=TimeInForce.IOC, **changes)


async def status_of(session: Any, client_id: str, wanted: OrderStatus) -> Any:
    async def probe() -> Any:
        order = await session.fetch_order(client_id)
        return order if order is not None and order.status is wanted else None

    return await eventually(probe)


async def test_markets_public_data_and_candles_come_from_the_emulator(api_key: str) -> None:
    async with lighter_world(api_key) as (_, venue, _session):
        assert set(venue.markets) == {"ETH-PERP", "BTC-PERP", "SOL-PERP"}
        assert venue.market("BTC").tick_size == D("0.1")
        book = await venue.fetch_order_book("ETH", depth=5)
        assert len(book.bids) == 5 and book.best_bid < book.best_ask
        ticker = await venue.fetch_ticker("ETH")
        assert ticker.mark_price > 0 and ticker.best_bid < ticker.best_ask
        funding = await venue.fetch_funding("SOL")
        assert funding.interval_secs == 3600
        assert isinstance(await venue.fetch_trades("ETH", 10), list)
        assert isinstance(await venue.fetch_candles("ETH", "1m"), list)
        with pytest.raises(NotFound):
            await venue.fetch_candles("ETH", "3m")


async def test_a_limit_order_is_pending_then_open_then_edited_natively_and_cancelled(api_key: str) -> None:
    async with lighter_world(api_key) as (_, _venue, session):
        placed = await session.create_order(limit("1001", "3000.00"))
        assert placed.status is OrderStatus.PENDING and placed.client_id == "1001"
        opened = await status_of(session, "1001", OrderStatus.OPEN)
        assert opened.price == D("3000.00") and opened.venue_order_id is not None
        edited = await session.edit_order("1001", new_client_id="1001", price=D("3001.50"), size=D("0.2"))
        assert edited.client_id == "1001"  # native edit keeps the client id
        (live,) = await session.fetch_open_orders("ETH")
        assert (live.price, live.size, live.venue_order_id) == (D("3001.50"), D("0.2000"), opened.venue_order_id)
        assert await session.cancel_order("1001") is True
        assert await session.cancel_order("1001") is False
        assert (await session.fetch_order("1001")).status is OrderStatus.CANCELLED


async def test_an_unknown_client_id_is_none_and_cancelling_it_is_false(api_key: str) -> None:
    async with lighter_world(api_key) as (_, _venue, session):
        assert await session.fetch_order("424242") is None
        assert await session.cancel_order("424242") is False
        with pytest.raises(NotFound):
            await session.edit_order("424242", new_client_id="424242", price=D("3000.00"))


async def test_a_market_order_fills_into_position_balance_and_fills(api_key: str) -> None:
    async with lighter_world(api_key) as (_, _venue, session):
        before = await session.fetch_balance()
        await session.create_order(market("2001", size="0.5"))
        filled = await status_of(session, "2001", OrderStatus.FILLED)
        assert filled.filled_size == D("0.5000") and filled.avg_fill_price is not None
        (position,) = await session.fetch_positions()
        assert position.symbol == "ETH-PERP" and position.size == D("0.5000")
        fills = await session.fetch_fills()
        assert sum(f.size for f in fills if f.client_id == "2001") == D("0.5000")
        after = await session.fetch_balance()
        assert after.margin_used > 0 and after.available < before.available
        assert sum(f.fee for f in fills) > 0  # the emulator's markets charge premium-like fees


async def test_a_post_only_that_would_cross_ends_rejected(api_key: str) -> None:
    async with lighter_world(api_key) as (_, venue, session):
        ask = (await venue.fetch_order_book("ETH", 1)).best_ask
        await session.create_order(limit("3001", str(ask + D("5")), tif=TimeInForce.POST_ONLY))
        rejected = await status_of(session, "3001", OrderStatus.REJECTED)
        assert rejected.reason == "post-only"


async def test_a_reduce_only_that_would_increase_ends_rejected(api_key: str) -> None:
    async with lighter_world(api_key) as (_, _venue, session):
        await session.create_order(market("3002", reduce_only=True))
        rejected = await status_of(session, "3002", OrderStatus.REJECTED)
        assert rejected.reason == "reduce-only"


async def test_trigger_orders_rest_until_the_mark_reaches_them(api_key: str) -> None:
    async with lighter_world(api_key) as (_, venue, session):
        mark = (await venue.fetch_ticker("ETH")).mark_price
        stop = OrderRequest("4001", "ETH-PERP", Side.BUY, OrderType.STOP_LIMIT, D("0.1"),
                            price=(mark * 2).quantize(D("0.01")), trigger_price=(mark * D("1.5")).quantize(D("0.01")))
        await session.create_order(stop)
        waiting = await status_of(session, "4001", OrderStatus.OPEN)
        assert waiting.type is OrderType.STOP_LIMIT and waiting.trigger_price == stop.trigger_price


async def test_fok_is_refused_locally_and_bad_ticks_never_reach_the_venue(api_key: str) -> None:
    async with lighter_world(api_key) as (emulator, _venue, session):
        with pytest.raises(NotSupported):
            await session.create_order(limit("5001", "3000.00", tif=TimeInForce.FOK))
        with pytest.raises(InvalidRequest):
            await session.create_order(limit("5002", "3000.001"))
        assert emulator.exchange.nonces[(1001, 3)] == 0  # nothing was sent


async def test_leverage_and_margin_mode_round_trip(api_key: str) -> None:
    async with lighter_world(api_key) as (_, _venue, session):
        await session.set_leverage("BTC", 10, MarginMode.ISOLATED)
        setting = await session.fetch_leverage("BTC")
        assert (setting.leverage, setting.margin_mode) == (10, MarginMode.ISOLATED)
        with pytest.raises(InvalidRequest):
            await session.set_leverage("BTC", 51)


async def test_cancel_all_counts_and_the_dead_mans_switch_arms_and_disarms(api_key: str) -> None:
    async with lighter_world(api_key) as (emulator, _venue, session):
        results = await session.create_orders([limit(str(6000 + i), f"{3000 + i}.00") for i in range(4)])
        assert all(o.status is OrderStatus.PENDING for o in results)  # type: ignore[union-attr]
        assert len(await session.fetch_open_orders()) == 4
        await session.cancel_all_after(600)
        assert emulator.engine.balance("1001") is not None
        await session.cancel_all_after(0)
        with pytest.raises(InvalidRequest):
            await session.cancel_all_after(60)  # below Lighter's 5-minute minimum
        assert await session.cancel_all_orders("ETH") == 4
        assert await session.fetch_open_orders() == []


async def test_a_batch_larger_than_fifteen_is_split_and_all_land(api_key: str) -> None:
    async with lighter_world(api_key) as (emulator, _venue, session):
        results = await session.create_orders([limit(str(7000 + i), f"{2900 + i}.00") for i in range(20)])
        assert [r.client_id for r in results] == [str(7000 + i) for i in range(20)]  # type: ignore[union-attr]
        assert len(await session.fetch_open_orders()) == 20
        assert emulator.exchange.nonces[(1001, 3)] == 20
        cancelled = await session.cancel_orders([str(7000 + i) for i in range(5)])
        assert cancelled == [True] * 5


async def test_several_api_keys_are_used_round_robin_with_their_own_nonces(api_key: str) -> None:
    async with lighter_world(api_key, key_indices=(3, 4)) as (emulator, _venue, session):
        for i in range(4):
            await session.create_order(limit(str(8000 + i), f"{3000 + i}.00"))
        assert (emulator.exchange.nonces[(1001, 3)], emulator.exchange.nonces[(1001, 4)]) == (2, 2)


async def test_watch_gives_a_book_snapshot_then_deltas_in_sequence_and_trades(api_key: str) -> None:
    async with lighter_world(api_key) as (_, venue, _session):
        books: list[BookUpdate] = []
        trades: list[TradeUpdate] = []
        channels = [Channel("book", "ETH"), Channel("trades", "ETH")]
        with anyio.fail_after(30):
            async with aclosing(venue.watch(channels)) as stream:
                async for event in stream:
                    if isinstance(event, BookUpdate):
                        books.append(event)
                    elif isinstance(event, TradeUpdate):
                        trades.append(event)
                    if len(books) >= 6 and trades:
                        break
        assert books[0].snapshot and not any(b.snapshot for b in books[1:])
        assert [b.seq for b in books] == list(range(1, len(books) + 1))
        assert trades[0].trade.symbol == "ETH-PERP"


async def test_watch_account_streams_orders_fills_positions_and_balances(api_key: str) -> None:
    async with lighter_world(api_key) as (_, _venue, session):
        seen: list[Any] = []
        with anyio.fail_after(30):
            async with aclosing(session.watch_account()) as stream:
                seen.append(await anext(stream))  # subscribed: the snapshot comes first
                await session.create_order(market("9001"))
                async for event in stream:
                    seen.append(event)
                    kinds = {type(e) for e in seen}
                    if {OrderUpdate, FillUpdate, BalanceUpdate} <= kinds and any(
                        isinstance(e, OrderUpdate) and e.order.status is OrderStatus.FILLED for e in seen
                    ):
                        break
        fill = next(e.fill for e in seen if isinstance(e, FillUpdate))
        assert fill.client_id == "9001" and fill.side is Side.BUY


async def test_the_account_stream_renews_its_auth_token_by_reconnecting(api_key: str) -> None:
    async with lighter_world(api_key) as (_, _venue, session):
        session.token_lifetime_ms = 3000  # Lighter allows 8 h; make one expire within the test
        session.token_refresh_lead_ms = 1000
        session._token = None
        with anyio.fail_after(30):
            async with aclosing(session.watch_account()) as stream:
                first_token = (await session.auth_token())[0]
                async for event in stream:
                    if isinstance(event, StreamGap):
                        break
        assert "reconnected" in event.reason
        assert (await session.auth_token())[0] != first_token
