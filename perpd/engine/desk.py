"""The order path: every order a client or the reconciler sends to a venue.

    OrderSpec --validate/round--> OrderRequest --trading state + risk gate-->
    journal (intent + PENDING order, one commit) --> venue.create_order -->
        Order (open/filled/pending)        -> journal
        VenueRejected (definitive)         -> REJECTED
        OutcomeUnknown (timeout/5xx/429)   -> UNKNOWN, resolved by client id later

Nothing reaches a venue before its intent and client id are committed, so a crash at any
point leaves a record to resolve; an unknown outcome is resolved by asking the venue for
that client id, never by sending again under a new one. Client ids are derived from
(the journal's salt, account, intent id, attempt), so the same intent always maps to the
same ids and a new journal never repeats an old one's. An order journaled but never sent
before a restart is an obligation (`finish_obligation`).

`OrderDesk` also records what venues say of our orders (`record_order`) and finishes
intents whose orders ended. Cancels, modifies and trading states are `perpd.engine.controls`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from perpd.bus import Bus
from perpd.clock import Clock
from perpd.config import Config, RouteConfig
from perpd.crashpoints import crash_point
from perpd.engine.audit import Audit
from perpd.engine.state import EngineState, Intent
from perpd.errors import Denied, InvalidRequest, NotFound, NotSent, NotSupported, OutcomeUnknown, PerpdError, VenueRejected
from perpd.journal import Intent as JournalIntent
from perpd.journal import Journal
from perpd.model import (
    BPS,
    ZERO,
    IntentState,
    Market,
    Order,
    OrderRequest,
    OrderSpec,
    OrderStatus,
    TradingState,
    round_price,
    round_size,
)
from perpd.reconcile import exit_order
from perpd.wire import to_data
from policies.risk import OrderCheck
from policies.routing import RouteDecision, decide
from venues.base import AccountSession, ClientIdFormat, check_against_market

log = logging.getLogger("perpd.orders")

DEFAULT_MARKET_SLIPPAGE_BPS = Decimal(50)


class OrderDesk:
    """Placing and recording orders; the routing decision for orders that name a route."""

    def __init__(self, state: EngineState, journal: Journal, audit: Audit, bus: Bus, clock: Clock) -> None:
        self.state = state
        self._journal = journal
        self._audit = audit
        self._bus = bus
        self._clock = clock
        # Called with (venue, verb, seconds) after each order call to a venue (API metrics).
        self.venue_observers: list[Callable[[str, str, float], None]] = []
        self._probe_ids: dict[tuple[str, ClientIdFormat], str] = {}
        # The last venue report record_order merged for each order it holds, and the record
        # it made of it (dropped with the order).
        self._merged: dict[str, tuple[Order, Order]] = {}

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
            existing = self._journal.intent_by_key(idempotency_key)
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
            self._audit(
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
        journaled = await self._journal_intent(spec, prepared, source=source, idempotency_key=idempotency_key)
        if journaled is None:  # the same key raced in between the check and the write
            existing = self._journal.intent_by_key(idempotency_key or "")
            assert existing is not None
            return self._replay(existing, spec)
        intent, targets = journaled
        if spec.brackets:
            self.state.bracket_parents.add(intent.id)
        if planned is not None and planned is not self.state.config:
            return [await self._not_sent(p, "not sent: the config changed before the send") for _, _, p in targets]
        crash_point("after_commit")
        if len(targets) == 1:  # most orders: no task and no gather for one leg
            session, request, pending = targets[0]
            if spec.brackets and session.capabilities.native_brackets:
                return [await self._send_bracket(intent, session, request, pending, actor=actor)]
            return [await self._send(session, request, pending, actor=actor, rule=source)]
        orders = await asyncio.gather(
            *(self._send(session, request, pending, actor=actor, rule=source) for session, request, pending in targets)
        )
        return list(orders)

    async def _journal_intent(
        self,
        spec: OrderSpec,
        prepared: list[tuple[OrderSpec, OrderRequest, Market]],
        *,
        source: str,
        idempotency_key: str | None = None,
        parent_client_id: str | None = None,
    ) -> tuple[Intent, list[tuple[AccountSession, OrderRequest, Order]]] | None:
        """Write-ahead, one commit: the intent and every leg's client id are durable before
        any venue can hear of them. None if `idempotency_key` was taken meanwhile."""
        targets = [(self.state.sessions[leg.account or ""], request) for leg, request, _ in prepared]
        now, salt = self._clock.now_ms(), self.state.client_id_salt
        built: list[tuple[OrderRequest, Order]] = []

        def first_orders(intent_id: int) -> list[tuple[Order, int]]:
            # Runs on the journal's writer thread inside the intent's transaction: pure.
            built.clear()
            for session, request in targets:
                request, pending = _pending(session, request, intent_id, 0, now, salt)
                built.append((request, pending if parent_client_id is None else replace(pending, parent_client_id=parent_client_id)))
            return [(pending, 0) for _, pending in built]

        crash_point("before_commit")
        intent_id, created = await self._journal.insert_intent_with_orders(
            spec, source=source, orders=first_orders, idempotency_key=idempotency_key, config_revision=self.state.revision
        )
        if not created:
            return None
        intent = self.state.track_intent(intent_id, source, spec, IntentState.OPEN)
        for _, pending in built:
            intent.client_ids.append(pending.client_id)
            self.state.order_intent[pending.client_id] = (intent_id, 0)
            self.state.apply_order(pending, self._clock.now_ms())
        return intent, [(session, request, pending) for (session, _), (request, pending) in zip(targets, built, strict=True)]

    async def _send_bracket(
        self, entry: Intent, session: AccountSession, request: OrderRequest, pending: Order, *, actor: str
    ) -> Order:
        """An entry and its exits in one request the venue keeps (native brackets): each
        exit is an intent of the bracket's rule, journaled before the send like any order,
        and waits on the venue, PENDING, until the entry fills. An exit that cannot be
        prepared sends the entry alone: perpd then places the exits when it fills."""
        exits: list[tuple[str, OrderSpec, OrderRequest, Market]] = []
        try:
            for kind in entry.spec.brackets:
                exit_spec = exit_order(entry.spec, kind, request.size, pending.account)
                exits.append((kind, *self._prepare(exit_spec)))
        except PerpdError as exc:
            log.info("entry %s sent alone (perpd places its exits): %s", pending.client_id, exc.message)
            return await self._send(session, request, pending, actor=actor, rule=entry.source)
        children: list[tuple[OrderRequest, Order, str]] = []
        for kind, exit_spec, exit_request, market in exits:
            rule = f"bracket:{entry.id}:{kind}"
            journaled = await self._journal_intent(exit_spec, [(exit_spec, exit_request, market)], source=rule,
                                                   parent_client_id=pending.client_id)
            assert journaled is not None  # no idempotency key: always created
            _, ((_, child_request, child),) = journaled
            children.append((child_request, child, rule))
        crash_point("after_commit")
        by_kind = {kind: req for (kind, *_), (req, _, _) in zip(exits, children, strict=True)}
        started = time.perf_counter()
        try:
            acked: list[Order | Exception] = await session.create_bracket(request, by_kind.get("tp"), by_kind.get("sl"))
        except (InvalidRequest, NotSupported) as exc:
            # Refused before anything was sent (a group this venue cannot form): the entry
            # goes alone and perpd places the exits when it fills, under the same intents.
            for _, child, _ in children:
                await self._not_sent(child, f"not sent with the entry ({exc.message}); perpd places it when the entry fills")
            return await self._send(session, request, pending, actor=actor, rule=entry.source)
        except Exception as exc:  # noqa: BLE001 - the same outcome for every slot
            acked = [exc] * (1 + len(children))
        self.state.stats["orders_sent"] += 1 + len(children)
        self._observe(session.venue.name, "create_order", started)
        slots = [(pending, entry.source), *((child, rule) for _, child, rule in children)]
        results = []
        for (order, rule), answer in zip(slots, acked, strict=False):
            results.append(await self._record_send(order, answer, actor=actor, rule=rule))
        return results[0]

    async def _record_send(self, pending: Order, answer: Order | BaseException, *, actor: str, rule: str) -> Order:
        """What one send's answer (an Order or the exception it raised) makes of the order."""
        now = self._clock.now_ms()
        if isinstance(answer, VenueRejected):
            result = pending.evolve(status=OrderStatus.REJECTED, reason=answer.message, updated_ms=now)
        elif isinstance(answer, (NotSupported, InvalidRequest)):
            result = pending.evolve(status=OrderStatus.REJECTED, reason=f"refused locally: {answer.message}", updated_ms=now)
        elif isinstance(answer, OutcomeUnknown):
            result = pending.evolve(status=OrderStatus.UNKNOWN, reason=answer.message, updated_ms=now)
        elif isinstance(answer, BaseException):
            # A bug in a venue (or an error it should have mapped) must not lose the order.
            log.error("create_order raised unexpectedly on %s: %r", pending.account, answer,
                      exc_info=None if isinstance(answer, PerpdError) else answer)
            result = pending.evolve(status=OrderStatus.UNKNOWN, reason=f"unexpected error: {answer!r}", updated_ms=now)
        else:
            result = answer  # merged with what perpd holds by record_order, once
        result = await self.record_order(result)
        self._audit(
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

    def _replay(self, existing: JournalIntent, spec: OrderSpec) -> list[Order]:
        """The same Idempotency-Key returns the same order(s) as they are now; a different
        body is refused, and an order that never reached the venue says so (NotSent)."""
        if replace(existing.spec, client_tag=None) != replace(spec, client_tag=None):
            raise InvalidRequest("Idempotency-Key was already used for a different order")
        orders = [self.state.orders.get(o.client_id, o) for o in reversed(self._journal.orders(intent_id=existing.id, limit=1000))]
        if orders and all(_never_sent(o) for o in orders):
            raise NotSent(
                f"the order was accepted but never reached the venue: {orders[0].reason}",
                details={"orders": [to_data(o) for o in orders]},
            )
        return orders

    def _route(self, spec: OrderSpec) -> list[tuple[str, Decimal]]:
        route = self.state.config.route(spec.route or "")
        if route is None:
            raise NotFound(f"no route named {spec.route!r}")
        if not route.covers(spec.symbol):
            raise InvalidRequest(f"route {route.name!r} does not trade {spec.symbol}")
        decision = self.decide(route, spec)
        self._audit("route", actor="router", symbol=spec.symbol, rule=f"route:{route.name}", details=to_data(decision))
        return list(decision.legs)

    def decide(self, route: RouteConfig, spec: OrderSpec) -> RouteDecision:
        """Which accounts an order naming `route` goes to, by the route's strategy, among
        those ready, active and whose risk policies would pass the leg."""
        state = self.state

        def passes(account: str, size: Decimal) -> bool:
            held = state.portfolio.accounts.get(account)
            if held is None:
                return False
            venue = held.venue
            leg = replace(spec.with_account(account), size=size)
            price = spec.price or self._worst_price(leg, venue) or ZERO
            check = OrderCheck(spec=leg, venue=venue, market=state.portfolio.market_data.market(venue, spec.symbol), price=price,
                               mark=state.portfolio.mark(venue, spec.symbol), now_ms=self._clock.now_ms())
            return state.risk.would_pass(check, state.portfolio) and state.trading_state(account) is TradingState.ACTIVE

        return decide(route, spec, state.portfolio, enabled=state.ready, passes=passes)

    def route_one(self, spec: OrderSpec) -> str:
        """The first account a route picks for `spec` (the planner's router)."""
        return self._route(spec)[0][0]

    def _prepare(self, spec: OrderSpec) -> tuple[OrderSpec, OrderRequest, Market]:
        """Validate, round and gate one account's order; raises before anything is journaled."""
        account = spec.account or ""
        session = self.state.session(account)
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
            client_id=self._probe_id(account, venue.capabilities.client_id_format),
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

    def _probe_id(self, account: str, id_format: ClientIdFormat) -> str:
        """A valid client id to check a request with before its real one is derived
        (the same for every order of the account: worked out once)."""
        probe = self._probe_ids.get((account, id_format))
        if probe is None:
            probe = self._probe_ids[(account, id_format)] = id_format.derive(account, "probe")
        return probe

    def _worst_price(self, spec: OrderSpec, venue: str) -> Decimal | None:
        if spec.price is not None:
            return spec.price
        mark = self.state.portfolio.mark(venue, spec.symbol)
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
        state, reason = self.state.trading_state_reason(account)
        if state is TradingState.HALTED and not spec.reduce_only:
            self.state.stats["denials"] += 1
            raise Denied(f"denied: trading is halted ({reason})", limit="halted")
        if state in (TradingState.HALTED, TradingState.REDUCE_ONLY):
            holder = self.state.portfolio.accounts[account]
            held = holder.position_size(spec.symbol)
            # What already works to reduce counts: three 0.01 sells never close one 0.01 long.
            working = sum(
                (o.remaining for o in holder.live_orders(spec.symbol) if o.side is spec.side and o.client_id != replaces),
                ZERO,
            )
            if not (held * spec.side.sign < 0 and request.size + working <= abs(held)):
                self.state.stats["denials"] += 1
                raise Denied(f"denied: trading is {state.value} ({reason}) and this order does not reduce", limit=state.value)
            request = replace(request, reduce_only=True)  # the venue holds the line too
        if self.state.risk is not None:
            price = request.price or self._worst_price(spec, venue) or ZERO
            if not (_same(request.size, spec.size) and _same(request.price, spec.price)):
                spec = spec.evolve(size=request.size, price=request.price)  # as rounded
            check = OrderCheck(
                spec=spec,
                venue=venue,
                market=market,
                price=price,
                mark=self.state.portfolio.mark(venue, spec.symbol),
                now_ms=self._clock.now_ms(),
                replaces=replaces,
            )
            try:
                self.state.risk.check(check, self.state.portfolio)
            except Denied:
                self.state.stats["denials"] += 1
                raise
        return request

    async def _send_new(
        self, intent: Intent, spec: OrderSpec, request: OrderRequest, market: Market, *, actor: str,
        planned: Config | None = None,
    ) -> Order:
        account = spec.account or ""
        session = self.state.sessions[account]
        # Attempts count this intent's orders on this account; claimed before any await so
        # concurrent legs and re-placements never derive the same id.
        attempt = sum(1 for cid in intent.client_ids if self.state.orders.get(cid) is None or self.state.orders[cid].account == account)
        request, pending = _pending(session, request, intent.id, attempt, self._clock.now_ms(), self.state.client_id_salt)
        intent.client_ids.append(pending.client_id)
        self.state.order_intent[pending.client_id] = (intent.id, attempt)
        self.state.apply_order(pending, self._clock.now_ms())
        # Write-ahead: the client id is durable before the venue can hear of it.
        await self._journal.insert_order(pending, intent_id=intent.id, attempt=attempt)
        if planned is not None and planned is not self.state.config:
            return await self._not_sent(pending, "not sent: the config changed before the send")
        crash_point("after_commit")
        return await self._send(session, request, pending, actor=actor, rule=intent.source)

    async def _not_sent(self, pending: Order, why: str) -> Order:
        """A journaled order perpd decided not to send after all: it ends expired, saying
        why ("perpd: not sent ..."), never rejected (the venue's word)."""
        return await self.record_order(
            pending.evolve(status=OrderStatus.EXPIRED, reason=f"perpd: {why}", updated_ms=self._clock.now_ms())
        )

    async def _send(self, session: AccountSession, request: OrderRequest, pending: Order, *, actor: str, rule: str) -> Order:
        self.state.stats["orders_sent"] += 1
        started = time.perf_counter()
        answer: Order | BaseException
        try:
            answer = await session.create_order(request)
            crash_point("after_accept")
        except Exception as exc:  # noqa: BLE001 - a bug in a venue must not lose the order
            answer = exc
        self._observe(session.venue.name, "create_order", started)
        return await self._record_send(pending, answer, actor=actor, rule=rule)

    async def finish_obligation(self, order: Order) -> None:
        """An order journaled before a restart and never sent (the venue, asked after the
        grace, has never heard of it): send it now under its own client id, through the
        gates, while fresh; otherwise end it expired, saying why. Never a second client id."""
        self.state.obligations.discard(order.client_id)
        now = self._clock.now_ms()
        age_secs = (now - order.created_ms) / 1000
        limit = self.state.config.daemon.resume_pending_secs
        intent = self.state.intent_of(order.client_id)
        session = self.state.sessions.get(order.account)
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
            self._audit("place", actor="daemon", account=order.account, client_id=order.client_id, rule=intent.source if intent else None, result="expired", details={"reason": why})
            return
        await self._send(session, request, order, actor="daemon", rule=intent.source if intent else "resume")

    def order(self, client_id: str) -> Order:
        """One order by client id: ours (memory, then the journal), or a foreign one seen."""
        order = self.state.orders.get(client_id) or self._journal.order(client_id)
        if order is None:
            for foreign in self.state.foreign.values():
                if client_id in foreign:
                    return foreign[client_id]
            raise NotFound(f"no order with id {client_id!r}")
        return order

    def is_ours(self, client_id: str) -> bool:
        """Did perpd create this order (now or in an earlier life)? The journal knows."""
        return client_id in self.state.order_intent or self._journal.intent_id_of(client_id) is not None

    async def record_order(self, order: Order) -> Order:
        """Merge a venue's view of one of our orders into state, journal and bus."""
        known = self.state.orders.get(order.client_id)
        last = self._merged.get(order.client_id)
        if last is not None and last[0] is order and last[1] is known:
            # This very report made what memory holds (a venue's echo of the answer it gave
            # us): merging it again changes nothing (_merge is idempotent), so skip the copy.
            return known
        if known is None:
            # Not tracked in memory (its intent is done, or from an earlier life): the
            # journal's record still must not move backwards.
            known = self._journal.order(order.client_id)
            if known is not None and known.status.is_terminal and _merge(known, order) == known:
                return known
        merged = _merge(known, order) if known is not None else order
        if known is not None and merged == known:
            return known
        self.state.apply_order(merged, self._clock.now_ms())
        self._merged[merged.client_id] = (order, merged)
        # Not awaited: a status the venue already holds is recovered by resync if a crash
        # loses it; only the write-ahead record before a send must be committed first.
        self._journal.update_order_soon(merged)
        self._bus.publish("orders", merged, key=merged.client_id)
        if merged.status.is_terminal:
            await self._on_terminal(merged)
        self.state.wake()
        return merged

    async def _on_terminal(self, order: Order) -> None:
        intent = self.state.intent_of(order.client_id)
        if intent is None or intent.state is not IntentState.OPEN:
            return
        if intent.id in self.state.bracket_parents:
            self.state.touch(f"bracket:{intent.id}")
            return  # an entry with exits stays open until its bracket is finished (the loop)
        orders = [self.state.orders.get(cid) for cid in intent.client_ids]
        if intent.source.startswith(("standing:", "bracket:")):
            filled = sum((o.filled_size for o in orders if o is not None), ZERO)
            done = filled >= intent.spec.size
            if order.status is OrderStatus.REJECTED:
                self.state.backoff(intent.source, self._clock.now_ms())
            else:
                self.state.failures.pop(intent.source, None)
        else:
            done = all(o is None or o.status.is_terminal for o in orders)
            if order.status is OrderStatus.REJECTED and intent.source.startswith("target:"):
                self.state.backoff(intent.source, self._clock.now_ms())
        if done:
            intent.state = IntentState.DONE
            self.state.touch(intent.source)
            # Not awaited, like the order statuses it follows in the queue (and so in the
            # journal): the answer to the client waits only on the write-ahead commit.
            self._journal.set_intent_state_soon(intent.id, IntentState.DONE)
            if not intent.source.startswith(("standing:", "bracket:")):
                self._forget(intent)

    async def finish_bracket(self, parent: int) -> None:
        """A bracket with nothing left to protect: its entry and exits are done."""
        state = self.state
        state.bracket_parents.discard(parent)
        for intent in [i for i in state.intents.values() if i.id == parent or i.source.startswith(f"bracket:{parent}:")]:
            if intent.state is IntentState.OPEN:
                intent.state = IntentState.DONE
                await self._journal.set_intent_state(intent.id, IntentState.DONE)
            if intent.source.startswith("standing:"):
                state.touch(intent.source)  # a standing rule's latest intent stays: filled, it is not placed again
            else:
                self._forget(intent)

    def _forget(self, intent: Intent) -> None:
        """Drop a finished intent and its orders from memory (the journal keeps them), so
        memory and every pass stay proportional to what is live, not to history.
        A standing rule's latest intent stays: its fills decide whether it is done."""
        self.state.intents.pop(intent.id, None)
        self.state.touch(intent.source)
        ids = self.state.rule_intents.get(intent.source)
        if ids is not None and intent.id in ids:
            ids.remove(intent.id)
            if not ids:
                del self.state.rule_intents[intent.source]
        client_ids = list(intent.client_ids)

        def drop() -> None:
            # After the final statuses are committed, so a late duplicate report that
            # falls back to the journal finds the terminal record.
            for client_id in client_ids:
                self.state.order_intent.pop(client_id, None)
                self._merged.pop(client_id, None)
                order = self.state.orders.get(client_id)
                if order is not None and order.status.is_terminal:
                    del self.state.orders[client_id]

        self._journal.when_committed(drop)

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
    request = request.evolve(client_id=client_id)
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
    status = fresh.status
    if status in (OrderStatus.PENDING, OrderStatus.UNKNOWN) and known.status not in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
        status = known.status
    filled = max(known.filled_size, fresh.filled_size)
    return fresh.evolve(
        status=status,
        filled_size=filled,
        avg_fill_price=fresh.avg_fill_price or known.avg_fill_price,
        venue_order_id=fresh.venue_order_id or known.venue_order_id,
        created_ms=known.created_ms or fresh.created_ms,
        price=fresh.price if fresh.price is not None else known.price,
        trigger_price=fresh.trigger_price if fresh.trigger_price is not None else known.trigger_price,
        reason=fresh.reason or (known.reason if status == known.status else None),
        parent_client_id=known.parent_client_id or fresh.parent_client_id,
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


def _same(a: Decimal | None, b: Decimal | None) -> bool:
    """The same value written the same way (30000 is not 30000.0: messages show it)."""
    return a is b or (a is not None and b is not None and a.compare_total(b) == 0)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
