"""Wire numbers are the SDK's strings; prices obey Hyperliquid's rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hyperliquid.utils.signing import float_to_wire, order_request_to_order_wire, order_wires_to_order_action

from perpd.model import Side
from venues.hyperliquid import wire

D = Decimal


@given(st.decimals(min_value=D("0.00000001"), max_value=D("10000000"), places=8, allow_nan=False, allow_infinity=False))
def test_decimal_wire_strings_equal_the_sdks_float_to_wire(value: Decimal) -> None:
    assert wire.to_wire(value) == float_to_wire(float(value))


@pytest.mark.parametrize(("value", "text"), [
    (D("1100.0"), "1100"), (D("0.20"), "0.2"), (D("-0"), "0"), (D("0E-8"), "0"),
    (D("1E+3"), "1000"), (D("2500.5"), "2500.5"), (D("0.00000001"), "0.00000001"),
])
def test_wire_strings_have_no_exponent_and_no_trailing_zero(value: Decimal, text: str) -> None:
    assert wire.to_wire(value) == text


def test_more_than_eight_decimals_is_refused_like_the_sdk() -> None:
    with pytest.raises(ValueError):
        wire.to_wire(D("0.000000001"))
    assert wire.to_wire(D("1.100000000000")) == "1.1"  # trailing zeros are not precision


@pytest.mark.parametrize(("price", "sz_decimals", "valid"), [
    # the docs' examples (tick-and-lot-size page)
    (D("1234.5"), 0, True), (D("1234.56"), 0, False),
    (D("0.001234"), 0, True), (D("0.0012345"), 0, False),
    (D("0.01234"), 1, True), (D("0.012345"), 1, False),
    (D("123456"), 0, True), (D("12345.6"), 0, False),
    (D("65000"), 5, True), (D("3500.1"), 4, True), (D("3500.15"), 4, False),
])
def test_price_validity_follows_the_documented_examples(price: Decimal, sz_decimals: int, valid: bool) -> None:
    assert wire.is_valid_price(price, sz_decimals) is valid


@given(
    st.decimals(min_value=D("0.000001"), max_value=D("5000000"), places=6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=5),
    st.sampled_from([Side.BUY, Side.SELL, None]),
)
def test_rounded_prices_are_valid_and_never_more_aggressive(price: Decimal, sz_decimals: int, side: Side | None) -> None:
    rounded = wire.round_price(price, sz_decimals, side)
    assert wire.is_valid_price(rounded, sz_decimals)
    if side is Side.BUY:
        assert rounded <= price or rounded == wire.price_tick(price, sz_decimals)
    if side is Side.SELL:
        assert rounded >= price
    if wire.is_valid_price(price, sz_decimals):
        assert rounded == price


def test_a_market_price_stays_inside_the_slippage_cap() -> None:
    buy = wire.slippage_price(D("65123"), Side.BUY, D(500), 5)
    sell = wire.slippage_price(D("65123"), Side.SELL, D(500), 5)
    assert buy <= D("65123") * D("1.05") and buy == D("68379")
    assert sell >= D("65123") * D("0.95") and sell == D("61867")


def test_order_wire_matches_the_sdk_wire_and_key_order() -> None:
    ours = wire.order_action([
        wire.order_wire(1, True, D("1100.0"), D("0.2000"), False, wire.limit_type("Gtc"), "0x" + "00" * 15 + "01"),
        wire.order_wire(0, False, D("30000"), D("0.001"), True, wire.trigger_type(D("29000.0"), True, "sl")),
    ], builder={"b": "0xABCDEF0000000000000000000000000000000001", "f": 10})
    from hyperliquid.utils.types import Cloid

    theirs = order_wires_to_order_action([
        order_request_to_order_wire({"coin": "ETH", "is_buy": True, "sz": 0.2, "limit_px": 1100.0,
                                     "order_type": {"limit": {"tif": "Gtc"}}, "reduce_only": False,
                                     "cloid": Cloid("0x" + "00" * 15 + "01")}, 1),
        order_request_to_order_wire({"coin": "BTC", "is_buy": False, "sz": 0.001, "limit_px": 30000,
                                     "order_type": {"trigger": {"triggerPx": 29000.0, "isMarket": True, "tpsl": "sl"}},
                                     "reduce_only": True}, 0),
    ], {"b": "0xabcdef0000000000000000000000000000000001", "f": 10})
    assert ours == theirs
    assert list(ours) == list(theirs)
    assert [list(o) for o in ours["orders"]] == [list(o) for o in theirs["orders"]]
    assert list(ours["orders"][1]["t"]["trigger"]) == ["isMarket", "triggerPx", "tpsl"]
