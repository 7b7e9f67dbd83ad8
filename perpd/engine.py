"""The engine: venues, account sessions, the reconcile loop, reload, and status.

It owns the live state of every venue and account. Reads (API, reconciler, risk) come
from `self.portfolio` and `self.orders`, which the stream consumers in `perpd.sync` keep
current; writes go through the order path in `perpd.orders.OrderDesk` (mixed in here).

Reconcile: one pass plans over all accounts (`perpd.reconcile.plan`, pure), then each
account's actions run in that account's lane, one batch in flight per account, so a slow
venue never holds up another; a busy account is re-planned on the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from secrets import token_hex
from typing import Any

import orjson

from perpd import config as config_mod
from perpd.bus import Bus
from perpd.clock import Clock, SystemClock
from perpd.config import AccountConfig, Config, VenueConfig
from perpd.errors import ConfigError, NotFound, PerpdError, Unavailable
from perpd.journal import Journal
from perpd.ledger import PositionLedger
from perpd.model import ZERO, LeverageSetting, Market, Order, OrderSpec, OrderStatus, TradingState
from perpd.orders import Intent, OrderDesk
from perpd.reconcile import Action, Blocked, Cancel, Observed, Place, RuleState, SetLeverage, converge, plan
from perpd.state import AccountState, Portfolio
from perpd.turnover import HOUR_MS, TurnoverGuard
from venues.base import AccountSession, EditMode, SecretResolver, Venue
from venues.registry import venue_class

log = logging.getLogger("perpd.engine")

LEDGER_CURSOR = "ledger:"  # + account: the position ledger's saved state
SALT_CURSOR = "client_id_salt"  # mixed into every client id this journal derives


@dataclass
class Lane:
    """Per-account action lane: one batch of actions in flight at a time."""

    task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()


class Engine(OrderDesk):
    """Owns the live state of every venue and account and every write to them."""

    def __init__(
        self,
        config: Config,
        journal: Journal,
        *,
        secrets: SecretResolver,
        clock: Clock | None = None,
        source: Path | None = None,
        wrap_session: Callable[[AccountSession], AccountSession] | None = None,
        offline: bool = False,
    ) -> None:
        self.config = config
        self.offline = offline  # a preview from the journal alone: accounts count as ready
        self.source = source
        self.journal = journal
        self.secrets = secrets
        self.clock = clock or SystemClock()
        self._wrap_session = wrap_session  # a seam for fault injection in tests
        self.bus = Bus()
        self.portfolio = Portfolio()
        self.venues: dict[str, Venue] = {}
        self.sessions: dict[str, AccountSession] = {}
        self.orders: dict[str, Order] = {}  # every order we created that we still track
        self.unresolved: set[str] = set()  # client ids PENDING or UNKNOWN
        self.order_intent: dict[str, tuple[int, int]] = {}  # client id -> (intent id, attempt)
        self.intents: dict[int, Intent] = {}
        self.rule_intents: dict[str, list[int]] = {}  # source -> intent ids, oldest first
        self.rule_stamps: dict[str, int] = {}  # source -> changes seen (RuleState cache key)
        self._rule_cache: dict[str, tuple[int, RuleState]] = {}
        self.foreign: dict[str, dict[str, Order]] = {}  # account -> orders we did not create
        self.leverage: dict[tuple[str, str], LeverageSetting] = {}
        self.trading: dict[str, tuple[TradingState, str]] = {}
        self.retry_after: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.blocked: dict[str, str] = {}
        self.revision = 0
        self.dms_refreshed: dict[str, int] = {}
        self.last_resync: dict[str, int] = {}
        self.pnl_saved: str | None = None  # last loss-tracker baselines written
        self.loss_acks: dict[str, dict[str, Any]] = {}  # losses operators resumed over
        self.risk: Any = None  # policies.risk.RiskGate
        self.router: Any = None  # route, spec -> policies.routing.RouteDecision
        self.pnl: Any = None  # policies.pnl.PnlTracker
        self._lanes: dict[str, Lane] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self.stats = {"passes": 0, "orders_sent": 0, "denials": 0, "last_pass_ms": 0.0}
        # Called with (venue, verb, seconds) after each order call to a venue (API metrics).
        self.venue_observers: list[Callable[[str, str, float], None]] = []
        self.turnover = TurnoverGuard()
        self.client_id_salt = ""  # the journal's, read on start
        self.obligations: set[str] = set()  # PENDING at start: send if the venue never heard of them
        self.account_errors: dict[str, tuple[int, str, int]] = {}  # account -> (count, last error, retry at)
        self._bind_policies(config)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Journal the config revision, restore state, connect venues, resync accounts."""
        await self._record_revision(self.config, diff=None)
        self.client_id_salt = self.journal.cursor(SALT_CURSOR) or ""
        if not self.client_id_salt:  # a new journal: its client ids are its own
            self.client_id_salt = token_hex(8)
            await self.journal.set_cursor(SALT_CURSOR, self.client_id_salt)
        self.trading = {scope: (state, reason or "") for scope, (state, reason) in self.journal.trading_states().items()}
        self.restore_intents()
        self.turnover.restore(self.journal.rule_orders_since("target:", self.clock.now_ms() - HOUR_MS))
        from perpd import sync

        for name, venue_cfg in self.config.venues.items():
            if venue_cfg.enabled:
                await self._start_venue(name)
        for name, account_cfg in self.config.accounts.items():
            if account_cfg.enabled and account_cfg.venue in self.venues:
                await self._start_account(name)
        await sync.rebuild_pnl(self)
        sync.seed_pnl(self)
        self._spawn("reconciler", self._reconcile_loop())
        self._spawn("watchdog", sync.watchdog_loop(self))
        self.wake()

    async def stop(self) -> None:
        """Stop cleanly: honour each account's on_exit, close sessions and venues."""
        self._stopping = True
        for task in list(self._tasks.values()):
            task.cancel()
        for lane in self._lanes.values():
            if lane.task is not None:
                lane.task.cancel()
        await asyncio.gather(*self._tasks.values(), *(l.task for l in self._lanes.values() if l.task), return_exceptions=True)
        for name in list(self.sessions):
            await self._stop_account(name, exiting=True)
        for name in list(self.venues):
            await self._stop_venue(name)

    def _spawn(self, name: str, coro: Any) -> None:
        old = self._tasks.get(name)
        if old is not None and not old.done():
            old.cancel()
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks[name] = task
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopping:
            return
        exc = task.exception()
        if exc is not None:
            log.error("task %s failed: %r", task.get_name(), exc, exc_info=exc)

    def _cancel_task(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()

    async def _open_venue(self, name: str, cfg: VenueConfig) -> tuple[Venue, dict[str, Market]]:
        """Connect a venue and load its markets, registering nothing (reload starts the
        new beside the old)."""
        state_dir = self.config.daemon.state_dir / "venues" / name
        state_dir.mkdir(parents=True, exist_ok=True)
        venue = venue_class(cfg.kind)(name, cfg, clock=self.clock, state_dir=state_dir)
        try:
            await venue.connect()
            return venue, await venue.load_markets()
        except BaseException:
            await venue.close()
            raise

    def _adopt_venue(self, name: str, venue: Venue, markets: dict[str, Market]) -> None:
        from perpd import sync

        self.venues[name] = venue
        for symbol, market in markets.items():
            self.portfolio.market_data.markets[(name, symbol)] = market
        self._spawn(f"venue:{name}", sync.venue_stream(self, venue))
        log.info("venue started", extra={"venue": name, "markets": len(markets)})

    async def _start_venue(self, name: str) -> None:
        self._adopt_venue(name, *await self._open_venue(name, self.config.venues[name]))

    async def _stop_venue(self, name: str) -> None:
        self._cancel_task(f"venue:{name}")
        venue = self.venues.pop(name, None)
        for key in [k for k in self.portfolio.market_data.markets if k[0] == name]:
            self.portfolio.market_data.markets.pop(key, None)
            self.portfolio.market_data.books.pop(key, None)
            self.portfolio.market_data.tickers.pop(key, None)
        if venue is not None:
            await venue.close()

    async def _open_account(self, name: str, cfg: AccountConfig, venue: Venue) -> AccountSession:
        """Resolve the account's secrets and connect its session, registering nothing."""
        session = venue.session(name, cfg, self.secrets)
        if self._wrap_session is not None:
            session = self._wrap_session(session)
        try:
            await session.connect()
        except BaseException:
            await session.close()
            raise
        return session

    async def _adopt_account(self, name: str, session: AccountSession, ledger: PositionLedger | None = None) -> None:
        from perpd import sync

        cfg = self.config.accounts[name]
        ledger = ledger or self._restore_ledger(name)
        state = self.portfolio.accounts[name] = AccountState(name, cfg.venue, ledger=ledger)
        for order in self.orders.values():  # restored from the journal before the account existed
            if order.account == name and order.status.is_live:
                state.orders[order.client_id] = order
        self.foreign[name] = {}
        self.sessions[name] = session
        # Subscribe first, then take the snapshot: events in between are not lost.
        self._spawn(f"account:{name}", sync.account_stream(self, session, session.watch_account()))
        await sync.resync(self, name)
        log.info("account started", extra={"account": name, "venue": cfg.venue})

    async def _start_account(self, name: str) -> None:
        cfg = self.config.accounts[name]
        await self._adopt_account(name, await self._open_account(name, cfg, self.venues[cfg.venue]))

    def _restore_ledger(self, account: str) -> PositionLedger:
        """The account's position ledger as last saved, plus every fill journaled since
        (a crash may have lost the last lazy save, never a journaled fill)."""
        lag_ms = int(self.config.daemon.position_report_lag_secs * 1000)
        saved = self.journal.cursor(f"{LEDGER_CURSOR}{account}")
        ledger = PositionLedger.from_dict(orjson.loads(saved), lag_ms) if saved else PositionLedger(lag_ms)
        if saved:
            for row, fill in self.journal.fills_after_row(account, ledger.fill_row):
                ledger.on_fill(fill, fill.ts_ms, row)
        else:  # a new journal, or one from before the ledger: start from the venue's word
            ledger.fill_row = self.journal.last_fill_row(account)
        return ledger

    def save_ledgers(self) -> None:
        """Queue each changed ledger's state (lazily: fills replay what a crash loses)."""
        for name, state in self.portfolio.accounts.items():
            if state.ledger.dirty:
                state.ledger.dirty = False
                self.journal.set_cursor_soon(f"{LEDGER_CURSOR}{name}", orjson.dumps(state.ledger.to_dict()).decode())

    async def _stop_account(self, name: str, *, exiting: bool = False) -> None:
        self._cancel_task(f"account:{name}")
        lane = self._lanes.pop(name, None)
        if lane is not None and lane.task is not None:
            lane.task.cancel()
        session = self.sessions.pop(name, None)
        cfg = self.config.accounts.get(name)
        if session is not None:
            if exiting and cfg is not None and cfg.on_exit == "cancel_all":
                try:
                    count = await session.cancel_all_orders()
                    self._event("cancel_all", actor="daemon", account=name, rule="on_exit", details={"cancelled": count})
                except PerpdError as exc:
                    log.warning("on_exit cancel_all failed for %s: %s", name, exc.message)
            await session.close()
        self.save_ledgers()
        self.portfolio.accounts.pop(name, None)
        self.foreign.pop(name, None)

    def wake(self) -> None:
        """Ask for a reconcile pass soon (something changed)."""
        self._wake.set()

    def _bind_policies(self, config: Config) -> None:
        """Risk gate, loss tracker and router for a config (on start and on reload).

        Token buckets and loss tracking carry over a reload; tripped kill switches are
        trading states in the journal, so they stay tripped until an operator resumes.
        """
        from policies.pnl import PnlTracker
        from policies.risk import RiskGate

        self.risk = self.risk.reloaded(config.policies) if self.risk is not None else RiskGate(config.policies)
        if self.pnl is None:
            self.pnl = PnlTracker(self.risk.reset_times)
        else:
            self.pnl.track(*self.risk.reset_times)
        self.router = self._decide

    def _decide(self, route: Any, spec: OrderSpec) -> Any:
        from policies.risk import OrderCheck
        from policies.routing import decide

        def passes(account: str, size: Decimal) -> bool:
            state = self.portfolio.accounts.get(account)
            if state is None or self.risk is None:
                return state is not None
            venue = state.venue
            mark = self.portfolio.mark(venue, spec.symbol)
            leg = replace(spec.with_account(account), size=size)
            price = spec.price or self._worst_price(leg, venue) or ZERO
            check = OrderCheck(spec=leg, venue=venue, market=self.portfolio.market_data.market(venue, spec.symbol), price=price, mark=mark, now_ms=self.clock.now_ms())
            return self.risk.would_pass(check, self.portfolio) and self.trading_state(account) is TradingState.ACTIVE

        return decide(route, spec, self.portfolio, enabled=self._ready, passes=passes)

    def _ready(self, account: str) -> bool:
        state = self.portfolio.accounts.get(account)
        return (self.offline or account in self.sessions) and state is not None and state.synced

    # ------------------------------------------------------------------ config revisions

    async def _record_revision(self, config: Config, diff: dict[str, Any] | None) -> None:
        digest = config_mod.config_hash(config)
        latest = self.journal.latest_config_revision()
        if latest is not None and latest.hash == digest and diff is None:
            self.revision = latest.revision
            return
        self.revision = await self.journal.add_config_revision(
            digest, source=str(self.source or ""), diff=diff, config=config
        )

    # ------------------------------------------------------------------ lookups

    def session(self, account: str) -> AccountSession:
        if account not in self.config.accounts:
            raise NotFound(f"no account named {account!r}")
        session = self.sessions.get(account)
        if session is None:
            raise Unavailable(f"account {account!r} is not connected", venue=self.config.accounts[account].venue)
        return session

    def order(self, client_id: str) -> Order:
        order = self.orders.get(client_id) or self.journal.order(client_id)
        if order is None:
            for foreign in self.foreign.values():
                if client_id in foreign:
                    return foreign[client_id]
            raise NotFound(f"no order with id {client_id!r}")
        return order

    def trading_state(self, account: str) -> TradingState:
        state, _ = self.trading_state_reason(account)
        return state

    def trading_state_reason(self, account: str) -> tuple[TradingState, str]:
        venue = self.config.accounts[account].venue if account in self.config.accounts else ""
        scopes = ["global", f"account:{account}", f"venue:{venue}"]
        scopes += [s for s in self.trading if s.startswith("policy:") and self._policy_covers(s[7:], account, venue)]
        worst = (TradingState.ACTIVE, "")
        for scope in scopes:
            state, reason = self.trading.get(scope, (TradingState.ACTIVE, ""))
            if state.rank > worst[0].rank:
                worst = (state, f"{scope}: {reason}" if reason else scope)
        return worst

    def _policy_covers(self, policy: str, account: str, venue: str) -> bool:
        cfg = next((p for p in self.config.policies if p.name == policy), None)
        return cfg is not None and cfg.scope.covers(account, venue, None)  # a removed policy halts nothing

    # ------------------------------------------------------------------ reconcile

    def observed(self) -> Observed:
        """Observed state for the planner. Each rule's RuleState is rebuilt only when
        something it is made of changed (`_touch`), so a steady-state pass stays cheap."""
        rules: dict[str, RuleState] = {}
        cache = self._rule_cache
        for source, ids in self.rule_intents.items():
            stamp = self.rule_stamps.get(source, 0)
            cached = cache.get(source)
            if cached is not None and cached[0] == stamp:
                rules[source] = cached[1]
                continue
            if source.startswith("standing:"):
                intent = self.intents[ids[-1]]
                orders = tuple([o for o in map(self.orders.get, intent.client_ids) if o is not None])
                state = RuleState(source, intent.id, intent.spec, intent.state, orders, self.retry_after.get(source, 0))
            elif source.startswith("target:"):
                orders = tuple(
                    [o for i in ids if self.intents[i].state == "open" for o in map(self.orders.get, self.intents[i].client_ids) if o is not None]
                )
                state = RuleState(source, None, None, None, orders, self.retry_after.get(source, 0))
            else:
                continue
            cache[source] = (stamp, state)
            rules[source] = state
        return Observed(
            portfolio=self.portfolio,
            rules=rules,
            leverage=self.leverage,
            trading_state=self.trading_state,
            enabled=self._ready,
            now_ms=self.clock.now_ms(),
            owned_live=self._owned_live,
            stopped={s: r for s, (state, r) in self.trading.items() if s.startswith("target:") and state is TradingState.HALTED},
        )

    def _owned_live(self, account: str) -> tuple[Order, ...]:
        state = self.portfolio.accounts.get(account)
        return tuple(state.orders.values()) if state is not None else ()

    def plan(self, config: Config | None = None) -> list[Action]:
        """The actions a pass would take now (for `config`, default the running one)."""
        return plan(config or self.config, self.observed(), self._route_one)

    def preview(self, config: Config | None = None) -> list[str]:
        """Where applying `config` converges, one line per step: this pass's actions, then
        the placements that follow its cancels; a cancel and the placement replacing it
        on a venue that can edit read as one `replace` line."""
        first, then = converge(config or self.config, self.observed(), self._route_one)
        lines: list[str] = []
        follows = {(a.account, a.rule): a for a in then}
        for action in first:
            nxt = follows.get((action.account, action.rule)) if isinstance(action, Cancel) else None
            session = self.sessions.get(action.account or "")
            if nxt is not None and session is not None and session.capabilities.edit is not EditMode.NONE:
                del follows[(action.account, action.rule)]
                lines.append(f"replace {action.client_id} with: {nxt.describe()}")
            else:
                lines.append(action.describe())
        lines.extend(f"then {a.describe()}" for a in follows.values())
        return lines

    def _route_one(self, spec: OrderSpec) -> str:
        legs = self._route(spec)
        return legs[0][0]

    async def _reconcile_loop(self) -> None:
        interval = self.config.daemon.reconcile_interval_secs
        while True:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            # that races the event, leaving stop() waiting forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.reconcile_once(wait=False)
            except Exception:  # noqa: BLE001 - one bad pass must not stop reconciling
                log.exception("reconcile pass failed")

    async def reconcile_once(self, *, wait: bool = True) -> list[Action]:
        """One pass: resolve unknowns, check loss limits, plan, and act per account."""
        from perpd import sync

        started = asyncio.get_running_loop().time()
        # Each step guarded on its own: loss limits first, and nothing a lookup does
        # (a 401, a parse error) can keep a kill switch from tripping or a halt's cancels.
        await self._guarded("loss limits", sync.check_loss_limits(self))
        await self._guarded("resolving unknown outcomes", sync.resolve_unknown(self))
        planned = self.config
        actions = self.plan()
        by_account: dict[str, list[Action]] = {}
        for action in actions:
            if isinstance(action, Blocked):
                await self._note_blocked(action)
            else:
                by_account.setdefault(action.account, []).append(action)
        launched = []
        for account, batch in by_account.items():
            lane = self._lanes.setdefault(account, Lane())
            if lane.busy:
                continue  # the next pass re-plans against what the lane's actions did
            lane.task = asyncio.get_running_loop().create_task(self._act(batch, planned), name=f"lane:{account}")
            lane.task.add_done_callback(self._task_done)
            launched.append(lane.task)
        if wait and launched:
            await asyncio.gather(*launched, return_exceptions=True)
        self.save_ledgers()
        self.stats["passes"] += 1
        self.stats["last_pass_ms"] = (asyncio.get_running_loop().time() - started) * 1000
        return actions

    async def _guarded(self, step: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:  # noqa: BLE001 - one step failing must not abort the pass
            log.exception("reconcile step failed: %s", step)
            self.stats["step_failures"] = self.stats.get("step_failures", 0) + 1

    def note_account_error(self, account: str, message: str) -> None:
        """A venue call for `account` failed outside the order path: shown in status,
        logged, and the account's lookups back off (1 s doubling to 60 s)."""
        count, _, _ = self.account_errors.get(account, (0, "", 0))
        delay_ms = min(60_000, 1_000 * 2 ** min(count, 6))
        self.account_errors[account] = (count + 1, message, self.clock.now_ms() + delay_ms)
        log.warning("%s: %s (retrying in %.0f s)", account, message, delay_ms / 1000, extra={"account": account})

    def backing_off(self, account: str, now_ms: int) -> bool:
        entry = self.account_errors.get(account)
        return entry is not None and now_ms < entry[2]

    async def _note_blocked(self, action: Blocked) -> None:
        if self.blocked.get(action.rule) != action.reason:
            self.blocked[action.rule] = action.reason
            self._event("blocked", actor="reconciler", account=action.account, rule=action.rule, result="blocked", details={"reason": action.reason})

    async def _act(self, batch: Sequence[Action], planned: Config | None = None) -> None:
        for action in batch:
            try:
                await self._act_one(action, planned)
            except PerpdError as exc:
                rule = action.rule
                self._backoff(rule)
                self._event("action_failed", actor="reconciler", account=action.account, rule=rule, result=exc.type_name, details={"action": action.describe(), "error": exc.message})

    async def _act_one(self, action: Action, planned: Config | None = None) -> None:
        if isinstance(action, Place):
            if planned is not None and planned is not self.config:
                return  # planned under a config a reload has replaced: the next pass re-plans
            self.blocked.pop(action.rule, None)
            spec, request, market = self._prepare(action.spec)
            if action.rule.startswith("target:") and not await self._turnover_allows(action, request.size):
                return
            if action.intent_id is not None:
                order = await self._send_new(self.intents[action.intent_id], spec, request, market, actor="reconciler", planned=planned)
            else:
                (order,) = await self._open_intent(spec, [(spec, request, market)], source=action.rule, actor="reconciler", planned=planned)
            if order.status is OrderStatus.REJECTED:
                self._backoff(action.rule)
        elif isinstance(action, Cancel):
            await self.cancel(action.client_id, actor="reconciler", rule=action.rule)
        elif isinstance(action, SetLeverage):
            s = action.setting
            await self.set_leverage(action.account, s.symbol, s.leverage, s.margin_mode, actor="reconciler")

    async def _turnover_allows(self, action: Place, size: Decimal) -> bool:
        """The circuit breaker under every target slice (perpd/turnover.py): a slice past
        its bounds stops the target, journaled and audited, until an operator resumes it."""
        target = next((t for t in self.config.targets if f"target:{t.key}" == action.rule), None)
        if target is None:
            return True
        now = self.clock.now_ms()
        reason = self.turnover.refuse(self.config, target, action.account, size, now)
        if reason is None:
            self.turnover.record(action.rule, action.account, size, now)
            return True
        await self.set_trading_state(action.rule, TradingState.HALTED, f"turnover: {reason}", actor="turnover")
        return False

    # ------------------------------------------------------------------ reload

    async def reload(self, new: Config, *, actor: str = "admin") -> dict[str, Any]:
        """(validated by the caller) -> diff -> start new -> swap -> stop old.

        Every venue and account the new config adds or changes is started beside the
        running ones first (connected, markets loaded, secrets resolved, credentials
        tried with a balance query). If any fails, what was started is stopped, the old
        config keeps running untouched, and the refusal is audited and raised as a
        ConfigError naming the piece and the reason. Only then is the config swapped and
        the old pieces stopped."""
        old = self.config
        change = config_mod.diff(old, new)
        if not change:
            return {}
        venues, accounts = change.get("venues", {}), change.get("accounts", {})
        restart_venues = set(venues.get("changed", ())) | set(venues.get("removed", ()))
        stop_accounts = set(accounts.get("changed", ())) | set(accounts.get("removed", ()))
        stop_accounts |= {n for n, a in old.accounts.items() if a.venue in restart_venues}
        live_venues = set(self.venues) - restart_venues
        start_venues = [n for n, c in new.venues.items() if c.enabled and n not in live_venues]
        start_accounts = [
            n for n, c in new.accounts.items()
            if c.enabled and (n not in self.sessions or n in stop_accounts) and (c.venue in start_venues or c.venue in live_venues)
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
                venue = opened_venues[cfg.venue][0] if cfg.venue in opened_venues else self.venues[cfg.venue]
                opened[name] = await self._open_account(name, cfg, venue)
                await opened[name].fetch_balance()  # the credentials work, before anything is swapped
        except Exception as exc:  # noqa: BLE001 - any failure to start refuses the reload
            reason = exc.message if isinstance(exc, PerpdError) else f"{type(exc).__name__}: {exc}"
            for session in opened.values():
                await session.close()
            for venue, _ in opened_venues.values():
                await venue.close()
            problem = f"{piece}: cannot start: {reason}"
            self._event("reload", actor=actor, result="rejected", details={"problems": [problem], "diff": change})
            raise ConfigError(f"reload refused, the old config keeps running: {problem}", problems=[problem]) from None

        self.config = new
        self._bind_policies(new)  # policies and routes swap atomically with the config
        # A restarted account keeps its count of trades no report has shown yet.
        ledgers = {n: s.ledger for n, s in self.portfolio.accounts.items() if n in opened}
        for name in sorted(stop_accounts | {n for n in self.sessions if not (new.accounts.get(n) and new.accounts[n].enabled)}):
            if name in self.sessions:
                await self._stop_account(name)
        for name in sorted(restart_venues | {n for n in self.venues if not (new.venues.get(n) and new.venues[n].enabled)}):
            if name in self.venues:
                await self._stop_venue(name)
        for name, (venue, markets) in opened_venues.items():
            self._adopt_venue(name, venue, markets)
        for name, session in opened.items():
            await self._adopt_account(name, session, ledgers.get(name))
        from perpd import sync

        sync.seed_pnl(self)  # accounts started now may hold positions opened elsewhere
        for key in change.get("targets", {}).get("changed", ()):
            self.turnover.forget(f"target:{key}")
        for key in [k for k in self.leverage if k[0] in stop_accounts]:
            self.leverage.pop(key, None)
        await self._record_revision(new, diff=change)
        self.blocked.clear()
        self._event("reload", actor=actor, details=change)
        self.wake()
        return change

    # ------------------------------------------------------------------ restore

    def restore_intents(self, config: Config | None = None) -> None:
        """Reload open intents (and each standing rule's latest one, of `config`'s
        standing orders) with their orders."""
        restored = list(self.journal.open_intents())
        for standing in (config or self.config).orders:
            latest = self.journal.latest_intent(f"standing:{standing.name}")
            if latest is not None and latest.state.value != "open":
                restored.append(latest)
        for info in restored:
            intent = self._track_intent(info.id, info.source, info.spec, info.state.value)
            for attempt, client_id in self.journal.attempts_of(info.id):
                order = self.journal.order(client_id)
                if order is None or client_id in intent.client_ids:
                    continue
                intent.client_ids.append(client_id)
                self.order_intent[client_id] = (info.id, attempt)
                if order.status is OrderStatus.PENDING:
                    self.obligations.add(client_id)  # journaled, never answered: maybe never sent
                self._apply_order(order)

    # ------------------------------------------------------------------ audit

    def _event(self, action: str, *, actor: str, result: str = "ok", **fields: Any) -> None:
        """Audit an action: journaled in order with every other write, without waiting."""
        details = fields.pop("details", None)
        self.journal.record_event_soon(action, actor=actor, result=result, config_revision=self.revision, details=details, **fields)
        context = {k: v for k, v in fields.items() if v is not None}
        log.info("%s %s", action, result, extra={"actor": actor, "revision": self.revision, **context})
        self.bus.publish("events", {"action": action, "actor": actor, "result": result, **fields, "details": details})

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        accounts = {}
        for name, cfg in self.config.accounts.items():
            state = self.portfolio.accounts.get(name)
            trading, reason = self.trading_state_reason(name) if name in self.config.accounts else (TradingState.ACTIVE, "")
            accounts[name] = {
                "venue": cfg.venue,
                "enabled": cfg.enabled,
                "connected": name in self.sessions,
                "synced": bool(state and state.synced),
                "last_contact_ms": state.last_contact_ms if state else 0,
                "trading_state": trading.value,
                "reason": reason,
                "open_orders": sum(1 for _ in state.live_orders()) if state else 0,
                "errors": self.account_errors.get(name, (0, "", 0))[0],
                "last_error": self.account_errors.get(name, (0, "", 0))[1],
            }
        return {
            "config_revision": self.revision,
            "config_hash": config_mod.config_hash(self.config),
            "trading_states": {scope: {"state": s.value, "reason": r} for scope, (s, r) in self.trading.items()},
            "venues": {n: {"kind": c.kind, "connected": n in self.venues, "markets": sum(1 for k in self.portfolio.market_data.markets if k[0] == n)} for n, c in self.config.venues.items()},
            "accounts": accounts,
            "blocked": dict(self.blocked),
            "stats": dict(self.stats),
        }


