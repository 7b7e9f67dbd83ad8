"""The unified domain model: what every venue is translated into and out of.

Every price, size and amount is a `Decimal`, from parse to journal; no float ever
touches the order path. Timestamps are integer milliseconds since the epoch (`*_ms`).

The models are frozen slotted dataclasses: cheap to build on hot paths (book deltas,
fills) and serialisable by pydantic (`perpd.wire`) for the API and the journal.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any, ClassVar

ZERO = Decimal(0)
BPS = Decimal(10_000)  # basis points in one
ONE = Decimal(1)


def now_ms() -> int:
    """Return wall-clock time in integer milliseconds."""
    return time.time_ns() // 1_000_000


# --------------------------------------------------------------------------- symbols


def normalize_symbol(symbol: str) -> str:
    """Return the unified symbol: `btc`, `BTC`, `BTC-PERP` all become `BTC-PERP`.

    Raises ValueError for anything that is not `ASSET` or `ASSET-PERP`.
    """
    text = symbol.strip()
    if not text:
        raise ValueError("symbol is empty")
    upper = text.upper()
    base = upper[: -len("-PERP")] if upper.endswith("-PERP") else upper
    if not base or not all(c.isalnum() or c in "_" for c in base):
        raise ValueError(f"not a perpetual symbol: {symbol!r} (use BTC or BTC-PERP)")
    return f"{base}-PERP"


def base_asset(symbol: str) -> str:
    """Return the asset of a unified symbol: `BTC-PERP` -> `BTC`."""
    return normalize_symbol(symbol)[: -len("-PERP")]


# --------------------------------------------------------------------------- enums


class Side(str, enum.Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @classmethod
    def of_size(cls, signed_size: Decimal) -> Side:
        """Return the side that moves a position by `signed_size` (> 0 buys)."""
        return cls.BUY if signed_size > 0 else cls.SELL


class OrderType(str, enum.Enum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"

    @property
    def is_trigger(self) -> bool:
        return self not in (OrderType.MARKET, OrderType.LIMIT)

    @property
    def has_limit_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)


class TimeInForce(str, enum.Enum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


class OrderStatus(str, enum.Enum):
    PENDING = "pending"  # journaled / sent, not yet acknowledged
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # sent, outcome not known: resolve by client id, never resend

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_live(self) -> bool:
        """True while the order may still rest or fill on the venue."""
        return not self.is_terminal


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class IntentState(str, enum.Enum):
    """Where an intent (a client's request, a rule's current order) stands."""

    OPEN = "open"  # working: its orders may still rest or fill
    DONE = "done"  # filled, or finished by its orders' ends
    CANCELLED = "cancelled"  # retired by an operator


class MarginMode(str, enum.Enum):
    CROSS = "cross"
    ISOLATED = "isolated"


class Liquidity(str, enum.Enum):
    MAKER = "maker"
    TAKER = "taker"


class TradingState(str, enum.Enum):
    ACTIVE = "active"
    REDUCE_ONLY = "reduce_only"
    HALTED = "halted"

    @property
    def rank(self) -> int:
        """Higher is more restrictive; the effective state is the max over scopes."""
        return _STATE_RANK[self]


_STATE_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCE_ONLY: 1, TradingState.HALTED: 2}


# --------------------------------------------------------------------------- rounding


def round_to_step(value: Decimal, step: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """Round `value` to a multiple of `step` (ROUND_DOWN toward zero by default)."""
    if step <= 0:
        raise ValueError(f"step must be positive (got {step})")
    units = (value / step).to_integral_value(rounding=rounding)
    return (units * step).quantize(step) if step.as_tuple().exponent < 0 else units * step


def round_price(price: Decimal, tick: Decimal, side: Side | None = None) -> Decimal:
    """Round a limit price to the tick, never making it more aggressive.

    A buy rounds down and a sell rounds up, so rounding never pays more than asked;
    with no side, round half to the nearest tick toward the lower one.
    """
    if side is Side.BUY:
        return round_to_step(price, tick, ROUND_FLOOR)
    if side is Side.SELL:
        return round_to_step(price, tick, ROUND_CEILING)
    return round_to_step(price, tick, "ROUND_HALF_DOWN")


def round_size(size: Decimal, lot: Decimal) -> Decimal:
    """Round a size down to the lot: never trade more than asked."""
    return round_to_step(size, lot, ROUND_DOWN)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step > 0 and (value % step) == 0


# --------------------------------------------------------------------------- market data


@dataclass(frozen=True, slots=True)
class Market:
    """A perpetual market on one venue, with the rules prices and sizes must obey."""

    venue: str
    symbol: str  # unified: BTC-PERP
    venue_symbol: str  # what the venue calls it: BTC, BTC-USD, 0, 10000001
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_size: Decimal
    min_notional: Decimal
    max_leverage: int
    maker_fee: Decimal = ZERO  # fraction of notional, negative = rebate
    taker_fee: Decimal = ZERO

    def round_price(self, price: Decimal, side: Side | None = None) -> Decimal:
        return round_price(price, self.tick_size, side)

    def round_size(self, size: Decimal) -> Decimal:
        return round_size(size, self.lot_size)


@dataclass(frozen=True, slots=True)
class BookLevel:
    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class OrderBook:
    """A book snapshot: bids best (highest) first, asks best (lowest) first."""

    venue: str
    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    seq: int = 0
    ts_ms: int = 0

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        if self.bids and self.asks:
            return (self.bids[0].price + self.asks[0].price) / 2
        return None

    def side_levels(self, side: Side) -> tuple[BookLevel, ...]:
        """The levels a taker on `side` trades against (a buy lifts asks)."""
        return self.asks if side is Side.BUY else self.bids


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade; `side` is the aggressor's."""

    venue: str
    symbol: str
    trade_id: str
    price: Decimal
    size: Decimal
    side: Side
    ts_ms: int


