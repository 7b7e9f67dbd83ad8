"""Keeping the engine's view true: streams in, resyncs, unknown-outcome resolution.

- `venue_stream`: public market data (books, tickers, trades, funding) into MarketData.
- `account_stream`: private events into the account state and the journal; any gap or
  reconnect triggers `resync`, because venues do not replay what was missed.
- `resync`: fills since the last one journaled, open orders, our orders' fates,
  positions and balance, all fetched fresh before the account trades again.
- `resolve_unknown`: orders whose outcome is unknown (timeouts, 5xx, 429, a crash between
  journal and send) are looked up by client id — never re-sent under a new id; a failing
  lookup is contained to its order and backs its account off.
- `watchdog_loop`: refreshes dead man's switches; cancels everything on an account the
  venue has not been heard from for too long; periodic resyncs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import orjson

from perpd.bus import Bus
from perpd.clock import Clock
from perpd.engine.audit import Audit
from perpd.engine.controls import Controls
from perpd.engine.desk import OrderDesk
from perpd.engine.funding import FundingPayments
from perpd.engine.state import EngineState
from perpd.errors import OutcomeUnknown, PerpdError
from perpd.journal import Journal
from perpd.ledger import PositionLedger
from perpd.model import (
    BalanceUpdate,
    BookUpdate,
    Fill,
    FillUpdate,
    FundingUpdate,
    Order,
    OrderStatus,
    OrderUpdate,
    PositionUpdate,
    StreamGap,
    TickerUpdate,
    TradeUpdate,
)
from perpd.portfolio import AccountState
from venues.base import AccountSession, Channel, Venue

log = logging.getLogger("perpd.sync")

RECONNECT_SECS = (0.5, 1, 2, 5, 10)
LEDGER_CURSOR = "ledger:"  # + account: the position ledger's saved state


class Sync:
    def __init__(self, state: EngineState, desk: OrderDesk, controls: Controls, journal: Journal, bus: Bus, clock: Clock,
                 audit: Audit) -> None:
        self.state = state
        self._desk = desk
        self._controls = controls
        self._journal = journal
        self._bus = bus
        self._clock = clock
        self.funding = FundingPayments(state, journal, bus)
        self._audit = audit
        self._resync_failing: set[str] = set()  # accounts whose last resync failed (audited once per streak)

    def note_account_error(self, account: str, message: str) -> None:
        """A venue call for `account` failed outside the order path: shown in status,
        logged, and the account's lookups back off (1 s doubling to 60 s)."""
        count, _, _ = self.state.account_errors.get(account, (0, "", 0))
        delay_ms = min(60_000, 1_000 * 2 ** min(count, 6))
        self.state.account_errors[account] = (count + 1, message, self._clock.now_ms() + delay_ms)
        log.warning("%s: %s (retrying in %.0f s)", account, message, delay_ms / 1000, extra={"account": account})

    def backing_off(self, account: str, now_ms: int) -> bool:
        entry = self.state.account_errors.get(account)
        return entry is not None and now_ms < entry[2]

    # ------------------------------------------------------------------ position ledgers

    def restore_ledger(self, account: str) -> PositionLedger:
        """The account's position ledger as last saved, plus every fill journaled since
        (a crash may have lost the last lazy save, never a journaled fill)."""
        lag_ms = int(self.state.config.daemon.position_report_lag_secs * 1000)
        saved = self._journal.cursor(f"{LEDGER_CURSOR}{account}")
        ledger = PositionLedger.from_dict(orjson.loads(saved), lag_ms) if saved else PositionLedger(lag_ms)
        if saved:
            for row, fill in self._journal.fills_after_row(account, ledger.fill_row):
                ledger.on_fill(fill, fill.ts_ms, row)
        else:  # a new journal, or one from before the ledger: start from the venue's word
            ledger.fill_row = self._journal.last_fill_row(account)
        return ledger

    def save_ledgers(self) -> None:
        """Queue each changed ledger's state (lazily: fills replay what a crash loses)."""
        for name, account in self.state.portfolio.accounts.items():
            if account.ledger.dirty:
                account.ledger.dirty = False
                self._journal.set_cursor_soon(f"{LEDGER_CURSOR}{name}", orjson.dumps(account.ledger.to_dict()).decode())

    # ------------------------------------------------------------------ streams

    def watched_symbols(self, venue: str) -> list[str]:
        """Symbols to stream for a venue: everything it lists, capped for very large venues to
        those the config mentions (targets, standing orders, leverage, routes)."""
        listed = sorted(s for (v, s) in self.state.portfolio.market_data.markets if v == venue)
        if len(listed) <= 20:
            return listed
        cfg = self.state.config
        wanted = {t.symbol for t in cfg.targets} | {o.symbol for o in cfg.orders}
        for account in cfg.accounts.values():
            if account.venue == venue:
                wanted |= set(account.leverage)
        return [s for s in listed if s in wanted]

    async def venue_stream(self, venue: Venue) -> None:
        """Consume a venue's public stream forever, reconnecting with backoff."""
        failures = 0
        data = self.state.portfolio.market_data
        while True:
            symbols = self.watched_symbols(venue.name)
            channels = [Channel(kind, s) for s in symbols for kind in ("book", "ticker", "trades", "funding")]
            try:
                async for event in venue.watch(channels):
                    failures = 0
                    if isinstance(event, BookUpdate):
                        book = data.book(venue.name, event.symbol)
                        if not book.apply(event):
                            log.warning("book gap on %s %s; resubscribing", venue.name, event.symbol)
                            break
                        self._bus.publish("book", book, key=f"{venue.name}:{event.symbol}")
                    elif isinstance(event, TickerUpdate):
                        data.tickers[(venue.name, event.ticker.symbol)] = event.ticker
                        self._bus.publish("ticker", event.ticker, key=f"{venue.name}:{event.ticker.symbol}")
                    elif isinstance(event, TradeUpdate):
                        self._bus.publish("trades", event.trade)
                    elif isinstance(event, FundingUpdate):
                        data.funding[(venue.name, event.funding.symbol)] = event.funding
                        self._bus.publish("funding", event.funding, key=f"{venue.name}:{event.funding.symbol}")
                    elif isinstance(event, StreamGap):
                        log.warning("public stream gap on %s: %s", venue.name, event.reason)
                        for (v, s), book in list(data.books.items()):
                            if v == venue.name:
                                book.seq = -1
            except asyncio.CancelledError:
                raise
            except PerpdError as exc:
                log.warning("public stream on %s failed: %s", venue.name, exc.message)
                self._disconnected(failures, venue=venue.name, stream="public", error=exc.message)
            except Exception as exc:  # noqa: BLE001 - a stream bug must not kill market data for good
                log.exception("public stream on %s crashed", venue.name)
                self._disconnected(failures, venue=venue.name, stream="public", error=type(exc).__name__)
            await asyncio.sleep(RECONNECT_SECS[min(failures, len(RECONNECT_SECS) - 1)])
            failures += 1

    async def account_stream(self, session: AccountSession, stream: AsyncIterator[object] | None = None) -> None:
        """Consume an account's private stream forever; resync after any gap or reconnect.

        `stream` is the first subscription, opened by the caller *before* its initial resync,
        so nothing that happens between the resync and the subscription is missed.
        """
        failures = 0
        name = session.account
        while True:
            events, stream = stream or session.watch_account(), None
            try:
                first = True
                async for event in events:
                    state = self.state.portfolio.accounts.get(name)
                    if state is None:
                        return
                    state.last_contact_ms = self._clock.now_ms()
                    if first and failures:
                        await self.resync(name)  # reconnected: what we missed is not replayed
                    first = False
                    failures = 0
                    await self.apply_account_event(name, event)
            except asyncio.CancelledError:
                raise
            except PerpdError as exc:
                log.warning("account stream %s failed: %s", name, exc.message)
                self._disconnected(failures, venue=session.venue.name, account=name, stream="account", error=exc.message)
            except Exception as exc:  # noqa: BLE001
                log.exception("account stream %s crashed", name)
                self._disconnected(failures, venue=session.venue.name, account=name, stream="account", error=type(exc).__name__)
            else:
                self._disconnected(failures, venue=session.venue.name, account=name, stream="account", error="the stream ended")
            if name in self.state.portfolio.accounts:
                self.state.portfolio.accounts[name].synced = False
            await asyncio.sleep(RECONNECT_SECS[min(failures, len(RECONNECT_SECS) - 1)])
            failures += 1
            try:
                await self.resync(name)
            except PerpdError as exc:
                log.warning("resync of %s failed: %s", name, exc.message)

    def _disconnected(self, failures: int, *, venue: str, stream: str, error: str, account: str | None = None) -> None:
        """A stream dropped: audited once per outage (the first failure after contact)."""
        if failures == 0:
            self._audit("disconnected", actor="sync", venue=venue, account=account, result="failed",
                        details={"stream": stream, "error": error})

    async def apply_account_event(self, account: str, event: object) -> None:
        state = self.state.portfolio.accounts[account]
        if isinstance(event, OrderUpdate):
            await self.on_order(event.order)
        elif isinstance(event, FillUpdate):
            if await self.record_fill(state, event.fill):
                self.state.wake()
        elif isinstance(event, PositionUpdate):
            state.set_position(event.position, self._clock.now_ms())
            self._bus.publish("positions", event.position, key=f"{account}:{event.position.symbol}")
            self.state.wake()
        elif isinstance(event, BalanceUpdate):
            state.balance = event.balance
            self._bus.publish("balance", event.balance, key=account)
        elif isinstance(event, StreamGap):
            state.synced = False
            await self.resync(account)

    async def record_fill(self, state: AccountState, fill: Fill) -> bool:
        """Journal a fill once (by venue trade id); count it in the ledger and the loss
        tracker only if it is new. True if it was."""
        row = await self._journal.insert_fill(fill)
        if row is None:
            return False
        state.add_fill(fill, self._clock.now_ms(), row)
        if self.state.pnl is not None:
            self.state.pnl.on_fill(fill)
        self._bus.publish("fills", fill)
        return True

    async def on_order(self, order: Order) -> None:
        """An order report from a venue: ours goes through the lifecycle, others are foreign."""
        if self._desk.is_ours(order.client_id):
            await self._desk.record_order(order)
            return
        foreign = self.state.foreign.setdefault(order.account, {})
        if order.status.is_terminal:
            foreign.pop(order.client_id, None)
        else:
            foreign[order.client_id] = order
        self._bus.publish("orders", order, key=order.client_id)

    async def resync(self, account: str) -> None:
        """Fetch everything about an account afresh, then mark it synced (ready to trade).

        A failure is audited once per run of failures, and raised."""
        try:
            await self._resync(account)
        except PerpdError as exc:
            if account not in self._resync_failing:
                self._resync_failing.add(account)
                self._audit("resync_failed", actor="sync", account=account, result=exc.type_name, details={"error": exc.message})
            raise
        self._resync_failing.discard(account)

    async def _resync(self, account: str) -> None:
        session = self.state.sessions.get(account)
        state = self.state.portfolio.accounts.get(account)
        if session is None or state is None:
            return
        state.synced = False
        open_orders = await session.fetch_open_orders()
        seen = set()
        foreign: dict[str, Order] = {}
        for order in open_orders:
            seen.add(order.client_id)
            if self._desk.is_ours(order.client_id):
                await self._desk.record_order(order)
            else:
                foreign[order.client_id] = order
        self.state.foreign[account] = foreign
        for order in [o for o in self.state.orders.values() if o.account == account and o.status.is_live]:
            if order.client_id not in seen:
                await self._settle(session, order, listed_open=False)
        # Fills before positions: a trade the snapshot already shows is then matched by it
        # (perpd/ledger.py); the other way round it would be counted on top of it.
        since = self._journal.last_fill_ms(account) or 0
        for fill in await session.fetch_fills(since):
            await self.record_fill(state, fill)
        await self.funding.fetch(account, session)
        state.replace_positions(await session.fetch_positions(), self._clock.now_ms())
        state.balance = await session.fetch_balance()
        for symbol in self.state.config.accounts[account].leverage:
            if self.state.portfolio.market_data.market(state.venue, symbol) is not None:
                try:
                    self.state.leverage[(account, symbol)] = await session.fetch_leverage(symbol)
                except PerpdError as exc:
                    log.warning("fetch_leverage %s %s failed: %s", account, symbol, exc.message)
        state.last_contact_ms = self.state.last_resync[account] = self._clock.now_ms()
        state.synced = True
        self.state.wake()

    async def _settle(self, session: AccountSession, order: Order, *, listed_open: bool) -> None:
        """Find out what became of one of our live/pending/unknown orders, by client id.

        A lookup that fails (still unknown, refused, unparseable) settles nothing: the
        order keeps its state, the account's lookups back off, and the error shows in
        status; it never stops another order's or another account's work.

        A native bracket's exit is held by the venue, invisible, until its entry ends: it
        is not looked for before, and if the venue did not place it after, it ends
        cancelled (never sent alone) and the planner places perpd's own exit."""
        entry_ended_ms = 0
        waiting = order.parent_client_id is not None and order.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN)
        if waiting:
            entry = self.state.orders.get(order.parent_client_id or "") or self._journal.order(order.parent_client_id or "")
            if entry is not None and entry.status.is_live:
                return
            entry_ended_ms = entry.updated_ms if entry is not None else 0
        try:
            fresh = await session.fetch_order(order.client_id)
        except OutcomeUnknown:
            return  # still unknown; try again on a later pass
        except PerpdError as exc:
            self.note_account_error(session.account, f"lookup of {order.client_id}: {exc.type_name}: {exc.message}")
            return
        if fresh is not None:
            await self._desk.record_order(fresh)
            return
        age = self._clock.now_ms() - max(order.updated_ms, entry_ended_ms)
        if order.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN) and age < self._grace_ms():
            return  # may still be in flight (asynchronous acknowledgement)
        if waiting:
            self.state.obligations.discard(order.client_id)
            await self._desk.record_order(
                order.evolve(
                    status=OrderStatus.CANCELLED,
                    reason="perpd: the venue did not place this exit when its entry ended; perpd places its own",
                    updated_ms=self._clock.now_ms(),
                )
            )
            return
        if order.client_id in self.state.obligations:
            await self._desk.finish_obligation(order)  # journaled before a restart, never sent
            return
        # The venue has never heard of it: the send never arrived (or never happened).
        await self._desk.record_order(
            order.evolve(
                status=OrderStatus.REJECTED,
                reason=f"perpd: not found on {order.venue} after {order.status.value} outcome",
                updated_ms=self._clock.now_ms(),
            )
        )

    def _grace_ms(self) -> int:
        """How long a sent order may stay invisible on the venue before it never arrived."""
        return int(self.state.config.daemon.unknown_grace_secs * 1000)

    async def resolve_unknown(self) -> None:
        """Resolve orders whose outcome is unknown, by client id (one lookup each per pass)."""
        now = self._clock.now_ms()
        for client_id in list(self.state.unresolved):
            order = self.state.orders.get(client_id)
            if order is None:
                self.state.unresolved.discard(client_id)
            elif order.status is OrderStatus.UNKNOWN or (
                order.status is OrderStatus.PENDING and now - order.updated_ms >= self._grace_ms()
            ):
                session = self.state.sessions.get(order.account)
                if session is None or self.backing_off(order.account, now):
                    continue
                try:
                    await self._settle(session, order, listed_open=False)
                except Exception as exc:  # noqa: BLE001 - a bug on one order must not stop the rest
                    log.exception("resolving %s failed", client_id)
                    self.note_account_error(order.account, f"resolving {client_id}: {exc!r}")

    async def watchdog_loop(self, period_secs: float = 5.0) -> None:
        """Dead man's switches: arm/refresh where the venue has one; else a local watchdog.

        Wakes often enough to refresh the shortest switch at a third of its horizon."""
        while True:
            horizons = [a.dead_mans_switch_secs for a in self.state.config.accounts.values() if a.dead_mans_switch_secs]
            await asyncio.sleep(min([period_secs, *(h / 3 for h in horizons)]))
            for name in list(self.state.sessions):
                try:
                    await self.watchdog_check(name)
                except PerpdError as exc:
                    log.warning("watchdog on %s: %s", name, exc.message)

    async def watchdog_check(self, name: str) -> None:
        session = self.state.sessions.get(name)
        cfg = self.state.config.accounts.get(name)
        state = self.state.portfolio.accounts.get(name)
        if session is None or cfg is None or state is None:
            return
        now = self._clock.now_ms()
        every_ms = int(self.state.config.daemon.resync_secs * 1000)
        if every_ms and now - self.state.last_resync.get(name, now) >= every_ms:
            await self.resync(name)  # the safety net under streams: periodic snapshots
        horizon = cfg.dead_mans_switch_secs
        if horizon and session.capabilities.dead_mans_switch:
            # Refresh at a third of the horizon: two refreshes can fail before it fires.
            if now >= self.state.dms_refreshed.get(name, 0) + horizon * 1000 // 3:
                try:
                    await session.cancel_all_after(horizon)
                except PerpdError as exc:
                    # Past the horizon since the last refresh, the venue's switch has fired.
                    last = self.state.dms_refreshed.get(name)
                    fired = last is not None and now >= last + horizon * 1000
                    self._audit("dead_mans_switch", actor="watchdog", account=name, venue=state.venue,
                                result="fired" if fired else "refresh_failed",
                                details={"horizon_secs": horizon, "error": exc.message})
                    # Not raised: the local watchdog below must still run when the venue is silent.
                    log.warning("dead man's switch refresh on %s failed: %s", name, exc.message)
                else:
                    self.state.dms_refreshed[name] = now
                    state.last_contact_ms = now
        limit_ms = self.state.config.daemon.watchdog_secs * 1000
        if not limit_ms or not any(state.live_orders()):
            return
        if now - state.last_contact_ms > limit_ms // 2:
            # Quiet is not silence: ask the venue something cheap before concluding.
            try:
                state.balance = await session.fetch_balance()
                state.last_contact_ms = self._clock.now_ms()
            except PerpdError:
                pass
        if now - state.last_contact_ms > limit_ms:
            log.warning("no contact with %s for %ss: cancelling all", name, limit_ms // 1000)
            cancelled = await self._controls.cancel_all(account=name, actor="watchdog")
            self._audit("watchdog", actor="watchdog", account=name, venue=state.venue, result="fired",
                        details={"silent_secs": (now - state.last_contact_ms) // 1000, "cancelled": cancelled})
