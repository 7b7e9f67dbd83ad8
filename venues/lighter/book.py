"""A local price-level book fed by `order_book/{m}`: snapshot, then deltas.

Levels live in a dict (price -> size) plus a bisect-sorted price list per side, so a
delta for an existing level is one dict write and a new or removed level is one
bisect + list insert/delete. Continuity follows Lighter's nonces: every update carries
`begin_nonce`, which must equal the `nonce` of the state it applies to (the rule
nautilus_trader's adapter uses); otherwise `BookGap` is raised and the caller resyncs.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from perpd.model import BookLevel, OrderBook

ZERO = Decimal(0)


class BookGap(Exception):
    """An update does not continue the local state: resubscribe for a fresh snapshot."""


class _Side:
    __slots__ = ("sizes", "prices", "descending")

    def __init__(self, descending: bool) -> None:
        self.sizes: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []  # ascending
        self.descending = descending

    def clear(self) -> None:
        self.sizes.clear()
        self.prices.clear()

    def set(self, price: Decimal, size: Decimal) -> None:
        sizes = self.sizes
        if size == 0:
            if sizes.pop(price, None) is not None:
                prices = self.prices
                del prices[bisect_left(prices, price)]
        elif price in sizes:
            sizes[price] = size
        else:
            sizes[price] = size
            prices = self.prices
            prices.insert(bisect_left(prices, price), price)

    def best(self) -> Decimal | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.descending else self.prices[0]

    def levels(self, depth: int | None = None) -> tuple[BookLevel, ...]:
        prices = reversed(self.prices) if self.descending else iter(self.prices)
        out = []
        for price in prices:
            if depth is not None and len(out) >= depth:
                break
            out.append(BookLevel(price, self.sizes[price]))
        return tuple(out)


class LocalBook:
    """One market's book as the stream describes it."""

    __slots__ = ("venue", "symbol", "bids", "asks", "nonce", "offset", "ts_ms", "ready")

    def __init__(self, venue: str, symbol: str) -> None:
        self.venue = venue
        self.symbol = symbol
        self.bids = _Side(descending=True)
        self.asks = _Side(descending=False)
        self.nonce = 0
        self.offset = 0
        self.ts_ms = 0
        self.ready = False

    def reset(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.nonce = self.offset = 0
        self.ready = False

    def apply_snapshot(self, book: Mapping[str, Any], ts_ms: int = 0) -> None:
        """Replace the state with a `subscribed/order_book` payload."""
        self.reset()
        self._apply_levels(book.get("bids") or (), book.get("asks") or ())
        self.nonce = int(book.get("nonce") or 0)
        self.offset = int(book.get("offset") or 0)
        self.ts_ms = ts_ms
        self.ready = True

    def apply_delta(self, book: Mapping[str, Any], ts_ms: int = 0) -> None:
        """Apply an `update/order_book` payload; BookGap if it does not continue the state."""
        if not self.ready:
            raise BookGap(f"{self.symbol}: update before snapshot")
        begin = book.get("begin_nonce")
        offset = int(book.get("offset") or 0)
        if begin is not None and int(begin) != self.nonce:
            raise BookGap(f"{self.symbol}: begin_nonce {begin} != local nonce {self.nonce}")
        if begin is None and offset and offset <= self.offset:
            raise BookGap(f"{self.symbol}: offset {offset} does not advance {self.offset}")
        self._apply_levels(book.get("bids") or (), book.get("asks") or ())
        self.nonce = int(book.get("nonce") or self.nonce)
        self.offset = offset or self.offset
        self.ts_ms = ts_ms

    def _apply_levels(self, bids: Iterable[Mapping[str, Any]], asks: Iterable[Mapping[str, Any]]) -> None:
        set_bid, set_ask = self.bids.set, self.asks.set
        for level in bids:
            set_bid(Decimal(level["price"]), Decimal(level["size"]))
        for level in asks:
            set_ask(Decimal(level["price"]), Decimal(level["size"]))

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids.best()

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks.best()

    def snapshot(self, depth: int | None = None, seq: int = 0) -> OrderBook:
        return OrderBook(self.venue, self.symbol, self.bids.levels(depth), self.asks.levels(depth), seq, self.ts_ms)
