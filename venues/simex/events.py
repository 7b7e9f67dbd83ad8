"""What the sim exchange hands out: reasons, rejections, immutable views and events.

Everything here is venue-neutral and immutable, with Decimal prices and sizes, so a
listener may keep or queue what it receives. They are NamedTuples rather than frozen
dataclasses because they are built on the matching hot path, where a NamedTuple costs a
fifth as much. Public events have `account = None`; private ones name their account.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import NamedTuple

from perpd.model import Liquidity, MarginMode, OrderStatus, OrderType, Side, TimeInForce


class Reason(str, enum.Enum):
    """Why an order was refused (raised in SimReject) or why it stopped living."""

    # refusals: nothing rests, nothing happened
    UNKNOWN_MARKET = "unknown_market"
    UNKNOWN_ORDER = "unknown_order"  # cancel/edit of an id with no live order
    BAD_TICK = "bad_tick"
    BAD_LOT = "bad_lot"
    BAD_PRICE = "bad_price"
    BAD_SIZE = "bad_size"
    BAD_TRIGGER = "bad_trigger"
    MIN_SIZE = "min_size"
    MIN_NOTIONAL = "min_notional"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    REDUCE_ONLY_WOULD_INCREASE = "reduce_only_would_increase"
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    BAD_LEVERAGE = "bad_leverage"
    POSITION_OPEN = "position_open"  # margin mode change with an open position
    # ends of accepted orders (status CANCELLED, or FILLED)
    USER = "user"
    IOC_UNFILLED = "ioc_unfilled"  # the unfilled rest of an IOC / market order
    FOK_UNFILLABLE = "fok_unfillable"
    NO_LIQUIDITY = "no_liquidity"  # a market order found nothing within its worst price
    REDUCE_ONLY = "reduce_only"  # the position it reduced is gone or flipped
    MARGIN = "margin"
    DEAD_MANS_SWITCH = "dead_mans_switch"
    LIQUIDATION = "liquidation"
    SELF_TRADE = "self_trade"  # a resting order met a taker of the same account
    OCO = "oco"  # the other order of a one-cancels-other pair filled

    @property
    def is_rejection(self) -> bool:
        return self in _REJECTIONS


_REJECTIONS = frozenset(list(Reason)[: list(Reason).index(Reason.POSITION_OPEN) + 1])


class SimReject(Exception):
    """The engine refused a request; nothing changed. `reason` is machine-readable."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __repr__(self) -> str:
        return f"SimReject({self.reason.value}: {self.message})"


# --------------------------------------------------------------------------- views


class OrderView(NamedTuple):
    oid: int
    client_id: str | None
    account: str
    symbol: str
    side: Side
    type: OrderType
    tif: TimeInForce
    price: Decimal | None  # limit price; for market orders the worst price accepted
    trigger_price: Decimal | None
    size: Decimal
    filled: Decimal
    avg_price: Decimal | None
    status: OrderStatus
    reduce_only: bool
    triggered: bool
    reason: Reason | None
    created_ms: int
    updated_ms: int

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled

    @property
    def waiting_for_trigger(self) -> bool:
        return self.type.is_trigger and not self.triggered and self.status.is_live


class SimFill(NamedTuple):
    """One execution of one account's order; `trade_id` is unique in the engine."""

    trade_id: int
    oid: int
    client_id: str | None
    account: str
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal  # paid; negative = rebate
    liquidity: Liquidity
    realized_pnl: Decimal
    start_position: Decimal  # signed position before this fill
    ts_ms: int
    liquidation: bool = False


class PublicTrade(NamedTuple):
    trade_id: int
    symbol: str
    price: Decimal
    size: Decimal
    taker_side: Side
    buyer: str
    seller: str
    buy_oid: int
    sell_oid: int
    ts_ms: int


class PositionView(NamedTuple):
    account: str
    symbol: str
    size: Decimal  # signed
    entry_price: Decimal | None
    mark_price: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal  # cumulative on this market, before fees
    funding: Decimal  # cumulative funding received (negative = paid)
    leverage: int
    margin_mode: MarginMode
    margin_used: Decimal
    liquidation_price: Decimal | None
    ts_ms: int


class BalanceView(NamedTuple):
    account: str
    balance: Decimal  # wallet: deposits + realized PnL - fees + funding
    equity: Decimal  # balance + unrealized PnL
    available: Decimal  # free for new orders
    margin_used: Decimal  # initial margin of positions
    order_margin: Decimal  # initial margin reserved by resting orders
    unrealized_pnl: Decimal
    ts_ms: int


class FundingPayment(NamedTuple):
    account: str
    symbol: str
    amount: Decimal  # received; negative = paid
    rate: Decimal
    position: Decimal
    mark_price: Decimal
    ts_ms: int


class BookSnapshot(NamedTuple):
    symbol: str
    seq: int
    bids: tuple[tuple[Decimal, Decimal], ...]  # (price, size) best first
    asks: tuple[tuple[Decimal, Decimal], ...]
    ts_ms: int


class RestingOrder(NamedTuple):
    """One order resting on the book, as a public order-by-order (L3) book shows it."""

    oid: int
    account: str
    client_id: str | None
    side: Side
    price: Decimal
    size: Decimal  # as placed (or as last edited)
    remaining: Decimal
    created_ms: int


class BookOrders(NamedTuple):
    """Resting orders, best price first and in time priority within a price."""

    symbol: str
    seq: int
    bids: tuple[RestingOrder, ...]
    asks: tuple[RestingOrder, ...]
    ts_ms: int


class MarketView(NamedTuple):
    """Mark, index, last trade and funding of one market."""

    symbol: str
    mark_price: Decimal
    index_price: Decimal
    last_price: Decimal | None
    funding_rate: Decimal  # predicted for the current interval
    next_funding_ms: int
    open_interest: Decimal
    ts_ms: int


class CandleView(NamedTuple):
    symbol: str
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int


# --------------------------------------------------------------------------- events


class BookDelta(NamedTuple):
    """Changed price levels (size 0 removes); `seq` is +1 per delta per market."""

    account = None  # public (a class attribute, not a field)
    symbol: str
    seq: int
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    ts_ms: int


class TradeEvent(NamedTuple):
    account = None  # public (a class attribute, not a field)
    trade: PublicTrade

    @property
    def symbol(self) -> str:
        return self.trade.symbol


class MarkEvent(NamedTuple):
    account = None  # public (a class attribute, not a field)
    market: MarketView

    @property
    def symbol(self) -> str:
        return self.market.symbol


class FundingEvent(NamedTuple):
    """A funding settlement on one market."""

    account = None  # public (a class attribute, not a field)
    symbol: str
    rate: Decimal
    mark_price: Decimal
    index_price: Decimal
    ts_ms: int
    next_funding_ms: int


class OrderEvent(NamedTuple):
    account: str
    order: OrderView


class FillEvent(NamedTuple):
    account: str
    fill: SimFill


class PositionEvent(NamedTuple):
    account: str
    position: PositionView


class BalanceEvent(NamedTuple):
    account: str
    balance: BalanceView


class FundingPaymentEvent(NamedTuple):
    account: str
    payment: FundingPayment


EngineEvent = (
    BookDelta
    | TradeEvent
    | MarkEvent
    | FundingEvent
    | OrderEvent
    | FillEvent
    | PositionEvent
    | BalanceEvent
    | FundingPaymentEvent
)
