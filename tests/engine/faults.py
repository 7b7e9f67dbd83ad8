"""Fault injection at the network edge: a session wrapper around the real sim session.

The engine sees a venue that times out after accepting, answers 429/503, drops its
account stream, or "dies" (the daemon process is killed) at a chosen point of a send.
Everything behind the wrapper is the real sim exchange.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from perpd.errors import OutcomeUnknown, RateLimited, Unavailable
from perpd.model import Order, OrderRequest
from venues.base import AccountSession


class Killed(BaseException):
    """The daemon process died here (BaseException: nothing in perpd may swallow it)."""


class FaultySession(AccountSession):
    """Delegates every verb to `inner`, injecting the faults queued in `faults`.

    Submit faults (one consumed per create_order):
      "429"                   rate limited before the venue saw it
      "503"                   transport failed before the venue saw it
      "timeout-after-accept"  the venue accepted; the answer never arrived
      "kill-before-send"      the daemon died after journaling, before sending
      "kill-after-accept"     the venue accepted; the daemon died before recording it
    """

    def __init__(self, inner: AccountSession) -> None:
        super().__init__(inner.venue, inner.account, inner.config)
        self.inner = inner
        self.faults: deque[str] = deque()
        self.sent: list[str] = []  # client ids the venue actually received
        self.journal_at_send: list[object] = []  # what the journal held when each send began
        self.journal = None
        self._drop = asyncio.Event()

    async def connect(self) -> None:
        await self.inner.connect()

    async def close(self) -> None:
        await self.inner.close()

    async def create_order(self, request: OrderRequest) -> Order:
        if self.journal is not None:
            self.journal_at_send.append(self.journal.order(request.client_id))
        fault = self.faults.popleft() if self.faults else None
        if fault == "429":
            raise RateLimited("429 Too Many Requests", venue=self.venue.name, retry_after_secs=1)
        if fault == "503":
            raise Unavailable("503 Service Unavailable", venue=self.venue.name)
        if fault == "kill-before-send":
            raise Killed()
        order = await self.inner.create_order(request)
        self.sent.append(request.client_id)
        if fault == "timeout-after-accept":
            raise OutcomeUnknown("timed out waiting for the venue", venue=self.venue.name)
        if fault == "kill-after-accept":
            raise Killed()
        return order

    def drop_stream(self) -> None:
        self._drop.set()

    def watch_account(self) -> AsyncIterator:  # type: ignore[override]
        # Subscribe now, as the contract asks; relay until told to drop.
        return self._relay(self.inner.watch_account().__aiter__())

    async def _relay(self, stream: AsyncIterator) -> AsyncIterator:
        self._drop.clear()
        dropped = asyncio.ensure_future(self._drop.wait())
        nxt: asyncio.Future | None = None
        try:
            while True:
                nxt = asyncio.ensure_future(stream.__anext__())
                done, _ = await asyncio.wait({nxt, dropped}, return_when=asyncio.FIRST_COMPLETED)
                if dropped in done:
                    raise Unavailable("account stream dropped", venue=self.venue.name)
                try:
                    yield nxt.result()
                except StopAsyncIteration:
                    return
        finally:
            dropped.cancel()
            if nxt is not None and not nxt.done():
                nxt.cancel()
            if nxt is not None:
                nxt.add_done_callback(_consume)
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    # plain delegation
    async def fetch_balance(self):
        return await self.inner.fetch_balance()

    async def fetch_positions(self):
        return await self.inner.fetch_positions()

    async def fetch_open_orders(self, symbol=None):
        return await self.inner.fetch_open_orders(symbol)

    async def fetch_order(self, client_id):
        return await self.inner.fetch_order(client_id)

    async def fetch_fills(self, since_ms=0):
        return await self.inner.fetch_fills(since_ms)

    async def cancel_order(self, client_id):
        return await self.inner.cancel_order(client_id)

    async def cancel_all_orders(self, symbol=None):
        return await self.inner.cancel_all_orders(symbol)

    async def edit_order(self, client_id, *, new_client_id, price=None, size=None):
        return await self.inner.edit_order(client_id, new_client_id=new_client_id, price=price, size=size)

    async def fetch_leverage(self, symbol):
        return await self.inner.fetch_leverage(symbol)

    async def set_leverage(self, symbol, leverage, margin_mode=None):
        return await self.inner.set_leverage(symbol, leverage, margin_mode or self.config.margin_mode)

    async def cancel_all_after(self, seconds):
        return await self.inner.cancel_all_after(seconds)


def _consume(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: an abandoned read's end is not an error
