"""Routing across two sim venues and three accounts (alpha, beta on sim-a; gamma on sim-b)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from perpd.config import RouteConfig
from perpd.errors import Denied
from perpd.model import OrderSpec, OrderType, Side, is_multiple
from perpd.portfolio import Portfolio
from policies.risk import OrderCheck, RiskGate
from policies.routing import Quote, RouteDecision, allocate, decide
from policy_world import D, market, policy, set_book, set_mark, set_position, world

ALL = ("alpha", "beta", "gamma")


def route(strategy: str, accounts: tuple[str, ...] = ALL, **extra: object) -> RouteConfig:
    return RouteConfig.model_validate({"name": "smart", "accounts": accounts, "strategy": strategy, **extra})


def order(side: Side = Side.BUY, size: str = "1", symbol: str = "BTC") -> OrderSpec:
    return OrderSpec(symbol, side, D(size), type=OrderType.MARKET, route="smart")


def anyone(account: str) -> bool:
    return True


def always(account: str, size: Decimal) -> bool:
    return True


def run(config: RouteConfig, spec: OrderSpec, portfolio: Portfolio, **kw: object) -> RouteDecision:
    return decide(config, spec, portfolio, enabled=kw.get("enabled", anyone), passes=kw.get("passes", always))  # type: ignore[arg-type]


def gate_passes(gate: RiskGate, portfolio: Portfolio, spec: OrderSpec):  # type: ignore[no-untyped-def]
    """`passes` as the engine builds it: the real gate's would_pass on that account."""

    def passes(account: str, size: Decimal) -> bool:
        venue = portfolio.accounts[account].venue
        leg = replace(spec.with_account(account), size=size)
        mark = portfolio.mark(venue, spec.symbol)
        check = OrderCheck(leg, venue, portfolio.market_data.market(venue, spec.symbol), mark or D(0), mark, now_ms=0)
        return gate.would_pass(check, portfolio)

    return passes


def two_books(fee_a: str = "0.0005", fee_b: str = "0.0001") -> Portfolio:
    """sim-a quotes 99990/100000 at a 5 bp taker fee; sim-b 100005/100020 at 1 bp."""
    portfolio = world()
    portfolio.market_data.markets[("sim-a", "BTC-PERP")] = market("sim-a", taker_fee=fee_a)
    portfolio.market_data.markets[("sim-b", "BTC-PERP")] = market("sim-b", taker_fee=fee_b)
    set_book(portfolio, "sim-a", "BTC-PERP", [("99990", "2"), ("99980", "5")], [("100000", "1.5"), ("100010", "4")])
    set_book(portfolio, "sim-b", "BTC-PERP", [("100005", "0.7")], [("100020", "3")])
    return portfolio


# --------------------------------------------------------------------------- best_price


def test_best_price_buys_where_the_ask_is_lowest_after_the_taker_fee() -> None:
    decision = run(route("best_price"), order(Side.BUY, "1"), two_books())
    assert decision.legs == (("gamma", D(1)),)  # 100020 x 1.0001 = 100030.002 < 100000 x 1.0005 = 100050
    assert decision.quotes == (
        Quote("alpha", "sim-a", D(100000), D("1.5"), D("100050.0000")),
        Quote("beta", "sim-a", D(100000), D("1.5"), D("100050.0000")),
        Quote("gamma", "sim-b", D(100020), D(3), D("100030.0020")),
    )
    assert decision.reason.startswith("best_price: gamma")


def test_best_price_sells_where_the_bid_is_highest_after_the_taker_fee() -> None:
    assert run(route("best_price"), order(Side.SELL), two_books()).legs == (("gamma", D(1)),)
    # sim-a's bid after fee: 99990 x 0.9995 = 99940.005; sim-b's 100005 at 4 bp is 99964.998, at 7 bp 99934.9965.
    assert run(route("best_price"), order(Side.SELL), two_books(fee_b="0.0004")).legs == (("gamma", D(1)),)
    assert run(route("best_price"), order(Side.SELL), two_books(fee_b="0.0007")).legs == (("alpha", D(1)),)


def test_best_price_breaks_ties_by_route_order() -> None:
    assert run(route("best_price", ("beta", "alpha")), order(), two_books()).legs == (("beta", D(1)),)
    assert run(route("best_price", ("alpha", "beta")), order(), two_books()).legs == (("alpha", D(1)),)


