"""Time in the sim exchange: stepping the world, triggers, funding, liquidations.

`step(now_ms)` walks each market's oracle and mark (market_makers.py), fires trigger
orders whose mark condition is met, lets the makers re-quote and the takers trade,
settles funding at every interval boundary crossed, liquidates accounts below
maintenance and runs due dead man's switches. A long gap is covered in at most
MAX_SUBSTEPS steps, so resuming after days costs bounded work.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

from perpd.model import Liquidity, MarginMode, OrderStatus, OrderType, TimeInForce
from venues.simex.accounts import Account
from venues.simex.events import (
    FundingEvent,
    FundingPayment,
    FundingPaymentEvent,
    MarkEvent,
    Reason,
)
from venues.simex.market_makers import MarketFlow, funding_rate
from venues.simex.markets import MarketState
from venues.simex.matching import MatchingCore
from venues.simex.orders import SimOrder

if TYPE_CHECKING:
    from venues.simex.events import MarketView

MAX_SUBSTEPS = 500  # a long gap (a restart after days) costs at most this many steps


class Timeline(MatchingCore):
    """The passing of time, mixed into SimExchange."""

    step_ms: int
    funding_interval_ms: int
    _next_funding: int
    _flow: MarketFlow
    _dms: dict[Account, int]
    _liquidator: str

    def _market_view(self, m: MarketState) -> MarketView:  # pragma: no cover - SimExchange's
        raise NotImplementedError

    def _fire(self, o: SimOrder) -> None:  # pragma: no cover - Trading's
        raise NotImplementedError

    def step(self, now_ms: int | None = None) -> None:
        """Advance the world to `now_ms` (default: the clock) in steps of `step_ms`:
        mark walk, triggers, makers, takers, funding, liquidations, dead man's switches."""
        target = self._clock.now_ms() if now_ms is None else now_ms
        if target <= self._t:
            return
        total = target - self._t
        n = min(MAX_SUBSTEPS, max(1, math.ceil(total / self.step_ms)))
        self._begin()
        try:
            start = self._t
            for i in range(1, n + 1):
                t = start + total * i // n
                self._advance(t, t - self._t)
        finally:
            self._end()

    def _advance(self, t: int, dt: int) -> None:
        self._t = self._ts = t
        flow = self._flow
        listeners = self._listeners
        for m in self._markets.values():
            if flow.walk(m, dt):
                for acct in m.holders:
                    acct.base = None
                if m.triggers:
                    self._run_triggers(m)
                if listeners:
                    self._pending.append(MarkEvent(self._market_view(m)))
            m.premium_sum += m.premium
            m.premium_n += 1
            flow.quote(m)
            flow.take(m, dt)
        while self._next_funding <= t:
            self._settle_funding(self._next_funding)
            self._next_funding += self.funding_interval_ms
        self._run_liquidations()
        if self._dms:
            for acct, deadline in list(self._dms.items()):
                if deadline <= t:
                    del self._dms[acct]
                    acct.dms_deadline = None
                    for o in sorted(acct.open.values(), key=_oid):
                        self._cancel(o, Reason.DEAD_MANS_SWITCH)

    def set_mark(self, symbol: str, mark: Decimal, index: Decimal | None = None) -> None:
        """Move a market's mark (and index; default: the same, no premium) at once, then
        run what a move runs: triggers, liquidations, makers re-quoting around it.
        A seam for tests and emulator scenarios; the random walk continues from there."""
        self._begin()
        try:
            m = self._market(symbol)
            mark_ticks = self._ticks(m, mark, "mark price")
            index_ticks = self._ticks(m, index, "index price") if index is not None else mark_ticks
            m.index = index_ticks
            m.index_float = float(index_ticks)
            m.premium = mark_ticks / index_ticks - 1.0
            m.mark = mark_ticks
            for acct in m.holders:
                acct.base = None
            if m.triggers:
                self._run_triggers(m)
            self._run_liquidations()
            if self._listeners:
                self._pending.append(MarkEvent(self._market_view(m)))
            self._flow.quote(m)
        finally:
            self._end()

    def _run_triggers(self, m: MarketState) -> None:
        mark = m.mark
        for o in sorted((o for o in m.triggers.values() if o.trigger_hit(mark)), key=_oid):
            if o.oid in m.triggers:
                self._fire(o)

    def _settle_funding(self, ts: int) -> None:
        listeners = self._listeners
        for m in self._markets.values():
            avg = m.premium_sum / m.premium_n if m.premium_n else m.premium
            rate = funding_rate(avg, self.funding_interval_ms)
            m.funding_rate = rate
            m.premium_sum, m.premium_n = 0.0, 0
            event = FundingEvent(m.symbol, rate, m.mark_price, m.index_price, ts,
                                 ts + self.funding_interval_ms)
            m.fundings.append(event)
            if listeners:
                self._pending.append(event)
            for acct in sorted(m.holders, key=_account_id):
                amount = acct.apply_funding(m, rate)
                payment = FundingPayment(acct.id, m.symbol, amount, rate,
                                         acct.positions[m.symbol].lots * m.lot, m.mark_price, ts)
                acct.payments.append(payment)
                if listeners:
                    self._pending.append(FundingPaymentEvent(acct.id, payment))
                    self._touch(acct, m.symbol)

    def _run_liquidations(self) -> None:
        holders: set[Account] = set()
        for m in self._markets.values():
            holders |= m.holders
        for acct in sorted(holders, key=_account_id):
            if acct.cross_shortfall(self._markets):
                for m in self._markets.values():
                    if acct.lots(m) and acct.lev(m)[1] is MarginMode.CROSS:
                        self._liquidate(acct, m)
            for m in self._markets.values():
                if acct.isolated_shortfall(m):
                    self._liquidate(acct, m)

    def _liquidate(self, acct: Account, m: MarketState) -> None:
        """Close a position at the mark against the house liquidator (not the book)."""
        for o in sorted((o for o in acct.open.values() if o.m is m), key=_oid):
            self._cancel(o, Reason.LIQUIDATION)
        lots = acct.lots(m)
        if not lots:
            return
        is_buy = lots < 0
        o = self._new_order(acct, m, is_buy, OrderType.MARKET, TimeInForce.IOC, m.mark, None,
                            abs(lots), True, None)
        o.filled, o.notional = abs(lots), m.mark * abs(lots)
        tid = self._next_tid
        self._next_tid += 1
        self._record_trade(m, tid, m.mark, abs(lots), o, self._liquidator, 0)
        self._clear(o, m.mark, abs(lots), Liquidity.TAKER, tid, liquidation=True)
        self._retire(o, OrderStatus.FILLED, Reason.LIQUIDATION)
        self._emit_order(o)



def _oid(o: SimOrder) -> int:
    return o.oid


def _account_id(acct: Account) -> str:
    return acct.id
