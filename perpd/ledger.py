"""How much an account holds of one symbol, counted from both sides: the venue's position
reports and the trades we know it made.

Venues report positions and trades on different channels, in no guaranteed order:
Hyperliquid's clearinghouseState can lag userFills by a second; Lighter sends the order,
the trade and the position on three channels. Reading the report alone, a planner sees
a slice's order finished before the position shows it and places another; reading fills
alone, it counts a trade twice when the report already has it. The rule, once for every
venue:

    size = the last reported size + what we know traded that no report has shown yet

- Every trade we learn of is an entry keyed by the order's client id: an order report
  whose filled size grew, or a fill (the larger of the two counts, so hearing of one trade
  through both never counts it twice).
- A report's movement since the previous report is matched, oldest first, against
  entries of the same sign: those trades are now in the report.
- Movement no entry explains (the report came before the trade) is held as
  `unexplained` and absorbs the next trades of its sign, for at most `lag_ms`.
- A snapshot (a resync) is trusted to include every trade older than `lag_ms`, and it
  is complete: a symbol it leaves out is flat, including one never traded before, so a
  first stream report of a new symbol is movement like any other.

So a report that lags never makes a target trade past itself, and a trade heard of after
its report is never counted twice. The one assumption: a venue's position reports, stream
and REST alike, come in its own order (a report is never older than one before it), and a
trade's own report arrives within `lag_ms` of a position report that shows it. Pure and synchronous: the engine feeds it; its state
round-trips through `to_dict`/`from_dict` so a restart resumes the same count.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpd.model import ZERO, Fill, Order


@dataclass(slots=True)
class _Trade:
    """What one order (or one foreign trade) traded, and how much of it reports showed."""

    sign: int
    traded: Decimal = ZERO  # the most we heard of: order filled size or sum of fills
    fills: Decimal = ZERO
    confirmed: Decimal = ZERO  # shown by a position report
    ts_ms: int = 0  # last change

    @property
    def pending(self) -> Decimal:
        return self.traded - self.confirmed


class SymbolLedger:
    """One (account, symbol): the last report, unconfirmed trades, unexplained movement."""

    __slots__ = ("reported", "trades", "unexplained", "unexplained_ms")

    def __init__(self, reported: Decimal | None = None) -> None:
        self.reported = reported
        self.trades: dict[str, _Trade] = {}  # insertion order = oldest first
        self.unexplained = ZERO
        self.unexplained_ms = 0

    @property
    def size(self) -> Decimal:
        """The best estimate of the signed position: report + trades not yet in it."""
        return (self.reported or ZERO) + sum((t.sign * t.pending for t in self.trades.values()), ZERO)

    @property
    def in_flight(self) -> Decimal:
        """Signed quantity traded that no report has shown yet."""
        return self.size - (self.reported or ZERO)

    def trade(self, key: str, sign: int, *, traded: Decimal = ZERO, fill: Decimal = ZERO, now_ms: int, lag_ms: int) -> None:
        """An order's filled size is now `traded`, or a fill of `fill` arrived."""
        entry = self.trades.get(key)
        if entry is None:
            entry = self.trades[key] = _Trade(sign)
        entry.fills += fill
        grown = max(traded, entry.fills) - entry.traded
        if grown <= 0:
            return
        entry.traded += grown
        entry.ts_ms = now_ms
        # The report may have shown this trade already (it came first): absorb that.
        if self.unexplained * sign > 0 and now_ms - self.unexplained_ms <= lag_ms:
            taken = min(grown, abs(self.unexplained))
            entry.confirmed += taken
            self.unexplained -= sign * taken

    def report(self, size: Decimal, *, now_ms: int, lag_ms: int, snapshot: bool) -> None:
        """The venue says the position is `size` now."""
        if snapshot:
            # A snapshot shows every trade older than the lag bound.
            for entry in self.trades.values():
                if entry.pending and now_ms - entry.ts_ms > lag_ms:
                    entry.confirmed = entry.traded
        # Never reported, nor flat by a snapshot: the venue's history up to now is not
        # movement to explain.
        first = self.reported is None
        moved = size - (self.reported or ZERO)
        self.reported = size
        for entry in self.trades.values():
            if moved == 0:
                break
            if entry.pending and entry.sign * moved > 0:
                taken = min(entry.pending, abs(moved))
                entry.confirmed += taken
                moved -= entry.sign * taken
        if now_ms - self.unexplained_ms > lag_ms:
            self.unexplained = ZERO
        if moved and not first:
            self.unexplained += moved
            self.unexplained_ms = now_ms
        self._prune(now_ms, lag_ms)

    def _prune(self, now_ms: int, lag_ms: int) -> None:
        """Forget settled trades once no late report or fill can still concern them."""
        for key in [k for k, t in self.trades.items() if not t.pending and now_ms - t.ts_ms > lag_ms]:
            del self.trades[key]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reported": None if self.reported is None else str(self.reported),
            "unexplained": str(self.unexplained),
            "unexplained_ms": self.unexplained_ms,
            "trades": {
                k: [t.sign, str(t.traded), str(t.fills), str(t.confirmed), t.ts_ms] for k, t in self.trades.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SymbolLedger:
        ledger = cls()
        ledger.reported = None if data.get("reported") is None else Decimal(data["reported"])
        ledger.unexplained = Decimal(data.get("unexplained", "0"))
        ledger.unexplained_ms = int(data.get("unexplained_ms", 0))
        for key, (sign, traded, fills, confirmed, ts_ms) in data.get("trades", {}).items():
            ledger.trades[key] = _Trade(int(sign), Decimal(traded), Decimal(fills), Decimal(confirmed), int(ts_ms))
        return ledger


class PositionLedger:
    """Every symbol of one account; the engine feeds it order reports, fills and position
    reports, and everything that plans or gates reads `size(symbol)`."""

    __slots__ = ("lag_ms", "symbols", "_by_venue_id", "fill_row", "dirty", "complete")

    def __init__(self, lag_ms: int) -> None:
        self.lag_ms = lag_ms
        self.symbols: dict[str, SymbolLedger] = {}
        self.complete = False  # a snapshot came: a symbol never reported is flat
        self._by_venue_id: dict[str, str] = {}  # venue order id -> client id
        self.fill_row = 0  # the last journaled fill row applied (restart replays the rest)
        self.dirty = False

    def _of(self, symbol: str) -> SymbolLedger:
        ledger = self.symbols.get(symbol)
        if ledger is None:
            ledger = self.symbols[symbol] = SymbolLedger(ZERO if self.complete else None)
        return ledger

    def size(self, symbol: str) -> Decimal:
        ledger = self.symbols.get(symbol)
        return ledger.size if ledger is not None else ZERO

    def in_flight(self, symbol: str) -> Decimal:
        ledger = self.symbols.get(symbol)
        return ledger.in_flight if ledger is not None else ZERO

    def sizes(self) -> dict[str, Decimal]:
        """Every symbol with a non-zero estimate."""
        return {s: size for s, ledger in self.symbols.items() if (size := ledger.size) != 0}

    def on_order(self, order: Order, now_ms: int) -> None:
        if order.venue_order_id:
            self._by_venue_id[order.venue_order_id] = order.client_id
        if order.filled_size > 0:
            self._of(order.symbol).trade(
                order.client_id, order.side.sign, traded=order.filled_size, now_ms=now_ms, lag_ms=self.lag_ms
            )
            self.dirty = True

    def on_fill(self, fill: Fill, now_ms: int, row: int | None = None) -> None:
        key = fill.client_id or self._by_venue_id.get(fill.venue_order_id or "") or f"trade:{fill.trade_id}"
        self._of(fill.symbol).trade(key, fill.side.sign, fill=fill.size, now_ms=now_ms, lag_ms=self.lag_ms)
        if row is not None:
            self.fill_row = max(self.fill_row, row)
        self.dirty = True

    def on_report(self, symbol: str, size: Decimal, now_ms: int, *, snapshot: bool = False) -> None:
        self._of(symbol).report(size, now_ms=now_ms, lag_ms=self.lag_ms, snapshot=snapshot)
        self.dirty = True

    def on_snapshot(self, sizes: dict[str, Decimal], now_ms: int) -> None:
        """Every position the account holds (a resync): a symbol left out is flat."""
        for symbol in {*self.symbols, *sizes}:
            self.on_report(symbol, sizes.get(symbol, ZERO), now_ms, snapshot=True)
        self.complete = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "fill_row": self.fill_row,
            "complete": self.complete,
            "symbols": {s: ledger.to_dict() for s, ledger in self.symbols.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], lag_ms: int) -> PositionLedger:
        ledger = cls(lag_ms)
        ledger.fill_row = int(data.get("fill_row", 0))
        ledger.complete = bool(data.get("complete", False))
        ledger.symbols = {s: SymbolLedger.from_dict(d) for s, d in data.get("symbols", {}).items()}
        return ledger