@dataclass(frozen=True, slots=True)
class FundingRate:
    """The funding rate for one interval, as a fraction (0.0001 = 1 bp) per interval."""

    venue: str
    symbol: str
    rate: Decimal
    interval_secs: int
    ts_ms: int
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    next_funding_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Ticker:
    """Mark, index and top of book for one market."""

    venue: str
    symbol: str
    mark_price: Decimal
    index_price: Decimal | None = None
    last_price: Decimal | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    funding_rate: Decimal | None = None
    open_interest: Decimal | None = None
    ts_ms: int = 0


@dataclass(frozen=True, slots=True)
class Candle:
    venue: str
    symbol: str
    interval: str  # 1m 5m 15m 1h 4h 1d
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int = 0


# --------------------------------------------------------------------------- orders


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """What a client asks for. Names an account or a route, never both.

    Clients (API, REPL, magics, standing orders, targets) all build one of these; the
    engine journals it as an intent before anything reaches a venue.
    """

    symbol: str
    side: Side
    size: Decimal
    type: OrderType = OrderType.LIMIT
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    account: str | None = None
    route: str | None = None
    client_tag: str | None = None
    slippage_bps: Decimal | None = None  # market orders: worst price vs mark

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        if self.type is OrderType.MARKET and self.tif in (TimeInForce.GTC, TimeInForce.POST_ONLY):
            # Market orders are IOC on every venue; accept the default and normalise it.
            object.__setattr__(self, "tif", TimeInForce.IOC)
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        out = []
        if (self.account is None) == (self.route is None):
            out.append("name exactly one of account or route")
        if self.size <= 0:
            out.append(f"size must be positive (got {self.size})")
        if self.type.has_limit_price and self.price is None:
            out.append(f"{self.type.value} order needs a price")
        if self.price is not None and self.price <= 0:
            out.append(f"price must be positive (got {self.price})")
        if self.type.is_trigger and self.trigger_price is None:
            out.append(f"{self.type.value} order needs a trigger_price")
        if not self.type.is_trigger and self.trigger_price is not None:
            out.append(f"trigger_price is only for trigger orders, not {self.type.value}")
        if self.trigger_price is not None and self.trigger_price <= 0:
            out.append(f"trigger_price must be positive (got {self.trigger_price})")
        return out

    @property
    def signed_size(self) -> Decimal:
        return self.size * self.side.sign

    def with_account(self, account: str) -> OrderSpec:
        return replace(self, account=account, route=None)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order ready for one venue: account resolved, client id assigned, rounded.

    This is what `AccountSession.create_order` receives; the client id has already been
    journaled, so the venue call may be retried or resolved by it but never re-minted.
    """

    client_id: str
    symbol: str
    side: Side
    type: OrderType
    size: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    slippage_bps: Decimal | None = None

    @property
    def post_only(self) -> bool:
        return self.tif is TimeInForce.POST_ONLY

    def pending(self, account: str, venue: str, now_ms: int) -> Order:
        """The record of this request before any venue has answered for it."""
        return Order(
            account=account,
            venue=venue,
            client_id=self.client_id,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            size=self.size,
            status=OrderStatus.PENDING,
            price=self.price,
            trigger_price=self.trigger_price,
            tif=self.tif,
            reduce_only=self.reduce_only,
            created_ms=now_ms,
            updated_ms=now_ms,
        )


@dataclass(frozen=True, slots=True)
class Order:
    """An order as it exists on a venue (or as far as perpd knows)."""

    account: str
    venue: str
    client_id: str
    symbol: str
    side: Side
    type: OrderType
    size: Decimal
    status: OrderStatus
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    venue_order_id: str | None = None
    filled_size: Decimal = ZERO
    avg_fill_price: Decimal | None = None
    created_ms: int = 0
    updated_ms: int = 0
    reason: str | None = None  # why rejected / cancelled, in the venue's words

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled_size

    @property
    def signed_remaining(self) -> Decimal:
        return self.remaining * self.side.sign

    def increases(self, held: Decimal) -> bool:
        """Would this order grow the position `held` (rather than only shrink it)?"""
        return not self.reduce_only and held * self.side.sign >= 0

    def evolve(self, **changes: object) -> Order:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of our orders; `trade_id` is unique per venue."""

    account: str
    venue: str
    trade_id: str
    client_id: str | None
    venue_order_id: str | None
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal  # paid, in quote; negative = rebate
    liquidity: Liquidity
    ts_ms: int
    realized_pnl: Decimal | None = None

    @property
    def signed_size(self) -> Decimal:
        return self.size * self.side.sign


