"""A local price-level book fed by `depth.{contractId}.{level}`: a Snapshot, then changes.

Each push carries `startVersion` and `endVersion`; a change continues the book only if
its `startVersion` is the previous `endVersion` + 1 (the recorded pushes: a snapshot
ending at 90595447, the next change starting at 90595448). Anything else raises
`BookGap`, and the caller resubscribes for a fresh snapshot. Sizes in changes are the
new absolute size of the level; 0 removes it. The sides are the shared price-level ones
(venues/common/book.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from perpd.model import BookLevel
from venues.common.book import BookSide, LevelBook


class BookGap(Exception):
    """A change does not continue the local book: resubscribe for a fresh snapshot."""


class LocalBook(LevelBook):
    """One contract's book as the depth channel describes it (sizes kept as Decimals)."""

    __slots__ = ("version",)

    def __init__(self, venue: str, symbol: str) -> None:
        super().__init__(venue, symbol)
        self.version = 0

    def reset(self) -> None:
        self.clear()
        self.version = 0

    def apply_snapshot(self, item: Mapping[str, Any], ts_ms: int = 0) -> None:
        self.reset()
        self._apply(self.bids, item.get("bids"))
        self._apply(self.asks, item.get("asks"))
        self.version = int(item.get("endVersion") or 0)
        self.ts_ms = ts_ms
        self.ready = True

    def apply_change(self, item: Mapping[str, Any], ts_ms: int = 0) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
        """Apply one change; returns the (bids, asks) levels it set. BookGap if it does
        not continue the book."""
        if not self.ready:
            raise BookGap(f"{self.symbol}: change before snapshot")
        start = int(item.get("startVersion") or 0)
        if start != self.version + 1:
            raise BookGap(f"{self.symbol}: change starts at version {start}, the book is at {self.version}")
        bids = self._apply(self.bids, item.get("bids"))
        asks = self._apply(self.asks, item.get("asks"))
        self.version = int(item.get("endVersion") or start)
        self.ts_ms = ts_ms
        return bids, asks

    def _apply(self, side: BookSide, levels: Iterable[Mapping[str, Any]] | None) -> tuple[BookLevel, ...]:
        """Apply levels; returns them as BookLevels (size 0 = removed)."""
        out = []
        for level in levels or ():
            price = self.price(level["price"])
            size = Decimal(level["size"])
            if size:
                side.put(price, size)
            else:
                side.remove(price)
            out.append(BookLevel(price, size))
        return tuple(out)
