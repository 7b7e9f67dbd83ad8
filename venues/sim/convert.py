"""Engine views and events -> perpd.model: pure functions, no state."""

from __future__ import annotations

from perpd.model import (
    Balance,
    BalanceUpdate,
    BookLevel,
    BookUpdate,
    Fill,
    FillUpdate,
    FundingPayment,
    FundingRate,
    FundingUpdate,
    Market,
    Order,
    OrderBook,
    OrderUpdate,
    Position,
    PositionUpdate,
    Ticker,
    TickerUpdate,
    Trade,
    TradeUpdate,
)
from venues.simex.events import FundingPayment as SimFundingPayment
from venues.simex.events import (
    BalanceEvent,
    BalanceView,
    BookDelta,
    BookSnapshot,
    FillEvent,
    FundingEvent,
    MarketView,
    MarkEvent,
    OrderEvent,
    OrderView,
    PositionEvent,
    PositionView,
    PublicTrade,
    SimFill,
    TradeEvent,
)
from venues.simex.exchange import SimExchange
from venues.simex.markets import MarketSpec

COLLATERAL = "USDC"


def market(venue: str, spec: MarketSpec) -> Market:
    return Market(
        venue=venue,
        symbol=spec.symbol,
        venue_symbol=spec.symbol,
        base=spec.base,
        quote=COLLATERAL,
        tick_size=spec.tick_size,
        lot_size=spec.lot_size,
        min_size=spec.min_size,
        min_notional=spec.min_notional,
        max_leverage=spec.max_leverage,
        maker_fee=spec.maker_fee,
        taker_fee=spec.taker_fee,
    )


def _levels(levels: tuple) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(price, size) for price, size in levels)


def order_book(venue: str, book: BookSnapshot) -> OrderBook:
    return OrderBook(venue, book.symbol, _levels(book.bids), _levels(book.asks), book.seq, book.ts_ms)


def book_snapshot(venue: str, book: BookSnapshot) -> BookUpdate:
    return BookUpdate(venue, book.symbol, _levels(book.bids), _levels(book.asks), book.seq, True, book.ts_ms)


def book_delta(venue: str, delta: BookDelta) -> BookUpdate:
    return BookUpdate(venue, delta.symbol, _levels(delta.bids), _levels(delta.asks), delta.seq, False, delta.ts_ms)


def trade(venue: str, t: PublicTrade) -> Trade:
    return Trade(venue, t.symbol, str(t.trade_id), t.price, t.size, t.taker_side, t.ts_ms)


def ticker(venue: str, view: MarketView, book: BookSnapshot | None = None) -> Ticker:
    return Ticker(
        venue=venue,
        symbol=view.symbol,
        mark_price=view.mark_price,
        index_price=view.index_price,
        last_price=view.last_price,
        best_bid=book.bids[0][0] if book is not None and book.bids else None,
        best_ask=book.asks[0][0] if book is not None and book.asks else None,
        funding_rate=view.funding_rate,
        open_interest=view.open_interest,
        ts_ms=view.ts_ms,
    )


def funding(venue: str, view: MarketView, interval_secs: int) -> FundingRate:
    """The predicted rate of the running interval."""
    return FundingRate(venue, view.symbol, view.funding_rate, interval_secs, view.ts_ms,
                       view.mark_price, view.index_price, view.next_funding_ms)


def settled_funding(venue: str, event: FundingEvent, interval_secs: int) -> FundingRate:
    return FundingRate(venue, event.symbol, event.rate, interval_secs, event.ts_ms,
                       event.mark_price, event.index_price, event.next_funding_ms)


def client_id_of(view: OrderView | SimFill) -> str:
    """Orders the engine made itself (liquidations) have no client id: name them by oid."""
    return view.client_id if view.client_id is not None else f"sim-oid-{view.oid}"


def order(venue: str, view: OrderView) -> Order:
    return Order(
        account=view.account,
        venue=venue,
        client_id=client_id_of(view),
        symbol=view.symbol,
        side=view.side,
        type=view.type,
        size=view.size,
        status=view.status,
        price=view.price if view.type.has_limit_price else None,
        trigger_price=view.trigger_price,
        tif=view.tif,
        reduce_only=view.reduce_only,
        venue_order_id=str(view.oid),
        filled_size=view.filled,
        avg_fill_price=view.avg_price,
        created_ms=view.created_ms,
        updated_ms=view.updated_ms,
        reason=view.reason.value if view.reason is not None else None,
    )


def fill(venue: str, f: SimFill) -> Fill:
    return Fill(
        account=f.account,
        venue=venue,
        trade_id=str(f.trade_id),
        client_id=client_id_of(f),
        venue_order_id=str(f.oid),
        symbol=f.symbol,
        side=f.side,
        price=f.price,
        size=f.size,
        fee=f.fee,
        liquidity=f.liquidity,
        ts_ms=f.ts_ms,
        realized_pnl=f.realized_pnl,
    )


def funding_payment(venue: str, p: SimFundingPayment) -> FundingPayment:
    """simex keeps no payment id: one payment per account, symbol and settlement time."""
    return FundingPayment(
        account=p.account, venue=venue, payment_id=f"{p.ts_ms}:{p.symbol}", symbol=p.symbol,
        amount=p.amount, ts_ms=p.ts_ms, rate=p.rate, position=p.position,
    )


def position(venue: str, p: PositionView) -> Position:
    return Position(
        account=p.account,
        venue=venue,
        symbol=p.symbol,
        size=p.size,
        entry_price=p.entry_price,
        mark_price=p.mark_price,
        unrealized_pnl=p.unrealized_pnl,
        realized_pnl=p.realized_pnl,
        leverage=p.leverage,
        margin_mode=p.margin_mode,
        liquidation_price=p.liquidation_price,
        margin_used=p.margin_used,
        ts_ms=p.ts_ms,
    )


def balance(venue: str, b: BalanceView) -> Balance:
    return Balance(
        account=b.account,
        venue=venue,
        asset=COLLATERAL,
        equity=b.equity,
        available=b.available,
        margin_used=b.margin_used,
        unrealized_pnl=b.unrealized_pnl,
        ts_ms=b.ts_ms,
    )


def public_event(venue: str, event: object, engine: SimExchange, interval_secs: int) -> object | None:
    """An engine public event as a perpd event (None for kinds perpd does not stream)."""
    kind = type(event)
    if kind is BookDelta:
        return book_delta(venue, event)  # type: ignore[arg-type]
    if kind is TradeEvent:
        return TradeUpdate(trade(venue, event.trade))  # type: ignore[attr-defined]
    if kind is MarkEvent:
        view = event.market  # type: ignore[attr-defined]
        return TickerUpdate(ticker(venue, view, engine.book(view.symbol, 1)))
    if kind is FundingEvent:
        return FundingUpdate(settled_funding(venue, event, interval_secs))  # type: ignore[arg-type]
    return None


def account_event(venue: str, event: object) -> object | None:
    kind = type(event)
    if kind is OrderEvent:
        return OrderUpdate(order(venue, event.order))  # type: ignore[attr-defined]
    if kind is FillEvent:
        return FillUpdate(fill(venue, event.fill))  # type: ignore[attr-defined]
    if kind is PositionEvent:
        return PositionUpdate(position(venue, event.position))  # type: ignore[attr-defined]
    if kind is BalanceEvent:
        return BalanceUpdate(balance(venue, event.balance))  # type: ignore[attr-defined]
    return None
