"""A local price-level book fed by `depth.{contractId}.{level}`: a Snapshot, then changes.

Each push carries `startVersion` and `endVersion`; a change continues the book only if
its `startVersion` is the previous `endVersion` + 1 (the recorded pushes: a snapshot
ending at 90595447, the next change starting at 90595448). Anything else raises
`BookGap`, and the caller resubscribes for a fresh snapshot. Sizes in changes are the
new absolute size of the level; 0 removes it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from perpd.model import BookLevel, OrderBook


class BookGap(Exception):
    """A change does not continue the local book: resubscribe for a fresh snapshot."""


class _Side:
    __slots__ = ("sizes", "prices", "descending")

    def __init__(self, descending: bool) -> None:
        self.sizes: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []  # ascending
        self.descending = descending

    def clear(self) -> None:
        self.sizes.clear()
        self.prices.clear()

    def apply(self, levels: Iterable[Mapping[str, Any]] | None, cache: dict[str, Decimal]) -> tuple[BookLevel, ...]:
        """Apply levels; returns them as BookLevels (size 0 = removed)."""
        out = []
        sizes, prices = self.sizes, self.prices
        for level in levels or ():
            text = level["price"]
            price = cache.get(text)
            if price is None:
                if len(cache) > 100_000:  # bounded: a drifting market keeps adding prices
                    cache.clear()
                price = cache[text] = Decimal(text)
            size = Decimal(level["size"])
            if size:
                if price not in sizes:
                    prices.insert(bisect_left(prices, price), price)
                sizes[price] = size
            elif sizes.pop(price, None) is not None:
                del prices[bisect_left(prices, price)]
            out.append(BookLevel(price, size))
        return tuple(out)

    def best(self) -> Decimal | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.descending else self.prices[0]

    def levels(self, depth: int | None = None) -> tuple[BookLevel, ...]:
        prices = self.prices[::-1] if self.descending else self.prices
        if depth is not None:
            prices = prices[:depth]
        return tuple(BookLevel(p, self.sizes[p]) for p in prices)


class LocalBook:
    """One contract's book as the depth channel describes it."""

    __slots__ = ("venue", "symbol", "bids", "asks", "version", "ts_ms", "ready", "_prices")

    def __init__(self, venue: str, symbol: str) -> None:
        self.venue = venue
        self.symbol = symbol
        self.bids = _Side(descending=True)
        self.asks = _Side(descending=False)
        self.version = 0
        self.ts_ms = 0
        self.ready = False
        self._prices: dict[str, Decimal] = {}

    def reset(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.version = 0
        self.ready = False

    def apply_snapshot(self, item: Mapping[str, Any], ts_ms: int = 0) -> None:
        self.reset()
        self.bids.apply(item.get("bids"), self._prices)
        self.asks.apply(item.get("asks"), self._prices)
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
        bids = self.bids.apply(item.get("bids"), self._prices)
        asks = self.asks.apply(item.get("asks"), self._prices)
        self.version = int(item.get("endVersion") or start)
        self.ts_ms = ts_ms
        return bids, asks

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids.best()

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks.best()

    def snapshot(self, depth: int | None = None, seq: int = 0) -> OrderBook:
        return OrderBook(self.venue, self.symbol, self.bids.levels(depth), self.asks.levels(depth), seq, self.ts_ms)
