"""PnL per account and symbol, from journaled fills, funding payments and marks: what loss
limits measure and what traders read (GET /api/v1/pnl), computed by this one code.

Each symbol's figures (`PnlParts`) are realized (each fill's `realized_pnl`, or
average-entry accounting when the venue gives none), fees paid, funding received, and
unrealized (the fills' position at the latest mark). For each account and each tracked
reset time (UTC `HH:MM`, daily):

    pnl      = (realized - fees + funding) since the reset
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

`statement` gives the same parts over any window of the journal (since inception, or
since/until), replaying with this tracker; where the marks at a window's edge are not
known (they are not journaled), positions there are valued at their last fill price.

Pure and deterministic: time is passed in, nothing is read from a clock. Rebuild after a
restart with `PnlTracker.from_fills(journal fills, ..., payments=...)`; realized PnL replays exactly. The
window's starting value and its peak depend on marks the fills do not record: pass the
`baselines()` saved before the restart to restore them exactly, else positions carried
across the reset are valued at their last fill price at the reset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perpd.model import ZERO, Fill, FundingPayment, Liquidity, Side
from perpd.portfolio import Portfolio

DAY_MS = 86_400_000
DEFAULT_RESET = "00:00"  # a policy's reset_time_utc unless it says otherwise


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


@dataclass(frozen=True)
class PnlParts:
    """One symbol's (or a sum's) PnL: cumulative, or over a window as the difference of two."""

    realized: Decimal = ZERO  # trading PnL realized, before fees
    fees: Decimal = ZERO  # paid; negative = rebates
    funding: Decimal = ZERO  # received; negative = paid
    unrealized: Decimal = ZERO  # open position at the mark (over a window: its change)

    @property
    def net(self) -> Decimal:
        return self.realized - self.fees + self.funding + self.unrealized

    @property
    def booked(self) -> Decimal:
        """Everything but unrealized: what is in the account's cash."""
        return self.realized - self.fees + self.funding

    def __add__(self, other: PnlParts) -> PnlParts:
        return PnlParts(self.realized + other.realized, self.fees + other.fees, self.funding + other.funding,
                        self.unrealized + other.unrealized)

    def __sub__(self, other: PnlParts) -> PnlParts:
        return PnlParts(self.realized - other.realized, self.fees - other.fees, self.funding - other.funding,
                        self.unrealized - other.unrealized)

    def to_list(self) -> list[str]:
        return [str(self.realized), str(self.fees), str(self.funding), str(self.unrealized)]

    @classmethod
    def from_list(cls, data: list[str]) -> PnlParts:
        return cls(*(Decimal(x) for x in data))


NO_PNL = PnlParts()


def total(parts: Iterable[PnlParts]) -> PnlParts:
    out = NO_PNL
    for one in parts:
        out = out + one
    return out


@dataclass
class _Ledger:
    """One symbol's position by average entry; `last_price` values it when no mark is known."""

    size: Decimal = ZERO
    entry: Decimal = ZERO
    last_price: Decimal = ZERO
    realized: Decimal = ZERO  # since tracking began: trading PnL before fees
    fees: Decimal = ZERO
    funding: Decimal = ZERO

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

    def parts(self, mark: Decimal | None) -> PnlParts:
        return PnlParts(self.realized, self.fees, self.funding, self.unrealized(mark))


@dataclass
class _Window:
    start_ms: int
    start: dict[str, PnlParts]  # each symbol's parts at the reset
    peak: Decimal = ZERO  # of pnl since the reset

    @property
    def base(self) -> Decimal:
        """The curve (booked + unrealized) at the reset."""
        return sum((p.net for p in self.start.values()), ZERO)

    @property
    def base_realized(self) -> Decimal:
        return sum((p.booked for p in self.start.values()), ZERO)


@dataclass
class _Book:
    venue: str
    ledgers: dict[str, _Ledger] = field(default_factory=dict)
    windows: dict[str, _Window] = field(default_factory=dict)

    @property
    def realized(self) -> Decimal:
        """Since tracking began: realized - fees + funding."""
        return sum((ledger.realized - ledger.fees + ledger.funding for ledger in self.ledgers.values()), ZERO)


