"""The engine's shared state: one typed object every collaborator reads and writes.

    EngineState
      config, revision      the running config and its journal revision (swapped by reload)
      portfolio             accounts (live orders, positions, ledgers, balances) + market data
      venues, sessions      what is connected, by name
      orders, intents       our orders we still track, and the intents they belong to
      rule_intents          rule (standing:X, target:X) -> its intents, oldest first
      trading               trading states by scope (global, account:X, venue:X, policy:X, target:X)
      risk, pnl, turnover   the guards: risk gate, loss tracker, target circuit breaker
      bookkeeping           unresolved ids, obligations, back-offs, blocked rules, account errors

Everything runs on one event loop: no locks. Collaborators (desk, controls, sync, loop,
lifecycle) receive this object and the services they use; none of them holds another's
internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from perpd.config import Config
from perpd.errors import Denied, NotFound, Unavailable
from perpd.model import IntentState, LeverageSetting, Order, OrderSpec, OrderStatus, TradingState
from perpd.portfolio import Portfolio
from perpd.reconcile import RuleState
from perpd.turnover import TurnoverGuard
from policies.pnl import PnlTracker
from policies.risk import RiskGate
from venues.base import AccountSession, Venue

BACKOFF_MS = (1_000, 5_000, 30_000, 120_000)


@dataclass
class Intent:
    """One client request or one rule's current order, and the client ids sent for it."""

    id: int
    source: str
    spec: OrderSpec
    state: IntentState
    client_ids: list[str] = field(default_factory=list)


@dataclass
class Lane:
    """Per-account action lane: one batch of actions in flight at a time."""

    task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()


@dataclass
class EngineState:
    config: Config
    risk: RiskGate
    pnl: PnlTracker
    revision: int = 0
    offline: bool = False  # a preview from the journal alone: accounts count as ready
    portfolio: Portfolio = field(default_factory=Portfolio)
    venues: dict[str, Venue] = field(default_factory=dict)
    sessions: dict[str, AccountSession] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)  # every order we created that we still track
    unresolved: set[str] = field(default_factory=set)  # client ids PENDING or UNKNOWN
    obligations: set[str] = field(default_factory=set)  # PENDING at start: send if the venue never heard of them
    bracket_parents: set[int] = field(default_factory=set)  # entries whose exits are still to manage
    order_intent: dict[str, tuple[int, int]] = field(default_factory=dict)  # client id -> (intent id, attempt)
    intents: dict[int, Intent] = field(default_factory=dict)
    rule_intents: dict[str, list[int]] = field(default_factory=dict)  # source -> intent ids, oldest first
    rule_stamps: dict[str, int] = field(default_factory=dict)  # source -> changes seen (RuleState cache key)
    rule_cache: dict[str, tuple[int, RuleState]] = field(default_factory=dict)
    foreign: dict[str, dict[str, Order]] = field(default_factory=dict)  # account -> orders we did not create
    leverage: dict[tuple[str, str], LeverageSetting] = field(default_factory=dict)
    trading: dict[str, tuple[TradingState, str]] = field(default_factory=dict)
    retry_after: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    account_errors: dict[str, tuple[int, str, int]] = field(default_factory=dict)  # account -> (count, last, retry at)
    turnover: TurnoverGuard = field(default_factory=TurnoverGuard)
    client_id_salt: str = ""  # the journal's, read on start
    dms_refreshed: dict[str, int] = field(default_factory=dict)
    last_resync: dict[str, int] = field(default_factory=dict)
    lanes: dict[str, Lane] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=lambda: {"passes": 0, "orders_sent": 0, "denials": 0, "last_pass_ms": 0.0})
    wake: Callable[[], None] = lambda: None  # ask for a reconcile pass soon (set by the loop)

    # ------------------------------------------------------------------ rules and intents

    def touch(self, rule: str) -> None:
        """Something a rule's observed state is built from changed (the RuleState cache key)."""
        self.rule_stamps[rule] = self.rule_stamps.get(rule, 0) + 1

    def track_intent(self, intent_id: int, source: str, spec: OrderSpec, state: IntentState) -> Intent:
        intent = self.intents.get(intent_id)
        if intent is None:
            intent = self.intents[intent_id] = Intent(intent_id, source, spec, state)
            self.rule_intents.setdefault(source, []).append(intent_id)
            self.touch(source)
        return intent

    def intent_of(self, client_id: str) -> Intent | None:
        link = self.order_intent.get(client_id)
        return self.intents.get(link[0]) if link else None

    def backoff(self, rule: str, now_ms: int) -> None:
        count = self.failures.get(rule, 0)
        self.failures[rule] = count + 1
        self.retry_after[rule] = now_ms + BACKOFF_MS[min(count, len(BACKOFF_MS) - 1)]
        self.touch(rule)

    def apply_order(self, order: Order, now_ms: int) -> None:
        """Put one of our orders' latest state everywhere it is read from."""
        self.orders[order.client_id] = order
        if order.status is not OrderStatus.PENDING:
            self.obligations.discard(order.client_id)  # the venue answered for it
        if order.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
            self.unresolved.add(order.client_id)  # what resolve_unknown looks at, and only that
        else:
            self.unresolved.discard(order.client_id)
        intent = self.intent_of(order.client_id)
        if intent is not None:
            self.touch(intent.source)
        account = self.portfolio.accounts.get(order.account)
        if account is not None:
            account.upsert_order(order, now_ms)

    # ------------------------------------------------------------------ lookups

    def session(self, account: str) -> AccountSession:
        if account not in self.config.accounts:
            raise NotFound(f"no account named {account!r}")
        session = self.sessions.get(account)
        if session is None:
            raise Unavailable(f"account {account!r} is not connected", venue=self.config.accounts[account].venue)
        return session

    def ready(self, account: str) -> bool:
        state = self.portfolio.accounts.get(account)
        return (self.offline or account in self.sessions) and state is not None and state.synced

    def adopts(self, account: str) -> bool:
        cfg = self.config.accounts.get(account)
        return bool(cfg and cfg.adopt)

    def check_adopted(self, order: Order, verb: str) -> None:
        """Orders perpd did not create are left alone unless the account adopts them."""
        if order.account in self.foreign and order.client_id in self.foreign[order.account] and not self.adopts(order.account):
            raise Denied(f"order {order.client_id} was not created by perpd (set adopt = true on {order.account} to {verb} it)")

    # ------------------------------------------------------------------ trading states

    def trading_state(self, account: str) -> TradingState:
        return self.trading_state_reason(account)[0]

    def trading_state_reason(self, account: str) -> tuple[TradingState, str]:
        """The most restrictive state over every scope covering `account`, and why."""
        if all(state is TradingState.ACTIVE for state, _ in self.trading.values()):
            return (TradingState.ACTIVE, "")  # nothing restricts anyone (every order asks)
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

    def stopped_targets(self) -> dict[str, str]:
        """Targets a breaker or an operator stopped: rule -> why."""
        return {s: r for s, (state, r) in self.trading.items() if s.startswith("target:") and state is TradingState.HALTED}
