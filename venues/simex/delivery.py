"""Event delivery of the sim exchange: every public call is one transaction, and what it
changed reaches the listeners once, in order, when the outermost call ends.

During a call, the exchange queues order, fill and trade events as they happen and
marks the books and accounts it touched; `_flush` then adds one book delta per changed
market (seq +1) and, per touched account, its positions and balance, and hands the
whole batch to every listener. With no listener, nothing is built. The base of
MatchingCore (matching.py); position and balance views come from figures.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from perpd.clock import Clock
from venues.simex.accounts import Account
from venues.simex.events import BalanceEvent, BookDelta, OrderEvent, PositionEvent
from venues.simex.figures import AccountFigures, balance_view, freeze, position_view
from venues.simex.markets import MarketState
from venues.simex.orders import SimOrder

log = logging.getLogger(__name__)
_new = tuple.__new__


class EventDelivery:
    """Transactions (`_begin` / `_end`) and the events they deliver."""

    _clock: Clock
    _markets: dict[str, MarketState]
    _t: int  # simulated time reached by step()
    _ts: int  # timestamp of the operation in progress

    def _init_delivery(self) -> None:
        self._listeners: list[Callable[[Any], None]] = []
        self._pending: list[Any] = []
        self._depth = 0
        self._dirty_books: set[MarketState] = set()
        self._touched: dict[Account, set[str]] = {}
        self._last_view: tuple[SimOrder, Any] | None = None

    def _begin(self) -> None:
        if not self._depth:
            now = self._clock.now_ms()
            self._ts = now if now > self._t else self._t
        self._depth += 1

    def _end(self) -> None:
        self._depth -= 1
        if not self._depth:
            self._flush()

    def _flush(self) -> None:
        self._last_view = None  # it serves the call that built it, never a later one
        listeners = self._listeners
        pending = self._pending
        if self._dirty_books:
            for m in self._dirty_books:
                book = m.book
                bids, asks = book.bids.changed, book.asks.changed
                if not (bids or asks):
                    continue
                book.seq += 1
                if listeners:
                    pending.append(BookDelta(m.symbol, book.seq, self._ts, _levels, m, book.bids.take_changes(),
                                             book.asks.take_changes()))
                else:
                    bids.clear()
                    asks.clear()
            self._dirty_books.clear()
        if not listeners:
            if self._touched:
                self._touched.clear()
            return
        if self._touched:
            touched, self._touched = self._touched, {}
            markets, ts = self._markets, max(self._ts, self._t)
            for acct, symbols in touched.items():
                figures = freeze(acct, markets, symbols, ts)
                for symbol in sorted(symbols) if len(symbols) > 1 else symbols:
                    pending.append(PositionEvent(acct.id, symbol, position_view, figures, markets[symbol]))
                pending.append(BalanceEvent(acct.id, balance_view, figures))
        events, self._pending = pending, []
        # Listeners (un)subscribing during delivery take effect from the next call.
        for listener in tuple(listeners):
            for event in events:
                try:
                    listener(event)
                except Exception:  # a broken listener must never corrupt the exchange
                    log.exception("sim exchange listener failed on %s", type(event).__name__)

    def _figures(self, acct: Account, symbols: Iterable[str] = ()) -> AccountFigures:
        """What the position and balance views of `acct` are built from, as of now."""
        return freeze(acct, self._markets, symbols, max(self._ts, self._t))

    def _touch(self, acct: Account, symbol: str | None = None) -> None:
        symbols = self._touched.get(acct)
        if symbols is None:
            symbols = self._touched[acct] = set()
        if symbol is not None:
            symbols.add(symbol)

    def _emit_order(self, o: SimOrder) -> None:
        # Position and balance updates follow fills, funding and settings, not every order
        # (an order only moves `available`; fetch_balance has it).
        if self._listeners and not o.acct.house:
            view = o.view()
            self._last_view = (o, view)  # place() returns it without building it twice
            self._pending.append(_new(OrderEvent, (o.acct.id, view)))  # OrderEvent(...), at half the cost


def _levels(m: MarketState, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
            ) -> tuple[tuple[tuple[Decimal, Decimal], ...], tuple[tuple[Decimal, Decimal], ...]]:
    """A book delta's (ticks, lots) levels as (price, size) Decimals."""
    price, size = m.price, m.size
    return tuple([(price(p), size(s)) for p, s in bids]), tuple([(price(p), size(s)) for p, s in asks])
