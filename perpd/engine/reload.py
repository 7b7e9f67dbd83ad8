"""Starting, stopping and reloading: venues and accounts come and go here.

Start: journal the config revision and the client-id salt, restore intents (an order
journaled but never answered is an obligation), connect venues and accounts (subscribe,
then resync), rebuild the loss tracker, start the reconcile loop and the watchdog.

Reload (`reload`): validate (the caller) -> diff -> start new -> swap -> stop old. Every
venue and account the new config adds or changes is started beside the running ones
first (connected, markets loaded, secrets resolved, credentials tried); if any fails,
what was started is stopped, the old config keeps running untouched, and the refusal is
audited and raised. Only then is the config swapped and the old pieces stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from secrets import token_hex
from typing import Any

from perpd import config as config_mod
from perpd.clock import Clock
from perpd.config import AccountConfig, Config, VenueConfig
from perpd.crashpoints import crash_point
from perpd.engine.audit import Audit
from perpd.engine.losses import LossLimits
from perpd.engine.loop import Reconciler
from perpd.engine.state import EngineState, Intent
from perpd.engine.sync import Sync
from perpd.errors import ConfigError, PerpdError
from perpd.journal import Journal
from perpd.ledger import PositionLedger
from perpd.model import IntentState, Market, OrderStatus
from perpd.portfolio import AccountState
from perpd.turnover import HOUR_MS
from venues.base import AccountSession, SecretResolver, Venue
from venues.registry import venue_class

log = logging.getLogger("perpd.engine")

SALT_CURSOR = "client_id_salt"  # mixed into every client id this journal derives


class Lifecycle:
    def __init__(self, state: EngineState, sync: Sync, loop: Reconciler, losses: LossLimits, journal: Journal, audit: Audit,
                 clock: Clock, *, secrets: SecretResolver, source: Path | None,
                 wrap_session: Callable[[AccountSession], AccountSession] | None) -> None:
        self.state = state
        self._sync = sync
        self._loop = loop
        self._losses = losses
        self._journal = journal
        self._audit = audit
        self._clock = clock
        self._secrets = secrets
        self._source = source
        self._wrap_session = wrap_session  # a seam for fault injection in tests
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    # ------------------------------------------------------------------ start and stop

    async def start(self) -> None:
        state, journal = self.state, self._journal
        await self._record_revision(state.config, diff=None)
        state.client_id_salt = journal.cursor(SALT_CURSOR) or ""
        if not state.client_id_salt:  # a new journal: its client ids are its own
            state.client_id_salt = token_hex(8)
            await journal.set_cursor(SALT_CURSOR, state.client_id_salt)
        state.trading = {scope: (s, reason or "") for scope, (s, reason) in journal.trading_states().items()}
        for intent in self.restore_intents():
            intent.state = IntentState.DONE
            await journal.set_intent_state(intent.id, IntentState.DONE)
        state.turnover.restore(journal.rule_orders_since("target:", self._clock.now_ms() - HOUR_MS))
        for name, venue_cfg in state.config.venues.items():
            if venue_cfg.enabled:
                await self._start_venue(name)
        for name, account_cfg in state.config.accounts.items():
            if account_cfg.enabled and account_cfg.venue in state.venues:
                await self._start_account(name)
        self._losses.rebuild()
        self._losses.seed()
        self.spawn("reconciler", self._loop.run())
        self.spawn("watchdog", self._sync.watchdog_loop())
        state.wake()

    async def stop(self) -> None:
        """Stop cleanly: honour each account's on_exit, close sessions and venues."""
        self._stopping = True
        lanes = [lane.task for lane in self.state.lanes.values() if lane.task is not None]
        for task in [*self.tasks.values(), *lanes]:
            task.cancel()
        await asyncio.gather(*self.tasks.values(), *lanes, return_exceptions=True)
        for name in list(self.state.sessions):
            await self._stop_account(name, exiting=True)
        for name in list(self.state.venues):
            await self._stop_venue(name)

    def spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        old = self.tasks.get(name)
        if old is not None and not old.done():
            old.cancel()
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks[name] = task
        task.add_done_callback(self._task_done)

    def cancel_task(self, name: str) -> None:
        task = self.tasks.pop(name, None)
        if task is not None:
            task.cancel()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopping:
            return
        exc = task.exception()
        if exc is not None:
            log.error("task %s failed: %r", task.get_name(), exc, exc_info=exc)

    # ------------------------------------------------------------------ venues

    async def _open_venue(self, name: str, cfg: VenueConfig) -> tuple[Venue, dict[str, Market]]:
        """Connect a venue and load its markets, registering nothing."""
        state_dir = self.state.config.daemon.state_dir / "venues" / name
        state_dir.mkdir(parents=True, exist_ok=True)
        venue = venue_class(cfg.kind)(name, cfg, clock=self._clock, state_dir=state_dir)
        try:
            await venue.connect()
            return venue, await venue.load_markets()
        except BaseException:
            await venue.close()
            raise

    def _adopt_venue(self, name: str, venue: Venue, markets: dict[str, Market]) -> None:
        self.state.venues[name] = venue
        for symbol, market in markets.items():
            self.state.portfolio.market_data.markets[(name, symbol)] = market
        self.spawn(f"venue:{name}", self._sync.venue_stream(venue))
        log.info("venue started", extra={"venue": name, "markets": len(markets)})

    async def _start_venue(self, name: str) -> None:
        self._adopt_venue(name, *await self._open_venue(name, self.state.config.venues[name]))

    async def _stop_venue(self, name: str) -> None:
        self.cancel_task(f"venue:{name}")
        venue = self.state.venues.pop(name, None)
        data = self.state.portfolio.market_data
        for key in [k for k in data.markets if k[0] == name]:
            data.markets.pop(key, None)
            data.books.pop(key, None)
            data.tickers.pop(key, None)
        if venue is not None:
            await venue.close()

    # ------------------------------------------------------------------ accounts

    async def _open_account(self, name: str, cfg: AccountConfig, venue: Venue) -> AccountSession:
        """Resolve the account's secrets and connect its session, registering nothing."""
        session = venue.session(name, cfg, self._secrets)
        if self._wrap_session is not None:
            session = self._wrap_session(session)
        try:
            await session.connect()
        except BaseException:
            await session.close()
            raise
        return session

    async def _adopt_account(self, name: str, session: AccountSession, ledger: PositionLedger | None = None) -> None:
        state = self.state
        cfg = state.config.accounts[name]
        held = state.portfolio.accounts[name] = AccountState(name, cfg.venue, ledger=ledger or self._sync.restore_ledger(name))
        for order in state.orders.values():  # restored from the journal before the account existed
            if order.account == name and order.status.is_live:
                held.orders[order.client_id] = order
        state.foreign[name] = {}
        state.sessions[name] = session
        # Subscribe first, then take the snapshot: events in between are not lost.
        self.spawn(f"account:{name}", self._sync.account_stream(session, session.watch_account()))
        await self._sync.resync(name)
        log.info("account started", extra={"account": name, "venue": cfg.venue})

    async def _start_account(self, name: str) -> None:
        cfg = self.state.config.accounts[name]
        await self._adopt_account(name, await self._open_account(name, cfg, self.state.venues[cfg.venue]))

    async def _stop_account(self, name: str, *, exiting: bool = False) -> None:
        state = self.state
        self.cancel_task(f"account:{name}")
        lane = state.lanes.pop(name, None)
        if lane is not None and lane.task is not None:
            lane.task.cancel()
        session = state.sessions.pop(name, None)
        cfg = state.config.accounts.get(name)
        if session is not None:
            if exiting and cfg is not None and cfg.on_exit == "cancel_all":
                try:
                    count = await session.cancel_all_orders()
                    self._audit("cancel_all", actor="daemon", account=name, rule="on_exit", details={"cancelled": count})
                except PerpdError as exc:
                    log.warning("on_exit cancel_all failed for %s: %s", name, exc.message)
            await session.close()
        self._sync.save_ledgers()
        state.portfolio.accounts.pop(name, None)
        state.foreign.pop(name, None)

    # ------------------------------------------------------------------ reload

    async def reload(self, new: Config, *, actor: str = "admin") -> dict[str, Any]:
        state = self.state
        old = state.config
        change = config_mod.diff(old, new)
        if not change:
            return {}
        venues, accounts = change.get("venues", {}), change.get("accounts", {})
        restart_venues = set(venues.get("changed", ())) | set(venues.get("removed", ()))
        stop_accounts = set(accounts.get("changed", ())) | set(accounts.get("removed", ()))
        stop_accounts |= {n for n, a in old.accounts.items() if a.venue in restart_venues}
        live_venues = set(state.venues) - restart_venues
        start_venues = [n for n, c in new.venues.items() if c.enabled and n not in live_venues]
        start_accounts = [
            n for n, c in new.accounts.items()
            if c.enabled and (n not in state.sessions or n in stop_accounts) and (c.venue in start_venues or c.venue in live_venues)
        ]
        opened_venues: dict[str, tuple[Venue, dict[str, Market]]] = {}
        opened: dict[str, AccountSession] = {}
        piece = ""
        try:
            for name in start_venues:
                piece = f"venues.{name}"
                opened_venues[name] = await self._open_venue(name, new.venues[name])
            for name in start_accounts:
                piece = f"accounts.{name}"
                cfg = new.accounts[name]
                venue = opened_venues[cfg.venue][0] if cfg.venue in opened_venues else state.venues[cfg.venue]
                opened[name] = await self._open_account(name, cfg, venue)
                await opened[name].fetch_balance()  # the credentials work, before anything is swapped
        except Exception as exc:  # noqa: BLE001 - any failure to start refuses the reload
            reason = exc.message if isinstance(exc, PerpdError) else f"{type(exc).__name__}: {exc}"
            for session in opened.values():
                await session.close()
            for venue, _ in opened_venues.values():
                await venue.close()
            problem = f"{piece}: cannot start: {reason}"
            self._audit("reload", actor=actor, result="rejected", details={"problems": [problem], "diff": change})
            raise ConfigError(f"reload refused, the old config keeps running: {problem}", problems=[problem]) from None

        crash_point("during_reload")  # new pieces started, nothing swapped yet
        state.config = new
        state.risk = state.risk.reloaded(new.policies)  # policies and routes swap with the config
        state.pnl.track(*state.risk.reset_times)
        # A restarted account keeps its count of trades no report has shown yet.
        ledgers = {n: held.ledger for n, held in state.portfolio.accounts.items() if n in opened}
        for name in sorted(stop_accounts | {n for n in state.sessions if not (new.accounts.get(n) and new.accounts[n].enabled)}):
            if name in state.sessions:
                await self._stop_account(name)
        for name in sorted(restart_venues | {n for n in state.venues if not (new.venues.get(n) and new.venues[n].enabled)}):
            if name in state.venues:
                await self._stop_venue(name)
        for name, (venue, markets) in opened_venues.items():
            self._adopt_venue(name, venue, markets)
        for name, session in opened.items():
            await self._adopt_account(name, session, ledgers.get(name))
        self._losses.seed()  # accounts started now may hold positions opened elsewhere
        for key in change.get("targets", {}).get("changed", ()):
            state.turnover.forget(f"target:{key}")
        for key in [k for k in state.leverage if k[0] in stop_accounts]:
            state.leverage.pop(key, None)
        await self._record_revision(new, diff=change)
        state.blocked.clear()
        self._audit("reload", actor=actor, details=change)
        state.wake()
        return change

    async def _record_revision(self, config: Config, diff: dict[str, Any] | None) -> None:
        digest = config_mod.config_hash(config)
        latest = self._journal.latest_config_revision()
        if latest is not None and latest.hash == digest and diff is None:
            self.state.revision = latest.revision
            return
        self.state.revision = await self._journal.add_config_revision(
            digest, source=str(self._source or ""), diff=diff, config=config
        )

    # ------------------------------------------------------------------ restore

    def restore_intents(self, config: Config | None = None) -> list[Intent]:
        """Reload open intents (and each standing rule's latest one, of `config`'s
        standing orders) with their orders.

        Returns the intents the journal still holds open although every order of theirs
        has ended: their DONE was queued behind those orders' statuses and not yet
        committed when the daemon stopped. The caller finishes them (a preview does not)."""
        state, journal, now = self.state, self._journal, self._clock.now_ms()
        finished: list[Intent] = []
        restored = list(journal.open_intents())
        # A retired intent whose order the venue may still hold (its cancel failed) comes
        # back too: halts, kill switches and the planner must see that order.
        restored += [i for i in journal.intents_with_live_orders() if i.state.value != "open"]
        for standing in (config or state.config).orders:
            latest = journal.latest_intent(f"standing:{standing.name}")
            if latest is not None and latest.state.value != "open":
                restored.append(latest)
        # Oldest first, once each: a rule's intents are kept in order (its latest is last).
        restored = sorted({i.id: i for i in restored}.values(), key=lambda i: i.id)
        for info in restored:
            intent = state.track_intent(info.id, info.source, info.spec, info.state)
            kind = info.source.split(":")[0]
            if info.spec.brackets and info.state.value == "open" and kind not in ("bracket", "target"):
                state.bracket_parents.add(info.id)  # an entry whose exits are still to manage
            for attempt, client_id in journal.attempts_of(info.id):
                order = journal.order(client_id)
                if order is None or client_id in intent.client_ids:
                    continue
                intent.client_ids.append(client_id)
                state.order_intent[client_id] = (info.id, attempt)
                if order.status is OrderStatus.PENDING:
                    state.obligations.add(client_id)  # journaled, never answered: maybe never sent
                state.apply_order(order, now)
            # Standing and bracket rules are done by their fills (the planner reads them);
            # any other intent is done once all its orders have ended.
            if (intent.state is IntentState.OPEN and info.id not in state.bracket_parents
                    and kind not in ("standing", "bracket") and intent.client_ids
                    and all(cid in state.orders and state.orders[cid].status.is_terminal for cid in intent.client_ids)):
                finished.append(intent)
        return finished
