"""Desired vs observed -> a plan of actions. Pure: no I/O, no clock, no mutation.

Level-based and idempotent (controller-runtime style): every pass re-reads all desired
state (config + trading states) and all observed state (positions, live orders, the rules'
order history), and computes what to do now. Running the same pass twice against the same
observations yields the same plan; acting on it moves observed toward desired, so the next
pass plans less. The engine runs each action through the risk gate, acts, and journals it
with the rule that caused it. `perpd plan` prints the same plan without acting.

Rules are named by source: `standing:NAME` for `[[orders]]`, `target:KEY` for `[[targets]]`,
`halt` for orders cancelled because trading is halted, `reduce_only` for orders that would
grow a position under reduce-only.

Targets read positions from the account's ledger (perpd/ledger.py), never the venue's
report alone: a slice counts from the moment it is sent (pending or live: the target
waits for it, never doubles up) until a position report that includes its fills has been
applied, whatever order the venue's acknowledgements, order updates, fills and position
reports arrive in. Report lag therefore never makes a target trade past itself. Under
that, a turnover circuit breaker (perpd/turnover.py) stops any target that trades more
than its bounds, whatever the cause.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from perpd.config import Config, StandingOrderConfig, TargetConfig
from perpd.errors import PerpdError
from perpd.model import (
    IntentState,
    BPS,
    ZERO,
    LeverageSetting,
    Order,
    OrderSpec,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradingState,
    round_price,
    round_size,
)
from perpd.portfolio import Portfolio


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class Place:
    account: str
    spec: OrderSpec  # account resolved
    rule: str
    reason: str
    intent_id: int | None = None  # re-place under an existing intent (next attempt)

    def describe(self) -> str:
        s = self.spec
        price = f" @ {s.price}" if s.price is not None else ""
        flags = " reduce-only" if s.reduce_only else ""
        return f"place {s.side.value} {s.size} {s.symbol}{price} {s.tif.value}{flags} on {self.account} [{self.rule}: {self.reason}]"


@dataclass(frozen=True, slots=True)
class Cancel:
    account: str
    client_id: str
    rule: str
    reason: str

    def describe(self) -> str:
        return f"cancel {self.client_id} on {self.account} [{self.rule}: {self.reason}]"


@dataclass(frozen=True, slots=True)
class SetLeverage:
    account: str
    setting: LeverageSetting
    rule: str = "leverage"
    reason: str = ""

    def describe(self) -> str:
        s = self.setting
        return f"set leverage {s.symbol} {s.leverage}x {s.margin_mode.value} on {self.account} [{self.reason}]"


@dataclass(frozen=True, slots=True)
class Blocked:
    """Desired state that cannot be pursued now; reported, not acted on."""

    account: str | None
    rule: str
    reason: str

    def describe(self) -> str:
        where = f" on {self.account}" if self.account else ""
        return f"blocked{where} [{self.rule}: {self.reason}]"


Action = Place | Cancel | SetLeverage | Blocked


# --------------------------------------------------------------------------- observed


@dataclass(frozen=True)
class RuleState:
    """What the journal knows of one rule: its current intent and every order it placed."""

    rule: str
    intent_id: int | None = None
    intent_spec: OrderSpec | None = None
    intent_state: IntentState | None = None
    orders: tuple[Order, ...] = ()  # of the current intent (or all slices, for targets)
    retry_after_ms: int = 0  # backoff after a rejection or denial
    superseded: tuple[Order, ...] = ()  # live orders of a standing rule's older intents

    def live(self) -> tuple[Order, ...]:
        return tuple(o for o in self.orders if o.status.is_live)

    def filled(self) -> Decimal:
        return sum((o.filled_size for o in self.orders), ZERO)

    def asks_for(self, desired: OrderSpec) -> bool:
        """Is the current intent the order `desired` describes?"""
        spec = self.intent_spec
        return spec is not None and (spec == desired or _same_order(spec, desired))

    @property
    def finished(self) -> bool:
        return self.intent_state in (IntentState.DONE, IntentState.CANCELLED)


@dataclass(frozen=True)
class BracketState:
    """An entry that carries exits (take profit, stop loss), and those exits' rules."""

    parent: int  # the entry's intent id
    account: str
    spec: OrderSpec  # the entry, with its brackets
    filled: Decimal  # what the entry has filled so far
    entry_done: bool  # every order of the entry has ended
    children: Mapping[str, RuleState] = field(default_factory=dict)  # "tp" / "sl" -> its rule

    def rule(self, kind: str) -> str:
        return f"bracket:{self.parent}:{kind}"

    @property
    def unprotected(self) -> Decimal:
        """What the entry filled that no exit has closed yet."""
        return self.filled - sum((c.filled() for c in self.children.values()), ZERO)

    @property
    def done(self) -> bool:
        """Nothing left to protect, nothing working: the bracket is finished."""
        return self.entry_done and self.unprotected <= 0 and not any(c.live() for c in self.children.values())


