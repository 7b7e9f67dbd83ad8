"""The JSON shapes the API sends and the client reads, defined once, imported by both.

- `to_data`: plain-data conversion of the domain model (API, journal details, bus):
  Decimals become strings (exact), enums their values, dataclasses dicts of their fields.
- The composite answers (positions with their per-asset exposure, an account, books per
  venue plus the merged book, trading-state changes, plans, the config, status) as frozen
  pydantic models: the server validates and documents (OpenAPI) what it sends with them,
  the client decodes what it reads into them. Nothing of the server is imported here.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from perpd.model import Balance, FundingRate, Market, OrderBook, Position, Ticker


def to_data(value: Any) -> Any:
    """Convert model objects (dataclasses, Decimals, enums, containers) to JSON-able data."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_data(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


# --------------------------------------------------------------------------- answers


class Out(BaseModel):
    """Base of every answer: frozen."""

    model_config = ConfigDict(frozen=True)


class AssetExposure(Out):
    """One asset's net position across accounts and venues."""

    asset: str
    size: Decimal = Field(description="signed size summed across accounts and venues")
    notional: Decimal = Field(description="|net size| x mark")
    accounts: list[str]


class Positions(Out):
    """Positions per account and venue, and their exposure aggregated by asset."""

    positions: list[Position]
    by_asset: list[AssetExposure]

    def __iter__(self) -> Iterator[Position]:  # type: ignore[override]
        return iter(self.positions)

    def __len__(self) -> int:
        return len(self.positions)


class AccountOut(Out):
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
    config: dict[str, Any] | None = Field(None, description="the account's config (secret references only)")


class VenueMarket(Out):
    market: Market
    ticker: Ticker | None
    funding: FundingRate | None


class MarketOut(Out):
    """One symbol on each venue that lists it: rules, ticker, funding."""

    symbol: str
    venues: list[VenueMarket]


class MergedLevel(Out):
    price: Decimal
    size: Decimal
    venues: dict[str, Decimal]


class MergedBook(Out):
    symbol: str
    bids: list[MergedLevel]
    asks: list[MergedLevel]


class OrderBooks(Out):
    """One book per venue, and every venue's levels summed by price."""

    symbol: str
    books: list[OrderBook] = Field(description="one book per venue")
    merged: MergedBook = Field(description="every venue's levels summed by price")

    def venue(self, name: str) -> OrderBook:
        for book in self.books:
            if book.venue == name:
                return book
        raise KeyError(name)


class TradingStateOut(Out):
    """What a halt or a resume did."""

    scope: str
    state: str
    reason: str
    cancelled: int = 0


class Plan(Out):
    """What applying a config would change (`diff`) and do (`actions`), without acting."""

    diff: dict[str, dict[str, list[str]]]
    actions: list[str]
    config_hash: str


class ConfigOut(Out):
    path: str
    revision: int
    hash: str
    config: dict[str, Any]


class Status(Out):
    """The daemon's health: venues, accounts, config revision, trading states, stats."""

    config_revision: int
    config_hash: str
    trading_states: dict[str, dict[str, Any]]
    venues: dict[str, dict[str, Any]]
    accounts: dict[str, dict[str, Any]]
    blocked: dict[str, str]
    stats: dict[str, float]
    ws_clients: int = 0