def test_best_price_skips_accounts_whose_risk_gate_would_refuse_the_order() -> None:
    portfolio = two_books()
    set_mark(portfolio, "sim-b", "BTC-PERP", "100010")
    gate = RiskGate([policy("small-b", venues=("sim-b",), max_order_size="0.5")])
    spec = order(Side.BUY, "1")
    decision = decide(route("best_price"), spec, portfolio, enabled=anyone, passes=gate_passes(gate, portfolio, spec))
    assert decision.legs == (("alpha", D(1)),)
    small = order(Side.BUY, "0.5")
    decision = decide(route("best_price"), small, portfolio, enabled=anyone, passes=gate_passes(gate, portfolio, small))
    assert decision.legs == (("gamma", D("0.5")),)


def test_best_price_without_any_book_or_any_passing_account_is_denied() -> None:
    with pytest.raises(Denied, match=r'^denied by route "smart": no buy quote for BTC-PERP on any candidate$'):
        run(route("best_price"), order(), world())
    with pytest.raises(Denied, match="the risk gate would refuse 1 BTC-PERP on every quoted account"):
        run(route("best_price"), order(), two_books(), passes=lambda account, size: False)


# --------------------------------------------------------------------------- fixed


def test_fixed_takes_the_first_enabled_account_that_trades_the_symbol() -> None:
    portfolio = two_books()
    assert run(route("fixed"), order(), portfolio).legs == (("alpha", D(1)),)
    assert run(route("fixed"), order(), portfolio, enabled=lambda a: a != "alpha").legs == (("beta", D(1)),)
    del portfolio.market_data.markets[("sim-a", "ETH-PERP")]
    assert run(route("fixed"), order(symbol="ETH"), portfolio).legs == (("gamma", D(1)),)


def test_no_candidate_is_denied_naming_the_route_and_why_each_account_was_skipped() -> None:
    portfolio = two_books()
    del portfolio.market_data.markets[("sim-b", "BTC-PERP")]
    with pytest.raises(Denied) as caught:
        run(route("fixed"), order(), portfolio, enabled=lambda a: a == "gamma")
    assert caught.value.message == (
        'denied by route "smart": no enabled account trades BTC-PERP '
        "(alpha: disabled; beta: disabled; gamma: sim-b has no BTC-PERP)"
    )


def test_a_route_that_does_not_list_the_symbol_is_denied() -> None:
    with pytest.raises(Denied, match='denied by route "smart": does not trade ETH-PERP'):
        run(route("fixed", symbols=["BTC"]), order(symbol="ETH"), two_books())


# --------------------------------------------------------------------------- least_exposure


def test_least_exposure_picks_the_smallest_absolute_position_in_the_asset() -> None:
    portfolio = two_books()
    set_position(portfolio, "alpha", "BTC-PERP", "1")
    set_position(portfolio, "beta", "BTC-PERP", "-0.5")
    set_position(portfolio, "gamma", "BTC-PERP", "0.7")
    set_position(portfolio, "gamma", "ETH-PERP", "-40")  # another asset: not counted
    decision = run(route("least_exposure"), order(Side.SELL, "0.2"), portfolio)
    assert decision.legs == (("beta", D("0.2")),)
    set_position(portfolio, "alpha", "BTC-PERP", "0.5")
    assert run(route("least_exposure"), order(), portfolio).legs == (("alpha", D(1)),)  # tie: route order


# --------------------------------------------------------------------------- split


def test_split_by_weights_sums_to_the_request_and_respects_each_lot() -> None:
    portfolio = two_books()
    portfolio.market_data.markets[("sim-a", "BTC-PERP")] = market("sim-a", lot="0.01")
    config = route("split", ("alpha", "gamma"), weights={"alpha": 1, "gamma": 3})
    decision = run(config, order(size="0.337"), portfolio)
    assert decision.legs == (("alpha", D("0.08")), ("gamma", D("0.257")))
    assert sum(size for _, size in decision.legs) == D("0.337")


