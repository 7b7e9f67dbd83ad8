"""The reconcile loop: one pass plans over all accounts (`perpd.reconcile.plan`, pure), then
each account's actions run in that account's lane, one batch in flight per account, so a
slow venue never holds up another; a busy account is re-planned on the next pass.

A pass: loss limits first (a trip halts the policy's scope), then unknown outcomes
resolved by client id, then the plan; each step guarded on its own so none can keep
another from running. A target slice passes the turnover breaker before it is sent; an
action planned under a config a reload has since replaced is not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from decimal import Decimal
from typing import Any

from perpd.clock import Clock
from perpd.config import Config
from perpd.engine.audit import Audit
from perpd.engine.controls import Controls
from perpd.engine.desk import OrderDesk
from perpd.engine.losses import LossLimits
from perpd.engine.state import EngineState, Lane
from perpd.engine.sync import Sync
from perpd.errors import PerpdError
from perpd.model import ZERO, IntentState, Order, OrderSpec, OrderStatus, TradingState
from perpd.reconcile import (
    Action,
    Blocked,
    BracketState,
    Cancel,
    Observed,
    Place,
    RuleState,
    SetLeverage,
    converge,
    plan,
    plan_pass,
)
from venues.base import EditMode

log = logging.getLogger("perpd.engine")


class Reconciler:
    def __init__(self, state: EngineState, desk: OrderDesk, controls: Controls, sync: Sync, losses: LossLimits,
                 audit: Audit, clock: Clock) -> None:
        self.state = state
        self._desk = desk
        self._controls = controls
        self._sync = sync
        self._losses = losses
        self._audit = audit
        self._clock = clock
        self._wake = asyncio.Event()
        state.wake = self._wake.set
        # Standing rules a pass found settled, with the rule's stamp then: the planner skips
        # them while the stamp holds (Observed.settled).
        self._settled: dict[str, tuple[int, OrderSpec]] = {}

    # ------------------------------------------------------------------ what a pass sees

    def observed(self) -> Observed:
        """Observed state for the planner. Each rule's RuleState is rebuilt only when
        something it is made of changed (`EngineState.touch`), so a steady pass stays cheap."""
        state = self.state
        rules: dict[str, RuleState] = {}
        for source, ids in state.rule_intents.items():
            stamp = state.rule_stamps.get(source, 0)
            cached = state.rule_cache.get(source)
            if cached is not None and cached[0] == stamp:
                rules[source] = cached[1]
                continue
            if source.startswith("standing:"):
                intent = state.intents[ids[-1]]
                orders = tuple([o for o in map(state.orders.get, intent.client_ids) if o is not None])
                superseded = tuple([
                    o for i in ids[:-1] if i in state.intents
                    for o in map(state.orders.get, state.intents[i].client_ids) if o is not None and o.status.is_live
                ])
                rule = RuleState(source, intent.id, intent.spec, intent.state, orders, state.retry_after.get(source, 0), superseded)
            elif source.startswith("target:"):
                orders = tuple([
                    o for i in ids if state.intents[i].state is IntentState.OPEN
                    for o in map(state.orders.get, state.intents[i].client_ids) if o is not None
                ])
                rule = RuleState(source, None, None, None, orders, state.retry_after.get(source, 0))
            else:
                continue
            state.rule_cache[source] = (stamp, rule)
            rules[source] = rule
        return Observed(
            brackets=self._brackets(),
            portfolio=state.portfolio,
            rules=rules,
            leverage=state.leverage,
            trading_state=state.trading_state,
            enabled=state.ready,
            now_ms=self._clock.now_ms(),
            owned_live=self._owned_live,
            retired=self._retired,
            stopped=state.stopped_targets(),
            settled={r: spec for r, (stamp, spec) in self._settled.items() if state.rule_stamps.get(r, 0) == stamp},
        )

    def _brackets(self) -> dict[int, BracketState]:
        """Each entry with exits: what it filled, whether it ended, its exits' rules."""
        state = self.state
        out = {}
        for parent in sorted(state.bracket_parents):
            intent = state.intents.get(parent)
            if intent is None:
                continue
            orders = [o for o in map(state.orders.get, intent.client_ids) if o is not None]
            children = {}
            for kind in intent.spec.brackets:
                rule = f"bracket:{parent}:{kind}"
                ids = state.rule_intents.get(rule)
                if ids:
                    child = state.intents[ids[-1]]
                    child_orders = tuple([o for o in map(state.orders.get, child.client_ids) if o is not None])
                    children[kind] = RuleState(rule, child.id, child.spec, child.state, child_orders, state.retry_after.get(rule, 0))
            account = orders[0].account if orders else intent.spec.account or ""
            out[parent] = BracketState(
                parent, account, intent.spec, sum((o.filled_size for o in orders), ZERO),
                bool(orders) and all(o.status.is_terminal for o in orders), children,
            )
        return out

    def _retired(self, client_id: str) -> bool:
        intent = self.state.intent_of(client_id)
        return intent is not None and intent.state is IntentState.CANCELLED

    def _owned_live(self, account: str) -> tuple[Order, ...]:
        held = self.state.portfolio.accounts.get(account)
        return tuple(held.orders.values()) if held is not None else ()

    def plan(self, config: Config | None = None) -> list[Action]:
        """The actions a pass would take now (for `config`, default the running one)."""
        return plan(config or self.state.config, self.observed(), self._desk.route_one)

    def preview(self, config: Config | None = None) -> list[str]:
        """Where applying `config` converges, one line per step: this pass's actions, then
        the placements that follow its cancels; a cancel and the placement replacing it
        on a venue that can edit read as one `replace` line."""
        first, then = converge(config or self.state.config, self.observed(), self._desk.route_one)
        lines: list[str] = []
        follows = {(a.account, a.rule): a for a in then}
        for action in first:
            nxt = follows.get((action.account, action.rule)) if isinstance(action, Cancel) else None
            session = self.state.sessions.get(action.account or "")
            if nxt is not None and isinstance(action, Cancel) and session is not None and session.capabilities.edit is not EditMode.NONE:
                del follows[(action.account, action.rule)]
                lines.append(f"replace {action.client_id} with: {nxt.describe()}")
            else:
                lines.append(action.describe())
        lines.extend(f"then {a.describe()}" for a in follows.values())
        return lines

    # ------------------------------------------------------------------ passes

    def wake(self) -> None:
        """Ask for a reconcile pass soon (something changed)."""
        self._wake.set()

    async def run(self) -> None:
        interval = self.state.config.daemon.reconcile_interval_secs
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
        """One pass: loss limits, unknown outcomes, plan, and act per account."""
        state = self.state
        started = asyncio.get_running_loop().time()
        await self._guarded("loss limits", self._check_loss_limits())
        await self._guarded("resolving unknown outcomes", self._sync.resolve_unknown())
        planned = state.config
        observed = self.observed()
        actions, settled = plan_pass(state.config, observed, self._desk.route_one)
        for parent, bracket in observed.brackets.items():
            if bracket.done:
                await self._desk.finish_bracket(parent)
        self._settled = {rule: (state.rule_stamps.get(rule, 0), spec) for rule, spec in settled.items()}
        by_account: dict[str, list[Action]] = {}
        for action in actions:
            if isinstance(action, Blocked):
                self._note_blocked(action)
            else:
                by_account.setdefault(action.account, []).append(action)
        launched = []
        for account, batch in by_account.items():
            lane = state.lanes.setdefault(account, Lane())
            if lane.busy:
                continue  # the next pass re-plans against what the lane's actions did
            lane.task = asyncio.get_running_loop().create_task(self._act(batch, planned), name=f"lane:{account}")
            lane.task.add_done_callback(_log_failure)
            launched.append(lane.task)
        if wait and launched:
            await asyncio.gather(*launched, return_exceptions=True)
        self._sync.save_ledgers()
        state.stats["passes"] += 1
        state.stats["last_pass_ms"] = (asyncio.get_running_loop().time() - started) * 1000
        return actions

    async def _check_loss_limits(self) -> None:
        """Trip the kill switch of every policy whose loss limit is breached: the policy's
        scope halts, its orders are cancelled, and it stays so (across restarts) until an
        operator resumes it."""
        for trip in self._losses.trips():
            await self._controls.set_trading_state(f"policy:{trip.policy}", TradingState.HALTED, f"{trip.limit}: {trip.reason}", actor="risk")
        await self._losses.save()

    async def _guarded(self, step: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:  # noqa: BLE001 - one step failing must not abort the pass
            log.exception("reconcile step failed: %s", step)
            self.state.stats["step_failures"] = self.state.stats.get("step_failures", 0) + 1

    def _note_blocked(self, action: Blocked) -> None:
        if self.state.blocked.get(action.rule) != action.reason:
            self.state.blocked[action.rule] = action.reason
            self._audit("blocked", actor="reconciler", account=action.account, rule=action.rule, result="blocked", details={"reason": action.reason})

    async def _act(self, batch: Sequence[Action], planned: Config | None = None) -> None:
        for action in batch:
            try:
                await self._act_one(action, planned)
            except PerpdError as exc:
                self.state.backoff(action.rule, self._clock.now_ms())
                self._audit("action_failed", actor="reconciler", account=action.account, rule=action.rule, result=exc.type_name,
                            details={"action": action.describe(), "error": exc.message})

    async def _act_one(self, action: Action, planned: Config | None = None) -> None:
        state, desk = self.state, self._desk
        if isinstance(action, Place):
            if planned is not None and planned is not state.config:
                return  # planned under a config a reload has replaced: the next pass re-plans
            state.blocked.pop(action.rule, None)
            spec, request, market = desk._prepare(action.spec)
            if action.rule.startswith("target:") and not await self._turnover_allows(action, request.size):
                return
            if action.intent_id is not None:
                order = await desk._send_new(state.intents[action.intent_id], spec, request, market, actor="reconciler", planned=planned)
            else:
                (order,) = await desk._open_intent(spec, [(spec, request, market)], source=action.rule, actor="reconciler", planned=planned)
            if order.status is OrderStatus.REJECTED:
                state.backoff(action.rule, self._clock.now_ms())
        elif isinstance(action, Cancel):
            await self._controls.cancel(action.client_id, actor="reconciler", rule=action.rule)
        elif isinstance(action, SetLeverage):
            s = action.setting
            await self._controls.set_leverage(action.account, s.symbol, s.leverage, s.margin_mode, actor="reconciler")

    async def _turnover_allows(self, action: Place, size: Decimal) -> bool:
        """The circuit breaker under every target slice (perpd/turnover.py): a slice past
        its bounds stops the target, journaled and audited, until an operator resumes it."""
        state = self.state
        target = next((t for t in state.config.targets if f"target:{t.key}" == action.rule), None)
        if target is None:
            return True
        now = self._clock.now_ms()
        reason = state.turnover.refuse(state.config, target, action.account, size, now)
        if reason is None:
            state.turnover.record(action.rule, action.account, size, now)
            return True
        await self._controls.set_trading_state(action.rule, TradingState.HALTED, f"turnover: {reason}", actor="turnover")
        return False


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("task %s failed: %r", task.get_name(), task.exception(), exc_info=task.exception())
