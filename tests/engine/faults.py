"""Fault injection at the network edge: a session wrapper around the real sim session.

The engine sees a venue that times out after accepting, answers 429/503, drops its
account stream, or "dies" (the daemon process is killed) at a chosen point of a send.
Everything behind the wrapper is the real sim exchange.

Stream faults model what venues allow between their private channels: each channel
(`orders`, `fills`, `positions`, `balance`) may be delayed on its own (order within a
channel kept), so position reports can trail fills as Hyperliquid's do, or arrive first;
`duplicate` re-delivers events of the named channels. With positions lagging, REST
`fetch_positions` answers as the venue stood `lag` seconds ago (what it holds now, less
the fills of the last `lag` seconds), as Hyperliquid's clearinghouseState trails its
fills: a report that lags by a bound, stream or no stream, and never one older than a
position report the stream has already delivered (a venue's reports come in its order).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import AsyncIterator

from perpd.errors import OutcomeUnknown, RateLimited, Unavailable
from perpd.model import ZERO, Order, OrderRequest, Position, PositionUpdate
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
      "late-arrival"          no answer (unknown); the order reaches the venue only after
                              `late_secs`, later than perpd's grace for it
    """

    def __init__(self, inner: AccountSession) -> None:
        super().__init__(inner.venue, inner.account, inner.config)
        self.inner = inner
        self.faults: deque[str] = deque()
        self.sent: list[str] = []  # client ids the venue actually received
        self.journal_at_send: list[object] = []  # what the journal held when each send began
        self.journal = None
        self._drop = asyncio.Event()
        self.delays: dict[str, float] = {}  # channel -> seconds each of its events is held
        self.duplicate: set[str] = set()  # channels whose events arrive twice
        self.fail_cancel: set[str] = set()  # client ids whose cancel the venue answers 503
        self.fail_lookups: Exception | None = None  # raised by every fetch_order
        self.connect_error: Exception | None = None  # raised by connect (credentials refused)
        self.late_secs = 1.0
        self.reached: list[str] = []  # client ids that reached the venue, refused or not
        self._late: set[asyncio.Task] = set()
        self._lag_secs = 0.0  # REST positions trail the venue by this much
        self._positions_as_of = 0  # venue time of the newest position report delivered

    async def connect(self) -> None:
        if self.connect_error is not None:
            raise self.connect_error
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
        if fault == "late-arrival":
            task = asyncio.get_running_loop().create_task(self._arrive_late(request))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
            raise OutcomeUnknown("timed out: no answer from the venue", venue=self.venue.name)
        self.reached.append(request.client_id)
        order = await self.inner.create_order(request)
        self.sent.append(request.client_id)
        if fault == "timeout-after-accept":
            raise OutcomeUnknown("timed out waiting for the venue", venue=self.venue.name)
        if fault == "kill-after-accept":
            raise Killed()
        return order

    async def _arrive_late(self, request: OrderRequest) -> None:
        await asyncio.sleep(self.late_secs)
        self.reached.append(request.client_id)
        try:
            await self.inner.create_order(request)
        except Exception:  # noqa: BLE001 - the venue refusing it late is an outcome too
            return
        self.sent.append(request.client_id)

    def drop_stream(self) -> None:
        self._drop.set()

    def watch_account(self) -> AsyncIterator:  # type: ignore[override]
        # Subscribe now, as the contract asks; relay until told to drop.
        return self._relay(self.inner.watch_account().__aiter__())

    async def _relay(self, stream: AsyncIterator) -> AsyncIterator:
        self._drop.clear()
        loop = asyncio.get_running_loop()
        out: asyncio.Queue = asyncio.Queue()
        last_due: dict[str, float] = {}

        async def pump() -> None:
            try:
                async for event in stream:
                    channel = getattr(event, "channel", "")
                    held = (self.venue.clock.now_ms(), event)  # when the venue sent it
                    for _ in range(2 if channel in self.duplicate else 1):
                        delay = self.delays.get(channel, 0.0)
                        if not delay:
                            out.put_nowait(held)
                            continue
                        # Held, but never overtaking an earlier event of its own channel.
                        due = max(loop.time() + delay, last_due.get(channel, 0.0))
                        last_due[channel] = due
                        loop.call_at(due, out.put_nowait, held)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the consumer
                out.put_nowait((0, exc))
            else:
                out.put_nowait((0, StopAsyncIteration()))

        pumping = asyncio.ensure_future(pump())
        dropped = asyncio.ensure_future(self._drop.wait())
        nxt: asyncio.Future | None = None
        try:
            while True:
                nxt = asyncio.ensure_future(out.get())
                done, _ = await asyncio.wait({nxt, dropped}, return_when=asyncio.FIRST_COMPLETED)
                if dropped in done:
                    raise Unavailable("account stream dropped", venue=self.venue.name)
                sent_ms, item = nxt.result()
                if isinstance(item, StopAsyncIteration):
                    return
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, PositionUpdate):
                    self._positions_as_of = max(self._positions_as_of, sent_ms)
                yield item
        finally:
            dropped.cancel()
            pumping.cancel()
            if nxt is not None and not nxt.done():
                nxt.cancel()
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    def lag_positions(self, secs: float) -> None:
        """Position reports trail fills by `secs`, on the stream and over REST alike."""
        self.delays["positions"] = secs
        self._lag_secs = secs

    # plain delegation
    async def fetch_balance(self):
        return await self.inner.fetch_balance()

    async def fetch_positions(self):
        held = {p.symbol: p for p in await self.inner.fetch_positions()}
        if not self._lag_secs:
            return list(held.values())
        # As the venue stood `lag` seconds ago, now less what traded since; never older than
        # a report the stream already delivered (a venue's reports come in its own order).
        as_of = max(self.venue.clock.now_ms() - int(self._lag_secs * 1000), self._positions_as_of)
        moved: dict[str, object] = {}
        for fill in await self.inner.fetch_fills(as_of):
            if fill.ts_ms > as_of:
                moved[fill.symbol] = moved.get(fill.symbol, ZERO) + fill.signed_size
        out = []
        for symbol in {*held, *moved}:
            then = (held[symbol].size if symbol in held else ZERO) - moved.get(symbol, ZERO)
            if then:
                base = held.get(symbol) or Position(self.account, self.venue.name, symbol, then)
                out.append(dataclasses.replace(base, size=then))
        return out

    async def fetch_open_orders(self, symbol=None):
        return await self.inner.fetch_open_orders(symbol)

    async def fetch_order(self, client_id):
        if self.fail_lookups is not None:
            raise self.fail_lookups
        return await self.inner.fetch_order(client_id)

    async def fetch_fills(self, since_ms=0):
        return await self.inner.fetch_fills(since_ms)

    async def fetch_funding_payments(self, since_ms=0):
        return await self.inner.fetch_funding_payments(since_ms)

    async def cancel_order(self, client_id):
        if client_id in self.fail_cancel:
            raise Unavailable("503 Service Unavailable", venue=self.venue.name)
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

