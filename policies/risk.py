"""Pre-trade risk checks, the gate that runs them, and the loss limits that trip kill switches.

Every per-order check is a small pure function `(policy, order, portfolio) -> str | None`:
None passes, a string is the denial text (`max_order_notional 50000 < 61250.00`: the
limit, then the offending value). `CHECKS` maps each policy key to its check; the gate runs
the ones a policy sets, for every policy whose scope covers the order, and all must pass.

Key                      measures (and passes when)
=======================  ==================================================================
allow_symbols            the symbol is listed
block_symbols            the symbol is not listed
reduce_only              the order (plus the account's other live orders on its side) does
                         not exceed the position it reduces
max_order_size           order size <= limit
max_order_notional       order size x price <= limit (price: limit, or worst for market)
price_band_bps           |price - mark| / mark in bps <= limit (fat-finger guard)
max_open_orders          the account's live orders in scope, plus this one, <= limit
max_position_notional    |position + live orders on this side + this order| x mark <= limit;
                         `aggregate = true`: the net of that asset over every account and
                         venue in scope, each valued at its own venue's mark
max_gross_notional       the account's sum of |position| x mark over symbols in scope, with
                         this symbol taken as above, <= limit
max_leverage             that gross notional / account equity <= limit
max_orders_per_second    a token bucket per (policy, account), burst = max(rate, 1); taken
                         only when every check of every policy passes
daily_loss_limit         not per order: `loss_trips` reports a breach (see policies.pnl)
max_drawdown             not per order: `loss_trips` reports a breach
=======================  ==================================================================

Exposure checks count the account's other live orders on the order's side of the same
symbol as if they filled (the worst case), but never the order named by
`OrderCheck.replaces` (an edit or cancel-replace). An order that does not increase the
exposure a limit measures always passes that limit, so a position that drifted over its
limit as the mark moved can still be cut. Checks that value a position need the mark: with
`mark = None` they deny, unless the order only reduces the account's own position (the
aggregate limit cannot tell without the mark, so it denies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Any

from perpd.config import PolicyConfig, PolicyScope
from perpd.errors import Denied
from perpd.model import BPS, ZERO, Market, Order, OrderSpec, base_asset
from perpd.ratelimit import TokenBucket
from perpd.portfolio import AccountState, Portfolio
from policies.pnl import PnlTracker

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrderCheck:
    """One order as the gate sees it; the engine resolves the account and prices first."""

    spec: OrderSpec  # account already resolved (spec.account set)
    venue: str
    market: Market | None
    price: Decimal  # limit price; for market/trigger-market orders the worst price
    mark: Decimal | None  # venue mark price; None if unknown (checks needing it deny)
    now_ms: int
    replaces: str | None = None  # client id of the live order this one replaces, if any
    # What one evaluation derived from the portfolio (sizes, gross), shared by the checks
    # that need it; the gate empties it before each evaluation, so it never outlives one.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.spec.account is None:
            raise ValueError("OrderCheck needs an order with its account resolved")

    @property
    def account(self) -> str:
        assert self.spec.account is not None
        return self.spec.account

    @property
    def symbol(self) -> str:
        return self.spec.symbol


@dataclass(frozen=True)
class Trip:
    """A loss limit breached: the engine halts `scope`, cancels its orders, journals `reason`."""

    policy: str
    scope: PolicyScope
    limit: str
    reason: str
    account: str = ""
    value: Decimal = Decimal(0)  # the loss measured, in quote
    limit_value: Decimal = Decimal(0)


Check = Callable[[PolicyConfig, OrderCheck, Portfolio], str | None]

# --------------------------------------------------------------------------- formatting


def _num(value: Decimal | int) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _ceil(value: Decimal) -> str:
    # Rounded up, so a value shown as over its limit never prints as equal to it; with the
    # digits to do so, as an order's notional may have more than the default 28 (size and
    # price may each be up to 1e15).
    with localcontext() as context:
        context.prec = max(context.prec, value.adjusted() + 3)
        return format(value.quantize(_CENT, rounding=ROUND_CEILING), "f")


def _no_mark(key: str, order: OrderCheck) -> str:
    return f"{key}: no mark price for {order.symbol} on {order.venue}"


# --------------------------------------------------------------------------- exposure


def _state(order: OrderCheck, portfolio: Portfolio) -> AccountState:
    state = portfolio.accounts.get(order.account)
    return state if state is not None else AccountState(order.account, order.venue)


def _same_side(state: AccountState, order: OrderCheck, symbol: str | None = None) -> Iterator[Order]:
    """The account's other live orders on the order's side (of `symbol`, or any symbol)."""
    for live in state.live_orders(symbol):
        if live.side is order.spec.side and live.client_id != order.replaces:
            yield live


def _symbol_sizes(order: OrderCheck, portfolio: Portfolio) -> tuple[Decimal, Decimal]:
    """Signed worst-case position in the order's symbol, before and after this order."""
    sizes = order.memo.get("sizes")
    if sizes is None:
        state = _state(order, portfolio)
        sign = order.spec.side.sign
        pending = sum((o.remaining for o in _same_side(state, order, order.symbol)), ZERO)
        before = state.position_size(order.symbol) + sign * pending
        sizes = order.memo["sizes"] = (before, before + sign * order.spec.size)
    return sizes


