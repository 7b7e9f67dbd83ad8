"""Market data: markets (tick, lot, minimums), books, trades, funding, tickers, candles."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from perpd.model.core import (
    Side,
    ZERO,
    round_price,
    round_size,
)


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


