"""The daemon's in-memory view of the world, fed by venue streams and snapshots.

Every read path (API, risk gate, router, reconciler) is served from here, so reads never
wait on a venue. Writers are the engine's stream consumers and resyncs, all on one event
loop, so no locking is needed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from perpd.ledger import PositionLedger
from perpd.model import (
    ZERO,
    Balance,
    BookLevel,
    BookUpdate,
    Fill,
    FundingRate,
    Market,
    Order,
    OrderBook,
    Position,
    Ticker,
    base_asset,
)

# --------------------------------------------------------------------------- books


class LocalBook:
    """A price-level book kept from a snapshot plus deltas (size 0 removes a level).

    Prices are kept sorted ascending in a list (bisect), sizes in a dict: O(log n) per
    delta and a cheap top of book.
    """

    __slots__ = ("venue", "symbol", "seq", "ts_ms", "_bids", "_asks", "_bid_px", "_ask_px")

    def __init__(self, venue: str, symbol: str) -> None:
        self.venue = venue
        self.symbol = symbol
        self.seq = -1
        self.ts_ms = 0
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}
        self._bid_px: list[Decimal] = []
        self._ask_px: list[Decimal] = []

    def apply(self, update: BookUpdate) -> bool:
        """Apply an update; False if it does not follow the last seq (caller resyncs)."""
        if update.snapshot:
            self._bids = {lvl.price: lvl.size for lvl in update.bids if lvl.size > 0}
            self._asks = {lvl.price: lvl.size for lvl in update.asks if lvl.size > 0}
            self._bid_px = sorted(self._bids)
            self._ask_px = sorted(self._asks)
        else:
            if self.seq < 0 or update.seq != self.seq + 1:
                return False
            _apply_levels(self._bids, self._bid_px, update.bids)
            _apply_levels(self._asks, self._ask_px, update.asks)
        self.seq = update.seq
        self.ts_ms = update.ts_ms
        return True

    @property
    def ready(self) -> bool:
        return self.seq >= 0

    @property
    def best_bid(self) -> Decimal | None:
        return self._bid_px[-1] if self._bid_px else None

    @property
    def best_ask(self) -> Decimal | None:
        return self._ask_px[0] if self._ask_px else None

    def snapshot(self, depth: int = 20) -> OrderBook:
        bids = tuple(BookLevel(p, self._bids[p]) for p in reversed(self._bid_px[-depth:]))
        asks = tuple(BookLevel(p, self._asks[p]) for p in self._ask_px[:depth])
        return OrderBook(self.venue, self.symbol, bids, asks, self.seq, self.ts_ms)


def _apply_levels(sizes: dict[Decimal, Decimal], prices: list[Decimal], levels: Iterable[BookLevel]) -> None:
    for level in levels:
        if level.size > 0:
            if level.price not in sizes:
                bisect.insort(prices, level.price)
            sizes[level.price] = level.size
        elif level.price in sizes:
            del sizes[level.price]
            del prices[bisect.bisect_left(prices, level.price)]


# --------------------------------------------------------------------------- market data


@dataclass
class MarketData:
    """Markets, books, tickers and funding for every venue, keyed by (venue, symbol)."""

    markets: dict[tuple[str, str], Market] = field(default_factory=dict)
    books: dict[tuple[str, str], LocalBook] = field(default_factory=dict)
    tickers: dict[tuple[str, str], Ticker] = field(default_factory=dict)
    funding: dict[tuple[str, str], FundingRate] = field(default_factory=dict)

    def market(self, venue: str, symbol: str) -> Market | None:
        return self.markets.get((venue, symbol))

    def book(self, venue: str, symbol: str) -> LocalBook:
        key = (venue, symbol)
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = LocalBook(venue, symbol)
        return book

    def mark(self, venue: str, symbol: str) -> Decimal | None:
        """The venue's mark price, else the book mid, else None."""
        ticker = self.tickers.get((venue, symbol))
        if ticker is not None:
            return ticker.mark_price
        book = self.books.get((venue, symbol))
        if book is not None and book.best_bid is not None and book.best_ask is not None:
            return (book.best_bid + book.best_ask) / 2
        return None

    def venues_trading(self, symbol: str) -> list[str]:
        return sorted(v for (v, s) in self.markets if s == symbol)


