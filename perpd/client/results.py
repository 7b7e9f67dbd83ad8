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

from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter

from perpd.model import AuditEvent as AuditRecord
from perpd.wire import AccountOut as Account
from perpd.wire import AssetExposure, MergedBook, MergedLevel, Plan, Positions, Status, VenueMarket
from perpd.wire import ConfigOut as ConfigInfo
from perpd.wire import MarketOut as MarketInfo
from perpd.wire import OrderBooks as Books
from perpd.wire import TradingStateOut as TradingStateChange
from perpd.wire import FillPage, FillRecord, FundingPage, FundingPaymentRecord, PnlLine, PnlReport

__all__ = [
    "Account", "AssetExposure", "AuditRecord", "Books", "ConfigInfo", "MarketInfo", "MergedBook", "MergedLevel", "Plan",
    "Positions", "Status", "StreamMessage", "TradingStateChange", "VenueMarket", "decode",
]

T = TypeVar("T")


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def decode(kind: type[T] | Any, data: Any) -> T:
    """Validate JSON data (Decimals as strings) into `kind`: a model, a record, a list of them."""
    return _adapter(kind).validate_python(data)


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


@dataclass(frozen=True, slots=True)
class CsvPage:
    """A page of CSV as the daemon wrote it, and the cursor of the next page (None: last)."""

    text: str
    next_cursor: str | None