@dataclass(frozen=True)
class Observed:
    portfolio: Portfolio
    rules: Mapping[str, RuleState]
    leverage: Mapping[tuple[str, str], LeverageSetting]  # (account, symbol) -> as set
    trading_state: Callable[[str], TradingState]  # account -> effective state
    enabled: Callable[[str], bool]  # account is enabled and synced
    now_ms: int
    owned_live: Callable[[str], Sequence[Order]] = lambda account: ()  # account -> our live orders
    retired: Callable[[str], bool] = lambda client_id: False  # its intent was cancelled by an operator
    stopped: Mapping[str, str] = field(default_factory=dict)  # target rule -> why it was stopped
    brackets: Mapping[int, BracketState] = field(default_factory=dict)  # by the entry's intent id
    # Standing rules an earlier pass found resting or finished for this desired order,
    # whose state has not changed since (the caller keeps this; see `plan_pass`).
    settled: Mapping[str, OrderSpec] = field(default_factory=dict)


Router = Callable[[OrderSpec], str]
"""Pick the account for a spec that names a route (raises Denied when none fits)."""


# --------------------------------------------------------------------------- planning


def plan(config: Config, observed: Observed, router: Router) -> list[Action]:
    """Every action that moves observed state toward the desired state of `config`."""
    return plan_pass(config, observed, router)[0]


def plan_pass(config: Config, observed: Observed, router: Router) -> tuple[list[Action], dict[str, OrderSpec]]:
    """`plan`, and the standing rules found settled (resting or finished, as desired):
    a caller that passes them back as `Observed.settled` while their state is unchanged
    lets a steady pass over thousands of rules plan nothing twice."""
    actions: list[Action] = []
    settled: dict[str, OrderSpec] = {}
    halted = {a for a in observed.portfolio.accounts if observed.trading_state(a) is TradingState.HALTED}
    for account in sorted(halted):
        for order in observed.owned_live(account):
            if order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
                actions.append(Cancel(account, order.client_id, "halt", "trading is halted"))

    for account in sorted(set(observed.portfolio.accounts) - halted):
        for order in observed.owned_live(account):
            if order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED) and observed.retired(order.client_id):
                actions.append(Cancel(account, order.client_id, "retired", "an operator cancelled it and the venue still holds it"))

    reduce_only = {a for a in observed.portfolio.accounts if observed.trading_state(a) is TradingState.REDUCE_ONLY}
    for account in sorted(reduce_only):
        holder = observed.portfolio.accounts[account]
        for order in observed.owned_live(account):
            if order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED) and order.increases(holder.position_size(order.symbol)):
                actions.append(Cancel(account, order.client_id, "reduce_only", "trading is reduce-only"))

    actions.extend(_leverage(config, observed, halted))
    wanted_rules: set[str] = set()
    rules = observed.rules
    for standing in config.orders:
        if not standing.enabled:
            continue
        rule, desired = _standing_entry(standing)
        wanted_rules.add(rule)
        state = rules.get(rule)
        if observed.settled.get(rule) == desired:
            settled[rule] = desired
            continue  # unchanged since a pass found it resting or finished: nothing to do
        planned = _standing(standing, rule, observed, router, halted)
        actions.extend(planned)
        # Settled only when it asks for nothing: an action dropped this pass (its account's
        # lane busy) must be planned again next pass, not skipped as settled.
        if not planned and state is not None and state.asks_for(desired) and (state.live() or state.finished):
            settled[rule] = desired
    for target in config.targets:
        rule = f"target:{target.key}"
        if target.enabled:
            wanted_rules.add(rule)
            actions.extend(_target(config, target, rule, observed, router, halted))
    for parent in sorted(observed.brackets):
        actions.extend(_bracket(observed.brackets[parent], observed, halted))
    for rule in sorted(r for r in observed.rules if r not in wanted_rules):
        for order in observed.rules[rule].live():
            if order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
                actions.append(Cancel(order.account, order.client_id, rule, "rule removed or disabled"))
    return _dedupe(actions), settled


