"""The unified domain model: what every venue is translated into and out of.

Every price, size and amount is a `Decimal`, from parse to journal; no float ever
touches the order path. Timestamps are integer milliseconds since the epoch (`*_ms`).

    core.py     constants, symbols, enums, rounding
    market.py   markets, books, trades, funding, tickers, candles
    orders.py   specs, requests, orders, fills, positions, balances, the audit record
    events.py   what streams deliver (the Event union)

The models are frozen slotted dataclasses: cheap to build on hot paths (book deltas,
fills) and serialisable by pydantic (`perpd.wire`) for the API and the journal.
"""

from perpd.model.core import (
    ZERO,
    BPS,
    ONE,
    now_ms,
    normalize_symbol,
    base_asset,
    Side,
    OrderType,
    TimeInForce,
    OrderStatus,
    IntentState,
    MarginMode,
    Liquidity,
    TradingState,
    round_to_step,
    round_price,
    round_size,
    is_multiple,
)
from perpd.model.market import (
    Market,
    BookLevel,
    OrderBook,
    Trade,
    FundingRate,
    Ticker,
    Candle,
)
from perpd.model.orders import (
    Bracket,
    OrderSpec,
    OrderRequest,
    Order,
    Fill,
    FundingPayment,
    Position,
    Balance,
    LeverageSetting,
    AuditEvent,
)
from perpd.model.events import (
    BookUpdate,
    TradeUpdate,
    TickerUpdate,
    FundingUpdate,
    OrderUpdate,
    FillUpdate,
    PositionUpdate,
    BalanceUpdate,
    StreamGap,
    Event,
)
from perpd.model.core import _TERMINAL  # noqa: F401

__all__ = [
    "Bracket",
    "AuditEvent",
    "BPS",
    "Balance",
    "BalanceUpdate",
    "BookLevel",
    "BookUpdate",
    "Candle",
    "Event",
    "Fill",
    "FundingPayment",
    "FillUpdate",
    "FundingRate",
    "FundingUpdate",
    "IntentState",
    "LeverageSetting",
    "Liquidity",
    "MarginMode",
    "Market",
    "ONE",
    "Order",
    "OrderBook",
    "OrderRequest",
    "OrderSpec",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "Position",
    "PositionUpdate",
    "Side",
    "StreamGap",
    "Ticker",
    "TickerUpdate",
    "TimeInForce",
    "Trade",
    "TradeUpdate",
    "TradingState",
    "ZERO",
    "base_asset",
    "is_multiple",
    "normalize_symbol",
    "now_ms",
    "round_price",
    "round_size",
    "round_to_step",
]
