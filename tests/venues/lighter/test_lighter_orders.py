"""OrderRequests become the integer tx fields Lighter's sequencer accepts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lighter_support import fixture

from perpd.errors import InvalidRequest, NotSupported
from perpd.model import OrderRequest, OrderType, Side, TimeInForce
from venues.lighter import parse
from venues.lighter.constants import DEFAULT_28_DAY_ORDER_EXPIRY
from venues.lighter.orders import to_wire, worst_price
from venues.lighter.venue import CAPABILITIES

ETH = parse.parse_markets(fixture("rest_orderBookDetails.resp.live.nautilus.json"), "lighter")[0]


def request(**changes: object) -> OrderRequest:
    base: dict[str, object] = {
        "client_id": "123", "symbol": "ETH-PERP", "side": Side.BUY, "type": OrderType.LIMIT,
        "size": Decimal("0.1"), "price": Decimal("4050.00"),
    }
    base.update(changes)
    return OrderRequest(**base)  # type: ignore[arg-type]


def test_a_gtc_limit_is_good_till_time_with_the_signer_default_expiry() -> None:
    wire = to_wire(request(), ETH)
    # the generated sample tx_info.L2CreateOrder.limit_gtt: BaseAmount 1000, Price 405000, TIF 1
    sample = fixture("tx_info.L2CreateOrder.limit_gtt.generated.json")
    assert (wire.base_amount, wire.price, wire.time_in_force, wire.order_type) == (
        sample["BaseAmount"], sample["Price"], sample["TimeInForce"], sample["Type"]
    )
    assert wire.order_expiry == DEFAULT_28_DAY_ORDER_EXPIRY and wire.client_order_index == 123


def test_post_only_and_ioc_map_to_their_tifs() -> None:
    assert to_wire(request(tif=TimeInForce.POST_ONLY, side=Side.SELL), ETH).time_in_force == 2
    ioc = to_wire(request(tif=TimeInForce.IOC), ETH)
    assert (ioc.time_in_force, ioc.order_expiry) == (0, 0)


def test_a_market_order_is_ioc_capped_by_slippage_from_the_reference() -> None:
    wire = to_wire(request(type=OrderType.MARKET, price=None, tif=TimeInForce.IOC), ETH,
                   reference_price=Decimal("4000.00"), default_slippage_bps=Decimal(50))
    sample = fixture("tx_info.L2CreateOrder.market_ioc.generated.json")
    assert (wire.order_type, wire.time_in_force, wire.order_expiry, wire.trigger_price) == (
        sample["Type"], sample["TimeInForce"], sample["OrderExpiry"], sample["TriggerPrice"]
    )
    assert wire.price == 402000  # 4000 * 1.005


def test_a_market_order_without_a_reference_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        to_wire(request(type=OrderType.MARKET, price=None, tif=TimeInForce.IOC), ETH)


def test_a_stop_market_is_ioc_with_a_trigger_and_an_expiry() -> None:
    wire = to_wire(request(type=OrderType.STOP_MARKET, side=Side.SELL, price=None,
                           trigger_price=Decimal("3900.00"), tif=TimeInForce.IOC, reduce_only=True), ETH)
    sample = fixture("tx_info.L2CreateOrder.stop_loss_reduce_only.generated.json")
    assert (wire.order_type, wire.time_in_force, wire.trigger_price, wire.reduce_only) == (
        sample["Type"], sample["TimeInForce"], sample["TriggerPrice"], True
    )
    assert wire.order_expiry == DEFAULT_28_DAY_ORDER_EXPIRY
    assert wire.price == 386100  # the trigger less the default 1% slippage: the worst fill


def test_a_take_profit_limit_keeps_its_price_and_is_gtt() -> None:
    wire = to_wire(request(type=OrderType.TAKE_PROFIT_LIMIT, side=Side.SELL, price=Decimal("4500.00"),
                           trigger_price=Decimal("4490.00"), reduce_only=True), ETH)
    assert (wire.order_type, wire.time_in_force, wire.price, wire.trigger_price) == (5, 1, 450000, 449000)


def test_sub_tick_prices_are_refused_before_signing() -> None:
    with pytest.raises(InvalidRequest):
        to_wire(request(price=Decimal("4050.001")), ETH)


def test_fok_is_refused_locally_as_not_supported() -> None:
    with pytest.raises(NotSupported):
        CAPABILITIES.check(request(tif=TimeInForce.FOK), "lighter")


def test_client_ids_must_fit_48_bits() -> None:
    with pytest.raises(InvalidRequest):
        CAPABILITIES.check(request(client_id=str(2**48)), "lighter")


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_the_slippage_cap_never_crosses_back_over_the_reference(side: Side) -> None:
    tick = Decimal("0.01")
    cap = worst_price(Decimal("100.005"), side, Decimal("0.1"), tick)
    assert cap >= Decimal("100.005") if side is Side.BUY else cap <= Decimal("100.005")
    assert (cap / tick) == (cap / tick).to_integral_value()
