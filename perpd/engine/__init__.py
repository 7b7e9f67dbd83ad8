"""The engine: the running daemon's venues, accounts, orders and reconcile loop.

One typed state object (`state.EngineState`) is shared by collaborators that each own one
concern, built in this order (each may use those before it, never after):

    state     EngineState: config, portfolio, orders, intents, trading states, guards
    audit     Audit: every action journaled, logged and published
    losses    LossLimits: the loss tracker's rebuild, breaches, operator acknowledgements
    desk      OrderDesk: the order path (validate -> gate -> write-ahead -> send -> record)
    controls  Controls: cancel, modify, close, leverage, trading states
    sync      Sync: streams, resyncs, unknown outcomes, watchdogs, position ledgers
    loop      Reconciler: the reconcile passes and account lanes
    reload    Lifecycle: start, stop, reload (start new -> swap -> stop old)
    reads     Reads: market data, orders and the audit log as clients read them

`Engine` wires them and is the one surface the daemon, the API and the clients use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from perpd import config as config_mod
from perpd.bus import Bus
from perpd.clock import Clock, SystemClock
from perpd.config import Config
from perpd.engine.accounting import Accounting
from perpd.engine.audit import Audit
from perpd.engine.controls import Controls
from perpd.engine.desk import OrderDesk
from perpd.engine.losses import LossLimits
from perpd.engine.loop import Reconciler
from perpd.engine.reads import Reads
from perpd.engine.reload import Lifecycle
from perpd.engine.state import EngineState, Intent, Lane
from perpd.engine.sync import Sync
from perpd.journal import Journal
from perpd.model import TradingState
from perpd.portfolio import Portfolio
from policies.pnl import PnlTracker
from policies.risk import RiskGate
from venues.base import AccountSession, SecretResolver

__all__ = ["Engine", "EngineState", "Intent", "Lane"]


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
        wrap_session: Callable[[AccountSession], AccountSession] | None = None,
        offline: bool = False,
    ) -> None:
        self.journal = journal
        self.secrets = secrets  # resolves secret references (API tokens use it too)
        self.clock = clock or SystemClock()
        self.bus = Bus()
        risk = RiskGate(config.policies)
        self.state = EngineState(config=config, risk=risk, pnl=PnlTracker(risk.reset_times), offline=offline)
        self.audit = Audit(self.state, journal, self.bus)
        self.losses = LossLimits(self.state, journal, self.clock)
        self.desk = OrderDesk(self.state, journal, self.audit, self.bus, self.clock)
        self.controls = Controls(self.state, self.desk, self.losses, journal, self.audit, self.clock)
        self.sync = Sync(self.state, self.desk, self.controls, journal, self.bus, self.clock, self.audit)
        self.loop = Reconciler(self.state, self.desk, self.controls, self.sync, self.losses, self.audit, self.clock)
        self.reads = Reads(self.state, journal)
        self.accounting = Accounting(self.state, journal, self.clock)  # fills, funding payments, PnL
        self.lifecycle = Lifecycle(self.state, self.sync, self.loop, self.losses, journal, self.audit, self.clock,
                                   secrets=secrets, source=source, wrap_session=wrap_session)
        # The order path and controls, as the API and clients call them.
        self.submit = self.desk.submit
        self.record_order = self.desk.record_order
        self.finish_obligation = self.desk.finish_obligation
        self.order = self.desk.order
        self.is_ours = self.desk.is_ours
        self.cancel = self.controls.cancel
        self.cancel_all = self.controls.cancel_all
        self.modify = self.controls.modify
        self.close_position = self.controls.close_position
        self.set_leverage = self.controls.set_leverage
        self.set_trading_state = self.controls.set_trading_state
        self.reconcile_once = self.loop.reconcile_once
        self.observed = self.loop.observed
        self.plan = self.loop.plan
        self.preview = self.loop.preview
        self.wake = self.loop.wake
        self.reload = self.lifecycle.reload
        self.restore_intents = self.lifecycle.restore_intents
        self.trading_state = self.state.trading_state
        self.trading_state_reason = self.state.trading_state_reason
        self.session = self.state.session

    async def start(self) -> None:
        """Journal the config revision, restore state, connect venues, resync accounts."""
        await self.lifecycle.start()

    async def stop(self) -> None:
        """Stop cleanly: honour each account's on_exit, close sessions and venues."""
        await self.lifecycle.stop()

    # ------------------------------------------------------------------ what readers see

    @property
    def config(self) -> Config:
        return self.state.config

    @property
    def revision(self) -> int:
        return self.state.revision

    @property
    def portfolio(self) -> Portfolio:
        return self.state.portfolio

    @property
    def venues(self) -> dict[str, Any]:
        return self.state.venues

    @property
    def sessions(self) -> dict[str, AccountSession]:
        return self.state.sessions

    @property
    def orders(self) -> dict[str, Any]:
        return self.state.orders

    @property
    def foreign(self) -> dict[str, dict[str, Any]]:
        return self.state.foreign

    @property
    def trading(self) -> dict[str, tuple[TradingState, str]]:
        return self.state.trading

    @trading.setter
    def trading(self, states: dict[str, tuple[TradingState, str]]) -> None:
        self.state.trading = states

    @property
    def risk(self) -> RiskGate:
        return self.state.risk

    @property
    def pnl(self) -> PnlTracker:
        return self.state.pnl

    @property
    def venue_observers(self) -> list[Callable[[str, str, float], None]]:
        return self.desk.venue_observers

    def status(self) -> dict[str, Any]:
        state = self.state
        accounts = {}
        for name, cfg in state.config.accounts.items():
            held = state.portfolio.accounts.get(name)
            trading, reason = state.trading_state_reason(name)
            errors = state.account_errors.get(name, (0, "", 0))
            accounts[name] = {
                "venue": cfg.venue,
                "enabled": cfg.enabled,
                "connected": name in state.sessions,
                "synced": bool(held and held.synced),
                "last_contact_ms": held.last_contact_ms if held else 0,
                "trading_state": trading.value,
                "reason": reason,
                "open_orders": sum(1 for _ in held.live_orders()) if held else 0,
                "errors": errors[0],
                "last_error": errors[1],
            }
        markets = state.portfolio.market_data.markets
        return {
            "config_revision": state.revision,
            "config_hash": config_mod.config_hash(state.config),
            "trading_states": {scope: {"state": s.value, "reason": r} for scope, (s, r) in state.trading.items()},
            "venues": {n: {"kind": c.kind, "connected": n in state.venues, "markets": sum(1 for k in markets if k[0] == n)}
                       for n, c in state.config.venues.items()},
            "accounts": accounts,
            "blocked": dict(state.blocked),
            "stats": dict(state.stats),
        }
