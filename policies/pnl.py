"""Daily PnL and drawdown per account, from journaled fills and marks, for loss limits.

For each account and each tracked reset time (UTC `HH:MM`, daily):

    pnl      = realized since the reset (each fill's `realized_pnl`, or average-entry
               accounting when the venue gives none, minus its fee)
             + (unrealized now - unrealized at the reset)
    drawdown = peak of pnl since the reset (0 at the reset) - pnl now

Unrealized PnL comes from the tracker's own position ledger (sizes and average entry
built from the fills) valued at the latest marks, so realized and unrealized always move
together: a fill that closes a position moves PnL into realized without a moment where
both count it, and no false peak appears while the venue's position update is in flight.
A symbol with no mark yet is valued at its last fill price.

Positions opened before the journal's first fill are unknown to the fills: `adopt` seeds
them from the venue's positions (once, after the start-up resync) and returns the opening
fills it booked, for the engine to journal with the rest.

Pure and deterministic: time is passed in, nothing is read from a clock. Rebuild after a
restart with `PnlTracker.from_fills(journal fills, ...)`; realized PnL replays exactly. The
window's starting value and its peak depend on marks the fills do not record: pass the
`baselines()` saved before the restart to restore them exactly, else positions carried
across the reset are valued at their last fill price at the reset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perpd.model import ZERO, Fill, Liquidity, Side
from perpd.portfolio import Portfolio

DAY_MS = 86_400_000


def reset_offset_ms(reset_time_utc: str) -> int:
    """`"HH:MM"` -> milliseconds after midnight UTC."""
    hours, sep, minutes = reset_time_utc.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"reset time must be HH:MM in UTC (got {reset_time_utc!r})")
    return (int(hours) * 60 + int(minutes)) * 60_000


def window_start(now_ms: int, reset_time_utc: str) -> int:
    """The most recent reset at or before `now_ms`."""
    offset = reset_offset_ms(reset_time_utc)
    return now_ms - (now_ms - offset) % DAY_MS


@dataclass
class _Ledger:
    """One symbol's position by average entry; `last_price` values it when no mark is known."""

    size: Decimal = ZERO
    entry: Decimal = ZERO
    last_price: Decimal = ZERO

    def apply(self, signed: Decimal, price: Decimal) -> Decimal:
        """Book a fill; return the PnL it realizes (before fees)."""
        self.last_price = price
        if self.size == 0 or (self.size > 0) == (signed > 0):
            total = self.size + signed
            self.entry = (self.size * self.entry + signed * price) / total
            self.size = total
            return ZERO
        closed = min(abs(signed), abs(self.size))
        realized = closed * (price - self.entry) * (1 if self.size > 0 else -1)
        remaining = self.size + signed
        if remaining == 0:
            self.entry = ZERO
        elif (remaining > 0) != (self.size > 0):
            self.entry = price  # flipped: the rest opened at this fill's price
        self.size = remaining
        return realized

    def unrealized(self, mark: Decimal | None) -> Decimal:
        return self.size * ((mark if mark is not None else self.last_price) - self.entry)


@dataclass
class _Window:
    start_ms: int
    base: Decimal  # the curve (realized + unrealized) at the reset
    base_realized: Decimal
    peak: Decimal = ZERO  # of pnl since the reset


@dataclass
class _Book:
    venue: str
    realized: Decimal = ZERO  # since tracking began, net of fees
    ledgers: dict[str, _Ledger] = field(default_factory=dict)
    windows: dict[str, _Window] = field(default_factory=dict)


@dataclass(frozen=True)
class Baseline:
    """A window's start and peak, for the engine to persist and restore after a restart."""

    account: str
    reset_time_utc: str
    start_ms: int
    base: Decimal
    base_realized: Decimal
    peak: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "reset_time_utc": self.reset_time_utc,
            "start_ms": self.start_ms,
            "base": str(self.base),
            "base_realized": str(self.base_realized),
            "peak": str(self.peak),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Baseline:
        return cls(
            str(data["account"]),
            str(data["reset_time_utc"]),
            int(data["start_ms"]),
            Decimal(data["base"]),
            Decimal(data["base_realized"]),
            Decimal(data["peak"]),
        )


@dataclass(frozen=True)
class PnlView:
    """One account's figures since one reset, as of a time."""

    start_ms: int
    realized: Decimal  # since the reset, net of fees
    unrealized_change: Decimal
    peak: Decimal

    @property
    def pnl(self) -> Decimal:
        return self.realized + self.unrealized_change

    @property
    def drawdown(self) -> Decimal:
        return max(self.peak, self.pnl) - self.pnl


