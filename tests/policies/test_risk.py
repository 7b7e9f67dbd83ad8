"""The risk gate: every check (as properties), scoping, several policies, the token bucket,
the denial message, and loss limits reported as kill-switch trips."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpd.config import PolicyConfig
from perpd.errors import Denied
from perpd.model import OrderStatus, Side
from perpd.portfolio import Portfolio
from policies.pnl import PnlTracker
from policies.risk import BPS, CHECKS, LOSS_LIMITS, OrderCheck, RiskGate
from policy_world import D, add_order, check, fill, policy, set_mark, set_position, world

PROPERTY = settings(max_examples=100, deadline=None)
sizes = st.decimals(min_value="0.001", max_value="20", places=3)
positions = st.decimals(min_value="-20", max_value="20", places=3)
marks = st.decimals(min_value="10", max_value="150000", places=1)
notionals = st.decimals(min_value="1", max_value="3000000", places=2)
sides = st.sampled_from(Side)
LIVE = [OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING, OrderStatus.UNKNOWN]
DONE = [OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED]
DAY0 = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000


def denial(gate: RiskGate, order: OrderCheck, portfolio: Portfolio) -> Denied | None:
    try:
        gate.check(order, portfolio)
    except Denied as exc:
        return exc
    return None


def shown_value(exc: Denied) -> Decimal:
    """The offending value of `... LIMIT < VALUE [...]`."""
    return D(exc.message.split(" < ", 1)[1].split(" ", 1)[0])


def f(value: Decimal) -> str:
    return format(value, "f")


# --------------------------------------------------------------------------- message and table


def test_denial_names_the_policy_then_the_limit_then_the_offending_value() -> None:
    gate = RiskGate([policy("house", max_order_notional=50000)])
    with pytest.raises(Denied) as caught:
        gate.check(check("alpha", Side.BUY, "0.5", "122500"), world())
    assert caught.value.message == 'denied by policy "house": max_order_notional 50000 < 61250.00'
    assert (caught.value.policy, caught.value.limit) == ("house", "max_order_notional")
    assert caught.value.to_dict()["error"]["details"] == {"policy": "house", "limit": "max_order_notional"}


def test_a_notional_past_28_digits_is_denied_not_a_crash() -> None:
    # The API lets size and price each reach 1e15 (found by the API fuzzer: a 500).
    gate = RiskGate([policy("house", max_order_notional=50000)])
    with pytest.raises(Denied) as caught:
        gate.check(check("alpha", Side.BUY, "905920814254740.5", "42233886445930.85"), world())
    assert caught.value.limit == "max_order_notional"
    assert shown_value(caught.value) >= D("905920814254740.5") * D("42233886445930.85")


def test_every_policy_key_is_checked_per_order_by_the_bucket_or_as_a_loss_limit() -> None:
    not_limits = {"name", "scope", "aggregate", "reset_time_utc"}
    keys = set(PolicyConfig.model_fields) - not_limits
    assert keys == set(CHECKS) | set(LOSS_LIMITS) | {"max_orders_per_second"}


def test_a_policy_with_no_limits_passes_everything() -> None:
    RiskGate([policy("empty")]).check(check("alpha", Side.BUY, "1000", "1"), world())


# --------------------------------------------------------------------------- per-order checks


@PROPERTY
@given(size=sizes, limit=sizes)
def test_max_order_size_passes_exactly_the_orders_within_it(size: Decimal, limit: Decimal) -> None:
    exc = denial(RiskGate([policy(max_order_size=limit)]), check("alpha", Side.SELL, size, "100"), world())
    if size <= limit:
        assert exc is None
    else:
        assert exc is not None and exc.message.endswith(f"max_order_size {f(limit)} < {f(size)}")


@PROPERTY
@given(size=sizes, price=marks, limit=notionals)
def test_max_order_notional_passes_exactly_the_orders_within_it(size: Decimal, price: Decimal, limit: Decimal) -> None:
    exc = denial(RiskGate([policy(max_order_notional=limit)]), check("beta", Side.BUY, size, price), world())
    if size * price <= limit:
        assert exc is None
    else:
        assert exc is not None and exc.limit == "max_order_notional"
        assert shown_value(exc) >= size * price > limit


@PROPERTY
@given(
    price=st.decimals(min_value="90", max_value="110", places=2),
    mark=st.decimals(min_value="90", max_value="110", places=2),
    band=st.decimals(min_value="1", max_value="2500", places=1),
)
def test_price_band_passes_exactly_the_prices_within_the_band_of_the_mark(
    price: Decimal, mark: Decimal, band: Decimal
) -> None:
    exc = denial(RiskGate([policy(price_band_bps=band)]), check("alpha", Side.BUY, "1", price, mark=mark), world())
    deviation = abs(price - mark) / mark * BPS
    if deviation <= band:
        assert exc is None
    else:
        assert exc is not None and exc.limit == "price_band_bps"
        assert shown_value(exc) >= deviation > band
        assert f"(price {f(price)} vs mark {f(mark)})" in exc.message


def test_price_band_denies_when_the_mark_is_unknown() -> None:
    exc = denial(RiskGate([policy(price_band_bps=50)]), check("gamma", Side.SELL, "1", "100"), world())
    assert exc is not None
    assert exc.message == 'denied by policy "house": price_band_bps: no mark price for BTC-PERP on sim-b'


@PROPERTY
@given(
    live=st.lists(st.sampled_from(LIVE), max_size=8),
    done=st.lists(st.sampled_from(DONE), max_size=3),
    limit=st.integers(min_value=1, max_value=8),
    replaces=st.booleans(),
)
def test_max_open_orders_counts_live_orders_plus_this_one(
    live: list[OrderStatus], done: list[OrderStatus], limit: int, replaces: bool
) -> None:
    portfolio = world()
    for i, status in enumerate(live):
        add_order(portfolio, "alpha", "ETH-PERP" if i % 2 else "BTC-PERP", Side.BUY, "1", client_id=f"l{i}", status=status)
    for i, status in enumerate(done):
        add_order(portfolio, "alpha", "BTC-PERP", Side.BUY, "1", client_id=f"d{i}", status=status)
    add_order(portfolio, "beta", "BTC-PERP", Side.BUY, "1", client_id="other-account")
    replaced = "l0" if replaces and live else None
    exc = denial(RiskGate([policy(max_open_orders=limit)]), check("alpha", Side.BUY, "1", "100", replaces=replaced), portfolio)
    count = len(live) + 1 - (1 if replaced else 0)
    if count <= limit:
        assert exc is None
    else:
        assert exc is not None and exc.message.endswith(f"max_open_orders {limit} < {count}")


def test_max_open_orders_counts_only_the_symbols_in_scope() -> None:
    portfolio = world()
    add_order(portfolio, "alpha", "ETH-PERP", Side.BUY, "1", client_id="e1")
    add_order(portfolio, "alpha", "ETH-PERP", Side.SELL, "1", client_id="e2")
    gate = RiskGate([policy(symbols=("BTC",), max_open_orders=1)])
    gate.check(check("alpha", Side.BUY, "1", "100"), portfolio)
    add_order(portfolio, "alpha", "BTC-PERP", Side.BUY, "1", client_id="b1")
    assert denial(gate, check("alpha", Side.BUY, "1", "100"), portfolio) is not None


@PROPERTY
@given(
    position=positions,
    pending=st.lists(sizes, max_size=2),
    opposite=st.lists(sizes, max_size=2),
    side=sides,
    size=sizes,
    mark=marks,
    limit=notionals,
)
def test_max_position_notional_never_passes_an_order_that_grows_the_position_past_it(
    position: Decimal,
    pending: list[Decimal],
    opposite: list[Decimal],
    side: Side,
    size: Decimal,
    mark: Decimal,
    limit: Decimal,
) -> None:
    portfolio = world()
    set_position(portfolio, "alpha", "BTC-PERP", position)
    for i, amount in enumerate(pending):
        add_order(portfolio, "alpha", "BTC-PERP", side, amount, client_id=f"p{i}")
    for i, amount in enumerate(opposite):
        add_order(portfolio, "alpha", "BTC-PERP", side.opposite, amount, client_id=f"o{i}")
    exc = denial(RiskGate([policy(max_position_notional=limit)]), check("alpha", side, size, mark, mark=mark), portfolio)
    before = position + side.sign * sum(pending, D(0))
    after = before + side.sign * size
    if abs(after) * mark <= limit or abs(after) <= abs(before):
        assert exc is None
    else:
        assert exc is not None and exc.limit == "max_position_notional"
        assert shown_value(exc) >= abs(after) * mark > limit


def test_max_position_notional_denies_growth_without_a_mark_but_lets_a_reduction_through() -> None:
    portfolio = world()
    set_position(portfolio, "alpha", "BTC-PERP", "2")
    gate = RiskGate([policy(max_position_notional=1_000_000)])
    exc = denial(gate, check("alpha", Side.BUY, "1", "100"), portfolio)
    assert exc is not None and exc.message.endswith("max_position_notional: no mark price for BTC-PERP on sim-a")
    gate.check(check("alpha", Side.SELL, "1", "100"), portfolio)


def test_an_order_that_replaces_a_live_one_is_not_counted_twice() -> None:
    portfolio = world()
    set_mark(portfolio, "sim-a", "BTC-PERP", "100")
    add_order(portfolio, "alpha", "BTC-PERP", Side.BUY, "8", client_id="resting")
    gate = RiskGate([policy(max_position_notional=1000)])
    assert denial(gate, check("alpha", Side.BUY, "8", "100", portfolio=portfolio), portfolio) is not None
    gate.check(check("alpha", Side.BUY, "8", "100", portfolio=portfolio, replaces="resting"), portfolio)


@PROPERTY
@given(
    held=st.fixed_dictionaries({name: positions for name in ("alpha", "beta", "gamma")}),
    mark_a=marks,
    mark_b=marks,
    account=st.sampled_from(["alpha", "beta", "gamma"]),
    side=sides,
    size=sizes,
    limit=notionals,
)
def test_aggregate_position_limit_nets_the_asset_across_both_venues_and_all_accounts(
    held: dict[str, Decimal],
    mark_a: Decimal,
    mark_b: Decimal,
    account: str,
    side: Side,
    size: Decimal,
    limit: Decimal,
) -> None:
    portfolio = world()
    set_mark(portfolio, "sim-a", "BTC-PERP", mark_a)
    set_mark(portfolio, "sim-b", "BTC-PERP", mark_b)
    for name, amount in held.items():
        set_position(portfolio, name, "BTC-PERP", amount)
    gate = RiskGate([policy(max_position_notional=limit, aggregate=True)])
    exc = denial(gate, check(account, side, size, "100", portfolio=portfolio), portfolio)
    venue_mark = {"alpha": mark_a, "beta": mark_a, "gamma": mark_b}
    before = sum((amount * venue_mark[name] for name, amount in held.items()), D(0))
    after = before + side.sign * size * venue_mark[account]
    if abs(after) <= limit or abs(after) <= abs(before):
        assert exc is None
    else:
        assert exc is not None and exc.message.endswith("(aggregate BTC)")
        assert shown_value(exc) >= abs(after) > limit


def test_aggregate_limit_counts_positions_on_the_other_venue_where_a_per_account_limit_does_not() -> None:
    portfolio = world()
    for venue in ("sim-a", "sim-b"):
        set_mark(portfolio, venue, "BTC-PERP", "100000")
    set_position(portfolio, "alpha", "BTC-PERP", "1")
    set_position(portfolio, "gamma", "BTC-PERP", "1")
    order = check("alpha", Side.BUY, "0.6", "100000", portfolio=portfolio)
    RiskGate([policy(max_position_notional=250000)]).check(order, portfolio)
    exc = denial(RiskGate([policy(max_position_notional=250000, aggregate=True)]), order, portfolio)
    assert exc is not None
    assert exc.message == 'denied by policy "house": max_position_notional 250000 < 260000.00 (aggregate BTC)'
    # Scoped to sim-a only, gamma's position on sim-b is outside the aggregate.
    RiskGate([policy(venues=("sim-a",), max_position_notional=250000, aggregate=True)]).check(order, portfolio)


def test_aggregate_limit_counts_live_orders_on_the_same_side_of_other_accounts() -> None:
    portfolio = world()
    for venue in ("sim-a", "sim-b"):
        set_mark(portfolio, venue, "BTC-PERP", "100")
    add_order(portfolio, "gamma", "BTC-PERP", Side.BUY, "5", client_id="g1")
    add_order(portfolio, "beta", "BTC-PERP", Side.SELL, "50", client_id="b1")  # other side: not counted
    gate = RiskGate([policy(max_position_notional=1000, aggregate=True)])
    gate.check(check("alpha", Side.BUY, "5", "100", portfolio=portfolio), portfolio)
    exc = denial(gate, check("alpha", Side.BUY, "5.1", "100", portfolio=portfolio), portfolio)
    assert exc is not None and "1000 < 1010.00" in exc.message


@PROPERTY
@given(btc=positions, eth=positions, side=sides, size=sizes, mark=marks, eth_mark=marks, limit=notionals)
def test_max_gross_notional_sums_every_position_of_the_account(
    btc: Decimal, eth: Decimal, side: Side, size: Decimal, mark: Decimal, eth_mark: Decimal, limit: Decimal
) -> None:
    portfolio = world()
    set_mark(portfolio, "sim-a", "BTC-PERP", mark)
    set_mark(portfolio, "sim-a", "ETH-PERP", eth_mark)
    set_position(portfolio, "alpha", "BTC-PERP", btc)
    set_position(portfolio, "alpha", "ETH-PERP", eth)
    set_position(portfolio, "beta", "ETH-PERP", "1000")  # another account: not in alpha's gross
    exc = denial(RiskGate([policy(max_gross_notional=limit)]), check("alpha", side, size, mark, portfolio=portfolio), portfolio)
    after = abs(eth) * eth_mark + abs(btc + side.sign * size) * mark
    if after <= limit or abs(btc + side.sign * size) <= abs(btc):
        assert exc is None
    else:
        assert exc is not None and exc.limit == "max_gross_notional"
        assert shown_value(exc) >= after > limit


@PROPERTY
@given(
    btc=positions,
    eth=positions,
    side=sides,
    size=sizes,
    mark=marks,
    equity=st.decimals(min_value="100", max_value="1000000", places=2),
    limit=st.decimals(min_value="0.5", max_value="50", places=1),
)
def test_max_leverage_is_resulting_gross_notional_over_equity(
    btc: Decimal, eth: Decimal, side: Side, size: Decimal, mark: Decimal, equity: Decimal, limit: Decimal
) -> None:
    portfolio = world(equity=str(equity))
    set_mark(portfolio, "sim-b", "BTC-PERP", mark)
    set_mark(portfolio, "sim-b", "ETH-PERP", "2000")
    set_position(portfolio, "gamma", "BTC-PERP", btc)
    set_position(portfolio, "gamma", "ETH-PERP", eth)
    exc = denial(RiskGate([policy(max_leverage=limit)]), check("gamma", side, size, mark, portfolio=portfolio), portfolio)
    leverage = (abs(eth) * 2000 + abs(btc + side.sign * size) * mark) / equity
    if leverage <= limit or abs(btc + side.sign * size) <= abs(btc):
        assert exc is None
    else:
        assert exc is not None and exc.limit == "max_leverage"
        assert shown_value(exc) >= leverage > limit


def test_one_order_check_evaluated_again_sees_the_portfolio_as_it_is_now() -> None:
    """Sizes and gross notional are worked out once per evaluation and shared by the checks
    that need them (gross and leverage); a second evaluation works them out afresh."""
    portfolio = world(equity="100000")
    set_mark(portfolio, "sim-a", "BTC-PERP", "100000")
    gate = RiskGate([policy(max_gross_notional=150_000, max_leverage=2, max_position_notional=150_000)])
    order = check("alpha", Side.BUY, D("1"), D("100000"), portfolio=portfolio)
    assert gate.would_pass(order, portfolio)
    set_position(portfolio, "alpha", "BTC-PERP", "1")  # filled meanwhile: 2 BTC would be 200,000
    exc = denial(gate, order, portfolio)
    assert exc is not None and exc.limit == "max_position_notional"
    set_position(portfolio, "alpha", "BTC-PERP", "0")
    assert gate.would_pass(order, portfolio)


def test_max_leverage_denies_growth_when_equity_is_unknown() -> None:
    portfolio = world()
    portfolio.accounts["beta"].balance = None
    set_mark(portfolio, "sim-a", "BTC-PERP", "100")
    exc = denial(RiskGate([policy(max_leverage=3)]), check("beta", Side.BUY, "1", "100", portfolio=portfolio), portfolio)
    assert exc is not None and exc.message.endswith("max_leverage 3: no positive equity known for account beta")


@PROPERTY
@given(
    symbol=st.sampled_from(["BTC-PERP", "ETH-PERP", "SOL-PERP"]),
    allowed=st.sets(st.sampled_from(["BTC", "ETH", "SOL"]), min_size=1),
    blocked=st.sets(st.sampled_from(["BTC", "ETH", "SOL"])),
)
def test_allow_and_block_symbols_pass_exactly_listed_and_unblocked_symbols(
    symbol: str, allowed: set[str], blocked: set[str]
) -> None:
    portfolio = world()
    allow_exc = denial(RiskGate([policy(allow_symbols=sorted(allowed))]), check("alpha", Side.BUY, "1", "1", symbol=symbol), portfolio)
    block_exc = denial(RiskGate([policy(block_symbols=sorted(blocked))]), check("alpha", Side.BUY, "1", "1", symbol=symbol), portfolio)
    base = symbol.removesuffix("-PERP")
    assert (allow_exc is None) == (base in allowed)
    assert (block_exc is None) == (base not in blocked)
    if allow_exc is not None:
        assert allow_exc.message.endswith(f"{symbol} is not allowed")
    if block_exc is not None:
        assert block_exc.message.endswith(f"{symbol} is blocked")


@PROPERTY
@given(position=positions, pending=st.lists(sizes, max_size=2), side=sides, size=sizes)
def test_reduce_only_passes_exactly_the_orders_that_cannot_grow_or_flip_the_position(
    position: Decimal, pending: list[Decimal], side: Side, size: Decimal
) -> None:
    portfolio = world()
    set_position(portfolio, "gamma", "BTC-PERP", position)
    for i, amount in enumerate(pending):
        add_order(portfolio, "gamma", "BTC-PERP", side, amount, client_id=f"r{i}")
    exc = denial(RiskGate([policy(reduce_only=True)]), check("gamma", side, size, "100"), portfolio)
    reduces = position * side.sign < 0 and size + sum(pending, D(0)) <= abs(position)
    assert (exc is None) == reduces
    if exc is not None:
        assert exc.limit == "reduce_only"
        assert D(exc.message.split("would not reduce position ")[1].split(" ")[0]) == position


# --------------------------------------------------------------------------- scope and several policies


@pytest.mark.parametrize(
    ("scope", "denied"),
    [
        ({}, {"alpha", "beta", "gamma"}),
        ({"accounts": ("alpha",)}, {"alpha"}),
        ({"accounts": ("alpha", "gamma"), "venues": ("sim-a",)}, {"alpha"}),
        ({"venues": ("sim-b",)}, {"gamma"}),
        ({"venues": ("*",), "symbols": ("ETH",)}, set()),
        ({"symbols": ("BTC", "ETH")}, {"alpha", "beta", "gamma"}),
    ],
)
def test_a_policy_applies_only_to_orders_its_scope_covers(scope: dict[str, tuple[str, ...]], denied: set[str]) -> None:
    gate = RiskGate([policy(max_order_size=1, **scope)])  # type: ignore[arg-type]
    portfolio = world()
    refused = {name for name in ("alpha", "beta", "gamma") if denial(gate, check(name, Side.BUY, "2", "1"), portfolio)}
    assert refused == denied


def test_every_applicable_policy_must_pass_and_the_refusing_one_is_named() -> None:
    gate = RiskGate(
        [
            policy("house", max_order_notional=1_000_000),
            policy("desk", accounts=("alpha",), max_order_size=1),
            policy("venue-b", venues=("sim-b",), block_symbols=["ETH"]),
        ]
    )
    portfolio = world()
    exc = denial(gate, check("alpha", Side.BUY, "2", "100"), portfolio)
    assert exc is not None and exc.policy == "desk" and exc.message == 'denied by policy "desk": max_order_size 1 < 2'
    gate.check(check("beta", Side.BUY, "2", "100"), portfolio)
    exc = denial(gate, check("gamma", Side.BUY, "2", "100", symbol="ETH"), portfolio)
    assert exc is not None and exc.policy == "venue-b"
    exc = denial(gate, check("alpha", Side.BUY, "20000", "100"), portfolio)
    assert exc is not None and exc.policy == "house"  # both refuse: the first in config order is named


def test_would_pass_answers_like_check() -> None:
    gate = RiskGate([policy(max_order_size=1)])
    portfolio = world()
    assert gate.would_pass(check("alpha", Side.BUY, "1", "1"), portfolio)
    assert not gate.would_pass(check("alpha", Side.BUY, "1.001", "1"), portfolio)


# --------------------------------------------------------------------------- token bucket


def test_rate_limit_allows_a_burst_of_its_rate_then_refills_with_time() -> None:
    gate = RiskGate([policy(max_orders_per_second=2)])
    portfolio = world()
    gate.check(check("alpha", Side.BUY, "1", "1", now_ms=1000), portfolio)
    gate.check(check("alpha", Side.BUY, "1", "1", now_ms=1000), portfolio)
    exc = denial(gate, check("alpha", Side.BUY, "1", "1", now_ms=1000), portfolio)
    assert exc is not None
    assert exc.message == 'denied by policy "house": max_orders_per_second 2: rate exceeded, next order in 500 ms'
    exc = denial(gate, check("alpha", Side.BUY, "1", "1", now_ms=1499), portfolio)
    assert exc is not None and exc.message.endswith("next order in 1 ms")
    gate.check(check("alpha", Side.BUY, "1", "1", now_ms=1500), portfolio)


def test_a_rate_under_one_per_second_still_allows_one_order() -> None:
    gate = RiskGate([policy(max_orders_per_second="0.5")])
    portfolio = world()
    gate.check(check("alpha", Side.BUY, "1", "1", now_ms=0), portfolio)
    assert denial(gate, check("alpha", Side.BUY, "1", "1", now_ms=1000), portfolio) is not None
    gate.check(check("alpha", Side.BUY, "1", "1", now_ms=2000), portfolio)


def test_rate_tokens_are_taken_only_when_every_check_passes() -> None:
    gate = RiskGate([policy("rate", max_orders_per_second=1), policy("size", max_order_size=1)])
    portfolio = world()
    for _ in range(3):
        assert denial(gate, check("alpha", Side.BUY, "2", "1"), portfolio) is not None
        assert gate.would_pass(check("alpha", Side.BUY, "1", "1"), portfolio)
    gate.check(check("alpha", Side.BUY, "1", "1"), portfolio)
    assert not gate.would_pass(check("alpha", Side.BUY, "1", "1"), portfolio)


def test_rate_buckets_are_per_policy_and_account() -> None:
    gate = RiskGate([policy(max_orders_per_second=1)])
    portfolio = world()
    gate.check(check("alpha", Side.BUY, "1", "1"), portfolio)
    assert denial(gate, check("alpha", Side.BUY, "1", "1"), portfolio) is not None
    gate.check(check("beta", Side.BUY, "1", "1"), portfolio)


def test_a_reloaded_gate_keeps_a_bucket_whose_rate_did_not_change() -> None:
    gate = RiskGate([policy("a", max_orders_per_second=1), policy("b", max_orders_per_second=1)])
    portfolio = world()
    gate.check(check("alpha", Side.BUY, "1", "1"), portfolio)
    reloaded = gate.reloaded([policy("a", max_orders_per_second=1), policy("b", max_orders_per_second=5)])
    exc = denial(reloaded, check("alpha", Side.BUY, "1", "1"), portfolio)
    assert exc is not None and exc.policy == "a"
    assert gate.reloaded([policy("a", max_orders_per_second=2), policy("b", max_orders_per_second=5)]).would_pass(
        check("alpha", Side.BUY, "1", "1"), portfolio
    )


@PROPERTY
@given(
    rate=st.decimals(min_value="0.5", max_value="20", places=1),
    gaps=st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=60),
)
def test_orders_passed_by_the_bucket_never_exceed_burst_plus_rate_times_elapsed(rate: Decimal, gaps: list[int]) -> None:
    gate = RiskGate([policy(max_orders_per_second=rate)])
    portfolio = world()
    now, passed = 0, []
    for gap in gaps:
        now += gap
        if denial(gate, check("alpha", Side.BUY, "1", "1", now_ms=now), portfolio) is None:
            passed.append(now)
    burst = max(rate, D(1))
    for i, start in enumerate(passed):
        for j in range(i, len(passed)):
            assert j - i + 1 <= burst + rate * (passed[j] - start) / 1000


# --------------------------------------------------------------------------- loss limits


def _long_one_btc(at_ms: int, reset_times: tuple[str, ...] = ("00:00",)) -> tuple[Portfolio, PnlTracker]:
    """alpha buys 1 BTC at 100000 paying a 20 fee; the venue reports the position."""
    portfolio = world()
    set_mark(portfolio, "sim-a", "BTC-PERP", "100000")
    tracker = PnlTracker(reset_times)
    tracker.on_fill(fill("alpha", Side.BUY, "1", "100000", ts_ms=at_ms, trade_id="t1", fee="20"))
    set_position(portfolio, "alpha", "BTC-PERP", "1", entry="100000")
    return portfolio, tracker


def _trips(gate: RiskGate, portfolio: Portfolio, tracker: PnlTracker, mark: str, now: int) -> list[tuple[str, str]]:
    set_mark(portfolio, "sim-a", "BTC-PERP", mark)
    tracker.on_marks(portfolio, now)
    return [(t.policy, t.limit) for t in gate.loss_trips(portfolio, tracker, now)]


def test_a_daily_loss_over_the_limit_trips_the_policy_scope_narrowed_to_that_account() -> None:
    portfolio, tracker = _long_one_btc(DAY0 + 9 * HOUR)
    gate = RiskGate([policy("house", venues=("sim-a",), daily_loss_limit=1500)])
    assert _trips(gate, portfolio, tracker, "98520", DAY0 + 10 * HOUR) == []  # 1480 + 20 fee: at the limit
    set_mark(portfolio, "sim-a", "BTC-PERP", "98490")
    now = DAY0 + 10 * HOUR + 1
    tracker.on_marks(portfolio, now)
    trips = gate.loss_trips(portfolio, tracker, now)
    assert len(trips) == 1
    assert trips[0].reason == 'policy "house": daily_loss_limit 1500 < 1530.00 (account alpha since 00:00 UTC)'
    assert (trips[0].policy, trips[0].limit) == ("house", "daily_loss_limit")
    assert (trips[0].scope.accounts, trips[0].scope.venues) == (("alpha",), ("sim-a",))


def test_drawdown_from_the_peak_trips_even_while_the_day_is_in_profit() -> None:
    portfolio, tracker = _long_one_btc(DAY0 + 9 * HOUR)
    gate = RiskGate([policy("house", daily_loss_limit=1500), policy("dd", accounts=("alpha",), max_drawdown=2000)])
    assert _trips(gate, portfolio, tracker, "103000", DAY0 + 10 * HOUR) == []  # +2980: the peak
    assert _trips(gate, portfolio, tracker, "101000", DAY0 + 11 * HOUR) == []  # 2000 off the peak
    assert _trips(gate, portfolio, tracker, "100900", DAY0 + 12 * HOUR) == [("dd", "max_drawdown")]


def test_loss_limits_start_again_from_zero_at_the_reset() -> None:
    portfolio, tracker = _long_one_btc(DAY0 + 9 * HOUR)
    gate = RiskGate([policy("house", daily_loss_limit=1500, max_drawdown=1500)])
    assert _trips(gate, portfolio, tracker, "98000", DAY0 + 23 * HOUR) == [
        ("house", "daily_loss_limit"),
        ("house", "max_drawdown"),
    ]
    assert gate.loss_trips(portfolio, tracker, DAY0 + 24 * HOUR) == []  # read after the reset
    assert _trips(gate, portfolio, tracker, "98000", DAY0 + 25 * HOUR) == []
    assert _trips(gate, portfolio, tracker, "96400", DAY0 + 26 * HOUR) == [
        ("house", "daily_loss_limit"),
        ("house", "max_drawdown"),
    ]


def test_each_policy_measures_its_loss_from_its_own_reset_time() -> None:
    portfolio, tracker = _long_one_btc(DAY0 + 7 * HOUR, ("00:00", "08:00"))
    gate = RiskGate(
        [
            policy("midnight", daily_loss_limit=1200),
            policy("morning", reset_time_utc="08:00", daily_loss_limit=1200),
        ]
    )
    assert gate.reset_times == ("00:00", "08:00")
    assert _trips(gate, portfolio, tracker, "99000", DAY0 + 7 * HOUR + 1800_000) == []  # -1020 since both
    assert _trips(gate, portfolio, tracker, "99000", DAY0 + 8 * HOUR + 1800_000) == []  # morning: 0 since 08:00
    assert _trips(gate, portfolio, tracker, "98500", DAY0 + 9 * HOUR) == [("midnight", "daily_loss_limit")]


def test_loss_trips_track_a_reset_time_the_tracker_was_not_built_with() -> None:
    portfolio, tracker = _long_one_btc(DAY0 + 9 * HOUR)  # tracks 00:00 only
    gate = RiskGate([policy("late", reset_time_utc="12:00", daily_loss_limit=100)])
    assert gate.loss_trips(portfolio, tracker, DAY0 + 12 * HOUR) == []
    assert tracker.reset_times == ("00:00", "12:00")
    assert _trips(gate, portfolio, tracker, "100000", DAY0 + 13 * HOUR) == []
    assert _trips(gate, portfolio, tracker, "99800", DAY0 + 14 * HOUR) == [("late", "daily_loss_limit")]
