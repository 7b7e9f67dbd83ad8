"""Loss limits: what the kill switches measure, and what operators accepted.

- `rebuild` on start replays every fill and funding payment of the longest loss window
  (and the saved window baselines) into the loss tracker; `seed` then books, at the
  venue's entry price, what positions those fills do not explain (opened before the
  window or the journal).
- `trips` lists every loss limit breached now that no operator has accepted; the loop
  halts each policy's scope for it.
- `acknowledge` records the losses an operator accepted by resuming `policy:NAME`: they
  re-trip only when they deepen by another full limit, until the next daily reset.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from perpd.clock import Clock
from perpd.engine.state import EngineState
from perpd.journal import Journal
from perpd.model import TradingState
from policies.pnl import DEFAULT_RESET, Baseline, window_start
from policies.risk import Trip

PNL_CURSOR = "pnl_baselines"
ACKS_CURSOR = "loss_acknowledgements"


class LossLimits:
    def __init__(self, state: EngineState, journal: Journal, clock: Clock) -> None:
        self._state = state
        self._journal = journal
        self._clock = clock
        self.acks: dict[str, dict[str, Any]] = {}  # losses operators resumed over
        self.saved: str | None = None  # the baselines last written
        # Today's PnL (GET /pnl) is measured from 00:00 UTC for accounts no loss limit covers.
        state.pnl.track(DEFAULT_RESET)

    def rebuild(self) -> None:
        saved = self._journal.cursor(PNL_CURSOR)
        baselines = [Baseline.from_dict(d) for d in orjson.loads(saved)] if saved else []
        acks = self._journal.cursor(ACKS_CURSOR)
        self.acks = orjson.loads(acks) if acks else {}
        pnl, now = self._state.pnl, self._clock.now_ms()
        since = min((window_start(now, reset) for reset in pnl.reset_times), default=now)
        pnl.rebuild(self._journal.iter_fills(since), now, baselines=baselines, payments=self._journal.iter_funding(since))
        self.saved = saved

    def seed(self) -> None:
        """After a start-up (or reload) resync: positions the fills do not explain."""
        self._state.pnl.adopt(self._state.portfolio, self._clock.now_ms())

    def trips(self) -> list[Trip]:
        """Loss limits breached now, not accepted, on a policy not already halted."""
        state, now = self._state, self._clock.now_ms()
        state.pnl.on_marks(state.portfolio, now)
        out = []
        for trip in state.risk.loss_trips(state.portfolio, state.pnl, now):
            current = state.trading.get(f"policy:{trip.policy}")
            if not self._acknowledged(trip, now) and not (current is not None and current[0] is TradingState.HALTED):
                out.append(trip)
        return out

    async def save(self) -> None:
        """Baselines (window starts and peaks) let a restart measure losses from the same
        reset mark as before; written only when they change."""
        saved = orjson.dumps([b.to_dict() for b in self._state.pnl.baselines()]).decode()
        if saved != self.saved:
            await self._journal.set_cursor(PNL_CURSOR, saved)
            self.saved = saved

    async def acknowledge(self, policy: str) -> None:
        state, now = self._state, self._clock.now_ms()
        for trip in state.risk.loss_trips(state.portfolio, state.pnl, now):
            if trip.policy == policy:
                self.acks[_key(trip)] = {"value": str(trip.value), "ts_ms": now}
        await self._journal.set_cursor(ACKS_CURSOR, orjson.dumps(self.acks).decode())

    def _acknowledged(self, trip: Trip, now_ms: int) -> bool:
        ack = self.acks.get(_key(trip))
        if ack is None:
            return False
        reset = next(p.reset_time_utc for p in self._state.config.policies if p.name == trip.policy)
        if ack["ts_ms"] < window_start(now_ms, reset):
            return False
        return trip.value <= Decimal(ack["value"]) + trip.limit_value


def _key(trip: Trip) -> str:
    return f"{trip.policy}|{trip.limit}|{trip.account}"