class PnlTracker:
    """Realized + unrealized PnL per account since daily reset times; see the module doc."""

    def __init__(self, reset_times: Iterable[str] = ("00:00",)) -> None:
        self._reset_times: tuple[str, ...] = ()
        self._books: dict[str, _Book] = {}
        self._marks: dict[tuple[str, str], Decimal] = {}
        self._seen: set[tuple[str, str, str]] = set()
        self.track(*reset_times)

    @classmethod
    def from_fills(
        cls,
        fills: Iterable[Fill],
        reset_times: Iterable[str] = ("00:00",),
        *,
        baselines: Iterable[Baseline] = (),
    ) -> PnlTracker:
        """Rebuild from the journal's fills, restoring saved baselines.

        Fills are replayed by time; equal times keep the order given (the journal's).
        """
        tracker = cls(reset_times)
        # Stable: fills at the same millisecond keep the journal's (arrival) order.
        for fill in sorted(fills, key=lambda f: f.ts_ms):
            tracker.on_fill(fill)
        for saved in baselines:
            tracker._restore(saved)
        return tracker

    def rebuild(self, fills: Iterable[Fill], now_ms: int | None = None, *, baselines: Iterable[Baseline] = ()) -> None:
        """Replace this tracker's books with a replay of `fills` (the journal) and baselines.

        Keeps the reset times and the marks already seen; with `now_ms`, windows are rolled
        to it so a read right away measures from the right reset.
        """
        fresh = PnlTracker.from_fills(fills, self._reset_times, baselines=baselines)
        marks = self._marks
        self._books, self._seen = fresh._books, fresh._seen
        self._marks = {**fresh._marks, **marks}
        if now_ms is not None:
            for book in self._books.values():
                self._roll(book, now_ms)

    @property
    def reset_times(self) -> tuple[str, ...]:
        return self._reset_times

    def track(self, *reset_times: str) -> None:
        """Also track these reset times (a reload added a policy); measured from now on."""
        for reset in reset_times:
            reset_offset_ms(reset)
        self._reset_times = tuple(sorted(set(self._reset_times) | set(reset_times)))

    # ------------------------------------------------------------------ feeding

    def on_fill(self, fill: Fill) -> bool:
        """Book one fill; False (and no change) if this fill was booked before."""
        key = (fill.account, fill.venue, fill.trade_id)
        if key in self._seen:
            return False
        self._seen.add(key)
        book = self._book(fill.account, fill.venue)
        self._roll(book, fill.ts_ms)
        before = self._curve(book)
        ledger = book.ledgers.setdefault(fill.symbol, _Ledger())
        computed = ledger.apply(fill.signed_size, fill.price)
        amount = (fill.realized_pnl if fill.realized_pnl is not None else computed) - fill.fee
        book.realized += amount
        for window in book.windows.values():
            if fill.ts_ms < window.start_ms:
                # A late fill from before the reset belongs to an earlier day's PnL.
                window.base += self._curve(book) - before
                window.base_realized += amount
        self._raise_peaks(book)
        return True

    def on_marks(self, portfolio: Portfolio, now_ms: int) -> None:
        """Take the latest marks from the portfolio and move every account's curve to them."""
        for name, state in portfolio.accounts.items():
            self._book(name, state.venue)
        for book in self._books.values():
            self._roll(book, now_ms)  # first: a window opens at the marks before this update
        data = portfolio.market_data
        for venue, symbol in {*data.markets, *data.tickers}:
            mark = data.mark(venue, symbol)
            if mark is not None:
                self._marks[(venue, symbol)] = mark
        for name, state in portfolio.accounts.items():
            for symbol, position in state.positions.items():
                if data.mark(state.venue, symbol) is None and position.mark_price is not None:
                    self._marks[(state.venue, symbol)] = position.mark_price
        for book in self._books.values():
            self._raise_peaks(book)

    def adopt(self, portfolio: Portfolio, now_ms: int) -> list[Fill]:
        """Book the part of each venue position the fills do not explain; return those fills.

        For positions opened before the journal's first fill: call once after the start-up
        resync, when fills and positions agree, and journal the returned fills so a rebuild
        replays them. Each is an opening fill at the venue's entry price, stamped at the
        epoch so that it counts as before every reset: today's PnL does not move, later
        mark changes do.
        """
        booked = []
        for name, state in sorted(portfolio.accounts.items()):
            book = self._book(name, state.venue)
            held = state.position_sizes()
            for symbol in sorted({*held, *(s for s, l in book.ledgers.items() if l.size)}):
                ledger = book.ledgers.get(symbol)
                missing = held.get(symbol, ZERO) - (ledger.size if ledger is not None else ZERO)
                position = state.positions.get(symbol)
                entry = (position.entry_price or position.mark_price) if position is not None else None
                price = entry or portfolio.mark(state.venue, symbol)
                if missing == 0 or price is None:
                    continue
                fill = Fill(
                    account=name,
                    venue=state.venue,
                    trade_id=f"adopt:{name}:{symbol}:{now_ms}",
                    client_id=None,
                    venue_order_id=None,
                    symbol=symbol,
                    side=Side.of_size(missing),
                    price=price,
                    size=abs(missing),
                    fee=ZERO,
                    liquidity=Liquidity.MAKER,
                    ts_ms=0,
                    realized_pnl=ZERO,
                )
                if self.on_fill(fill):
                    booked.append(fill)
        self.on_marks(portfolio, now_ms)
        return booked

    # ------------------------------------------------------------------ reading

    def view(self, account: str, reset_time_utc: str, now_ms: int) -> PnlView:
        """Realized, unrealized change and peak of `account` since the reset before `now_ms`."""
        if reset_time_utc not in self._reset_times:
            raise KeyError(f"reset time {reset_time_utc} is not tracked (call track())")
        start = window_start(now_ms, reset_time_utc)
        book = self._books.get(account)
        window = book.windows.get(reset_time_utc) if book is not None else None
        if book is None or window is None or window.start_ms < start:
            return PnlView(start, ZERO, ZERO, ZERO)  # nothing booked since this reset
        realized = book.realized - window.base_realized
        pnl = self._curve(book) - window.base
        return PnlView(window.start_ms, realized, pnl - realized, window.peak)

    def pnl(self, account: str, reset_time_utc: str, now_ms: int) -> Decimal:
        return self.view(account, reset_time_utc, now_ms).pnl

    def drawdown(self, account: str, reset_time_utc: str, now_ms: int) -> Decimal:
        return self.view(account, reset_time_utc, now_ms).drawdown

    def position(self, account: str, symbol: str) -> Decimal:
        """The position the fills add up to (what the tracker values)."""
        book = self._books.get(account)
        ledger = book.ledgers.get(symbol) if book is not None else None
        return ledger.size if ledger is not None else ZERO

    def baselines(self) -> tuple[Baseline, ...]:
        """Every window's start and peak, for the engine to persist (e.g. as a journal cursor)."""
        return tuple(
            Baseline(name, reset, w.start_ms, w.base, w.base_realized, w.peak)
            for name, book in sorted(self._books.items())
            for reset, w in sorted(book.windows.items())
        )

    # ------------------------------------------------------------------ internals

    def _book(self, account: str, venue: str) -> _Book:
        book = self._books.get(account)
        if book is None:
            book = self._books[account] = _Book(venue)
        return book

    def _curve(self, book: _Book) -> Decimal:
        unrealized = sum(
            (ledger.unrealized(self._marks.get((book.venue, symbol))) for symbol, ledger in book.ledgers.items()),
            ZERO,
        )
        return book.realized + unrealized

    def _roll(self, book: _Book, now_ms: int) -> None:
        """Open a new window for every reset passed since the last event."""
        for reset in self._reset_times:
            start = window_start(now_ms, reset)
            window = book.windows.get(reset)
            if window is None or start > window.start_ms:
                book.windows[reset] = _Window(start, self._curve(book), book.realized)

    def _raise_peaks(self, book: _Book) -> None:
        curve = self._curve(book)
        for window in book.windows.values():
            window.peak = max(window.peak, curve - window.base)

    def _restore(self, saved: Baseline) -> None:
        book = self._books.get(saved.account)
        if book is None or saved.reset_time_utc not in self._reset_times:
            return  # no fills: the curve is flat at zero, nothing to restore
        window = book.windows.get(saved.reset_time_utc)
        if window is None or window.start_ms > saved.start_ms:
            return  # saved before an earlier reset: stale
        unrealized_at_reset = saved.base - saved.base_realized
        if window.start_ms < saved.start_ms:
            # No fill since that reset, so realized then is realized now.
            window = book.windows[saved.reset_time_utc] = _Window(saved.start_ms, book.realized, book.realized)
        # Realized at the reset replays exactly from the fills; the marks at the reset do not.
        same = window.base_realized == saved.base_realized
        window.base = saved.base if same else window.base_realized + unrealized_at_reset
        # The replay's peaks were measured from the replaced base (and at fill prices, not
        # marks): the saved peak stands until the next marks move the curve.
        window.peak = saved.peak
