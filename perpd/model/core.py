"""Constants, symbols, the enums every part speaks, and side-aware tick/lot rounding."""

from __future__ import annotations

import enum
import time
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

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
    # isalnum() first: one C call answers for the usual symbol (every dataclass copy of an
    # order spec normalises its symbol again).
    if not base or not (base.isalnum() or all(c.isalnum() or c in "_" for c in base)):
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