@dataclass(frozen=True)
class Baseline:
    """A window's start and peak, for the engine to persist and restore after a restart."""

    account: str
    reset_time_utc: str
    start_ms: int
    base: Decimal
    base_realized: Decimal
    peak: Decimal
    unrealized: Mapping[str, Decimal] | None = None  # per symbol at the reset (None: saved before it was kept)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "account": self.account,
            "reset_time_utc": self.reset_time_utc,
            "start_ms": self.start_ms,
            "base": str(self.base),
            "base_realized": str(self.base_realized),
            "peak": str(self.peak),
        }
        if self.unrealized is not None:
            out["unrealized"] = {symbol: str(value) for symbol, value in sorted(self.unrealized.items())}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Baseline:
        unrealized = data.get("unrealized")
        return cls(
            str(data["account"]),
            str(data["reset_time_utc"]),
            int(data["start_ms"]),
            Decimal(data["base"]),
            Decimal(data["base_realized"]),
            Decimal(data["peak"]),
            None if unrealized is None else {str(k): Decimal(v) for k, v in unrealized.items()},
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
        payments: Iterable[FundingPayment] = (),
    ) -> PnlTracker:
        """Rebuild from the journal's fills and funding payments, restoring saved baselines.

        Events are replayed by time; equal times keep the order given (the journal's),
        fills before payments.
        """
        tracker = cls(reset_times)
        for event in in_time_order(fills, payments):
            tracker.on_event(event)
        for saved in baselines:
            tracker._restore(saved)
        return tracker

    def rebuild(
        self,
        fills: Iterable[Fill],
        now_ms: int | None = None,
        *,
        baselines: Iterable[Baseline] = (),
        payments: Iterable[FundingPayment] = (),
    ) -> None:
        """Replace this tracker's books with a replay of `fills` and `payments` (the
        journal) and baselines.

        Keeps the reset times and the marks already seen; with `now_ms`, windows are rolled
        to it so a read right away measures from the right reset.
        """
        fresh = PnlTracker.from_fills(fills, self._reset_times, baselines=baselines, payments=payments)
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
        ledger = book.ledgers.setdefault(fill.symbol, _Ledger())
        before = ledger.parts(self._marks.get((book.venue, fill.symbol)))
        computed = ledger.apply(fill.signed_size, fill.price)
        ledger.realized += fill.realized_pnl if fill.realized_pnl is not None else computed
        ledger.fees += fill.fee
        self._booked_at(book, fill.symbol, fill.ts_ms, before)
        return True

    def on_funding(self, payment: FundingPayment) -> bool:
        """Book one funding payment; False (and no change) if it was booked before."""
        key = (payment.account, payment.venue, f"funding:{payment.payment_id}")
        if key in self._seen:
            return False
        self._seen.add(key)
        book = self._book(payment.account, payment.venue)
        self._roll(book, payment.ts_ms)
        ledger = book.ledgers.setdefault(payment.symbol, _Ledger())
        before = ledger.parts(self._marks.get((book.venue, payment.symbol)))
        ledger.funding += payment.amount
        self._booked_at(book, payment.symbol, payment.ts_ms, before)
        return True

    def on_event(self, event: Fill | FundingPayment) -> bool:
        return self.on_fill(event) if isinstance(event, Fill) else self.on_funding(event)

    def _booked_at(self, book: _Book, symbol: str, ts_ms: int, before: PnlParts) -> None:
        after = book.ledgers[symbol].parts(self._marks.get((book.venue, symbol)))
        for window in book.windows.values():
            if ts_ms < window.start_ms:
                # A late event from before the reset belongs to an earlier day's PnL.
                window.start[symbol] = window.start.get(symbol, NO_PNL) + (after - before)
        self._raise_peaks(book)

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
        start_ms, parts, peak = self._since_reset(account, reset_time_utc, now_ms)
        summed = total(parts.values())
        return PnlView(start_ms, summed.booked, summed.unrealized, peak)

    def breakdown(self, account: str, reset_time_utc: str, now_ms: int) -> tuple[int, dict[str, PnlParts]]:
        """The reset's time and each symbol's parts since it: what `view` sums."""
        start_ms, parts, _ = self._since_reset(account, reset_time_utc, now_ms)
        return start_ms, parts

    def _since_reset(self, account: str, reset_time_utc: str, now_ms: int) -> tuple[int, dict[str, PnlParts], Decimal]:
        if reset_time_utc not in self._reset_times:
            raise KeyError(f"reset time {reset_time_utc} is not tracked (call track())")
        start = window_start(now_ms, reset_time_utc)
        book = self._books.get(account)
        window = book.windows.get(reset_time_utc) if book is not None else None
        if book is None or window is None or window.start_ms < start:
            return start, {}, ZERO  # nothing booked since this reset
        now = self._parts(book)
        parts = {s: now.get(s, NO_PNL) - window.start.get(s, NO_PNL) for s in sorted({*now, *window.start})}
        return window.start_ms, parts, window.peak

    def parts(self) -> dict[tuple[str, str, str], PnlParts]:
        """(account, venue, symbol) -> parts since tracking began, at the latest marks."""
        return {(name, book.venue, symbol): parts
                for name, book in sorted(self._books.items()) for symbol, parts in self._parts(book).items()}

    def booked(self, account: str) -> Decimal:
        """Realized - fees + funding since tracking began."""
        book = self._books.get(account)
        return book.realized if book is not None else ZERO

    def set_marks(self, marks: Mapping[tuple[str, str], Decimal]) -> None:
        """Value positions at these (venue, symbol) marks from now on."""
        self._marks.update(marks)

    @property
    def marks(self) -> dict[tuple[str, str], Decimal]:
        return dict(self._marks)

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
            Baseline(name, reset, w.start_ms, w.base, w.base_realized, w.peak,
                     {symbol: parts.unrealized for symbol, parts in w.start.items()})
            for name, book in sorted(self._books.items())
            for reset, w in sorted(book.windows.items())
        )

    # ------------------------------------------------------------------ internals

    def _book(self, account: str, venue: str) -> _Book:
        book = self._books.get(account)
        if book is None:
            book = self._books[account] = _Book(venue)
        return book

    def _parts(self, book: _Book) -> dict[str, PnlParts]:
        return {symbol: ledger.parts(self._marks.get((book.venue, symbol))) for symbol, ledger in book.ledgers.items()}

    def _curve(self, book: _Book) -> Decimal:
        return sum((parts.net for parts in self._parts(book).values()), ZERO)

    def _roll(self, book: _Book, now_ms: int) -> None:
        """Open a new window for every reset passed since the last event."""
        for reset in self._reset_times:
            start = window_start(now_ms, reset)
            window = book.windows.get(reset)
            if window is None or start > window.start_ms:
                book.windows[reset] = _Window(start, self._parts(book))

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
        if window.start_ms < saved.start_ms:
            # No event since that reset, so what was booked then is booked now.
            window = book.windows[saved.reset_time_utc] = _Window(saved.start_ms, self._parts(book))
        # Booked PnL at the reset replays exactly from the journal; the marks at the reset
        # do not: each symbol's unrealized at the reset is the saved one.
        unrealized = saved.unrealized
        if unrealized is None:  # saved before symbols were kept: the whole of it on one symbol
            where = min(window.start or book.ledgers or {"": None})
            unrealized = {where: saved.base - saved.base_realized}
        window.start = {
            symbol: PnlParts(parts.realized, parts.fees, parts.funding, unrealized.get(symbol, ZERO))
            for symbol in sorted({*window.start, *unrealized})
            for parts in (window.start.get(symbol, NO_PNL),)
        }
        # The replay's peaks were measured from the replaced base (and at fill prices, not
        # marks): the saved peak stands until the next marks move the curve.
        window.peak = saved.peak


