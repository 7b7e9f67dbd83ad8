"""Funding payments: fetched from each venue that reports them, journaled once, counted.

On every resync of an account (at start, after a stream gap, and every `resync_secs`),
the payments since the last journaled one are fetched; each is journaled once per
(account, venue, payment id), and only a new one reaches the loss tracker (and the
`payments` topic of the bus: the API's fills channel), so funding
counts in PnL and the daily loss limits exactly once, across restarts too (the tracker is
rebuilt from the journal). A venue without the capability is not asked.
"""

from __future__ import annotations

import logging

from perpd.bus import Bus
from perpd.engine.state import EngineState
from perpd.errors import PerpdError
from perpd.journal import Journal
from venues.base import AccountSession

log = logging.getLogger("perpd.engine.funding")


class FundingPayments:
    def __init__(self, state: EngineState, journal: Journal, bus: Bus) -> None:
        self._state = state
        self._journal = journal
        self._bus = bus

    async def fetch(self, account: str, session: AccountSession) -> int:
        """Journal the account's new payments; how many were new. A venue's failure is
        logged and leaves the rest of the resync alone: the next resync asks again from
        the same point (the last journaled payment's time)."""
        if not session.capabilities.funding_payments:
            return 0
        since = self._journal.last_funding_ms(account) or 0
        try:
            payments = await session.fetch_funding_payments(since)
        except PerpdError as exc:
            log.warning("funding payments of %s: %s", account, exc.message)
            return 0
        if not payments:
            return 0
        new = 0
        for payment, fresh in zip(payments, await self._journal.insert_funding_payments(payments), strict=True):
            if fresh:
                self._state.pnl.on_funding(payment)
                self._bus.publish("payments", payment)
                new += 1
        return new