# --------------------------------------------------------------------------- accounts

DEFAULT_LAG_MS = 10_000  # daemon.position_report_lag_secs


@dataclass
class AccountState:
    """What perpd knows of one account: live orders, positions, balance.

    `positions` holds the venue's own reports (what the API shows); `position_size` is
    the ledger's estimate, which also counts trades no report has shown yet
    (`perpd.ledger`): everything that plans or gates reads that.
    """

    account: str
    venue: str
    orders: dict[str, Order] = field(default_factory=dict)  # live orders by client id
    positions: dict[str, Position] = field(default_factory=dict)  # as reported, by symbol, non-zero
    balance: Balance | None = None
    synced: bool = False  # a full resync has completed since the last gap
    last_contact_ms: int = 0
    ledger: PositionLedger = field(default_factory=lambda: PositionLedger(DEFAULT_LAG_MS))

    def position_size(self, symbol: str) -> Decimal:
        return self.ledger.size(symbol)

    def position_sizes(self) -> dict[str, Decimal]:
        """Every symbol held (by the ledger's estimate), signed."""
        return self.ledger.sizes()

    def live_orders(self, symbol: str | None = None) -> Iterator[Order]:
        for order in self.orders.values():
            if (symbol is None or order.symbol == symbol) and order.status.is_live:
                yield order

    def upsert_order(self, order: Order, now_ms: int = 0) -> None:
        self.ledger.on_order(order, now_ms)
        if order.status.is_terminal:
            self.orders.pop(order.client_id, None)
        else:
            self.orders[order.client_id] = order

    def add_fill(self, fill: Fill, now_ms: int = 0, row: int | None = None) -> None:
        """A fill newly journaled (never one already seen: the journal dedupes)."""
        self.ledger.on_fill(fill, now_ms, row)

    def set_position(self, position: Position, now_ms: int = 0) -> None:
        """A position report from the account stream."""
        self.ledger.on_report(position.symbol, position.size, now_ms)
        self._show(position)

    def replace_positions(self, positions: Iterable[Position], now_ms: int = 0) -> None:
        """A snapshot of every position (resync): a symbol it leaves out is flat."""
        fresh = {p.symbol: p for p in positions}
        self.ledger.on_snapshot({s: p.size for s, p in fresh.items()}, now_ms)
        self.positions.clear()
        for position in fresh.values():
            self._show(position)

    def _show(self, position: Position) -> None:
        if position.size == 0:
            self.positions.pop(position.symbol, None)
        else:
            self.positions[position.symbol] = position


@dataclass
class Portfolio:
    """Every account and all market data: what the risk gate and the router read."""

    accounts: dict[str, AccountState] = field(default_factory=dict)
    market_data: MarketData = field(default_factory=MarketData)

    def account(self, name: str) -> AccountState:
        return self.accounts[name]

    def mark(self, venue: str, symbol: str) -> Decimal | None:
        return self.market_data.mark(venue, symbol)

    def position_notional(self, account: str, symbol: str) -> Decimal:
        state = self.accounts[account]
        mark = self.mark(state.venue, symbol) or ZERO
        return abs(state.position_size(symbol)) * mark

    def asset_position(self, asset: str) -> Decimal:
        """Signed size of one asset summed across every account and venue."""
        return sum(
            (size for s in self.accounts.values() for symbol, size in s.position_sizes().items() if base_asset(symbol) == asset),
            ZERO,
        )

    def asset_notional(self, asset: str) -> Decimal:
        """|signed size| x mark of one asset summed across accounts: the aggregate exposure."""
        total = ZERO
        for state in self.accounts.values():
            for symbol, size in state.position_sizes().items():
                if base_asset(symbol) == asset:
                    total += size * self._mark_of(state, symbol)
        return abs(total)

    def gross_notional(self, accounts: Iterable[str]) -> Decimal:
        total = ZERO
        for name in accounts:
            state = self.accounts[name]
            for symbol, size in state.position_sizes().items():
                total += abs(size) * self._mark_of(state, symbol)
        return total

    def _mark_of(self, state: AccountState, symbol: str) -> Decimal:
        reported = state.positions.get(symbol)
        return self.mark(state.venue, symbol) or (reported.mark_price if reported else None) or ZERO