def converge(config: Config, observed: Observed, router: Router) -> tuple[list[Action], list[Action]]:
    """This pass's actions, and what the pass after would add once its cancels landed
    (a moved standing order: its cancel now, its placement next). For previews."""
    first = plan(config, observed, router)
    gone = {a.client_id for a in first if isinstance(a, Cancel)}
    if not gone:
        return first, []

    def without(orders: Sequence[Order]) -> tuple[Order, ...]:
        return tuple(o.evolve(status=OrderStatus.CANCELLED) if o.client_id in gone else o for o in orders)

    after = replace(
        observed,
        rules={r: replace(st, orders=without(st.orders)) for r, st in observed.rules.items()},
        settled={},
        owned_live=lambda account: tuple(o for o in observed.owned_live(account) if o.client_id not in gone),
    )
    then = [a for a in plan(config, after, router) if isinstance(a, Place)]
    return first, then


def _dedupe(actions: list[Action]) -> list[Action]:
    seen: set[tuple[str, str]] = set()
    out: list[Action] = []
    for action in actions:
        if isinstance(action, Cancel):
            key = (action.account, action.client_id)
            if key in seen:
                continue
            seen.add(key)
        out.append(action)
    return out


def _leverage(config: Config, observed: Observed, halted: set[str]) -> list[Action]:
    out: list[Action] = []
    for name, account in sorted(config.accounts.items()):
        if name not in observed.portfolio.accounts or not observed.enabled(name):
            continue
        for symbol, leverage in sorted(account.leverage.items()):
            want = LeverageSetting(symbol, leverage, account.margin_mode)
            venue = account.venue
            if observed.portfolio.market_data.market(venue, symbol) is None:
                out.append(Blocked(name, "leverage", f"{venue} has no market {symbol}"))
                continue
            if observed.leverage.get((name, symbol)) != want:
                out.append(SetLeverage(name, want, reason=f"config asks {leverage}x {account.margin_mode.value}"))
    return out


def _standing(
    standing: StandingOrderConfig, rule: str, observed: Observed, router: Router, halted: set[str]
) -> list[Action]:
    state = observed.rules.get(rule) or RuleState(rule)
    desired = _standing_entry(standing)[1]
    if state.superseded:
        # An order of an intent the rule has moved on from (a send that landed late, after
        # the config changed): nobody else will cancel it.
        return [
            Cancel(o.account, o.client_id, rule, "an earlier version of this standing order is live (a late arrival)")
            for o in state.superseded
            if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
        ] or [Blocked(None, rule, "waiting for an earlier version's order to resolve")]
    if state.intent_spec is not None and not state.asks_for(desired):
        # The rule changed (reload): retire the old intent's orders, place anew next pass.
        live = state.live()
        cancels: list[Action] = [
            Cancel(o.account, o.client_id, rule, "standing order changed in config")
            for o in live
            if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
        ]
        if live:
            return cancels
        state = RuleState(rule)
    if state.finished:
        return []
    live = state.live()
    if len(live) > 1:
        # A send perpd concluded never arrived landed after all, beside its re-placement:
        # one standing order is one live order. Keep the first, cancel the rest.
        return [
            Cancel(o.account, o.client_id, rule, "one standing order is live twice (a late arrival)")
            for o in live[1:]
            if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
        ]
    if live:
        return []  # resting, or pending/unknown: wait for it to resolve, never double up
    if observed.now_ms < state.retry_after_ms:
        return [Blocked(None, rule, "backing off after a failed attempt")]
    remaining = standing.size - state.filled()
    if remaining <= 0:
        return []
    spec = OrderSpec(**{**_spec_fields(desired), "size": remaining})
    account = _account_for(spec, state, router)
    if isinstance(account, Blocked):
        return [account]
    if account in halted:
        return [Blocked(account, rule, "trading is halted")]
    if not observed.enabled(account):
        return [Blocked(account, rule, "account is not ready")]
    if observed.trading_state(account) is TradingState.REDUCE_ONLY and not _reduces(spec, observed.portfolio.accounts[account].position_size(spec.symbol)):
        return [Blocked(account, rule, "trading is reduce-only")]
    reason = "not live yet" if not state.orders else f"last order {state.orders[-1].status.value}; re-placing"
    return [Place(account, spec.with_account(account), rule, reason, intent_id=state.intent_id)]


