"""The engine: venues, account sessions, the order lifecycle, and the reconcile loop.

Order lifecycle (the money path):

    OrderSpec --validate/round--> OrderRequest --trading state + risk gate-->
    journal (intent + PENDING order, one commit) --> venue.create_order -->
        Order (open/filled/pending)        -> journal
        VenueRejected (definitive)         -> REJECTED
        OutcomeUnknown (timeout/5xx/429)   -> UNKNOWN, resolved by client id later

Nothing reaches a venue before its intent and client id are committed, so a crash at any
point leaves a record to resolve; an unknown outcome is resolved by asking the venue for
that client id, never by sending again under a new one. Client ids are derived from
(account, intent id, attempt), so the same intent always maps to the same ids.

Reads (API, reconciler, risk) come from `self.portfolio` and `self.orders`, which the
stream consumers in `perpd.sync` keep current.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from perpd import config as config_mod
from perpd.bus import Bus
from perpd.clock import Clock, SystemClock
from perpd.config import Config
from perpd.errors import (
    Denied,
    InvalidRequest,
    NotFound,
    NotSupported,
    OutcomeUnknown,
    PerpdError,
    Unavailable,
    VenueRejected,
)
from perpd.journal import Intent as JournalIntent
from perpd.journal import Journal
from perpd.model import (
    ZERO,
    LeverageSetting,
    MarginMode,
    Market,
    Order,
    OrderRequest,
    OrderSpec,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradingState,
    base_asset,
    normalize_symbol,
    round_price,
    round_size,
)
from perpd.reconcile import Action, Blocked, Cancel, Observed, Place, RuleState, SetLeverage, plan
from perpd.state import AccountState, Portfolio
from perpd.wire import to_data
from venues.base import AccountSession, SecretResolver, Venue, check_against_market
from venues.registry import venue_class

log = logging.getLogger("perpd.engine")

BPS = Decimal(10_000)
DEFAULT_MARKET_SLIPPAGE_BPS = Decimal(50)
UNKNOWN_GRACE_MS = 10_000  # a sent order not found after this long never reached the venue
RESOLVE_EVERY_MS = 1_000
BACKOFF_MS = (1_000, 5_000, 30_000, 120_000)


@dataclass
class Intent:
    id: int
    source: str
    spec: OrderSpec
    state: str  # open | done | cancelled
    client_ids: list[str] = field(default_factory=list)


@dataclass
class Lane:
    """Per-account action lane: one batch of actions in flight at a time."""

    task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()


class Engine:
    """Owns the live state of every venue and account and every write to them."""

    def __init__(
        self,
        config: Config,
        journal: Journal,
        *,
        secrets: SecretResolver,
        clock: Clock | None = None,
        source: Path | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.journal = journal
        self.secrets = secrets
        self.clock = clock or SystemClock()
        self.bus = Bus()
        self.portfolio = Portfolio()
        self.venues: dict[str, Venue] = {}
        self.sessions: dict[str, AccountSession] = {}
        self.orders: dict[str, Order] = {}  # every order we created that we still track
        self.order_intent: dict[str, tuple[int, int]] = {}  # client id -> (intent id, attempt)
        self.intents: dict[int, Intent] = {}
        self.rule_intents: dict[str, list[int]] = {}  # source -> intent ids, oldest first
        self.foreign: dict[str, dict[str, Order]] = {}  # account -> orders we did not create
        self.leverage: dict[tuple[str, str], LeverageSetting] = {}
        self.trading: dict[str, tuple[TradingState, str]] = {}
        self.retry_after: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.blocked: dict[str, str] = {}
        self.revision = 0
        self.dms_refreshed: dict[str, int] = {}
        self.risk: Any = None  # policies.risk.RiskGate
        self.router: Any = None  # route, spec -> policies.routing.RouteDecision
        self.pnl: Any = None  # policies.pnl.PnlTracker
        self._lanes: dict[str, Lane] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._inflight: set[asyncio.Task[Any]] = set()
        self.stats = {"passes": 0, "orders_sent": 0, "denials": 0, "last_pass_ms": 0.0}
        # Called with (venue, verb, seconds) after each order call to a venue (API metrics).
        self.venue_observers: list[Callable[[str, str, float], None]] = []
        self._bind_policies(config)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Journal the config revision, restore state, connect venues, resync accounts."""
        await self._record_revision(self.config, diff=None)
        self.trading = {scope: (state, reason or "") for scope, (state, reason) in self.journal.trading_states().items()}
        self._restore_intents()
        from perpd import sync

        for name, venue_cfg in self.config.venues.items():
            if venue_cfg.enabled:
                await self._start_venue(name)
        for name, account_cfg in self.config.accounts.items():
            if account_cfg.enabled and account_cfg.venue in self.venues:
                await self._start_account(name)
        await sync.rebuild_pnl(self)
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
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
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

    async def _start_venue(self, name: str) -> None:
        from perpd import sync

        cfg = self.config.venues[name]
        state_dir = self.config.daemon.state_dir / "venues" / name
        state_dir.mkdir(parents=True, exist_ok=True)
        venue = venue_class(cfg.kind)(name, cfg, clock=self.clock, state_dir=state_dir)
        await venue.connect()
        markets = await venue.load_markets()
        self.venues[name] = venue
        for symbol, market in markets.items():
            self.portfolio.market_data.markets[(name, symbol)] = market
        self._spawn(f"venue:{name}", sync.venue_stream(self, venue))
        log.info("venue started", extra={"venue": name, "markets": len(markets)})

    async def _stop_venue(self, name: str) -> None:
        self._cancel_task(f"venue:{name}")
        venue = self.venues.pop(name, None)
        for key in [k for k in self.portfolio.market_data.markets if k[0] == name]:
            self.portfolio.market_data.markets.pop(key, None)
            self.portfolio.market_data.books.pop(key, None)
            self.portfolio.market_data.tickers.pop(key, None)
        if venue is not None:
            await venue.close()

    async def _start_account(self, name: str) -> None:
        from perpd import sync

        cfg = self.config.accounts[name]
        venue = self.venues[cfg.venue]
        session = venue.session(name, cfg, self.secrets)
        self.portfolio.accounts[name] = AccountState(name, cfg.venue)
        self.foreign[name] = {}
        await session.connect()
        self.sessions[name] = session
        self._spawn(f"account:{name}", sync.account_stream(self, session))
        await sync.resync(self, name)
        log.info("account started", extra={"account": name, "venue": cfg.venue})

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
                    await self._event("cancel_all", actor="daemon", account=name, rule="on_exit", details={"cancelled": count})
                except PerpdError as exc:
                    log.warning("on_exit cancel_all failed for %s: %s", name, exc.message)
            await session.close()
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
            self.pnl = PnlTracker()
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
        return account in self.sessions and state is not None and state.synced

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
        return cfg is None or cfg.scope.covers(account, venue, None)

    # ------------------------------------------------------------------ the order path

    async def submit(
        self,
        spec: OrderSpec,
        *,
        source: str = "api",
        actor: str = "api",
        idempotency_key: str | None = None,
    ) -> list[Order]:
        """Place what a client asks; returns one Order per account it went to."""
        if idempotency_key is not None:
            existing = self.journal.intent_by_key(idempotency_key)
            if existing is not None:
                return self._replay(existing, spec)
        if spec.route is not None:
            legs = self._route(spec)
        else:
            legs = [(spec.account or "", spec.size)]
        prepared = [self._prepare(spec.with_account(account) if size == spec.size else replace(spec.with_account(account), size=size)) for account, size in legs]
        intent_id = await self.journal.insert_intent(
            spec, source=source, idempotency_key=idempotency_key, config_revision=self.revision
        )
        intent = self._track_intent(intent_id, source, spec, "open")
        orders = await asyncio.gather(
            *(self._send_new(intent, leg_spec, request, market, actor=actor) for leg_spec, request, market in prepared)
        )
        return list(orders)

    def _replay(self, existing: JournalIntent, spec: OrderSpec) -> list[Order]:
        """The same Idempotency-Key returns the same order(s); a different body is refused."""
        if replace(existing.spec, client_tag=None) != replace(spec, client_tag=None):
            raise InvalidRequest("Idempotency-Key was already used for a different order")
        orders = self.journal.orders(intent_id=existing.id, limit=1000)
        return [self.orders.get(o.client_id, o) for o in reversed(orders)]

    def _route(self, spec: OrderSpec) -> list[tuple[str, Decimal]]:
        route = self.config.route(spec.route or "")
        if route is None:
            raise NotFound(f"no route named {spec.route!r}")
        if not route.covers(spec.symbol):
            raise InvalidRequest(f"route {route.name!r} does not trade {spec.symbol}")
        if self.router is None:
            return [(route.accounts[0], spec.size)]
        decision = self.router(route, spec)
        self._spawn_inflight(
            self._event(
                "route",
                actor="router",
                symbol=spec.symbol,
                rule=f"route:{route.name}",
                details=to_data(decision),
            )
        )
        return list(decision.legs)

    def _prepare(self, spec: OrderSpec) -> tuple[OrderSpec, OrderRequest, Market]:
        """Validate, round and gate one account's order; raises before anything is journaled."""
        account = spec.account or ""
        session = self.session(account)
        venue = session.venue
        market = venue.market(spec.symbol)
        if spec.type.has_limit_price:
            assert spec.price is not None
            price = round_price(spec.price, market.tick_size, spec.side)
            if price <= 0:
                raise InvalidRequest(f"price {spec.price} rounds to {price} at tick {market.tick_size}")
        else:
            price = None
        trigger = round_price(spec.trigger_price, market.tick_size) if spec.trigger_price is not None else None
        size = round_size(spec.size, market.lot_size)
        if size <= 0:
            raise InvalidRequest(f"size {spec.size} rounds to 0 at lot {market.lot_size} on {venue.name}")
        request = OrderRequest(
            client_id=venue.capabilities.client_id_format.derive(account, "probe"),
            symbol=spec.symbol,
            side=spec.side,
            type=spec.type,
            size=size,
            price=price,
            trigger_price=trigger,
            tif=spec.tif,
            reduce_only=spec.reduce_only,
            slippage_bps=spec.slippage_bps,
        )
        venue.capabilities.check(request, venue.name)
        if price is None:
            # A market order is checked (min notional) at its worst price, on the tick.
            worst = self._worst_price(spec, venue.name)
            probe = replace(request, price=market.round_price(worst, spec.side) if worst is not None else None)
        else:
            probe = request
        check_against_market(probe, market)
        self._gate(account, venue.name, spec, request, market)
        return spec, request, market

    def _worst_price(self, spec: OrderSpec, venue: str) -> Decimal | None:
        if spec.price is not None:
            return spec.price
        mark = self.portfolio.mark(venue, spec.symbol)
        if mark is None:
            return None
        reference = spec.trigger_price or mark
        slip = spec.slippage_bps if spec.slippage_bps is not None else DEFAULT_MARKET_SLIPPAGE_BPS
        return reference * (BPS + spec.side.sign * slip) / BPS

    def _gate(self, account: str, venue: str, spec: OrderSpec, request: OrderRequest, market: Market) -> None:
        """Trading state, then every risk policy in scope. Raises Denied."""
        state, reason = self.trading_state_reason(account)
        if state is TradingState.HALTED and not spec.reduce_only:
            self.stats["denials"] += 1
            raise Denied(f"denied: trading is halted ({reason})", limit="halted")
        if state in (TradingState.HALTED, TradingState.REDUCE_ONLY):
            held = self.portfolio.accounts[account].position_size(spec.symbol)
            if not (held * spec.side.sign < 0 and request.size <= abs(held)):
                self.stats["denials"] += 1
                raise Denied(f"denied: trading is {state.value} ({reason}) and this order does not reduce", limit=state.value)
        if self.risk is not None:
            from policies.risk import OrderCheck

            price = request.price or self._worst_price(spec, venue) or ZERO
            check = OrderCheck(
                spec=replace(spec, size=request.size, price=request.price),
                venue=venue,
                market=market,
                price=price,
                mark=self.portfolio.mark(venue, spec.symbol),
                now_ms=self.clock.now_ms(),
            )
            try:
                self.risk.check(check, self.portfolio)
            except Denied:
                self.stats["denials"] += 1
                raise

    def _track_intent(self, intent_id: int, source: str, spec: OrderSpec, state: str) -> Intent:
        intent = self.intents.get(intent_id)
        if intent is None:
            intent = self.intents[intent_id] = Intent(intent_id, source, spec, state)
            self.rule_intents.setdefault(source, []).append(intent_id)
        return intent

    async def _send_new(
        self, intent: Intent, spec: OrderSpec, request: OrderRequest, market: Market, *, actor: str
    ) -> Order:
        account = spec.account or ""
        session = self.sessions[account]
        # Attempts count this intent's orders on this account; claimed before any await so
        # concurrent legs and re-placements never derive the same id.
        attempt = sum(1 for cid in intent.client_ids if self.orders.get(cid) is None or self.orders[cid].account == account)
        client_id = session.capabilities.client_id_format.derive(account, intent.id, attempt)
        intent.client_ids.append(client_id)
        self.order_intent[client_id] = (intent.id, attempt)
        request = replace(request, client_id=client_id)
        now = self.clock.now_ms()
        pending = Order(
            account=account,
            venue=session.venue.name,
            client_id=client_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            size=request.size,
            status=OrderStatus.PENDING,
            price=request.price,
            trigger_price=request.trigger_price,
            tif=request.tif,
            reduce_only=request.reduce_only,
            created_ms=now,
            updated_ms=now,
        )
        self._apply_order(pending)
        # Write-ahead: the client id is durable before the venue can hear of it.
        await self.journal.insert_order(pending, intent_id=intent.id, attempt=attempt)
        return await self._send(session, request, pending, actor=actor, rule=intent.source)

    async def _send(self, session: AccountSession, request: OrderRequest, pending: Order, *, actor: str, rule: str) -> Order:
        self.stats["orders_sent"] += 1
        started = time.perf_counter()
        try:
            acked = await session.create_order(request)
        except VenueRejected as exc:
            result = pending.evolve(status=OrderStatus.REJECTED, reason=exc.message, updated_ms=self.clock.now_ms())
        except (NotSupported, InvalidRequest) as exc:
            result = pending.evolve(status=OrderStatus.REJECTED, reason=f"refused locally: {exc.message}", updated_ms=self.clock.now_ms())
        except OutcomeUnknown as exc:
            result = pending.evolve(status=OrderStatus.UNKNOWN, reason=exc.message, updated_ms=self.clock.now_ms())
        except Exception as exc:  # noqa: BLE001 - a bug in a venue must not lose the order
            log.exception("create_order raised unexpectedly on %s", session.account)
            result = pending.evolve(status=OrderStatus.UNKNOWN, reason=f"unexpected error: {exc!r}", updated_ms=self.clock.now_ms())
        else:
            result = _merge(pending, acked)
        self._observe(session.venue.name, "create_order", started)
        result = await self.record_order(result)
        await self._event(
            "place",
            actor=actor,
            account=pending.account,
            venue=pending.venue,
            symbol=pending.symbol,
            client_id=pending.client_id,
            rule=rule,
            result=result.status.value,
            details={"side": pending.side.value, "size": str(pending.size), "price": _s(pending.price), "reason": result.reason},
        )
        return result

    async def cancel(self, client_id: str, *, actor: str = "api", rule: str | None = None) -> Order:
        """Cancel one order by client id. An operator cancel retires its standing rule."""
        order = self.order(client_id)
        if order.account in self.foreign and client_id in self.foreign[order.account] and not self._adopts(order.account):
            raise Denied(f"order {client_id} was not created by perpd (set adopt = true on {order.account} to manage it)")
        if order.status.is_terminal:
            return order
        session = self.session(order.account)
        intent = self._intent_of(client_id)
        if intent is not None and rule is None and actor != "reconciler":
            intent.state = "cancelled"
            await self.journal.set_intent_state(intent.id, "cancelled")
        started = time.perf_counter()
        try:
            cancelled = await session.cancel_order(client_id)
        except OutcomeUnknown as exc:
            self._observe(session.venue.name, "cancel_order", started)
            await self._event("cancel", actor=actor, account=order.account, client_id=client_id, rule=rule, result="unknown", details={"reason": exc.message})
            raise
        self._observe(session.venue.name, "cancel_order", started)
        now = self.clock.now_ms()
        if cancelled:
            order = await self.record_order(order.evolve(status=OrderStatus.CANCELLED, updated_ms=now, reason=f"cancelled by {actor}"))
        else:
            fresh = await session.fetch_order(client_id)
            if fresh is not None:
                order = await self.record_order(_merge(order, fresh))
        await self._event("cancel", actor=actor, account=order.account, venue=order.venue, symbol=order.symbol, client_id=client_id, rule=rule, result=order.status.value)
        return order

    async def cancel_all(self, *, account: str | None = None, symbol: str | None = None, actor: str = "api") -> int:
        """Cancel every live order perpd manages, optionally one account / symbol."""
        unified = normalize_symbol(symbol) if symbol else None
        targets = [
            o for o in list(self.orders.values())
            if o.status.is_live and (account is None or o.account == account) and (unified is None or o.symbol == unified)
        ]
        if account is not None and account not in self.config.accounts:
            raise NotFound(f"no account named {account!r}")
        results = await asyncio.gather(*(self.cancel(o.client_id, actor=actor) for o in targets), return_exceptions=True)
        for name in [account] if account else list(self.foreign):
            if self._adopts(name):
                for order in list(self.foreign.get(name, {}).values()):
                    if unified is None or order.symbol == unified:
                        results.append(await self.sessions[name].cancel_order(order.client_id))
        return sum(1 for r in results if isinstance(r, Order) and r.status is OrderStatus.CANCELLED or r is True)

    async def modify(self, client_id: str, *, price: Decimal | None = None, size: Decimal | None = None, actor: str = "api") -> Order:
        order = self.order(client_id)
        if order.status.is_terminal:
            raise InvalidRequest(f"order {client_id} is {order.status.value}; nothing to modify")
        if price is None and size is None:
            raise InvalidRequest("give a new price or a new size")
        session = self.session(order.account)
        market = session.venue.market(order.symbol)
        new_price = round_price(price, market.tick_size, order.side) if price is not None else None
        new_size = round_size(size, market.lot_size) if size is not None else None
        if new_size is not None and new_size <= order.filled_size:
            raise InvalidRequest(f"new size {new_size} is not above the filled size {order.filled_size}")
        spec = OrderSpec(
            symbol=order.symbol, side=order.side, size=new_size or order.size, type=order.type,
            price=new_price or order.price, trigger_price=order.trigger_price, tif=order.tif,
            reduce_only=order.reduce_only, account=order.account,
        )
        request = OrderRequest(order.client_id, spec.symbol, spec.side, spec.type, spec.size, spec.price, spec.trigger_price, spec.tif, spec.reduce_only)
        check_against_market(request, market)
        self._gate(order.account, order.venue, spec, request, market)
        from venues.base import EditMode

        mode = session.capabilities.edit
        if mode is EditMode.NONE:
            raise NotSupported(f"{order.venue} cannot modify orders; cancel and place a new one")
        new_client_id = client_id
        intent_attempt = self.order_intent.get(client_id)
        if mode is EditMode.REPLACE and intent_attempt is not None:
            intent_id, _ = intent_attempt
            intent = self.intents.get(intent_id)
            attempt = len(intent.client_ids) if intent else 1
            new_client_id = session.capabilities.client_id_format.derive(order.account, intent_id, attempt)
            replacement = order.evolve(client_id=new_client_id, status=OrderStatus.PENDING, size=spec.size, price=spec.price, filled_size=ZERO, venue_order_id=None)
            await self.journal.insert_order(replacement, intent_id=intent_id, attempt=attempt)
            self.order_intent[new_client_id] = (intent_id, attempt)
            if intent:
                intent.client_ids.append(new_client_id)
        try:
            edited = await session.edit_order(client_id, new_client_id=new_client_id, price=new_price, size=new_size)
        except OutcomeUnknown:
            await self._event("modify", actor=actor, account=order.account, client_id=client_id, result="unknown")
            raise
        result = await self.record_order(_merge(self.orders.get(edited.client_id, order), edited))
        await self._event("modify", actor=actor, account=order.account, venue=order.venue, symbol=order.symbol, client_id=client_id, result=result.status.value, details={"price": _s(new_price), "size": _s(new_size)})
        return result

    async def close_position(self, symbol: str, *, account: str | None = None, actor: str = "api", slippage_bps: Decimal | None = None) -> list[Order]:
        """Close a position with reduce-only IOC market orders (one account or all)."""
        unified = normalize_symbol(symbol)
        names = [account] if account else [a for a, s in self.portfolio.accounts.items() if s.position_size(unified) != 0]
        out = []
        for name in names:
            if name not in self.portfolio.accounts:
                raise NotFound(f"no account named {name!r}")
            held = self.portfolio.accounts[name].position_size(unified)
            if held == 0:
                continue
            spec = OrderSpec(symbol=unified, side=Side.of_size(-held), size=abs(held), type=OrderType.MARKET, tif=TimeInForce.IOC, reduce_only=True, account=name, slippage_bps=slippage_bps)
            out.extend(await self.submit(spec, source="close", actor=actor))
        return out

    async def set_leverage(self, account: str, symbol: str, leverage: int, margin_mode: MarginMode | None = None, *, actor: str = "api") -> LeverageSetting:
        session = self.session(account)
        unified = session.venue.market(symbol).symbol
        market = session.venue.market(unified)
        if not 0 < leverage <= market.max_leverage:
            raise InvalidRequest(f"leverage must be between 1 and {market.max_leverage} on {market.venue} {unified}")
        mode = margin_mode or self.config.accounts[account].margin_mode
        await session.set_leverage(unified, leverage, mode)
        setting = LeverageSetting(unified, leverage, mode)
        self.leverage[(account, unified)] = setting
        await self._event("set_leverage", actor=actor, account=account, symbol=unified, details={"leverage": leverage, "margin_mode": mode.value})
        return setting

    # ------------------------------------------------------------------ trading states

    async def set_trading_state(self, scope: str, state: TradingState, reason: str, *, actor: str, cancel: bool = True) -> int:
        """Set a scope's state ("global", "account:X", "venue:X", "policy:X"); halting cancels."""
        self._check_scope(scope)
        self.trading[scope] = (state, reason)
        await self.journal.set_trading_state(scope, state.value, reason)
        await self._event(state.value if state is not TradingState.ACTIVE else "resume", actor=actor, rule=scope, details={"reason": reason})
        self.bus.publish("status", {"scope": scope, "state": state.value, "reason": reason})
        cancelled = 0
        if state is TradingState.HALTED and cancel:
            for name in self.portfolio.accounts:
                if self.trading_state(name) is TradingState.HALTED:
                    cancelled += await self.cancel_all(account=name, actor=actor)
        self.wake()
        return cancelled

    def _check_scope(self, scope: str) -> None:
        kind, _, name = scope.partition(":")
        known = {"account": self.config.accounts, "venue": self.config.venues, "policy": {p.name: p for p in self.config.policies}}
        if scope == "global":
            return
        if kind not in known or name not in known[kind]:
            raise NotFound(f"no such scope {scope!r} (global, account:NAME, venue:NAME, policy:NAME)")

    # ------------------------------------------------------------------ stream inputs

    def _adopts(self, account: str) -> bool:
        cfg = self.config.accounts.get(account)
        return bool(cfg and cfg.adopt)

    def _intent_of(self, client_id: str) -> Intent | None:
        link = self.order_intent.get(client_id)
        return self.intents.get(link[0]) if link else None

    def is_ours(self, client_id: str) -> bool:
        if client_id in self.order_intent:
            return True
        intent_id = self.journal.intent_id_of(client_id)
        if intent_id is None:
            return False
        order = self.journal.order(client_id)
        self.order_intent[client_id] = (intent_id, 0)
        if order is not None:
            self.orders[client_id] = order
        return True

    def _apply_order(self, order: Order) -> None:
        self.orders[order.client_id] = order
        state = self.portfolio.accounts.get(order.account)
        if state is not None:
            state.upsert_order(order)

    async def record_order(self, order: Order) -> Order:
        """Merge a venue's view of one of our orders into state, journal and bus."""
        known = self.orders.get(order.client_id)
        merged = _merge(known, order) if known is not None else order
        if known is not None and merged == known:
            return known
        self._apply_order(merged)
        await self.journal.update_order(merged)
        self.bus.publish("orders", merged, key=merged.client_id)
        if merged.status.is_terminal:
            await self._on_terminal(merged)
        self.wake()
        return merged

    async def _on_terminal(self, order: Order) -> None:
        intent = self._intent_of(order.client_id)
        if intent is None or intent.state != "open":
            return
        orders = [self.orders.get(cid) for cid in intent.client_ids]
        if intent.source.startswith("standing:"):
            filled = sum((o.filled_size for o in orders if o is not None), ZERO)
            done = filled >= intent.spec.size
            if order.status is OrderStatus.REJECTED:
                self._backoff(intent.source)
            else:
                self.failures.pop(intent.source, None)
        else:
            done = all(o is None or o.status.is_terminal for o in orders)
            if order.status is OrderStatus.REJECTED and intent.source.startswith("target:"):
                self._backoff(intent.source)
        if done:
            intent.state = "done"
            await self.journal.set_intent_state(intent.id, "done")

    def _backoff(self, rule: str) -> None:
        count = self.failures.get(rule, 0)
        self.failures[rule] = count + 1
        self.retry_after[rule] = self.clock.now_ms() + BACKOFF_MS[min(count, len(BACKOFF_MS) - 1)]

    # ------------------------------------------------------------------ reconcile

    def observed(self) -> Observed:
        rules: dict[str, RuleState] = {}
        for source, ids in self.rule_intents.items():
            if not (source.startswith("standing:") or source.startswith("target:")):
                continue
            if source.startswith("standing:"):
                intent = self.intents[ids[-1]]
                orders = tuple(o for o in (self.orders.get(c) for c in intent.client_ids) if o is not None)
                rules[source] = RuleState(source, intent.id, intent.spec, intent.state, orders, self.retry_after.get(source, 0))
            else:
                orders = tuple(
                    o for i in ids if self.intents[i].state == "open"
                    for o in (self.orders.get(c) for c in self.intents[i].client_ids) if o is not None
                )
                rules[source] = RuleState(source, None, None, None, orders, self.retry_after.get(source, 0))
        owned: dict[str, list[Order]] = {}
        for order in self.orders.values():
            if order.status.is_live:
                owned.setdefault(order.account, []).append(order)
        return Observed(
            portfolio=self.portfolio,
            rules=rules,
            leverage=self.leverage,
            trading_state=self.trading_state,
            enabled=self._ready,
            now_ms=self.clock.now_ms(),
            owned_live=owned,
        )

    def plan(self, config: Config | None = None) -> list[Action]:
        """The actions a pass would take now (for `config`, default the running one)."""
        return plan(config or self.config, self.observed(), self._route_one)

    def _route_one(self, spec: OrderSpec) -> str:
        legs = self._route(spec)
        return legs[0][0]

    async def _reconcile_loop(self) -> None:
        interval = self.config.daemon.reconcile_interval_secs
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.reconcile_once(wait=False)
            except Exception:  # noqa: BLE001 - one bad pass must not stop reconciling
                log.exception("reconcile pass failed")

    async def reconcile_once(self, *, wait: bool = True) -> list[Action]:
        """One pass: resolve unknowns, check loss limits, plan, and act per account."""
        from perpd import sync

        started = asyncio.get_running_loop().time()
        await sync.resolve_unknown(self)
        await sync.check_loss_limits(self)
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
            lane.task = asyncio.get_running_loop().create_task(self._act(batch), name=f"lane:{account}")
            launched.append(lane.task)
        if wait and launched:
            await asyncio.gather(*launched, return_exceptions=True)
        self.stats["passes"] += 1
        self.stats["last_pass_ms"] = (asyncio.get_running_loop().time() - started) * 1000
        return actions

    async def _note_blocked(self, action: Blocked) -> None:
        if self.blocked.get(action.rule) != action.reason:
            self.blocked[action.rule] = action.reason
            await self._event("blocked", actor="reconciler", account=action.account, rule=action.rule, result="blocked", details={"reason": action.reason})

    async def _act(self, batch: Sequence[Action]) -> None:
        for action in batch:
            try:
                await self._act_one(action)
            except PerpdError as exc:
                rule = action.rule
                self._backoff(rule)
                await self._event("action_failed", actor="reconciler", account=action.account, rule=rule, result=exc.type_name, details={"action": action.describe(), "error": exc.message})

    async def _act_one(self, action: Action) -> None:
        if isinstance(action, Place):
            self.blocked.pop(action.rule, None)
            spec, request, market = self._prepare(action.spec)
            if action.intent_id is not None:
                intent = self.intents[action.intent_id]
            else:
                intent_id = await self.journal.insert_intent(spec, source=action.rule, config_revision=self.revision)
                intent = self._track_intent(intent_id, action.rule, spec, "open")
            order = await self._send_new(intent, spec, request, market, actor="reconciler")
            if order.status is OrderStatus.REJECTED:
                self._backoff(action.rule)
        elif isinstance(action, Cancel):
            await self.cancel(action.client_id, actor="reconciler", rule=action.rule)
        elif isinstance(action, SetLeverage):
            s = action.setting
            await self.set_leverage(action.account, s.symbol, s.leverage, s.margin_mode, actor="reconciler")

    # ------------------------------------------------------------------ reload

    async def reload(self, new: Config, *, actor: str = "admin") -> dict[str, Any]:
        """validate (done by the caller) -> diff -> start new -> swap -> stop old."""
        old = self.config
        change = config_mod.diff(old, new)
        if not change:
            return {}
        venues = change.get("venues", {})
        accounts = change.get("accounts", {})
        restart_venues = set(venues.get("changed", ())) | set(venues.get("removed", ()))
        stop_accounts = set(accounts.get("changed", ())) | set(accounts.get("removed", ()))
        stop_accounts |= {n for n, a in old.accounts.items() if a.venue in restart_venues}
        self.config = new
        self._bind_policies(new)  # policies and routes swap atomically with the config
        for name in sorted(stop_accounts):
            if name in self.sessions:
                await self._stop_account(name)
        for name in sorted(restart_venues):
            if name in self.venues:
                await self._stop_venue(name)
        for name, cfg in new.venues.items():
            if cfg.enabled and name not in self.venues:
                await self._start_venue(name)
        for name, cfg in new.accounts.items():
            if cfg.enabled and name not in self.sessions and cfg.venue in self.venues:
                await self._start_account(name)
        for name in list(self.sessions):
            if not new.accounts.get(name) or not new.accounts[name].enabled:
                await self._stop_account(name)
        for key in [k for k in self.leverage if k[0] in stop_accounts]:
            self.leverage.pop(key, None)
        await self._record_revision(new, diff=change)
        self.blocked.clear()
        await self._event("reload", actor=actor, details=change)
        self.wake()
        return change

    # ------------------------------------------------------------------ restore

    def _restore_intents(self) -> None:
        """Reload open intents (and each standing rule's latest one) with their orders."""
        restored = list(self.journal.open_intents())
        for standing in self.config.orders:
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
                self.orders[client_id] = order

    # ------------------------------------------------------------------ audit

    async def _event(self, action: str, *, actor: str, result: str = "ok", **fields: Any) -> None:
        details = fields.pop("details", None)
        await self.journal.record_event(action, actor=actor, result=result, config_revision=self.revision, details=details, **fields)
        self.bus.publish("events", {"action": action, "actor": actor, "result": result, **fields, "details": details})

    def _observe(self, venue: str, verb: str, started: float) -> None:
        if self.venue_observers:
            secs = time.perf_counter() - started
            for observer in self.venue_observers:
                observer(venue, verb, secs)

    def _spawn_inflight(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

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


def _merge(known: Order | None, fresh: Order) -> Order:
    """Combine what we knew with what a venue says, never moving backwards.

    A venue report wins, except that a terminal status is never undone by a stale live
    report, and filled size never decreases. Statuses perpd concluded itself (reason
    starting "perpd:") yield to any venue report.
    """
    if known is None:
        return fresh
    local = known.reason is not None and known.reason.startswith("perpd:")
    if known.status.is_terminal and fresh.status.is_live and not local:
        return known
    if fresh.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN) and known.status not in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
        fresh = fresh.evolve(status=known.status)
    filled = max(known.filled_size, fresh.filled_size)
    return fresh.evolve(
        filled_size=filled,
        avg_fill_price=fresh.avg_fill_price or known.avg_fill_price,
        venue_order_id=fresh.venue_order_id or known.venue_order_id,
        created_ms=known.created_ms or fresh.created_ms,
        price=fresh.price if fresh.price is not None else known.price,
        trigger_price=fresh.trigger_price if fresh.trigger_price is not None else known.trigger_price,
        reason=fresh.reason or (known.reason if fresh.status == known.status else None),
    )


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
