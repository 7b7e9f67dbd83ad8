"""Control: status, plan, reload, halt, resume, the audit log, the running config."""

from __future__ import annotations

from perpd import config as config_mod
from perpd.api.endpoint import Call
from perpd.api.models import ConfigChange, ConfigOut, Events, EventsQuery, HaltIn, Plan, PlanIn, ResumeIn, Status, TradingStateOut
from perpd.model import TradingState


async def status(call: Call) -> Status:
    report = call.engine.status()
    return Status(**report, ws_clients=call.ctx.ws_client_total())


async def plan(call: Call) -> Plan:
    """Plan the config file on disk, or the config in the body, without acting."""
    body: PlanIn | None = call.body
    daemon = call.ctx.daemon
    return Plan(**daemon.plan(text=body.toml) if body is not None else daemon.plan())


async def reload(call: Call) -> ConfigChange:
    return ConfigChange(changed=await call.ctx.daemon.reload(actor=call.actor))


async def halt(call: Call) -> TradingStateOut:
    body: HaltIn = call.body
    state = TradingState.REDUCE_ONLY if body.reduce_only else TradingState.HALTED
    reason = body.reason or f"by {call.actor}"
    cancelled = await call.engine.set_trading_state(body.scope, state, reason, actor=call.actor, cancel=body.cancel)
    return TradingStateOut(scope=body.scope, state=state.value, reason=reason, cancelled=cancelled)


async def resume(call: Call) -> TradingStateOut:
    body: ResumeIn = call.body
    reason = body.reason or f"by {call.actor}"
    await call.engine.set_trading_state(body.scope, TradingState.ACTIVE, reason, actor=call.actor)
    return TradingStateOut(scope=body.scope, state=TradingState.ACTIVE.value, reason=reason)


async def events(call: Call) -> Events:
    q: EventsQuery = call.query
    found = await call.engine.reads.events(
        action=q.action, actor=q.actor, account=q.account, venue=q.venue, symbol=q.symbol, client_id=q.client_id,
        result=q.result, since_id=q.since_id, since_ms=q.since, limit=q.limit, newest_first=q.newest_first,
    )
    return Events(events=found)


async def get_config(call: Call) -> ConfigOut:
    engine = call.engine
    return ConfigOut(
        path=str(call.ctx.daemon.config_path),
        revision=engine.revision,
        hash=config_mod.config_hash(engine.config),
        config=engine.config.dump(),  # secret references only: the config never holds secrets
    )
