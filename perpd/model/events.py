"""What venue streams deliver, as one `Event` union."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from perpd.model.core import (
    now_ms,
)
from perpd.model.market import (
    BookLevel,
    FundingRate,
    Ticker,
    Trade,
)
from perpd.model.orders import (
    Balance,
    Fill,
    Order,
    Position,
)


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

