"""What the sim exchange hands out: reasons, rejections, immutable views and events.

Everything here is venue-neutral and immutable, with Decimal prices and sizes, so a
listener may keep or queue what it receives. Views are NamedTuples rather than frozen
dataclasses because they are built on the matching hot path, where a NamedTuple costs a
fifth as much. Public events have `account = None`; private ones name their account.

Most listeners read only an event's kind, `account` and `symbol` (the sim venue keeps
the events of the accounts and markets it watches, an emulator those of its accounts),
so fills, trades, book deltas, positions and balances hold what the engine captured at
that instant (integer ticks and lots, frozen account figures) and build their view when
it is first read, once. What they captured never changes, so the view is the one an
eager build would have given, whenever it is read.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

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


class _Deferred:
    """An event whose payload is built by `make(*args)` when it is first read."""

    __slots__ = ("_args", "_make", "_payload")

    _make: Callable[..., Any]
    _args: tuple[Any, ...]
    _payload: Any
    _fields: tuple[str, ...] = ()  # what repr() shows, as a NamedTuple's would
    # Each subclass sets _make, _args and _payload in its own __init__ rather than calling
    # a shared one: a call per event cost 2-3 % of bench_sim_engine's listener figure
    # (104.8-106.8k against 108.8-109.3k ops/s, measured 2026-12-03).

    def _read(self) -> Any:
        payload = self._payload
        if payload is None:
            payload = self._payload = self._make(*self._args)
            self._args = ()  # what was captured is in the payload now
        return payload

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"


class BookDelta(_Deferred):
    """Changed price levels (size 0 removes); `seq` is +1 per delta per market.

    `make(*args)` gives (bids, asks) as ((price, size), ...) best first."""

    __slots__ = ("seq", "symbol", "ts_ms")
    account = None  # public (a class attribute, not a field)
    _fields = ("symbol", "seq", "bids", "asks", "ts_ms")

    def __init__(self, symbol: str, seq: int, ts_ms: int, make: Callable[..., Any], *args: Any) -> None:
        self.symbol = symbol
        self.seq = seq
        self.ts_ms = ts_ms
        self._make = make
        self._args = args
        self._payload = None

    @property
    def bids(self) -> tuple[tuple[Decimal, Decimal], ...]:
        return self._read()[0]  # type: ignore[no-any-return]

    @property
    def asks(self) -> tuple[tuple[Decimal, Decimal], ...]:
        return self._read()[1]  # type: ignore[no-any-return]


class TradeEvent(_Deferred):
    """A public trade; `make(*args)` builds its PublicTrade."""

    __slots__ = ("symbol",)
    account = None  # public (a class attribute, not a field)
    _fields = ("trade",)

    def __init__(self, symbol: str, make: Callable[..., PublicTrade], *args: Any) -> None:
        self.symbol = symbol
        self._make = make
        self._args = args
        self._payload = None

    @property
    def trade(self) -> PublicTrade:
        return self._read()  # type: ignore[no-any-return]


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


class _AccountEvent(_Deferred):
    __slots__ = ("account",)

    def __init__(self, account: str, make: Callable[..., Any], *args: Any) -> None:
        self.account = account
        self._make = make
        self._args = args
        self._payload = None


class FillEvent(_AccountEvent):
    """One fill of `account`'s order; `make(*args)` builds its SimFill."""

    __slots__ = ()
    _fields = ("account", "fill")

    @property
    def fill(self) -> SimFill:
        return self._read()  # type: ignore[no-any-return]


class PositionEvent(_AccountEvent):
    """`account`'s position on `symbol`; `make(*args)` builds its PositionView."""

    __slots__ = ("symbol",)
    _fields = ("account", "position")

    def __init__(self, account: str, symbol: str, make: Callable[..., PositionView], *args: Any) -> None:
        self.account = account
        self.symbol = symbol
        self._make = make
        self._args = args
        self._payload = None

    @property
    def position(self) -> PositionView:
        return self._read()  # type: ignore[no-any-return]


class BalanceEvent(_AccountEvent):
    """`account`'s balance; `make(*args)` builds its BalanceView."""

    __slots__ = ()
    _fields = ("account", "balance")

    @property
    def balance(self) -> BalanceView:
        return self._read()  # type: ignore[no-any-return]


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
