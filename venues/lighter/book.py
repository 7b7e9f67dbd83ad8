"""A local price-level book fed by `order_book/{m}`: snapshot, then deltas.

Levels live in a dict (price -> size, kept as the venue's text until read) plus a
bisect-sorted price list per side, so a delta for an existing level is one dict write
and a new or removed level is one bisect + list insert/delete; price texts repeat, so
their Decimals are cached. Continuity follows Lighter's nonces: every update carries
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
    """One side: price -> size text, and the prices kept sorted ascending."""

    __slots__ = ("sizes", "prices", "descending")

    def __init__(self, descending: bool) -> None:
        self.sizes: dict[Decimal, str] = {}  # sizes stay text until someone reads them
        self.prices: list[Decimal] = []
        self.descending = descending

    def clear(self) -> None:
        self.sizes.clear()
        self.prices.clear()

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
            out.append(BookLevel(price, Decimal(self.sizes[price])))
        return tuple(out)


def _is_zero(size: str) -> bool:
    """"0.0000" (or "0", "0.") means: remove the level."""
    return not size.strip("0.")


class LocalBook:
    """One market's book as the stream describes it."""

    __slots__ = ("venue", "symbol", "bids", "asks", "nonce", "offset", "ts_ms", "ready", "_prices")

    def __init__(self, venue: str, symbol: str) -> None:
        self.venue = venue
        self.symbol = symbol
        self.bids = _Side(descending=True)
        self.asks = _Side(descending=False)
        self.nonce = 0
        self.offset = 0
        self.ts_ms = 0
        self.ready = False
        self._prices: dict[str, Decimal] = {}  # price text -> Decimal: prices repeat

    def reset(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.nonce = self.offset = 0
        self.ready = False

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

    def _apply(self, side: _Side, levels: Iterable[Mapping[str, Any]] | None) -> None:
        if not levels:
            return
        cache = self._prices
        sizes, prices = side.sizes, side.prices
        for level in levels:
            text = level["price"]
            price = cache.get(text)
            if price is None:
                if len(cache) > 100_000:  # bounded: a drifting market keeps adding prices
                    cache.clear()
                price = cache[text] = Decimal(text)
            size = level["size"]
            if _is_zero(size):
                if sizes.pop(price, None) is not None:
                    del prices[bisect_left(prices, price)]
            else:
                if price not in sizes:
                    prices.insert(bisect_left(prices, price), price)
                sizes[price] = size

    def size_at(self, price: Decimal) -> Decimal:
        """The size resting at `price` (zero when there is no level)."""
        text = self.bids.sizes.get(price) or self.asks.sizes.get(price)
        return Decimal(text) if text is not None else ZERO

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids.best()

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks.best()

    def snapshot(self, depth: int | None = None, seq: int = 0) -> OrderBook:
        return OrderBook(self.venue, self.symbol, self.bids.levels(depth), self.asks.levels(depth), seq, self.ts_ms)
