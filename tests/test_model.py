"""The domain model: rounding never trades more or pays more than asked; specs validate."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perpd.model import (
    Market,
    Order,
    OrderRequest,
    OrderSpec,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradingState,
    base_asset,
    is_multiple,
    normalize_symbol,
    round_price,
    round_size,
    round_to_step,
)

# Real venues' steps: powers of ten and 1/2/5/25 multiples of them, from 1e-8 to 100.
steps = st.builds(
    lambda mantissa, exponent: Decimal(mantissa).scaleb(exponent),
    st.sampled_from([1, 2, 5, 25]),
    st.integers(min_value=-8, max_value=2),
)
prices = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(10**7), places=8)
sizes = st.decimals(min_value=Decimal(0), max_value=Decimal(10**6), places=8)


@given(prices, steps)
def test_a_rounded_buy_price_is_a_tick_multiple_never_above_the_asked_price(price: Decimal, tick: Decimal) -> None:
    rounded = round_price(price, tick, Side.BUY)
    assert is_multiple(rounded, tick)
    assert rounded <= price
    assert price - rounded < tick


@given(prices, steps)
def test_a_rounded_sell_price_is_a_tick_multiple_never_below_the_asked_price(price: Decimal, tick: Decimal) -> None:
    rounded = round_price(price, tick, Side.SELL)
    assert is_multiple(rounded, tick)
    assert rounded >= price
    assert rounded - price < tick


@given(prices, steps)
def test_a_price_rounded_without_a_side_goes_to_the_nearest_tick(price: Decimal, tick: Decimal) -> None:
    rounded = round_price(price, tick)
    assert is_multiple(rounded, tick)
    assert abs(rounded - price) * 2 <= tick


@given(sizes, steps)
def test_a_rounded_size_is_a_lot_multiple_never_larger_than_asked(size: Decimal, lot: Decimal) -> None:
    rounded = round_size(size, lot)
    assert is_multiple(rounded, lot)
    assert 0 <= rounded <= size
    assert size - rounded < lot


@given(prices, steps)
def test_a_price_already_on_the_tick_is_left_alone(price: Decimal, tick: Decimal) -> None:
    on_tick = round_price(price, tick, Side.BUY)
    for side in (Side.BUY, Side.SELL, None):
        assert round_price(on_tick, tick, side) == on_tick


def test_rounding_keeps_the_step_s_decimal_places() -> None:
    assert str(round_price(Decimal("97123.456"), Decimal("0.5"), Side.BUY)) == "97123.0"
    assert str(round_price(Decimal("97123.456"), Decimal("0.5"), Side.SELL)) == "97123.5"
    assert str(round_size(Decimal("0.123456"), Decimal("0.001"))) == "0.123"
    assert round_size(Decimal("123"), Decimal("10")) == Decimal("120")


def test_a_step_must_be_positive() -> None:
    with pytest.raises(ValueError, match="step must be positive"):
        round_to_step(Decimal(1), Decimal(0))


def test_a_market_rounds_with_its_own_tick_and_lot() -> None:
    market = Market(
        venue="sim", symbol="BTC-PERP", venue_symbol="BTC", base="BTC", quote="USDC",
        tick_size=Decimal("0.1"), lot_size=Decimal("0.001"), min_size=Decimal("0.001"),
        min_notional=Decimal(10), max_leverage=50,
    )
    assert market.round_price(Decimal("100.07"), Side.BUY) == Decimal("100.0")
    assert market.round_price(Decimal("100.01"), Side.SELL) == Decimal("100.1")
    assert market.round_size(Decimal("0.0019")) == Decimal("0.001")


@pytest.mark.parametrize("text", ["BTC", "btc", " BTC-PERP ", "btc-perp"])
def test_symbols_normalise_to_the_unified_perp_form(text: str) -> None:
    assert normalize_symbol(text) == "BTC-PERP"
    assert base_asset(text) == "BTC"


@pytest.mark.parametrize("text", ["", "  ", "BTC/USD", "-PERP", "BTC-USD"])
def test_things_that_are_not_perp_symbols_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalize_symbol(text)


def test_a_market_spec_is_immediate_or_cancel() -> None:
    spec = OrderSpec(symbol="eth", side=Side.SELL, size=Decimal(1), type=OrderType.MARKET, account="a")
    assert spec.symbol == "ETH-PERP"
    assert spec.tif is TimeInForce.IOC
    assert spec.signed_size == Decimal(-1)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"account": None}, "name exactly one of account or route"),
        ({"route": "r"}, "name exactly one of account or route"),
        ({"size": Decimal(0)}, "size must be positive"),
        ({"price": None}, "limit order needs a price"),
        ({"price": Decimal(-1)}, "price must be positive"),
        ({"type": OrderType.STOP_LIMIT}, "stop_limit order needs a trigger_price"),
        ({"trigger_price": Decimal(1)}, "trigger_price is only for trigger orders"),
    ],
)
def test_a_malformed_spec_is_refused_with_the_reason(changes: dict, problem: str) -> None:
    fields = {"symbol": "BTC", "side": Side.BUY, "size": Decimal(1), "price": Decimal(100), "account": "a"} | changes
    with pytest.raises(ValueError, match=problem):
        OrderSpec(**fields)


def test_with_account_resolves_a_route_to_one_account() -> None:
    spec = OrderSpec(symbol="BTC", side=Side.BUY, size=Decimal(1), price=Decimal(1), route="r")
    resolved = spec.with_account("a")
    assert (resolved.account, resolved.route) == ("a", None)


def test_every_status_is_either_live_or_terminal() -> None:
    terminal = {s for s in OrderStatus if s.is_terminal}
    assert terminal == {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
    assert OrderStatus.UNKNOWN.is_live  # an unknown outcome may still rest on the venue
    assert all(s.is_live != s.is_terminal for s in OrderStatus)


def test_the_most_restrictive_trading_state_ranks_highest() -> None:
    assert max(TradingState, key=lambda s: s.rank) is TradingState.HALTED
    assert TradingState.ACTIVE.rank < TradingState.REDUCE_ONLY.rank < TradingState.HALTED.rank


@pytest.mark.parametrize("changes", [{}, {"status": OrderStatus.FILLED, "filled_size": Decimal(1)}, {"reason": None, "price": None}])
def test_evolve_is_dataclasses_replace(changes: dict) -> None:
    order = Order("a", "sim", "pd-1", "BTC-PERP", Side.BUY, OrderType.LIMIT, Decimal(2), OrderStatus.OPEN,
                  price=Decimal(10), reason="why", created_ms=5)
    spec = OrderSpec(symbol="BTC", side=Side.SELL, size=Decimal(1), price=Decimal(9), account="a")
    request = OrderRequest("pd-1", "BTC-PERP", Side.BUY, OrderType.LIMIT, Decimal(2), price=Decimal(10))
    assert order.evolve(**changes) == dataclasses.replace(order, **changes)
    assert spec.evolve(size=Decimal("0.5")) == dataclasses.replace(spec, size=Decimal("0.5"))
    assert request.evolve(client_id="pd-2") == dataclasses.replace(request, client_id="pd-2")
    with pytest.raises(TypeError):
        order.evolve(colour="red")
    with pytest.raises(ValueError, match="size must be positive"):
        spec.evolve(size=Decimal(0))  # checked like any spec