def in_time_order(fills: Iterable[Fill], payments: Iterable[FundingPayment]) -> list[Fill | FundingPayment]:
    """Fills and payments by time; equal times keep the order given, fills first (stable)."""
    events: list[Fill | FundingPayment] = [*fills, *payments]
    return sorted(events, key=lambda e: e.ts_ms)


def statement(
    fills: Iterable[Fill],
    payments: Iterable[FundingPayment],
    *,
    since_ms: int | None,
    until_ms: int | None,
    marks: Mapping[tuple[str, str], Decimal],
) -> dict[tuple[str, str, str], PnlParts]:
    """(account, venue, symbol) -> parts over `since_ms` <= time < `until_ms` (None: from
    inception / until now), replaying the journal's events with the tracker.

    Open positions are valued at `marks` at an open end (now), else at their last fill
    price (marks are not journaled), so a window's unrealized part is the change between
    its two edges valued so.
    """
    tracker = PnlTracker(())
    start: dict[tuple[str, str, str], PnlParts] = {}
    started = since_ms is None
    for event in in_time_order(fills, payments):
        if until_ms is not None and event.ts_ms >= until_ms:
            break
        if not started and since_ms is not None and event.ts_ms >= since_ms:
            start, started = tracker.parts(), True
        tracker.on_event(event)
    if not started:
        start = tracker.parts()
    if until_ms is None:
        tracker.set_marks(marks)
    end = tracker.parts()
    return {key: end.get(key, NO_PNL) - start.get(key, NO_PNL) for key in sorted({*start, *end})}


def curve(
    fills: Iterable[Fill],
    payments: Iterable[FundingPayment],
    *,
    since_ms: int | None,
    until_ms: int | None,
) -> list[tuple[int, str, Decimal]]:
    """(ts_ms, account, booked PnL since `since_ms`) after each event of the window:
    realized - fees + funding, cumulative per account (what the journal alone knows:
    marks are not journaled, so no unrealized part)."""
    tracker = PnlTracker(())
    base: dict[str, Decimal] = {}
    out: list[tuple[int, str, Decimal]] = []
    for event in in_time_order(fills, payments):
        if until_ms is not None and event.ts_ms >= until_ms:
            break
        inside = since_ms is None or event.ts_ms >= since_ms
        if inside and event.account not in base:
            base[event.account] = tracker.booked(event.account)
        if tracker.on_event(event) and inside:
            out.append((event.ts_ms, event.account, tracker.booked(event.account) - base[event.account]))
    return out