@dataclass(frozen=True, slots=True)
class Position:
    account: str
    venue: str
    symbol: str
    size: Decimal  # signed: > 0 long, < 0 short
    entry_price: Decimal | None = None
    mark_price: Decimal | None = None
    unrealized_pnl: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    leverage: int | None = None
    margin_mode: MarginMode = MarginMode.CROSS
    liquidation_price: Decimal | None = None
    margin_used: Decimal = ZERO
    ts_ms: int = 0

    @property
    def notional(self) -> Decimal:
        price = self.mark_price if self.mark_price is not None else self.entry_price
        return abs(self.size) * (price or ZERO)


@dataclass(frozen=True, slots=True)
class Balance:
    account: str
    venue: str
    asset: str  # the collateral: USDC, USD, USDT
    equity: Decimal  # wallet balance + unrealized PnL
    available: Decimal  # free for new orders / withdrawal
    margin_used: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    ts_ms: int = 0


@dataclass(frozen=True, slots=True)
class LeverageSetting:
    symbol: str
    leverage: int
    margin_mode: MarginMode = MarginMode.CROSS


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """A book snapshot (`snapshot=True`) or price-level delta (size 0 removes a level).

    `seq` increases by one per update on a stream, so a gap is visible to consumers.
    """

    channel: ClassVar[str] = "book"
    venue: str
    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    seq: int
    snapshot: bool
    ts_ms: int = 0


@dataclass(frozen=True, slots=True)
class TradeUpdate:
    channel: ClassVar[str] = "trades"
    trade: Trade


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    channel: ClassVar[str] = "ticker"
    ticker: Ticker


@dataclass(frozen=True, slots=True)
class FundingUpdate:
    channel: ClassVar[str] = "funding"
    funding: FundingRate


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    channel: ClassVar[str] = "orders"
    order: Order


@dataclass(frozen=True, slots=True)
class FillUpdate:
    channel: ClassVar[str] = "fills"
    fill: Fill


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    channel: ClassVar[str] = "positions"
    position: Position


@dataclass(frozen=True, slots=True)
class BalanceUpdate:
    channel: ClassVar[str] = "balance"
    balance: Balance


@dataclass(frozen=True, slots=True)
class StreamGap:
    """A stream dropped or skipped: consumers must resync from snapshots."""

    channel: ClassVar[str] = "gap"
    venue: str
    account: str | None
    reason: str
    ts_ms: int = field(default_factory=now_ms)


Event = (
    BookUpdate
    | TradeUpdate
    | TickerUpdate
    | FundingUpdate
    | OrderUpdate
    | FillUpdate
    | PositionUpdate
    | BalanceUpdate
    | StreamGap
)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit record: who did what, under which config revision and rule, with what result."""

    id: int
    ts_ms: int
    actor: str
    action: str
    account: str | None
    venue: str | None
    symbol: str | None
    client_id: str | None
    config_revision: int | None
    rule: str | None
    result: str
    details: Any