def _mark_for(portfolio: Portfolio, order: OrderCheck, venue: str, symbol: str, fallback: Decimal | None) -> Decimal:
    if venue == order.venue and symbol == order.symbol and order.mark is not None:
        return order.mark
    return portfolio.mark(venue, symbol) or fallback or order.mark or ZERO


def _asset_exposure(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> tuple[Decimal, Decimal]:
    """|net notional| of the order's asset over accounts and venues in scope, before/after."""
    assert order.mark is not None
    # Unified symbols are ASSET-PERP on every venue: the same asset is the same symbol.
    symbol, sign = order.symbol, order.spec.side.sign
    net = ZERO
    for state in portfolio.accounts.values():
        if not policy.scope.covers(state.account, state.venue, None):
            continue
        size = state.position_size(symbol)
        if size:
            reported = state.positions.get(symbol)
            net += size * _mark_for(portfolio, order, state.venue, symbol, reported.mark_price if reported else None)
        for live in state.live_orders(symbol):
            if live.side is not order.spec.side:
                continue
            if state.account == order.account and live.client_id == order.replaces:
                continue
            net += sign * live.remaining * _mark_for(portfolio, order, state.venue, symbol, None)
    return abs(net), abs(net + sign * order.spec.size * order.mark)


def _gross(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> tuple[Decimal, Decimal] | None:
    """The account's gross notional in scope before/after; None if a mark is missing.
    Computed once per evaluation and scope (max_gross_notional and max_leverage share it)."""
    key = ("gross", policy.scope.symbols)
    if key not in order.memo:
        order.memo[key] = _gross_of(policy, order, portfolio)
    return order.memo[key]


def _gross_of(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> tuple[Decimal, Decimal] | None:
    state = _state(order, portfolio)
    every_symbol = "*" in policy.scope.symbols
    others = ZERO
    for symbol, size in state.position_sizes().items():
        if symbol != order.symbol and (every_symbol or symbol in policy.scope.symbols):
            reported = state.positions.get(symbol)
            price = portfolio.mark(state.venue, symbol) or (reported and (reported.mark_price or reported.entry_price))
            others += abs(size) * (price or ZERO)
    before, after = _symbol_sizes(order, portfolio)
    if abs(after) <= abs(before):
        return ZERO, ZERO  # only reduces: passes whatever the mark
    if order.mark is None:
        return None
    return others + abs(before) * order.mark, others + abs(after) * order.mark


def _over(key: str, limit: Decimal, before: Decimal, after: Decimal) -> str | None:
    # An order that does not increase the exposure passes, so an over-limit position can be cut.
    if after <= limit or after <= before:
        return None
    return f"{key} {_num(limit)} < {_ceil(after)}"


# --------------------------------------------------------------------------- checks


def check_allow_symbols(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    allowed = policy.allow_symbols or ()
    if order.symbol in allowed:
        return None
    return f"allow_symbols {','.join(allowed)}: {order.symbol} is not allowed"


def check_block_symbols(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    if order.symbol not in policy.block_symbols:
        return None
    return f"block_symbols {','.join(policy.block_symbols)}: {order.symbol} is blocked"


def check_reduce_only(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    state = _state(order, portfolio)
    position = state.position_size(order.symbol)
    pending = sum((o.remaining for o in _same_side(state, order, order.symbol)), ZERO)
    if position * order.spec.side.sign < 0 and order.spec.size + pending <= abs(position):
        return None
    side, size = order.spec.side.value, _num(order.spec.size)
    text = f"reduce_only: {side} {size} would not reduce position {_num(position)}"
    return text + (f" (already {_num(pending)} on open {side} orders)" if pending else "")


def check_max_order_size(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    limit = policy.max_order_size
    assert limit is not None
    return None if order.spec.size <= limit else f"max_order_size {_num(limit)} < {_num(order.spec.size)}"


def check_max_order_notional(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    limit = policy.max_order_notional
    assert limit is not None
    notional = order.spec.size * order.price
    return None if notional <= limit else f"max_order_notional {_num(limit)} < {_ceil(notional)}"


def check_price_band_bps(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    limit = policy.price_band_bps
    assert limit is not None
    if order.mark is None or order.mark <= 0:
        return _no_mark("price_band_bps", order)
    deviation = abs(order.price - order.mark) / order.mark * BPS
    if deviation <= limit:
        return None
    return (
        f"price_band_bps {_num(limit)} < {_ceil(deviation)} "
        f"(price {_num(order.price)} vs mark {_num(order.mark)})"
    )


def check_max_open_orders(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    limit = policy.max_open_orders
    assert limit is not None
    state = _state(order, portfolio)
    # The account and venue are in scope (the gate checked them for this order); only the
    # symbols may narrow it.
    symbols = None if "*" in policy.scope.symbols else policy.scope.symbols
    count = 1 + sum(
        1
        for live in state.live_orders()
        if live.client_id != order.replaces and (symbols is None or live.symbol in symbols)
    )
    return None if count <= limit else f"max_open_orders {limit} < {count}"


def check_max_position_notional(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    limit = policy.max_position_notional
    assert limit is not None
    if policy.aggregate:
        if order.mark is None:
            return _no_mark("max_position_notional", order)
        before, after = _asset_exposure(policy, order, portfolio)
        text = _over("max_position_notional", limit, before, after)
        return None if text is None else f"{text} (aggregate {base_asset(order.symbol)})"
    size_before, size_after = _symbol_sizes(order, portfolio)
    if abs(size_after) <= abs(size_before):
        return None
    if order.mark is None:
        return _no_mark("max_position_notional", order)
    return _over("max_position_notional", limit, abs(size_before) * order.mark, abs(size_after) * order.mark)


def check_max_gross_notional(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    limit = policy.max_gross_notional
    assert limit is not None
    gross = _gross(policy, order, portfolio)
    if gross is None:
        return _no_mark("max_gross_notional", order)
    return _over("max_gross_notional", limit, *gross)


def check_max_leverage(policy: PolicyConfig, order: OrderCheck, portfolio: Portfolio) -> str | None:
    limit = policy.max_leverage
    assert limit is not None
    gross = _gross(policy, order, portfolio)
    if gross is None:
        return _no_mark("max_leverage", order)
    before, after = gross
    if after <= before:
        return None
    balance = _state(order, portfolio).balance
    if balance is None or balance.equity <= 0:
        return f"max_leverage {_num(limit)}: no positive equity known for account {order.account}"
    return _over("max_leverage", limit, before / balance.equity, after / balance.equity)


CHECKS: dict[str, Check] = {
    # Cheap, state-free checks first: the first denial is the one reported.
    "allow_symbols": check_allow_symbols,
    "block_symbols": check_block_symbols,
    "reduce_only": check_reduce_only,
    "max_order_size": check_max_order_size,
    "max_order_notional": check_max_order_notional,
    "price_band_bps": check_price_band_bps,
    "max_open_orders": check_max_open_orders,
    "max_position_notional": check_max_position_notional,
    "max_gross_notional": check_max_gross_notional,
    "max_leverage": check_max_leverage,
}
"""Policy key -> its per-order check. `max_orders_per_second` is the gate's token bucket."""

LossMeasure = Callable[[PnlTracker, str, str, int], Decimal]

LOSS_LIMITS: dict[str, LossMeasure] = {
    "daily_loss_limit": lambda pnl, account, reset, now_ms: -pnl.pnl(account, reset, now_ms),
    "max_drawdown": lambda pnl, account, reset, now_ms: pnl.drawdown(account, reset, now_ms),
}
"""Policy key -> what it measures on one account (a loss is positive); over the limit trips."""


def _is_set(value: object) -> bool:
    return value is not None and value is not False and value != ()


# --------------------------------------------------------------------------- rate


def _order_bucket(rate: Decimal) -> TokenBucket:
    # A rate under 1/s still allows one order.
    return TokenBucket(rate, max(rate, Decimal(1)))


# --------------------------------------------------------------------------- gate


class RiskGate:
    """Runs every applicable policy's checks on an order; all must pass.

    Pure over its inputs except for the token buckets of `max_orders_per_second`, which
    `check` consumes (only when the order passes) and `would_pass` never touches.
    """

    def __init__(self, policies: Sequence[PolicyConfig]) -> None:
        self.policies = tuple(policies)
        self._checks = [
            (policy, tuple((key, check) for key, check in CHECKS.items() if _is_set(getattr(policy, key))))
            for policy in self.policies
        ]
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def reloaded(self, policies: Sequence[PolicyConfig]) -> RiskGate:
        """A gate for new policies that keeps the buckets of policies whose rate is unchanged."""
        gate = RiskGate(policies)
        rates = {p.name: p.max_orders_per_second for p in gate.policies}
        gate._buckets = {k: b for k, b in self._buckets.items() if rates.get(k[0]) == b.rate}
        return gate

    @property
    def reset_times(self) -> tuple[str, ...]:
        """The reset times (UTC HH:MM) the policies' loss limits need a PnlTracker to track."""
        return tuple(sorted({p.reset_time_utc for p in self.policies if _has_loss_limit(p)}))

    def applicable(self, order: OrderCheck) -> list[PolicyConfig]:
        return [p for p in self.policies if p.scope.covers(order.account, order.venue, order.symbol)]

    def check(self, order: OrderCheck, portfolio: Portfolio) -> None:
        """Raise Denied naming the first policy and limit that refuse; else take the rate tokens."""
        denial, taken = self._evaluate(order, portfolio)
        if denial is not None:
            raise denial
        for key, bucket in taken:
            self._buckets[key] = bucket
            bucket.try_take(now_ms=order.now_ms)

    def would_pass(self, order: OrderCheck, portfolio: Portfolio) -> bool:
        """Whether `check` would pass now; consumes nothing (for routing)."""
        denial, _ = self._evaluate(order, portfolio)
        return denial is None

    def _evaluate(self, order: OrderCheck, portfolio: Portfolio) -> tuple[Denied | None, list]:
        order.memo.clear()  # derived from the portfolio as it is now, not at an earlier call
        covering = [(p, checks) for p, checks in self._checks if p.scope.covers(order.account, order.venue, order.symbol)]
        for policy, checks in covering:
            for key, check in checks:
                text = check(policy, order, portfolio)
                if text is not None:
                    return _denied(policy.name, key, text), []
        taken = []
        for policy, _ in covering:
            rate = policy.max_orders_per_second
            if rate is None:
                continue
            key = (policy.name, order.account)
            bucket = self._buckets.get(key) or _order_bucket(rate)
            wait_ms = bucket.wait_ms(now_ms=order.now_ms)
            if wait_ms:
                text = f"max_orders_per_second {_num(rate)}: rate exceeded, next order in {wait_ms} ms"
                return _denied(policy.name, "max_orders_per_second", text), []
            taken.append((key, bucket))
        return None, taken

    def loss_trips(self, portfolio: Portfolio, pnl: PnlTracker, now_ms: int) -> list[Trip]:
        """Every loss limit breached now, per policy and account in its scope.

        Loss is measured on the whole account since the policy's reset time (policies.pnl);
        a trip's scope is the policy's scope narrowed to that account. Reports current
        breaches every time (the engine keeps what it already tripped); the only effect is
        that `pnl` starts tracking any reset time a policy needs and it lacked.
        """
        pnl.track(*self.reset_times)  # idempotent: a reload may have added a reset time
        trips = []
        for policy in self.policies:
            limits = [(key, measure) for key, measure in LOSS_LIMITS.items() if getattr(policy, key) is not None]
            if not limits:
                continue
            for name in sorted(portfolio.accounts):
                state = portfolio.accounts[name]
                if not policy.scope.covers(name, state.venue, None):
                    continue
                for key, measure in limits:
                    limit, value = getattr(policy, key), measure(pnl, name, policy.reset_time_utc, now_ms)
                    if value > limit:
                        reason = (
                            f'policy "{policy.name}": {key} {_num(limit)} < {_ceil(value)} '
                            f"(account {name} since {policy.reset_time_utc} UTC)"
                        )
                        scope = policy.scope.model_copy(update={"accounts": (name,)})
                        trips.append(Trip(policy.name, scope, key, reason, name, value, limit))
        return trips


def _has_loss_limit(policy: PolicyConfig) -> bool:
    return any(getattr(policy, key) is not None for key in LOSS_LIMITS)


def _denied(policy: str, key: str, text: str) -> Denied:
    return Denied(f'denied by policy "{policy}": {text}', policy=policy, limit=key)
