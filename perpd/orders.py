"""The order path: every write a client or the reconciler makes to a venue.

    OrderSpec --validate/round--> OrderRequest --trading state + risk gate-->
    journal (intent + PENDING order, one commit) --> venue.create_order -->
        Order (open/filled/pending)        -> journal
        VenueRejected (definitive)         -> REJECTED
        OutcomeUnknown (timeout/5xx/429)   -> UNKNOWN, resolved by client id later

Nothing reaches a venue before its intent and client id are committed, so a crash at any
point leaves a record to resolve; an unknown outcome is resolved by asking the venue for
that client id, never by sending again under a new one. Client ids are derived from
(account, intent id, attempt), so the same intent always maps to the same ids.

`OrderDesk` is a mixin of `perpd.engine.Engine`: it uses the engine's state (sessions,
portfolio, journal, risk gate) and is split out only to keep each file one concern.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from perpd.errors import (
    Denied,
    InvalidRequest,
    NotFound,
    NotSent,
    NotSupported,
    OutcomeUnknown,
    VenueRejected,
)
from perpd.config import Config
from perpd.journal import Intent as JournalIntent
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
    normalize_symbol,
    round_price,
    round_size,
)
from perpd.wire import to_data
from venues.base import AccountSession, EditMode, check_against_market

if TYPE_CHECKING:
    pass

log = logging.getLogger("perpd.orders")

BPS = Decimal(10_000)
DEFAULT_MARKET_SLIPPAGE_BPS = Decimal(50)
BACKOFF_MS = (1_000, 5_000, 30_000, 120_000)


@dataclass
class Intent:
    id: int
    source: str
    spec: OrderSpec
    state: str  # open | done | cancelled
    client_ids: list[str] = field(default_factory=list)


class OrderDesk:
    """Placing, cancelling, modifying and recording orders (mixed into Engine)."""

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
        try:
            legs = self._route(spec) if spec.route is not None else [(spec.account or "", spec.size)]
            prepared = [
                self._prepare(spec.with_account(account) if size == spec.size else replace(spec.with_account(account), size=size))
                for account, size in legs
            ]
        except Denied as exc:
            # Refusals are audited too: who asked for what, and which policy said no.
            self._event(
                "place", actor=actor, result="denied", account=spec.account, symbol=spec.symbol, rule=source,
                details={"side": spec.side.value, "size": str(spec.size), "price": _s(spec.price), "route": spec.route,
                         "reason": exc.message, "policy": exc.policy, "limit": exc.limit},
            )
            raise
        return await self._open_intent(spec, prepared, source=source, actor=actor, idempotency_key=idempotency_key)

    async def _open_intent(
        self,
        spec: OrderSpec,
        prepared: list[tuple[OrderSpec, OrderRequest, Market]],
        *,
        source: str,
        actor: str,
        idempotency_key: str | None = None,
        planned: Config | None = None,
    ) -> list[Order]:
        """Journal a new intent with its legs' PENDING orders in one commit, then send
        (unless a reload replaced the config the action was `planned` under meanwhile)."""
        targets = [(self.sessions[leg.account or ""], request) for leg, request, _ in prepared]
        now, salt = self.clock.now_ms(), self.client_id_salt
        built: list[tuple[OrderRequest, Order]] = []

        def first_orders(intent_id: int) -> list[tuple[Order, int]]:
            # Runs on the journal's writer thread inside the intent's transaction: pure.
            built.clear()
            built.extend(_pending(session, request, intent_id, 0, now, salt) for session, request in targets)
            return [(pending, 0) for _, pending in built]

        # Write-ahead, one commit: the intent and every leg's client id are durable
        # before any venue can hear of them.
        intent_id, created = await self.journal.insert_intent_with_orders(
            spec, source=source, orders=first_orders, idempotency_key=idempotency_key, config_revision=self.revision
        )
        if not created:  # the same key raced in between the check and the write
            return self._replay(self.journal.intent(intent_id), spec)
        intent = self._track_intent(intent_id, source, spec, "open")
        for request, pending in built:
            intent.client_ids.append(pending.client_id)
            self.order_intent[pending.client_id] = (intent_id, 0)
            self._apply_order(pending)
        if planned is not None and planned is not self.config:
            return [await self._not_sent(p, "not sent: the config changed before the send") for _, p in built]
        orders = await asyncio.gather(
            *(self._send(session, request, pending, actor=actor, rule=source)
              for (session, _), (request, pending) in zip(targets, built, strict=True))
        )
        return list(orders)

    def _replay(self, existing: JournalIntent, spec: OrderSpec) -> list[Order]:
        """The same Idempotency-Key returns the same order(s) as they are now; a different
        body is refused, and an order that never reached the venue says so (NotSent)."""
        if replace(existing.spec, client_tag=None) != replace(spec, client_tag=None):
            raise InvalidRequest("Idempotency-Key was already used for a different order")
        orders = [self.orders.get(o.client_id, o) for o in reversed(self.journal.orders(intent_id=existing.id, limit=1000))]
        if orders and all(_never_sent(o) for o in orders):
            raise NotSent(
                f"the order was accepted but never reached the venue: {orders[0].reason}",
                details={"orders": [to_data(o) for o in orders]},
            )
        return orders

    def _route(self, spec: OrderSpec) -> list[tuple[str, Decimal]]:
        route = self.config.route(spec.route or "")
        if route is None:
            raise NotFound(f"no route named {spec.route!r}")
        if not route.covers(spec.symbol):
            raise InvalidRequest(f"route {route.name!r} does not trade {spec.symbol}")
        if self.router is None:
            return [(route.accounts[0], spec.size)]
        decision = self.router(route, spec)
        self._event("route", actor="router", symbol=spec.symbol, rule=f"route:{route.name}", details=to_data(decision))
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
        request = self._gate(account, venue.name, spec, request, market)
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

    def _gate(
        self, account: str, venue: str, spec: OrderSpec, request: OrderRequest, market: Market, *, replaces: str | None = None
    ) -> OrderRequest:
        """Trading state, then every risk policy in scope; the request as it may be sent
        (reduce-only under a reduce-only or halted state). Raises Denied."""
        state, reason = self.trading_state_reason(account)
        if state is TradingState.HALTED and not spec.reduce_only:
            self.stats["denials"] += 1
            raise Denied(f"denied: trading is halted ({reason})", limit="halted")
        if state in (TradingState.HALTED, TradingState.REDUCE_ONLY):
            holder = self.portfolio.accounts[account]
            held = holder.position_size(spec.symbol)
            # What already works to reduce counts: three 0.01 sells never close one 0.01 long.
            working = sum(
                (o.remaining for o in holder.live_orders(spec.symbol) if o.side is spec.side and o.client_id != replaces),
                ZERO,
            )
            if not (held * spec.side.sign < 0 and request.size + working <= abs(held)):
                self.stats["denials"] += 1
                raise Denied(f"denied: trading is {state.value} ({reason}) and this order does not reduce", limit=state.value)
            request = replace(request, reduce_only=True)  # the venue holds the line too
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
                replaces=replaces,
            )
            try:
                self.risk.check(check, self.portfolio)
            except Denied:
                self.stats["denials"] += 1
                raise
        return request

    def _track_intent(self, intent_id: int, source: str, spec: OrderSpec, state: str) -> Intent:
        intent = self.intents.get(intent_id)
        if intent is None:
            intent = self.intents[intent_id] = Intent(intent_id, source, spec, state)
            self.rule_intents.setdefault(source, []).append(intent_id)
            self._touch(source)
        return intent

    async def _send_new(
        self, intent: Intent, spec: OrderSpec, request: OrderRequest, market: Market, *, actor: str,
        planned: Config | None = None,
    ) -> Order:
        account = spec.account or ""
        session = self.sessions[account]
        # Attempts count this intent's orders on this account; claimed before any await so
        # concurrent legs and re-placements never derive the same id.
        attempt = sum(1 for cid in intent.client_ids if self.orders.get(cid) is None or self.orders[cid].account == account)
        request, pending = _pending(session, request, intent.id, attempt, self.clock.now_ms(), self.client_id_salt)
        intent.client_ids.append(pending.client_id)
        self.order_intent[pending.client_id] = (intent.id, attempt)
        self._apply_order(pending)
        # Write-ahead: the client id is durable before the venue can hear of it.
        await self.journal.insert_order(pending, intent_id=intent.id, attempt=attempt)
        if planned is not None and planned is not self.config:
            return await self._not_sent(pending, "not sent: the config changed before the send")
        return await self._send(session, request, pending, actor=actor, rule=intent.source)

    async def _not_sent(self, pending: Order, why: str) -> Order:
        """A journaled order perpd decided not to send after all: it ends expired, saying
        why ("perpd: not sent ..."), never rejected (the venue's word)."""
        return await self.record_order(
            pending.evolve(status=OrderStatus.EXPIRED, reason=f"perpd: {why}", updated_ms=self.clock.now_ms())
        )

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
        self._event(
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

    async def finish_obligation(self, order: Order) -> None:
        """An order journaled before a restart and never sent (the venue, asked after the
        grace, has never heard of it): send it now under its own client id, through the
        gates, while fresh; otherwise end it expired, saying why. Never a second client id."""
        self.obligations.discard(order.client_id)
        now = self.clock.now_ms()
        age_secs = (now - order.created_ms) / 1000
        limit = self.config.daemon.resume_pending_secs
        intent = self._intent_of(order.client_id)
        session = self.sessions.get(order.account)
        why = None
        if age_secs > limit:
            why = f"{age_secs:.0f} s old, past daemon.resume_pending_secs = {limit:g}"
        elif session is None:
            why = f"account {order.account} is not connected"
        if why is None:
            try:
                market = session.venue.market(order.symbol)
                request = OrderRequest(
                    order.client_id, order.symbol, order.side, order.type, order.size, order.price,
                    order.trigger_price, order.tif, order.reduce_only,
                )
                check_against_market(request, market)
                request = self._gate(order.account, order.venue, _spec_of(order), request, market)
            except (Denied, InvalidRequest, NotFound) as exc:
                why = exc.message
        if why is not None:
            await self._not_sent(order, f"not sent before restart: {why}")
            self._event("place", actor="daemon", account=order.account, client_id=order.client_id, rule=intent.source if intent else None, result="expired", details={"reason": why})
            return
        await self._send(session, request, order, actor="daemon", rule=intent.source if intent else "resume")

    async def cancel(self, client_id: str, *, actor: str = "api", rule: str | None = None, retire: bool = False) -> Order:
        """Cancel one order by client id. Only an operator's explicit cancel (`retire`)
        retires the standing order or target slice it belongs to; a system cancel (halt,
        kill switch, watchdog, reduce-only, the reconciler) pauses it, and it comes back
        once trading may resume."""
        order = self.order(client_id)
        self._check_adopted(order, "cancel")
        if order.status.is_terminal:
            return order
        session = self.session(order.account)
        intent = self._intent_of(client_id)
        if intent is not None and retire:
            intent.state = "cancelled"
            self._touch(intent.source)
            await self.journal.set_intent_state(intent.id, "cancelled")
        started = time.perf_counter()
        try:
            cancelled = await session.cancel_order(client_id)
        except OutcomeUnknown as exc:
            self._observe(session.venue.name, "cancel_order", started)
            self._event("cancel", actor=actor, account=order.account, client_id=client_id, rule=rule, result="unknown", details={"reason": exc.message})
            raise
        self._observe(session.venue.name, "cancel_order", started)
        now = self.clock.now_ms()
        if cancelled:
            order = await self.record_order(order.evolve(status=OrderStatus.CANCELLED, updated_ms=now, reason=f"cancelled by {actor}"))
        else:
            fresh = await session.fetch_order(client_id)
            if fresh is not None:
                order = await self.record_order(_merge(order, fresh))
        self._event("cancel", actor=actor, account=order.account, venue=order.venue, symbol=order.symbol, client_id=client_id, rule=rule, result=order.status.value)
        return order

    async def cancel_all(
        self, *, account: str | None = None, symbol: str | None = None, actor: str = "api", retire: bool = False
    ) -> int:
        """Cancel every live order perpd manages, optionally one account / symbol; an
        operator's cancel-all (`retire`) retires the standing orders it cancels."""
        unified = normalize_symbol(symbol) if symbol else None
        targets = [
            o for o in list(self.orders.values())
            if o.status.is_live and (account is None or o.account == account) and (unified is None or o.symbol == unified)
        ]
        if account is not None and account not in self.config.accounts:
            raise NotFound(f"no account named {account!r}")
        results = await asyncio.gather(
            *(self.cancel(o.client_id, actor=actor, retire=retire) for o in targets), return_exceptions=True
        )
        adopted = [
            (name, order)
            for name in ([account] if account else list(self.foreign))
            if self._adopts(name) and name in self.sessions
            for order in list(self.foreign.get(name, {}).values())
            if unified is None or order.symbol == unified
        ]
        # One failing cancel must not stop the others (a halt cancels everything it can).
        results += await asyncio.gather(
            *(self.sessions[name].cancel_order(order.client_id) for name, order in adopted), return_exceptions=True
        )
        for failed in (r for r in results if isinstance(r, Exception)):
            log.warning("cancel during cancel_all by %s failed: %r", actor, failed)
        return sum(1 for r in results if isinstance(r, Order) and r.status is OrderStatus.CANCELLED or r is True)

    async def modify(self, client_id: str, *, price: Decimal | None = None, size: Decimal | None = None, actor: str = "api") -> Order:
        order = self.order(client_id)
        self._check_adopted(order, "modify")
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
        self._gate(order.account, order.venue, spec, request, market, replaces=client_id)

        mode = session.capabilities.edit
        if mode is EditMode.NONE:
            raise NotSupported(f"{order.venue} cannot modify orders; cancel and place a new one")
        new_client_id = client_id
        intent_attempt = self.order_intent.get(client_id)
        if mode is EditMode.REPLACE and intent_attempt is not None:
            intent_id, _ = intent_attempt
            intent = self.intents.get(intent_id)
            attempt = len(intent.client_ids) if intent else 1
            new_client_id = session.capabilities.client_id_format.derive(order.account, intent_id, attempt, self.client_id_salt)
            replacement = order.evolve(client_id=new_client_id, status=OrderStatus.PENDING, size=spec.size, price=spec.price, filled_size=ZERO, venue_order_id=None)
            await self.journal.insert_order(replacement, intent_id=intent_id, attempt=attempt)
            self.order_intent[new_client_id] = (intent_id, attempt)
            if intent:
                intent.client_ids.append(new_client_id)
        try:
            edited = await session.edit_order(client_id, new_client_id=new_client_id, price=new_price, size=new_size)
        except OutcomeUnknown:
            self._event("modify", actor=actor, account=order.account, client_id=client_id, result="unknown")
            raise
        result = await self.record_order(_merge(self.orders.get(edited.client_id, order), edited))
        self._event("modify", actor=actor, account=order.account, venue=order.venue, symbol=order.symbol, client_id=client_id, result=result.status.value, details={"price": _s(new_price), "size": _s(new_size)})
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
        self._event("set_leverage", actor=actor, account=account, symbol=unified, details={"leverage": leverage, "margin_mode": mode.value})
        return setting

    # ------------------------------------------------------------------ trading states

    async def set_trading_state(self, scope: str, state: TradingState, reason: str, *, actor: str, cancel: bool = True) -> int:
        """Set a scope's state ("global", "account:X", "venue:X", "policy:X"); halting cancels."""
        self._check_scope(scope)
        if state is TradingState.ACTIVE and scope.startswith("policy:"):
            from perpd import sync

            await sync.acknowledge_losses(self, scope.removeprefix("policy:"))
        if state is TradingState.ACTIVE and scope.startswith("target:"):
            self.turnover.forget(scope)  # the operator looked: the count starts afresh
        self.trading[scope] = (state, reason)
        await self.journal.set_trading_state(scope, state.value, reason)
        self._event(state.value if state is not TradingState.ACTIVE else "resume", actor=actor, rule=scope, details={"reason": reason})
        self.bus.publish("status", {"scope": scope, "state": state.value, "reason": reason})
        cancelled = 0
        if cancel:
            for name in list(self.portfolio.accounts):
                now = self.trading_state(name)
                if now is TradingState.HALTED:
                    cancelled += await self.cancel_all(account=name, actor=actor)
                elif now is TradingState.REDUCE_ONLY:
                    cancelled += await self._cancel_increasing(name, actor=actor)
        self.wake()
        return cancelled

    async def _cancel_increasing(self, account: str, *, actor: str) -> int:
        """Entering reduce-only: cancel the account's orders that would grow a position."""
        holder = self.portfolio.accounts[account]
        growing = [o.client_id for o in holder.live_orders() if o.increases(holder.position_size(o.symbol))]
        results = await asyncio.gather(*(self.cancel(cid, actor=actor, rule="reduce_only") for cid in growing), return_exceptions=True)
        return sum(1 for r in results if isinstance(r, Order) and r.status is OrderStatus.CANCELLED)

    def _check_scope(self, scope: str) -> None:
        kind, _, name = scope.partition(":")
        known = {
            "account": self.config.accounts,
            "venue": self.config.venues,
            "policy": {p.name: p for p in self.config.policies},
            "target": {t.key: t for t in self.config.targets},
        }
        if scope == "global" or scope in self.trading:  # a state left by a removed piece can be cleared
            return
        if kind not in known or name not in known[kind]:
            raise NotFound(f"no such scope {scope!r} (global, account:NAME, venue:NAME, policy:NAME, target:NAME)")

    # ------------------------------------------------------------------ stream inputs

    def _check_adopted(self, order: Order, verb: str) -> None:
        """Orders perpd did not create are left alone unless the account adopts them."""
        if order.account in self.foreign and order.client_id in self.foreign[order.account] and not self._adopts(order.account):
            raise Denied(f"order {order.client_id} was not created by perpd (set adopt = true on {order.account} to {verb} it)")

    def _adopts(self, account: str) -> bool:
        cfg = self.config.accounts.get(account)
        return bool(cfg and cfg.adopt)

    def _intent_of(self, client_id: str) -> Intent | None:
        link = self.order_intent.get(client_id)
        return self.intents.get(link[0]) if link else None

    def is_ours(self, client_id: str) -> bool:
        """Did perpd create this order (now or in an earlier life)? The journal knows."""
        return client_id in self.order_intent or self.journal.intent_id_of(client_id) is not None

    def _apply_order(self, order: Order) -> None:
        self.orders[order.client_id] = order
        if order.status is not OrderStatus.PENDING:
            self.obligations.discard(order.client_id)  # the venue answered for it
        if order.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
            self.unresolved.add(order.client_id)  # what resolve_unknown looks at, and only that
        else:
            self.unresolved.discard(order.client_id)
        link = self.order_intent.get(order.client_id)
        if link is not None:
            intent = self.intents.get(link[0])
            if intent is not None:
                self._touch(intent.source)
        state = self.portfolio.accounts.get(order.account)
        if state is not None:
            state.upsert_order(order, self.clock.now_ms())

    async def record_order(self, order: Order) -> Order:
        """Merge a venue's view of one of our orders into state, journal and bus."""
        known = self.orders.get(order.client_id)
        if known is None:
            # Not tracked in memory (its intent is done, or from an earlier life): the
            # journal's record still must not move backwards.
            known = self.journal.order(order.client_id)
            if known is not None and known.status.is_terminal and _merge(known, order) == known:
                return known
        merged = _merge(known, order) if known is not None else order
        if known is not None and merged == known:
            return known
        self._apply_order(merged)
        # Not awaited: a status the venue already holds is recovered by resync if a crash
        # loses it; only the write-ahead record before a send must be committed first.
        self.journal.update_order_soon(merged)
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
            self._touch(intent.source)
            await self.journal.set_intent_state(intent.id, "done")
            if not intent.source.startswith("standing:"):
                self._forget(intent)

    def _forget(self, intent: Intent) -> None:
        """Drop a finished intent and its orders from memory (the journal keeps them), so
        memory and every pass stay proportional to what is live, not to history.
        A standing rule's latest intent stays: its fills decide whether it is done."""
        self.intents.pop(intent.id, None)
        self._touch(intent.source)
        ids = self.rule_intents.get(intent.source)
        if ids is not None and intent.id in ids:
            ids.remove(intent.id)
            if not ids:
                del self.rule_intents[intent.source]
        client_ids = list(intent.client_ids)

        def drop() -> None:
            # After the final statuses are committed, so a late duplicate report that
            # falls back to the journal finds the terminal record.
            for client_id in client_ids:
                self.order_intent.pop(client_id, None)
                order = self.orders.get(client_id)
                if order is not None and order.status.is_terminal:
                    del self.orders[client_id]

        self.journal.when_committed(drop)

    def _backoff(self, rule: str) -> None:
        count = self.failures.get(rule, 0)
        self.failures[rule] = count + 1
        self.retry_after[rule] = self.clock.now_ms() + BACKOFF_MS[min(count, len(BACKOFF_MS) - 1)]
        self._touch(rule)

    def _touch(self, rule: str) -> None:
        """Something a rule's observed state is built from changed (see Engine.observed)."""
        self.rule_stamps[rule] = self.rule_stamps.get(rule, 0) + 1

    def _observe(self, venue: str, verb: str, started: float) -> None:
        if self.venue_observers:
            secs = time.perf_counter() - started
            for observer in self.venue_observers:
                observer(venue, verb, secs)


def _pending(
    session: AccountSession, request: OrderRequest, intent_id: int, attempt: int, now: int, salt: str
) -> tuple[OrderRequest, Order]:
    """The request with its deterministic client id, and the PENDING record journaled
    for it before it is sent. Pure: it runs on the journal writer's thread too."""
    account = session.account
    client_id = session.capabilities.client_id_format.derive(account, intent_id, attempt, salt)
    request = replace(request, client_id=client_id)
    pending = request.pending(account, session.venue.name, now)
    return request, pending


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


def _never_sent(order: Order) -> bool:
    """Ended without the venue ever holding it: expired before a restart's send, or a
    send perpd concluded never arrived."""
    return order.status.is_terminal and order.filled_size == 0 and (order.reason or "").startswith("perpd: not")


def _spec_of(order: Order) -> OrderSpec:
    return OrderSpec(
        symbol=order.symbol, side=order.side, size=order.size, type=order.type, price=order.price,
        trigger_price=order.trigger_price, tif=order.tif, reduce_only=order.reduce_only, account=order.account,
    )


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)