def test_split_by_visible_depth_within_the_band_of_the_mid() -> None:
    portfolio = world()
    # sim-a mid 100: asks within 50 bp (<= 100.5) hold 2 + 1; 100.6 is outside.
    set_book(portfolio, "sim-a", "BTC-PERP", [("99.9", "9")], [("100.1", "2"), ("100.4", "1"), ("100.6", "50")])
    set_book(portfolio, "sim-b", "BTC-PERP", [("99.9", "9")], [("100.2", "1")])
    decision = run(route("split", ("alpha", "gamma")), order(size="2"), portfolio)
    assert decision.legs == (("alpha", D("1.500")), ("gamma", D("0.500")))
    assert decision.reason.startswith("split by depth within 50 bps of mid")


def test_split_leaves_out_an_account_without_depth_and_drops_zero_legs() -> None:
    portfolio = world()
    set_book(portfolio, "sim-a", "BTC-PERP", [("99", "1")], [("101", "1")])  # 100 bp away: no depth in 50
    set_book(portfolio, "sim-b", "BTC-PERP", [("99.9", "1")], [("100.1", "1")])
    assert run(route("split", ("alpha", "gamma")), order(size="1"), portfolio).legs == (("gamma", D(1)),)
    config = route("split", ("alpha", "gamma"), weights={"alpha": 1, "gamma": 1})
    assert run(config, order(size="0.001"), portfolio).legs == (("alpha", D("0.001")),)


def test_split_re_splits_without_an_account_whose_gate_would_refuse_its_leg() -> None:
    config = route("split", weights={"alpha": 1, "beta": 1, "gamma": 2})
    decision = run(config, order(size="1"), two_books(), passes=lambda account, size: account != "beta")
    assert decision.legs == (("alpha", D("0.333")), ("gamma", D("0.667")))
    assert decision.reason.endswith("left out by the risk gate: beta")
    with pytest.raises(Denied, match="the risk gate would refuse every leg"):
        run(config, order(size="1"), two_books(), passes=lambda account, size: False)


LOTS = st.sampled_from([D("1"), D("0.1"), D("0.01"), D("0.001")])


@settings(max_examples=200, deadline=None)
@given(
    shares=st.lists(st.tuples(st.integers(min_value=1, max_value=1000).map(D), LOTS), min_size=1, max_size=4),
    units=st.integers(min_value=1, max_value=100_000),
    extra=st.decimals(min_value="0", max_value="0.0009", places=4),
)
def test_allocate_never_overshoots_and_is_exact_when_the_finest_lot_allows(
    shares: list[tuple[Decimal, Decimal]], units: int, extra: Decimal
) -> None:
    finest = min(lot for _, lot in shares)
    exact_size = units * finest
    parts = allocate(exact_size, shares)
    assert sum(parts) == exact_size
    assert all(is_multiple(part, lot) or part == 0 for part, (_, lot) in zip(parts, shares, strict=True))
    ragged = allocate(exact_size + extra, shares)  # not a multiple of any lot when extra > 0
    assert exact_size + extra - finest < sum(ragged) <= exact_size + extra
    assert all(part >= 0 for part in ragged)


@settings(max_examples=100, deadline=None)
@given(
    weights=st.tuples(*(st.integers(min_value=0, max_value=9) for _ in ALL)),
    lots=st.tuples(LOTS, LOTS),
    units=st.integers(min_value=1, max_value=10_000),
)
def test_a_split_decision_sums_to_the_request_with_no_zero_legs(
    weights: tuple[int, int, int], lots: tuple[Decimal, Decimal], units: int
) -> None:
    portfolio = world()
    portfolio.market_data.markets[("sim-a", "BTC-PERP")] = market("sim-a", lot=str(lots[0]))
    portfolio.market_data.markets[("sim-b", "BTC-PERP")] = market("sim-b", lot=str(lots[1]))
    named = {name: w for name, w in zip(ALL, weights, strict=True) if w}
    assume(named)
    lot_of = {"alpha": lots[0], "beta": lots[0], "gamma": lots[1]}
    size = units * min(lot_of[name] for name in named)
    decision = run(route("split", weights=named), order(size=str(size)), portfolio)
    assert sum(s for _, s in decision.legs) == size
    assert all(s > 0 and is_multiple(s, lot_of[a]) and a in named for a, s in decision.legs)
    assert [a for a, _ in decision.legs] == [a for a in ALL if a in dict(decision.legs)]
