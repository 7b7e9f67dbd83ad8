"""What the client returns: the domain models, and small frozen records for composite answers.

Single things come back as the engine's own dataclasses (`Order`, `Position`, `Balance`,
`Market`, `OrderBook`, `Trade`, `FundingRate`, `Candle`), Decimals exact. Answers that
bundle several (positions with their per-asset exposure, an account with its balance,
books per venue plus the merged book, status, ...) are the records below, field for
field the API's response models (`perpd.api.models`; a test keeps them in step) without
importing the server into every script.

`decode(T, data)` validates plain JSON into any of these with pydantic, once-built
adapters cached per type.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter

from perpd.model import Balance, FundingRate, Market, OrderBook, Position, Ticker

T = TypeVar("T")


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def decode(kind: type[T] | Any, data: Any) -> T:
    """Validate JSON data (Decimals as strings) into `kind`: a model, a record, a list of them."""
    return _adapter(kind).validate_python(data)


@dataclass(frozen=True, slots=True)
class AssetExposure:
    """One asset's net position across accounts and venues."""

    asset: str
    size: Decimal  # signed, summed
    notional: Decimal  # |net size| x mark
    accounts: list[str]


@dataclass(frozen=True, slots=True)
class Positions:
    """Positions per account and venue, and their exposure aggregated by asset."""

    positions: list[Position]
    by_asset: list[AssetExposure]

    def __iter__(self) -> Iterator[Position]:
        return iter(self.positions)

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True, slots=True)
class Account:
    """An account's live state: connection, sync, trading state, balance, positions."""

    name: str
    venue: str
    enabled: bool
    connected: bool
    synced: bool
    trading_state: str
    reason: str
    open_orders: int
    balance: Balance | None
    positions: list[Position]
    config: dict[str, Any] | None = None  # with `account(name)`; secret references only


@dataclass(frozen=True, slots=True)
class VenueMarket:
    market: Market
    ticker: Ticker | None
    funding: FundingRate | None


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """One symbol on each venue that lists it: rules, ticker, funding."""

    symbol: str
    venues: list[VenueMarket]


@dataclass(frozen=True, slots=True)
class MergedLevel:
    price: Decimal
    size: Decimal
    venues: dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class MergedBook:
    symbol: str
    bids: list[MergedLevel]
    asks: list[MergedLevel]


@dataclass(frozen=True, slots=True)
class Books:
    """One book per venue, and every venue's levels summed by price."""

    symbol: str
    books: list[OrderBook]
    merged: MergedBook

    def venue(self, name: str) -> OrderBook:
        for book in self.books:
            if book.venue == name:
                return book
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class TradingStateChange:
    """What `halt` / `resume` did."""

    scope: str
    state: str
    reason: str
    cancelled: int = 0


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One row of the audit log: who did what, under which config revision and rule."""

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


@dataclass(frozen=True, slots=True)
class Plan:
    """What applying a config would change (`diff`) and do (`actions`), without acting."""

    diff: dict[str, dict[str, list[str]]]
    actions: list[str]
    config_hash: str


@dataclass(frozen=True, slots=True)
class ConfigInfo:
    path: str
    revision: int
    hash: str
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Status:
    """The daemon's health: venues, accounts, config revision, trading states, stats."""

    config_revision: int
    config_hash: str
    trading_states: dict[str, dict[str, Any]]
    venues: dict[str, dict[str, Any]]
    accounts: dict[str, dict[str, Any]]
    blocked: dict[str, str]
    stats: dict[str, float]
    ws_clients: int = 0


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One WebSocket message: a `snapshot` (seq 0; replaces what you built) or an `update`.

    `data` is typed: an update carries one model (`Order`, `Fill`, `Position`, `Balance`,
    `OrderBook`, `Trade`, `Ticker`, `FundingRate`; `events`/`status` topics a dict); a
    snapshot carries what its channel holds (a list, or a dict of lists). `resync` marks
    a snapshot taken again after a gap or a dropped connection.
    """

    type: str  # snapshot | update
    channel: str
    seq: int
    data: Any
    topic: str | None = None
    resync: bool = field(default=False)
