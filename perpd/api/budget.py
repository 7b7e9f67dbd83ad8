"""A budget of WebSocket frames per second shared by every client of one daemon.

Fan-out runs on the daemon's event loop; unbounded, 10,000 clients x a book every 100 ms
would take the whole loop and starve the engine (venue streams, orders, reconcile). Each
client's sender takes a token before a frame; tokens refill at `rate` per second and are
handed to waiters in arrival order by one timer, so no thundering herd. While clients
wait, the bus keeps conflating their books (the latest wins), so a throttled client gets
fresher books less often; a client that cannot keep up with queued topics is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

TICK_SECS = 0.005


class FrameBudget:
    def __init__(self, rate: float, *, burst_secs: float = 0.05) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate * burst_secs)
        self.tokens = self.capacity
        self._stamp = time.monotonic()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self.waited = 0  # frames that had to wait: how often the budget binds

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def take(self) -> None:
        """Spend one frame; wait (in arrival order) when the budget is spent."""
        if not self._waiters:
            self._refill()
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.waited += 1
        self._arm()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.tokens += 1.0  # granted, then cancelled: give the token back
            raise

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(TICK_SECS, self._grant)

    def _grant(self) -> None:
        self._timer = None
        self._refill()
        while self._waiters and self.tokens >= 1.0:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self.tokens -= 1.0
        if self._waiters:
            self._arm()