@functools.lru_cache(maxsize=65_536)
def _standing_entry(standing: StandingOrderConfig) -> tuple[str, OrderSpec]:
    """The rule name and the OrderSpec a standing order asks for: a pure function of the
    (frozen, hashable) config, cached by value, so a steady pass builds nothing."""
    return f"standing:{standing.name}", _build_standing_spec(standing)


def _build_standing_spec(standing: StandingOrderConfig) -> OrderSpec:
    return OrderSpec(
        symbol=standing.symbol,
        side=standing.side,
        size=standing.size,
        type=standing.type,
        price=standing.price,
        trigger_price=standing.trigger_price,
        tif=standing.effective_tif,
        reduce_only=standing.reduce_only,
        account=standing.account,
        route=standing.route,
        take_profit=standing.bracket(standing.take_profit),
        stop_loss=standing.bracket(standing.stop_loss),
    )


def _spec_fields(spec: OrderSpec) -> dict[str, object]:
    return {name: getattr(spec, name) for name in OrderSpec.__dataclass_fields__}


def _same_order(a: OrderSpec, b: OrderSpec) -> bool:
    """Same desired order, ignoring the account a route resolved to and remaining size."""
    keys = ("symbol", "side", "type", "price", "trigger_price", "tif", "reduce_only", "route", "take_profit", "stop_loss")
    if any(getattr(a, k) != getattr(b, k) for k in keys):
        return False
    return (b.route is not None or a.account == b.account) and a.size >= 0


def _account_for(spec: OrderSpec, state: RuleState, router: Router) -> str | Blocked:
    if spec.account is not None:
        return spec.account
    previous = next((o.account for o in reversed(state.orders)), None)
    if previous is not None:
        return previous  # a standing order stays on the account its route first chose
    try:
        return router(spec)
    except PerpdError as exc:
        return Blocked(None, state.rule, exc.message)


def _target(
    config: Config,
    target: TargetConfig,
    rule: str,
    observed: Observed,
    router: Router,
    halted: set[str],
) -> list[Action]:
    portfolio = observed.portfolio
    state = observed.rules.get(rule) or RuleState(rule)
    if target.account is not None:
        accounts: tuple[str, ...] = (target.account,)
    else:
        route = config.route(target.route or "")
        accounts = route.accounts if route is not None else ()
    known = [a for a in accounts if a in portfolio.accounts]
    if any(not observed.enabled(a) for a in known) or not known:
        return [Blocked(target.account, rule, "account(s) not ready")]
    actual = sum((portfolio.accounts[a].position_size(target.symbol) for a in known), ZERO)
    gap = target.position - actual
    live = state.live()
    working = [o for o in live if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)]

    if rule in observed.stopped:
        cancels: list[Action] = [Cancel(o.account, o.client_id, rule, "target stopped") for o in working]
        return [*cancels, Blocked(target.account, rule, f"stopped: {observed.stopped[rule]}")]
    if abs(gap) <= target.tolerance:
        return [Cancel(o.account, o.client_id, rule, "target reached") for o in working]
    if len(working) != len(live):
        return []  # a slice is pending or unknown: wait for it, never double up
    side = Side.of_size(gap)
    mark_account = working[0].account if working else known[0]
    mark = portfolio.mark(portfolio.accounts[mark_account].venue, target.symbol)
    if mark is None:
        return [Blocked(mark_account, rule, f"no mark price for {target.symbol}")]

    if working:
        out: list[Action] = []
        room = abs(gap)  # what the working slices together may still trade
        for order in working:
            ideal = _limit_price(mark, side, target.limit_bps)
            if order.side is not side:
                out.append(Cancel(order.account, order.client_id, rule, "target is now on the other side"))
            elif order.remaining > room:
                out.append(Cancel(order.account, order.client_id, rule, "slice would overshoot the target"))
            elif order.price is not None and abs(order.price - ideal) * BPS > mark * target.limit_bps / 2:
                out.append(Cancel(order.account, order.client_id, rule, f"slice price {order.price} drifted from {ideal}"))
            else:
                room -= order.remaining
        return out

    if observed.now_ms < state.retry_after_ms:
        return [Blocked(None, rule, "backing off after a failed attempt")]
    slice_size = min(target.max_slice, abs(gap))
    spec = OrderSpec(
        symbol=target.symbol,
        side=side,
        size=slice_size,
        type=OrderType.LIMIT,
        price=_limit_price(mark, side, target.limit_bps),
        tif=TimeInForce.GTC,
        account=target.account,
        route=target.route,
    )
    account = target.account or _route_target(spec, router, state)
    if isinstance(account, Blocked):
        return [account]
    if account in halted:
        return [Blocked(account, rule, "trading is halted")]
    market = portfolio.market_data.market(portfolio.accounts[account].venue, target.symbol)
    if market is None:
        return [Blocked(account, rule, f"no market {target.symbol} on {portfolio.accounts[account].venue}")]
    held = portfolio.accounts[account].position_size(target.symbol)
    # Reduce-only when this slice only shrinks what this account holds: safer if the
    # position moves under us (a fill elsewhere, a liquidation) while the slice rests.
    reducing = held * side.sign < 0 and slice_size <= abs(held)
    if not reducing and observed.trading_state(account) is TradingState.REDUCE_ONLY:
        return [Blocked(account, rule, "trading is reduce-only")]
    size = round_size(slice_size, market.lot_size)
    price = round_price(spec.price or mark, market.tick_size, side)
    if size < market.min_size or size * price < market.min_notional:
        if not reducing:
            return [Blocked(account, rule, f"remaining {abs(gap)} is below the market minimum")]
        if size <= 0:
            return [Blocked(account, rule, f"remaining {abs(gap)} is below one lot")]
    spec = OrderSpec(
        **{**_spec_fields(spec), "size": size, "price": price, "reduce_only": reducing, "account": account, "route": None}
    )
    reason = f"position {actual} -> target {target.position}"
    return [Place(account, spec, rule, reason)]


