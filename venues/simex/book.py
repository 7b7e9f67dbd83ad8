"""A price-time priority order book over integer ticks and lots.

Each side keeps its price levels in a dict (price -> Level) plus an ascending list of
prices (bisect), so the best price is an index away and a new level costs one insort.
A level keeps its orders in an insertion-ordered dict (oid -> order): time priority is
dict order, and a cancel is an O(1) delete.

The book also records which levels changed since the last `take_changes()`, so the
engine can emit one price-level delta per operation with the new aggregate sizes.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence
from typing import Any

_NONE: tuple[tuple[int, int], ...] = ()


class Level:
    __slots__ = ("price", "orders", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: dict[int, Any] = {}
        self.total = 0  # lots resting at this price


class BookSide:
    """One side of a book. `is_bid` decides which end of `prices` is the best."""

    __slots__ = ("is_bid", "levels", "prices", "changed")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, Level] = {}
        self.prices: list[int] = []  # ascending
        self.changed: set[int] = set()

    def best(self) -> int | None:
        prices = self.prices
        if not prices:
            return None
        return prices[-1] if self.is_bid else prices[0]

    def add(self, order: Any) -> None:
        """Append an order at the back of its price level."""
        price = order.price
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = Level(price)
            insort(self.prices, price)
        level.orders[order.oid] = order
        level.total += order.size - order.filled
        self.changed.add(price)

    def remove(self, order: Any) -> None:
        """Take an order (and its remaining lots) off its level."""
        price = order.price
        level = self.levels[price]
        del level.orders[order.oid]
        level.total -= order.size - order.filled
        if not level.orders:
            self._drop(level)
        self.changed.add(price)

    def reduce(self, level: Level, lots: int) -> None:
        """An order on `level` lost `lots` (a fill or a shrink that keeps priority)."""
        level.total -= lots
        self.changed.add(level.price)

    def drop_if_empty(self, level: Level) -> None:
        if not level.orders:
            self._drop(level)

    def _drop(self, level: Level) -> None:
        del self.levels[level.price]
        prices = self.prices
        del prices[bisect_left(prices, level.price)]

    def depth(self, limit: int | None = None) -> list[tuple[int, int]]:
        """(price, lots) best first, at most `limit` levels."""
        prices = self.prices
        ordered = reversed(prices) if self.is_bid else iter(prices)
        out = []
        levels = self.levels
        for price in ordered:
            if limit is not None and len(out) >= limit:
                break
            out.append((price, levels[price].total))
        return out

    def take_changes(self) -> Sequence[tuple[int, int]]:
        """Changed levels since the last call as (price, lots), best first; lots 0: removed."""
        changed = self.changed
        if not changed:
            return _NONE
        levels = self.levels
        if len(changed) == 1:  # most operations change one level
            price = changed.pop()
            level = levels.get(price)
            return [(price, level.total if level is not None else 0)]
        out = [(p, levels[p].total if p in levels else 0) for p in sorted(changed, reverse=self.is_bid)]
        changed.clear()
        return out

    def size_at(self, price: int) -> int:
        level = self.levels.get(price)
        return level.total if level is not None else 0

    def marketable(self, limit: int, is_buy: bool) -> list[int]:
        """Prices a taker on `is_buy` with limit `limit` would trade against, best first."""
        prices = self.prices
        if is_buy:  # this is the ask side: ascending up to limit
            return prices[: bisect_left(prices, limit + 1)]
        return prices[bisect_left(prices, limit):][::-1]


class Book:
    __slots__ = ("bids", "asks", "seq")

    def __init__(self) -> None:
        self.bids = BookSide(True)
        self.asks = BookSide(False)
        self.seq = 0  # increases by one per emitted delta

    def side(self, is_buy: bool) -> BookSide:
        return self.bids if is_buy else self.asks

    def opposite(self, is_buy: bool) -> BookSide:
        return self.asks if is_buy else self.bids

    @property
    def dirty(self) -> bool:
        return bool(self.bids.changed or self.asks.changed)

    def take_changes(self) -> tuple[Sequence[tuple[int, int]], Sequence[tuple[int, int]]]:
        """Changed levels since the last call as (price, lots) - lots 0 means removed."""
        return self.bids.take_changes(), self.asks.take_changes()

    def crossed(self) -> bool:
        bid, ask = self.bids.best(), self.asks.best()
        return bid is not None and ask is not None and bid >= ask
