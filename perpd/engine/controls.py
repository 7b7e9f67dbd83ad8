"""Operator and system controls on orders and accounts: cancel (one, all), modify,
close a position, leverage, and trading states (halt, reduce-only, resume).

Only an operator's explicit cancel (`retire`) retires the standing order or target slice
it belongs to; a system cancel (halt, kill switch, watchdog, reduce-only, the reconciler)
pauses it, and it comes back once trading may resume.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

from perpd.clock import Clock
from perpd.engine.audit import Audit
from perpd.engine.desk import OrderDesk, _merge, _s
from perpd.engine.losses import LossLimits
from perpd.engine.state import EngineState
from perpd.errors import InvalidRequest, NotFound, NotSupported, OutcomeUnknown
from perpd.journal import Journal
from perpd.model import (
    ZERO,
    IntentState,
    LeverageSetting,
    MarginMode,
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
from venues.base import EditMode, check_against_market

log = logging.getLogger("perpd.orders")


class Controls:
    def __init__(self, state: EngineState, desk: OrderDesk, losses: LossLimits, journal: Journal, audit: Audit, clock: Clock) -> None:
        self.state = state
        self._desk = desk
        self._losses = losses
        self._journal = journal
        self._audit = audit
        self._clock = clock
        self._bus = desk._bus

    async def cancel(self, client_id: str, *, actor: str = "api", rule: str | None = None, retire: bool = False) -> Order:
        """Cancel one order by client id. Only an operator's explicit cancel (`retire`)
        retires the standing order or target slice it belongs to; a system cancel (halt,
        kill switch, watchdog, reduce-only, the reconciler) pauses it, and it comes back
        once trading may resume."""
        order = self._desk.order(client_id)
        self.state.check_adopted(order, "cancel")
        if order.status.is_terminal:
            return order
        session = self.state.session(order.account)
        intent = self.state.intent_of(client_id)
        if intent is not None and retire:
            intent.state = IntentState.CANCELLED
            self.state.touch(intent.source)
            await self._journal.set_intent_state(intent.id, IntentState.CANCELLED)
        started = time.perf_counter()
        try:
            cancelled = await session.cancel_order(client_id)
        except OutcomeUnknown as exc:
            self._desk._observe(session.venue.name, "cancel_order", started)
            self._audit("cancel", actor=actor, account=order.account, client_id=client_id, rule=rule, result="unknown", details={"reason": exc.message})
            raise
        self._desk._observe(session.venue.name, "cancel_order", started)
        now = self._clock.now_ms()
        if cancelled:
            order = await self._desk.record_order(order.evolve(status=OrderStatus.CANCELLED, updated_ms=now, reason=f"cancelled by {actor}"))
        else:
            fresh = await session.fetch_order(client_id)
            if fresh is not None:
                order = await self._desk.record_order(_merge(order, fresh))
        self._audit("cancel", actor=actor, account=order.account, venue=order.venue, symbol=order.symbol, client_id=client_id, rule=rule, result=order.status.value)
        return order

    async def cancel_all(
        self, *, account: str | None = None, symbol: str | None = None, actor: str = "api", retire: bool = False
    ) -> int:
        """Cancel every live order perpd manages, optionally one account / symbol; an
        operator's cancel-all (`retire`) retires the standing orders it cancels."""
        unified = normalize_symbol(symbol) if symbol else None
        targets = [
            o for o in list(self.state.orders.values())
            if o.status.is_live and (account is None or o.account == account) and (unified is None or o.symbol == unified)
        ]
        if account is not None and account not in self.state.config.accounts:
            raise NotFound(f"no account named {account!r}")
        results = await asyncio.gather(
            *(self.cancel(o.client_id, actor=actor, retire=retire) for o in targets), return_exceptions=True
        )
        adopted = [
            (name, order)
            for name in ([account] if account else list(self.state.foreign))
            if self.state.adopts(name) and name in self.state.sessions
            for order in list(self.state.foreign.get(name, {}).values())
            if unified is None or order.symbol == unified
        ]
        # One failing cancel must not stop the others (a halt cancels everything it can).
        results += await asyncio.gather(
            *(self.state.sessions[name].cancel_order(order.client_id) for name, order in adopted), return_exceptions=True
        )
        for failed in (r for r in results if isinstance(r, Exception)):
            log.warning("cancel during cancel_all by %s failed: %r", actor, failed)
        return sum(1 for r in results if isinstance(r, Order) and r.status is OrderStatus.CANCELLED or r is True)

    async def modify(self, client_id: str, *, price: Decimal | None = None, size: Decimal | None = None, actor: str = "api") -> Order:
        order = self._desk.order(client_id)
        self.state.check_adopted(order, "modify")
        if order.status.is_terminal:
            raise InvalidRequest(f"order {client_id} is {order.status.value}; nothing to modify")
        if price is None and size is None:
            raise InvalidRequest("give a new price or a new size")
        session = self.state.session(order.account)
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
        self._desk._gate(order.account, order.venue, spec, request, market, replaces=client_id)

        mode = session.capabilities.edit
        if mode is EditMode.NONE:
            raise NotSupported(f"{order.venue} cannot modify orders; cancel and place a new one")
        new_client_id = client_id
        intent_attempt = self.state.order_intent.get(client_id)
        if mode is EditMode.REPLACE and intent_attempt is not None:
            intent_id, _ = intent_attempt
            intent = self.state.intents.get(intent_id)
            attempt = len(intent.client_ids) if intent else 1
            new_client_id = session.capabilities.client_id_format.derive(order.account, intent_id, attempt, self.state.client_id_salt)
            replacement = order.evolve(client_id=new_client_id, status=OrderStatus.PENDING, size=spec.size, price=spec.price, filled_size=ZERO, venue_order_id=None)
            await self._journal.insert_order(replacement, intent_id=intent_id, attempt=attempt)
            self.state.order_intent[new_client_id] = (intent_id, attempt)
            if intent:
                intent.client_ids.append(new_client_id)
        try:
            edited = await session.edit_order(client_id, new_client_id=new_client_id, price=new_price, size=new_size)
        except OutcomeUnknown:
            self._audit("modify", actor=actor, account=order.account, client_id=client_id, result="unknown")
            raise
        result = await self._desk.record_order(_merge(self.state.orders.get(edited.client_id, order), edited))
        self._audit("modify", actor=actor, account=order.account, venue=order.venue, symbol=order.symbol, client_id=client_id, result=result.status.value, details={"price": _s(new_price), "size": _s(new_size)})
        return result

    async def close_position(self, symbol: str, *, account: str | None = None, actor: str = "api", slippage_bps: Decimal | None = None) -> list[Order]:
        """Close a position with reduce-only IOC market orders (one account or all)."""
        unified = normalize_symbol(symbol)
        names = [account] if account else [a for a, s in self.state.portfolio.accounts.items() if s.position_size(unified) != 0]
        out = []
        for name in names:
            if name not in self.state.portfolio.accounts:
                raise NotFound(f"no account named {name!r}")
            held = self.state.portfolio.accounts[name].position_size(unified)
            if held == 0:
                continue
            spec = OrderSpec(symbol=unified, side=Side.of_size(-held), size=abs(held), type=OrderType.MARKET, tif=TimeInForce.IOC, reduce_only=True, account=name, slippage_bps=slippage_bps)
            out.extend(await self._desk.submit(spec, source="close", actor=actor))
        return out

    async def set_leverage(self, account: str, symbol: str, leverage: int, margin_mode: MarginMode | None = None, *, actor: str = "api") -> LeverageSetting:
        session = self.state.session(account)
        unified = session.venue.market(symbol).symbol
        market = session.venue.market(unified)
        if not 0 < leverage <= market.max_leverage:
            raise InvalidRequest(f"leverage must be between 1 and {market.max_leverage} on {market.venue} {unified}")
        mode = margin_mode or self.state.config.accounts[account].margin_mode
        await session.set_leverage(unified, leverage, mode)
        setting = LeverageSetting(unified, leverage, mode)
        self.state.leverage[(account, unified)] = setting
        self._audit("set_leverage", actor=actor, account=account, symbol=unified, details={"leverage": leverage, "margin_mode": mode.value})
        return setting

    async def set_trading_state(self, scope: str, state: TradingState, reason: str, *, actor: str, cancel: bool = True) -> int:
        """Set a scope's state ("global", "account:X", "venue:X", "policy:X"); halting cancels."""
        self._check_scope(scope)
        if state is TradingState.ACTIVE and scope.startswith("policy:"):
            await self._losses.acknowledge(scope.removeprefix("policy:"))
        if state is TradingState.ACTIVE and scope.startswith("target:"):
            self.state.turnover.forget(scope)  # the operator looked: the count starts afresh
        self.state.trading[scope] = (state, reason)
        await self._journal.set_trading_state(scope, state.value, reason)
        self._audit(state.value if state is not TradingState.ACTIVE else "resume", actor=actor, rule=scope, details={"reason": reason})
        self._bus.publish("status", {"scope": scope, "state": state.value, "reason": reason})
        cancelled = 0
        if cancel:
            for name in list(self.state.portfolio.accounts):
                now = self.state.trading_state(name)
                if now is TradingState.HALTED:
                    cancelled += await self.cancel_all(account=name, actor=actor)
                elif now is TradingState.REDUCE_ONLY:
                    cancelled += await self._cancel_increasing(name, actor=actor)
        self.state.wake()
        return cancelled

    async def _cancel_increasing(self, account: str, *, actor: str) -> int:
        """Entering reduce-only: cancel the account's orders that would grow a position."""
        holder = self.state.portfolio.accounts[account]
        growing = [o.client_id for o in holder.live_orders() if o.increases(holder.position_size(o.symbol))]
        results = await asyncio.gather(*(self.cancel(cid, actor=actor, rule="reduce_only") for cid in growing), return_exceptions=True)
        return sum(1 for r in results if isinstance(r, Order) and r.status is OrderStatus.CANCELLED)

    def _check_scope(self, scope: str) -> None:
        kind, _, name = scope.partition(":")
        known = {
            "account": self.state.config.accounts,
            "venue": self.state.config.venues,
            "policy": {p.name: p for p in self.state.config.policies},
            "target": {t.key: t for t in self.state.config.targets},
        }
        if scope == "global" or scope in self.state.trading:  # a state left by a removed piece can be cleared
            return
        if kind not in known or name not in known[kind]:
            raise NotFound(f"no such scope {scope!r} (global, account:NAME, venue:NAME, policy:NAME, target:NAME)")
