"""TWAP orders: a size spread over minutes, one market slice every 30 seconds.

As the venue describes them: `twapOrder` answers `{"running": {"twapId"}}` (or an
`{"error"}` for a duration outside 5 .. 1440 minutes), a slice goes out every 30 s as a
market order with the order's reduce-only flag, the last slice takes what is left, and
`twapCancel` stops the rest. Slice fills carry their `twapId` in userFills and are listed
by `userTwapSliceFills` (info and WS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from perpd.model import OrderType, Side
from venues.simex.events import SimFill, SimReject
from venues.simex.exchange import SimExchange

SLICE_MS = 30_000
MIN_MINUTES, MAX_MINUTES = 5, 1440
NOT_RUNNING = "TWAP was never placed, already canceled, or filled."


@dataclass
class Twap:
    twap_id: int
    user: str
    symbol: str
    side: Side
    size: Decimal
    lot: Decimal
    reduce_only: bool
    slices: int
    next_ms: int
    done: int = 0  # slices sent
    executed: Decimal = Decimal(0)


class Twaps:
    """Every running TWAP of one emulator, and the fills of their slices."""

    def __init__(self, engine: SimExchange) -> None:
        self.engine = engine
        self.running: dict[int, Twap] = {}
        self.slice_of: dict[int, int] = {}  # slice oid -> twapId
        self.fills: dict[str, list[tuple[SimFill, int]]] = {}  # user -> (fill, twapId), oldest first
        self.listeners: list[Callable[[str, list[tuple[SimFill, int]]], None]] = []
        self._next_id = 1

    def start(self, user: str, symbol: str, side: Side, size: Decimal, lot: Decimal, reduce_only: bool,
              minutes: int, now_ms: int) -> dict[str, Any]:
        """The `status` of a twapOrder answer."""
        if not MIN_MINUTES <= minutes <= MAX_MINUTES:
            return {"error": f"Invalid TWAP duration: {minutes} min(s)"}
        if size <= 0 or size % lot:
            return {"error": "Invalid TWAP size"}
        twap = Twap(self._next_id, user, symbol, side, size, lot, reduce_only, minutes * 60_000 // SLICE_MS, now_ms)
        self._next_id += 1
        self.running[twap.twap_id] = twap
        return {"running": {"twapId": twap.twap_id}}

    def cancel(self, user: str, symbol: str, twap_id: int) -> Any:
        twap = self.running.get(twap_id)
        if twap is None or twap.user != user or twap.symbol != symbol:
            return {"error": NOT_RUNNING}
        del self.running[twap_id]
        return "success"

    def step(self, now_ms: int) -> None:
        """Send every slice that is due."""
        for twap in list(self.running.values()):
            while twap.next_ms <= now_ms and twap.twap_id in self.running:
                self._slice(twap)

    def _slice(self, twap: Twap) -> None:
        left = twap.size - twap.executed
        remaining_slices = twap.slices - twap.done
        size = left if remaining_slices <= 1 else (left / remaining_slices).quantize(twap.lot, ROUND_DOWN)
        twap.done += 1
        twap.next_ms += SLICE_MS
        if size > 0:
            try:
                view = self.engine.place(twap.user, twap.symbol, twap.side, size, type=OrderType.MARKET,
                                         reduce_only=twap.reduce_only)
            except SimReject:
                view = None  # a slice the engine refuses (margin, reduce-only) is skipped
            if view is not None:
                self.slice_of[view.oid] = twap.twap_id
                twap.executed += view.filled
                fills = [(f, twap.twap_id) for f in self.engine.fills(twap.user, view.created_ms) if f.oid == view.oid]
                self.fills.setdefault(twap.user, []).extend(fills)
                for listener in self.listeners:
                    listener(twap.user, fills)
        if twap.done >= twap.slices or twap.executed >= twap.size:
            self.running.pop(twap.twap_id, None)

