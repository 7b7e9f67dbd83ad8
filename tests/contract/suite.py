"""The venue contract suite: one set of tests every venue passes (see README.md).

A venue's tests subclass `VenueContract` and provide two async fixtures, `venue` (a
connected Venue) and `session` (a connected AccountSession on a fresh, funded account
with no orders and no positions). Everything here is written against venues/base.py
only, and selected by `capabilities`: what a venue says it cannot do is asserted to be
refused locally with NotSupported, never skipped.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import anyio
import pytest

from perpd.errors import NotSupported, PerpdError
from perpd.model import (
    BookUpdate,
    FillUpdate,
    MarginMode,
    Market,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    StreamGap,
    TimeInForce,
    TradeUpdate,
    is_multiple,
    round_price,
)
from venues.base import AccountSession, Channel, EditMode, Venue

from .helpers import (
    eventually,
    expect_refused,
    far_price,
    new_client_id,
    next_matching,
    order_size,
    wait_for_status,
)

LIVE = {OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED}
ENDED = {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}


class VenueContract:
    """Base class of contract tests; not collected itself (its name has no Test prefix)."""

    pytestmark = pytest.mark.anyio

    symbol: ClassVar[str] = "BTC-PERP"  # the market the suite trades
    timeout_secs: ClassVar[float] = 10.0  # how long to wait for acks, streams and fills
    balance_tolerance: ClassVar[Decimal] = Decimal("0.000001")  # funding etc. during a test

    # ------------------------------------------------------------------ fixtures

    @pytest.fixture
    def venue(self) -> Venue:
        raise NotImplementedError("a venue's contract tests provide a connected `venue` fixture")

    @pytest.fixture
    def session(self) -> AccountSession:
        raise NotImplementedError("a venue's contract tests provide a connected, funded `session` fixture")

    async def pass_time(self, venue: Venue, seconds: float) -> None:
        """Let `seconds` of venue time pass (override for venues on a manual clock)."""
        await anyio.sleep(seconds)

    @pytest.fixture
    async def market(self, venue: Venue) -> Market:
        markets = await venue.load_markets()
        return markets[self.symbol]

    async def mark(self, venue: Venue) -> Decimal:
        return (await venue.fetch_ticker(self.symbol)).mark_price

    async def request(self, venue: Venue, session: AccountSession, market: Market, side: Side, *,
                      type: OrderType = OrderType.LIMIT, tif: TimeInForce = TimeInForce.GTC,
                      price: Decimal | None = None, trigger: Decimal | None = None,
                      size: Decimal | None = None, reduce_only: bool = False) -> OrderRequest:
        mark = await self.mark(venue)
        if price is None and type.has_limit_price:
            price = far_price(market, mark, side)
        reference = price if price is not None else (trigger if trigger is not None else mark)
        return OrderRequest(
            client_id=new_client_id(session), symbol=market.symbol, side=side, type=type,
            size=size if size is not None else order_size(market, reference), price=price,
            trigger_price=trigger, tif=tif, reduce_only=reduce_only,
        )

    async def place_resting(self, venue: Venue, session: AccountSession, market: Market,
                            side: Side = Side.BUY) -> OrderRequest:
        request = await self.request(venue, session, market, side)
        await session.create_order(request)
        await wait_for_status(session, request.client_id, LIVE, self.timeout_secs)
        return request

    async def fill_market(self, venue: Venue, session: AccountSession, market: Market, side: Side,
                          size: Decimal | None = None, reduce_only: bool = False) -> OrderRequest:
        request = await self.request(venue, session, market, side, type=OrderType.MARKET,
                                     tif=TimeInForce.IOC, size=size, reduce_only=reduce_only)
        await session.create_order(request)
        await wait_for_status(session, request.client_id, {OrderStatus.FILLED}, self.timeout_secs)
        return request

    async def position_size(self, session: AccountSession, market: Market) -> Decimal:
        for position in await session.fetch_positions():
            if position.symbol == market.symbol:
                return position.size
        return Decimal(0)

    # ------------------------------------------------------------------ markets

    async def test_markets_load_with_sane_precision(self, venue: Venue) -> None:
        markets = await venue.load_markets()
        assert self.symbol in markets
        for symbol, market in markets.items():
            assert market.symbol == symbol and symbol.endswith("-PERP")
            assert market.venue == venue.name
            assert market.tick_size > 0 and market.lot_size > 0
            assert market.min_size >= market.lot_size and is_multiple(market.min_size, market.lot_size)
            assert market.min_notional >= 0
            assert market.max_leverage >= 1
        assert venue.market(self.symbol.removesuffix("-PERP")) is markets[self.symbol]

    async def test_order_book_is_sorted_uncrossed_and_on_the_grid(self, venue: Venue, market: Market) -> None:
        book = await venue.fetch_order_book(self.symbol, depth=5)
        assert book.bids and book.asks, "the contract market needs liquidity on both sides"
        assert len(book.bids) <= 5 and len(book.asks) <= 5
        assert [lvl.price for lvl in book.bids] == sorted((lvl.price for lvl in book.bids), reverse=True)
        assert [lvl.price for lvl in book.asks] == sorted(lvl.price for lvl in book.asks)
        assert book.best_bid < book.best_ask  # type: ignore[operator]
        for level in (*book.bids, *book.asks):
            assert level.size > 0
            assert is_multiple(level.price, market.tick_size) and is_multiple(level.size, market.lot_size)

    async def test_ticker_funding_and_trades_are_served(self, venue: Venue) -> None:
        ticker = await venue.fetch_ticker(self.symbol)
        assert ticker.symbol == self.symbol and ticker.mark_price > 0
        funding = await venue.fetch_funding(self.symbol)
        assert funding.symbol == self.symbol and funding.interval_secs > 0
        trades = await venue.fetch_trades(self.symbol, limit=10)
        assert len(trades) <= 10
        assert [t.ts_ms for t in trades] == sorted(t.ts_ms for t in trades)

    # ------------------------------------------------------------------ streams

    async def test_book_stream_starts_with_a_snapshot_then_deltas_in_sequence(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        stream = venue.watch([Channel("book", self.symbol)])
        try:
            first = await next_matching(stream, lambda e: isinstance(e, BookUpdate), self.timeout_secs, "a snapshot")
            assert isinstance(first, BookUpdate) and first.snapshot and first.symbol == self.symbol
            request = await self.place_resting(venue, session, market)
            seq = first.seq

            def our_level(event: object) -> bool:
                nonlocal seq
                if isinstance(event, StreamGap):
                    raise AssertionError(f"unexpected stream gap: {event.reason}")
                if not isinstance(event, BookUpdate):
                    return False
                if event.snapshot:
                    seq = event.seq
                    return any(lvl.price == request.price for lvl in event.bids)
                assert event.seq == seq + 1, f"delta seq {event.seq} does not follow {seq}"
                seq = event.seq
                return any(lvl.price == request.price and lvl.size >= request.size for lvl in event.bids)

            await next_matching(stream, our_level, self.timeout_secs, "a delta showing our bid")
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    async def test_trade_stream_reports_a_trade_we_make(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        stream = venue.watch([Channel("trades", self.symbol)])
        try:
            request = await self.fill_market(venue, session, market, Side.BUY)
            event = await next_matching(
                stream, lambda e: isinstance(e, TradeUpdate) and e.trade.side is Side.BUY,
                self.timeout_secs, "our buy on the trade stream",
            )
            trade = event.trade  # type: ignore[attr-defined]
            assert trade.symbol == self.symbol and trade.price > 0 and 0 < trade.size <= request.size
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    async def test_account_stream_reports_our_order_and_fill(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        stream = session.watch_account()
        try:
            request = await self.fill_market(venue, session, market, Side.BUY)
            seen: dict[type, object] = {}

            def both(event: object) -> bool:  # in either order: venues differ
                if isinstance(event, OrderUpdate) and event.order.client_id == request.client_id:
                    seen[OrderUpdate] = event
                if isinstance(event, FillUpdate) and event.fill.client_id == request.client_id:
                    seen[FillUpdate] = event
                return len(seen) == 2

            await next_matching(stream, both, self.timeout_secs, "an order update and a fill update")
            fill = seen[FillUpdate].fill  # type: ignore[attr-defined]
            assert fill.size > 0 and fill.symbol == self.symbol and fill.side is Side.BUY
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ order types and tifs

    async def test_resting_limit_order_is_open_then_cancelled(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        request = await self.place_resting(venue, session, market)
        assert request.client_id in {o.client_id for o in await session.fetch_open_orders()}
        assert await session.cancel_order(request.client_id) is True
        order = await wait_for_status(session, request.client_id, {OrderStatus.CANCELLED}, self.timeout_secs)
        assert order.filled_size == 0
        assert request.client_id not in {o.client_id for o in await session.fetch_open_orders()}
        assert await session.cancel_order(request.client_id) is False

    @pytest.mark.parametrize("tif", list(TimeInForce))
    async def test_each_time_in_force(
        self, venue: Venue, session: AccountSession, market: Market, tif: TimeInForce
    ) -> None:
        request = await self.request(venue, session, market, Side.BUY, tif=tif)
        if tif not in session.capabilities.tifs:
            with pytest.raises(NotSupported):
                await session.create_order(request)
            assert await session.fetch_order(request.client_id) is None
            return
        if tif in (TimeInForce.GTC, TimeInForce.POST_ONLY):
            await session.create_order(request)
            await wait_for_status(session, request.client_id, LIVE, self.timeout_secs)
            assert await session.cancel_order(request.client_id)
            await wait_for_status(session, request.client_id, {OrderStatus.CANCELLED}, self.timeout_secs)
        else:  # IOC / FOK far from the market: nothing fills, nothing rests
            await expect_refused(session, request, self.timeout_secs)
            assert request.client_id not in {o.client_id for o in await session.fetch_open_orders()}

    @pytest.mark.parametrize("type", list(OrderType))
    async def test_each_order_type(
        self, venue: Venue, session: AccountSession, market: Market, type: OrderType
    ) -> None:
        mark = await self.mark(venue)
        above = far_price(market, mark, Side.SELL)  # a buy stop fires above the mark
        below = far_price(market, mark, Side.BUY)  # a buy take-profit fires below it
        trigger = {OrderType.STOP_MARKET: above, OrderType.STOP_LIMIT: above,
                   OrderType.TAKE_PROFIT_MARKET: below, OrderType.TAKE_PROFIT_LIMIT: below}.get(type)
        price = None
        if type is OrderType.STOP_LIMIT:
            price = round_price(above * Decimal("1.01"), market.tick_size, Side.BUY)
        elif type is OrderType.TAKE_PROFIT_LIMIT:
            price = below
        tif = TimeInForce.IOC if type is OrderType.MARKET else TimeInForce.GTC
        request = await self.request(venue, session, market, Side.BUY, type=type, tif=tif, price=price,
                                     trigger=trigger)
        if type not in session.capabilities.order_types:
            with pytest.raises(NotSupported):
                await session.create_order(request)
            assert await session.fetch_order(request.client_id) is None
            return
        await session.create_order(request)
        if type is OrderType.MARKET:
            order = await wait_for_status(session, request.client_id, {OrderStatus.FILLED}, self.timeout_secs)
            assert order.filled_size == request.size
            assert await self.position_size(session, market) == request.size
            return
        order = await wait_for_status(session, request.client_id, LIVE, self.timeout_secs)
        assert order.type is type and order.filled_size == 0
        if trigger is not None:
            assert order.trigger_price == trigger
        assert await session.cancel_order(request.client_id)
        await wait_for_status(session, request.client_id, {OrderStatus.CANCELLED}, self.timeout_secs)

    async def test_edit_changes_price_and_size(self, venue: Venue, session: AccountSession, market: Market) -> None:
        request = await self.place_resting(venue, session, market)
        new_price = request.price - 5 * market.tick_size  # type: ignore[operator]
        new_size = request.size + market.lot_size * max(1, int(market.min_size / market.lot_size))
        new_id = new_client_id(session)
        edit = session.capabilities.edit
        if edit is EditMode.NONE:
            with pytest.raises(NotSupported):
                await session.edit_order(request.client_id, new_client_id=new_id, price=new_price)
            return
        await session.edit_order(request.client_id, new_client_id=new_id, price=new_price, size=new_size)
        live_id = request.client_id if edit is EditMode.NATIVE else new_id

        async def edited() -> object:
            order = await session.fetch_order(live_id)
            return order if order and order.price == new_price and order.size == new_size else None

        order = await eventually(edited, self.timeout_secs, "the edit to show")
        assert order.status in LIVE  # type: ignore[attr-defined]
        assert await session.cancel_order(live_id)

    async def test_post_only_that_would_cross_is_rejected(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        book = await venue.fetch_order_book(self.symbol, depth=1)
        request = await self.request(venue, session, market, Side.BUY, tif=TimeInForce.POST_ONLY,
                                     price=book.best_ask)
        if TimeInForce.POST_ONLY not in session.capabilities.tifs:
            with pytest.raises(NotSupported):
                await session.create_order(request)
            return
        await expect_refused(session, request, self.timeout_secs)
        assert await self.position_size(session, market) == 0

    async def test_reduce_only_is_enforced(self, venue: Venue, session: AccountSession, market: Market) -> None:
        request = await self.request(venue, session, market, Side.BUY, type=OrderType.MARKET,
                                     tif=TimeInForce.IOC, reduce_only=True)
        if not session.capabilities.reduce_only:
            with pytest.raises(NotSupported):
                await session.create_order(request)
            return
        await expect_refused(session, request, self.timeout_secs)  # flat: any buy would open
        opened = await self.fill_market(venue, session, market, Side.BUY)
        more = await self.request(venue, session, market, Side.BUY, type=OrderType.MARKET,
                                  tif=TimeInForce.IOC, reduce_only=True)
        await expect_refused(session, more, self.timeout_secs)  # long: a buy would increase
        await self.fill_market(venue, session, market, Side.SELL, size=opened.size, reduce_only=True)
        assert await self.position_size(session, market) == 0

    # ------------------------------------------------------------------ fills and accounting

    async def test_fills_update_position_and_balance_consistently(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        before = await session.fetch_balance()
        fills_before = {f.trade_id for f in await session.fetch_fills()}
        opened = await self.fill_market(venue, session, market, Side.BUY)
        assert await self.position_size(session, market) == opened.size
        position = next(p for p in await session.fetch_positions() if p.symbol == market.symbol)
        assert position.entry_price is not None and position.entry_price > 0
        await self.fill_market(venue, session, market, Side.SELL, size=opened.size, reduce_only=True)
        assert await self.position_size(session, market) == 0

        async def both_fills() -> list | None:
            fills = [f for f in await session.fetch_fills() if f.trade_id not in fills_before]
            return fills if sum(f.size for f in fills) == 2 * opened.size else None

        fills = await eventually(both_fills, self.timeout_secs, "the fills of both orders")
        assert len({f.trade_id for f in fills}) == len(fills), "trade ids must be unique"
        assert sum(f.signed_size for f in fills) == 0
        cash_flow = sum(-f.signed_size * f.price - f.fee for f in fills)
        after = await session.fetch_balance()
        assert abs((after.equity - before.equity) - cash_flow) <= self.balance_tolerance
        realized = [f.realized_pnl for f in fills if f.realized_pnl is not None]
        if len(realized) == len(fills):
            assert abs(sum(realized) - sum(-f.signed_size * f.price for f in fills)) <= self.balance_tolerance

    async def test_funding_payments_on_a_held_position_where_the_venue_reports_them(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        if not session.capabilities.funding_payments:
            with pytest.raises(NotSupported):
                await session.fetch_funding_payments(0)
            return
        before = {p.payment_id for p in await session.fetch_funding_payments(0)}
        opened = await self.fill_market(venue, session, market, Side.BUY)
        await self.pass_time(venue, 4 * 3600 + 60)  # funding settles at least every 4 hours (EdgeX)

        async def new_payments() -> list | None:
            found = [p for p in await session.fetch_funding_payments(0) if p.payment_id not in before]
            return found if any(p.symbol == market.symbol for p in found) else None

        payments = await eventually(new_payments, self.timeout_secs, "a funding payment on the position")
        assert len({p.payment_id for p in payments}) == len(payments), "payment ids must be unique"
        assert all((p.account, p.venue) == (session.account, venue.name) for p in payments)
        assert [p.ts_ms for p in payments] == sorted(p.ts_ms for p in payments)
        ours = [p for p in payments if p.symbol == market.symbol]
        assert all(p.position is None or p.position > 0 for p in ours)  # paid on the long we hold
        later = [p for p in await session.fetch_funding_payments(ours[-1].ts_ms) if p.payment_id not in before]
        assert ours[-1].payment_id in {p.payment_id for p in later}  # `since` is inclusive
        await self.fill_market(venue, session, market, Side.SELL, size=opened.size, reduce_only=True)

    async def test_fetch_order_by_client_id_after_a_fill(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        request = await self.fill_market(venue, session, market, Side.BUY)
        order = await session.fetch_order(request.client_id)
        assert order is not None and order.status is OrderStatus.FILLED
        assert order.filled_size == request.size and order.side is Side.BUY
        assert order.avg_fill_price is not None and order.avg_fill_price > 0

    async def test_fetch_order_by_client_id_after_a_cancel(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        request = await self.place_resting(venue, session, market)
        assert await session.cancel_order(request.client_id)
        order = await wait_for_status(session, request.client_id, {OrderStatus.CANCELLED}, self.timeout_secs)
        assert order.client_id == request.client_id and order.price == request.price

    async def test_unknown_client_id_is_not_found_not_an_error(self, session: AccountSession) -> None:
        client_id = new_client_id(session)
        assert await session.fetch_order(client_id) is None
        assert await session.cancel_order(client_id) is False

    async def test_cancel_all_orders_cancels_every_open_order(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        placed = [await self.place_resting(venue, session, market, side) for side in (Side.BUY, Side.BUY, Side.SELL)]
        cancelled = await session.cancel_all_orders(self.symbol)
        assert cancelled == len(placed)
        for request in placed:
            await wait_for_status(session, request.client_id, {OrderStatus.CANCELLED}, self.timeout_secs)
        assert await session.fetch_open_orders() == []
        await self.place_resting(venue, session, market)
        assert await session.cancel_all_orders() == 1
        assert await session.cancel_all_orders() == 0

    async def test_batch_create_and_cancel(self, venue: Venue, session: AccountSession, market: Market) -> None:
        requests = [await self.request(venue, session, market, Side.BUY) for _ in range(2)]
        results = await session.create_orders(requests)
        assert len(results) == 2 and not [r for r in results if isinstance(r, Exception)]
        for request in requests:
            await wait_for_status(session, request.client_id, LIVE, self.timeout_secs)
        assert await session.cancel_orders([r.client_id for r in requests]) == [True, True]

    # ------------------------------------------------------------------ settings

    async def test_leverage_set_and_get(self, session: AccountSession, market: Market) -> None:
        await session.set_leverage(self.symbol, 3, MarginMode.CROSS)
        setting = await session.fetch_leverage(self.symbol)
        assert (setting.leverage, setting.margin_mode) == (3, MarginMode.CROSS)
        if MarginMode.ISOLATED in session.capabilities.margin_modes:
            await session.set_leverage(self.symbol, 2, MarginMode.ISOLATED)
            setting = await session.fetch_leverage(self.symbol)
            assert (setting.leverage, setting.margin_mode) == (2, MarginMode.ISOLATED)
        else:
            with pytest.raises(NotSupported):
                await session.set_leverage(self.symbol, 2, MarginMode.ISOLATED)
        with pytest.raises(PerpdError):
            await session.set_leverage(self.symbol, market.max_leverage + 1, MarginMode.CROSS)

    async def test_dead_mans_switch_cancels_when_not_renewed(
        self, venue: Venue, session: AccountSession, market: Market
    ) -> None:
        caps = session.capabilities
        if not caps.dead_mans_switch:
            with pytest.raises(NotSupported):
                await session.cancel_all_after(60)
            return
        seconds = max(caps.dead_mans_switch_min_secs, 1)
        kept = await self.place_resting(venue, session, market)
        await session.cancel_all_after(seconds)
        await session.cancel_all_after(0)  # disarmed: nothing happens
        await self.pass_time(venue, seconds + 1)
        assert (await session.fetch_order(kept.client_id)).status in LIVE  # type: ignore[union-attr]
        await session.cancel_all_after(seconds)
        await self.pass_time(venue, seconds + 1)
        await wait_for_status(session, kept.client_id, {OrderStatus.CANCELLED}, self.timeout_secs)
