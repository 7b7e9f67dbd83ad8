"""A local price-level book fed by `order_book/{m}`: snapshot, then deltas.

Levels live in the shared price-level sides (venues/common/book.py), sizes kept as the
venue's text until read. Continuity follows Lighter's nonces: every update carries
`begin_nonce`, which must equal the `nonce` of the state it applies to (the rule
nautilus_trader's adapter uses); otherwise `BookGap` is raised and the caller resyncs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from venues.common.book import BookSide, LevelBook

ZERO = Decimal(0)


class BookGap(Exception):
    """An update does not continue the local state: resubscribe for a fresh snapshot."""


def _is_zero(size: str) -> bool:
    """"0.0000" (or "0", "0.") means: remove the level."""
    return not size.strip("0.")


class LocalBook(LevelBook):
    """One market's book as the stream describes it (sizes stay text until someone reads them)."""

    __slots__ = ("nonce", "offset")

    def __init__(self, venue: str, symbol: str) -> None:
        super().__init__(venue, symbol)
        self.nonce = 0
        self.offset = 0

    def reset(self) -> None:
        self.clear()
        self.nonce = self.offset = 0

    def apply_snapshot(self, book: Mapping[str, Any], ts_ms: int = 0) -> None:
        """Replace the state with a `subscribed/order_book` payload."""
        self.reset()
        self._apply(self.bids, book.get("bids"))
        self._apply(self.asks, book.get("asks"))
        self.nonce = int(book.get("nonce") or 0)
        self.offset = int(book.get("offset") or 0)
        self.ts_ms = ts_ms
        self.ready = True

    def apply_delta(self, book: Mapping[str, Any], ts_ms: int = 0) -> None:
        """Apply an `update/order_book` payload; BookGap if it does not continue the state."""
        if not self.ready:
            raise BookGap(f"{self.symbol}: update before snapshot")
        begin = book.get("begin_nonce")
        offset = book.get("offset") or 0
        if begin is not None:
            if begin != self.nonce:
                raise BookGap(f"{self.symbol}: begin_nonce {begin} != local nonce {self.nonce}")
        elif offset and offset <= self.offset:
            raise BookGap(f"{self.symbol}: offset {offset} does not advance {self.offset}")
        self._apply(self.bids, book.get("bids"))
        self._apply(self.asks, book.get("asks"))
        self.nonce = book.get("nonce") or self.nonce
        self.offset = offset or self.offset
        self.ts_ms = ts_ms

    def _apply(self, side: BookSide, levels: Iterable[Mapping[str, Any]] | None) -> None:
        for level in levels or ():
            size = level["size"]
            if _is_zero(size):
                side.remove(self.price(level["price"]))
            else:
                side.put(self.price(level["price"]), size)

    def size_at(self, price: Decimal) -> Decimal:
        """The size resting at `price` (zero when there is no level)."""
        text = self.bids.sizes.get(price) or self.asks.sizes.get(price)
        return Decimal(text) if text is not None else ZERO
