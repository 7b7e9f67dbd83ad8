"""The JSON shapes the API sends and the client reads, defined once, imported by both.

- `to_data`: plain-data conversion of the domain model (API, journal details, bus):
  Decimals become strings (exact), enums their values, dataclasses dicts of their fields.
- The composite answers (positions with their per-asset exposure, an account, books per
  venue plus the merged book, trading-state changes, plans, the config, status) as frozen
  pydantic models: the server validates and documents (OpenAPI) what it sends with them,
  the client decodes what it reads into them. Nothing of the server is imported here.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from perpd.model import Balance, FundingRate, Liquidity, Market, OrderBook, Position, Side, Ticker


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


# --------------------------------------------------------------------------- fills, funding, PnL


class FillRecord(Out):
    """One of our fills as journaled, with the order and intent it belongs to."""

    account: str
    venue: str
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal = Field(description="paid; negative = a rebate")
    fee_currency: str | None = Field(description="the market's quote currency (None: the market is not loaded)")
    liquidity: Liquidity
    trade_id: str = Field(description="the venue's trade id (unique per account and venue)")
    client_id: str | None
    venue_order_id: str | None
    intent_id: int | None = Field(description="the intent the order was placed for (None: not placed by perpd)")
    source: str | None = Field(description="who asked: api, local, standing:NAME, target:NAME, ...")
    realized_pnl: Decimal | None = Field(description="as the venue reported it, before fees")
    ts_ms: int


class FillPage(Out):
    fills: list[FillRecord]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class FundingPaymentRecord(Out):
    """One funding payment on one of our positions."""

    account: str
    venue: str
    symbol: str
    payment_id: str = Field(description="the venue's id, else time:symbol (unique per account and venue)")
    amount: Decimal = Field(description="received; negative = paid")
    currency: str | None = Field(description="the market's quote currency")
    rate: Decimal | None
    position: Decimal | None = Field(description="the signed position it was paid on")
    ts_ms: int


class FundingPage(Out):
    funding_payments: list[FundingPaymentRecord]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class PnlLine(Out):
    """PnL of one group (an account, venue, asset, symbol, or all), in quote currency.

    net = realized - fees + funding + unrealized."""

    account: str | None = None
    venue: str | None = None
    asset: str | None = None
    symbol: str | None = None
    realized: Decimal = Field(description="trading PnL realized, before fees")
    fees: Decimal = Field(description="paid; negative = rebates")
    funding: Decimal = Field(description="received; negative = paid")
    unrealized: Decimal = Field(description="the open positions' unrealized PnL: its change over the period")
    net: Decimal


class PnlPoint(Out):
    ts_ms: int
    account: str
    booked: Decimal = Field(description="realized - fees + funding since the period's start")


class PnlReport(Out):
    """PnL over one period: `today` (since each account's daily loss-limit reset: the
    numbers the kill switch acts on), `window` (since/until) or `inception`."""

    period: str
    since: int | None = Field(description="the period's start (ms); for today, the earliest account's reset")
    until: int | None = Field(description="the period's end (ms); null: now")
    resets: dict[str, int] = Field(default_factory=dict, description="today: each account's reset (ms)")
    lines: list[PnlLine] = Field(description="per account, venue and symbol")
    by_account: list[PnlLine]
    by_venue: list[PnlLine]
    by_asset: list[PnlLine]
    total: PnlLine
    curve: list[PnlPoint] | None = Field(None, description="with curve=true: cumulative booked PnL after each journaled "
                                          "fill and payment of the period (realized - fees + funding, per account)")


FILL_COLUMNS = tuple(FillRecord.model_fields)
FUNDING_COLUMNS = tuple(FundingPaymentRecord.model_fields)


def csv_text(records: list[Any], columns: tuple[str, ...], *, header: bool = True) -> str:
    """Records (pydantic answers) as CSV: Decimals exact, None empty, one row each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(columns)
    for record in records:
        data = record.model_dump(mode="json")
        writer.writerow(["" if data[c] is None else data[c] for c in columns])
    return out.getvalue()
