"""A local price-level book, as venues that stream snapshots and level changes keep one.

Each side is a dict (price -> size) plus the prices kept sorted by bisect, so a change to
an existing level is one dict write and a new or removed level one bisect and one list
insert/delete. Price texts repeat, so their Decimals are cached (bounded). What continues
a book (a venue's versions, nonces or offsets) and how a level reads (a size as text or
as a Decimal) stay the venue's: its `LocalBook` subclasses `LevelBook`, checks continuity
and calls `put` / `remove`.
"""

from __future__ import annotations

from bisect import bisect_left
from decimal import Decimal
from typing import Any

from perpd.model import BookLevel, OrderBook

PRICE_CACHE_MAX = 100_000  # bounded: a drifting market keeps adding prices


class BookSide:
    """One side: price -> size (as the venue sent it, or a Decimal), prices sorted ascending."""

    __slots__ = ("sizes", "prices", "descending")

    def __init__(self, descending: bool) -> None:
        self.sizes: dict[Decimal, Any] = {}
        self.prices: list[Decimal] = []  # ascending
        self.descending = descending

    def clear(self) -> None:
        self.sizes.clear()
        self.prices.clear()

    def put(self, price: Decimal, size: Any) -> None:
        """Set the size of a level, adding it when new."""
        if price not in self.sizes:
            self.prices.insert(bisect_left(self.prices, price), price)
        self.sizes[price] = size

    def remove(self, price: Decimal) -> None:
        """Remove a level (nothing when there is none)."""
        if self.sizes.pop(price, None) is not None:
            del self.prices[bisect_left(self.prices, price)]

    def best(self) -> Decimal | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.descending else self.prices[0]

    def levels(self, depth: int | None = None) -> tuple[BookLevel, ...]:
        """The levels best first (the top `depth` of them), sizes read as Decimals."""
        prices = self.prices[::-1] if self.descending else self.prices
        if depth is not None:
            prices = prices[:depth]
        return tuple(BookLevel(p, Decimal(self.sizes[p])) for p in prices)


class LevelBook:
    """One market's book: both sides, its time, whether a snapshot has set it, and the
    price-text cache. A venue's LocalBook adds what continues it."""

    __slots__ = ("venue", "symbol", "bids", "asks", "ts_ms", "ready", "_prices")

    def __init__(self, venue: str, symbol: str) -> None:
        self.venue = venue
        self.symbol = symbol
        self.bids = BookSide(descending=True)
        self.asks = BookSide(descending=False)
        self.ts_ms = 0
        self.ready = False
        self._prices: dict[str, Decimal] = {}  # price text -> Decimal: prices repeat

    def clear(self) -> None:
        """Forget both sides: changes are ignored until the next snapshot."""
        self.bids.clear()
        self.asks.clear()
        self.ready = False

    def price(self, text: str) -> Decimal:
        """The Decimal of a price text, cached."""
        price = self._prices.get(text)
        if price is None:
            if len(self._prices) > PRICE_CACHE_MAX:
                self._prices.clear()
            price = self._prices[text] = Decimal(text)
        return price

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids.best()

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks.best()

    def snapshot(self, depth: int | None = None, seq: int = 0) -> OrderBook:
        return OrderBook(self.venue, self.symbol, self.bids.levels(depth), self.asks.levels(depth), seq, self.ts_ms)