_EXIT_TYPES = {
    ("tp", True): OrderType.TAKE_PROFIT_LIMIT, ("tp", False): OrderType.TAKE_PROFIT_MARKET,
    ("sl", True): OrderType.STOP_LIMIT, ("sl", False): OrderType.STOP_MARKET,
}


def exit_order(entry: OrderSpec, kind: str, size: Decimal, account: str) -> OrderSpec:
    """The take profit ("tp") or stop loss ("sl") closing `size` of what `entry` opens:
    reduce-only, on the other side, at its trigger (a limit when the bracket gives one)."""
    exit_at = entry.brackets[kind]
    return OrderSpec(
        symbol=entry.symbol, side=entry.side.opposite, size=size,
        type=_EXIT_TYPES[(kind, exit_at.price is not None)], price=exit_at.price, trigger_price=exit_at.trigger_price,
        tif=TimeInForce.GTC, reduce_only=True, account=account,
    )


def _bracket(bracket: BracketState, observed: Observed, halted: set[str]) -> list[Action]:
    """Keep an entry's exits working for exactly what it filled and no exit closed yet:
    placed once the entry fills, resized as it fills more, and when one exit fills the
    other is cancelled (one cancels the other)."""
    remaining = bracket.unprotected
    working = {k: [o for o in c.live()] for k, c in bracket.children.items()}
    if remaining <= 0:
        return [
            Cancel(o.account, o.client_id, bracket.rule(k), "nothing left to protect (the other exit filled)")
            for k, orders in working.items() for o in orders if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
        ]
    if bracket.account in halted:
        return [Blocked(bracket.account, bracket.rule("tp"), "trading is halted")]
    out: list[Action] = []
    entry = bracket.spec
    for kind in entry.brackets:
        rule = bracket.rule(kind)
        state = bracket.children.get(kind) or RuleState(rule)
        live = working.get(kind, [])
        if live:
            if any(o.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN) for o in live):
                continue  # wait for it, never double up
            if sum((o.remaining for o in live), ZERO) != remaining:
                out.extend(Cancel(o.account, o.client_id, rule, f"exit resized to {remaining}") for o in live)
            continue
        if observed.now_ms < state.retry_after_ms:
            out.append(Blocked(bracket.account, rule, "backing off after a failed attempt"))
            continue
        spec = exit_order(entry, kind, remaining, bracket.account)
        name = "take profit" if kind == "tp" else "stop loss"
        out.append(Place(bracket.account, spec, rule, f"{name} for {remaining} filled", intent_id=state.intent_id))
    return out


def _reduces(spec: OrderSpec, held: Decimal) -> bool:
    return spec.reduce_only or (held * spec.side.sign < 0 and spec.size <= abs(held))


def _route_target(spec: OrderSpec, router: Router, state: RuleState) -> str | Blocked:
    try:
        return router(spec)
    except PerpdError as exc:
        return Blocked(None, state.rule, exc.message)


def _limit_price(mark: Decimal, side: Side, limit_bps: Decimal) -> Decimal:
    """The least favourable price a target slice accepts: mark +/- limit_bps."""
    return mark * (BPS + side.sign * limit_bps) / BPS
