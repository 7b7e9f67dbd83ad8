"""OrderRequest -> the integer fields of an L2CreateOrder tx. Pure; no I/O.

Lighter's rules (lighter-go `Validate`, as summarised in ../shared/venues/lighter.md):
market => IOC, OrderExpiry 0, TriggerPrice 0, Price = the worst acceptable price;
limit IOC => OrderExpiry 0; limit GTT / post-only => OrderExpiry > 0 (the signer turns
-1 into now + 28 days); stop-loss / take-profit (market) => IOC, trigger > 0, expiry > 0,
Price = worst price after the trigger; their limit variants => trigger > 0, expiry > 0.
There is no native FOK: `capabilities.tifs` leaves it out, so it is refused locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from perpd.errors import InvalidRequest
from perpd.model import BPS, OrderRequest, OrderType, Side, TimeInForce, round_to_step
from venues.lighter.constants import (
    DEFAULT_28_DAY_ORDER_EXPIRY,
    IOC_EXPIRY,
    MAX_PRICE,
    NIL_TRIGGER_PRICE,
    ORDER_TYPE_TO_WIRE,
    TIF_GTT,
    TIF_IOC,
    TIF_POST_ONLY,
)
from venues.lighter.parse import LighterMarket

_MARKET_LIKE = frozenset({OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})


@dataclass(frozen=True, slots=True)
class WireOrder:
    """The arguments of `SignCreateOrder` for one request."""

    market_index: int
    client_order_index: int
    base_amount: int
    price: int
    is_ask: bool
    order_type: int
    time_in_force: int
    reduce_only: bool
    trigger_price: int
    order_expiry: int

    def fields(self) -> dict[str, int | bool]:
        return {
            "market_index": self.market_index,
            "client_order_index": self.client_order_index,
            "base_amount": self.base_amount,
            "price": self.price,
            "is_ask": self.is_ask,
            "order_type": self.order_type,
            "time_in_force": self.time_in_force,
            "reduce_only": self.reduce_only,
            "trigger_price": self.trigger_price,
            "order_expiry": self.order_expiry,
        }


def worst_price(reference: Decimal, side: Side, slippage_bps: Decimal, tick: Decimal) -> Decimal:
    """The price cap of a market-like order: `reference` moved against us by the slippage.

    Rounded inward (a buy's cap down, a sell's floor up) so rounding never widens the
    slippage the caller allowed — but never past the reference itself.
    """
    factor = slippage_bps / BPS
    if side is Side.BUY:
        cap = round_to_step(reference * (1 + factor), tick, ROUND_FLOOR)
        return max(cap, round_to_step(reference, tick, ROUND_CEILING))
    floor = round_to_step(reference * (1 - factor), tick, ROUND_CEILING)
    return max(min(floor, round_to_step(reference, tick, ROUND_FLOOR)), tick)


def to_wire(
    request: OrderRequest,
    market: LighterMarket,
    *,
    reference_price: Decimal | None = None,
    default_slippage_bps: Decimal = Decimal(100),
) -> WireOrder:
    """Build the wire order; `reference_price` (best opposite price or mark) prices market
    orders that name no cap. Raises InvalidRequest for what Lighter would refuse."""
    otype = request.type
    tick = market.market.tick_size
    slippage = request.slippage_bps if request.slippage_bps is not None else default_slippage_bps
    if otype in _MARKET_LIKE:
        if request.tif is TimeInForce.POST_ONLY:
            raise InvalidRequest(f"a {otype.value} order cannot be post-only")
        if request.price is not None:
            price = request.price
        elif otype is OrderType.MARKET:
            if reference_price is None or reference_price <= 0:
                raise InvalidRequest(f"no price to cap the market order on {market.symbol} (empty book)")
            price = worst_price(reference_price, request.side, slippage, tick)
        else:
            assert request.trigger_price is not None  # OrderSpec/OrderRequest checks it
            price = worst_price(request.trigger_price, request.side, slippage, tick)
        tif, expiry = TIF_IOC, (IOC_EXPIRY if otype is OrderType.MARKET else DEFAULT_28_DAY_ORDER_EXPIRY)
    else:
        assert request.price is not None
        price = request.price
        if request.tif is TimeInForce.IOC:
            tif, expiry = TIF_IOC, IOC_EXPIRY
        elif request.tif is TimeInForce.POST_ONLY:
            tif, expiry = TIF_POST_ONLY, DEFAULT_28_DAY_ORDER_EXPIRY
        else:
            tif, expiry = TIF_GTT, DEFAULT_28_DAY_ORDER_EXPIRY
        if otype.is_trigger and tif == TIF_IOC:
            expiry = DEFAULT_28_DAY_ORDER_EXPIRY  # a resting trigger needs an expiry
    try:
        base_amount = market.to_wire_size(request.size)
        wire_price = market.to_wire_price(price)
        trigger = (
            market.to_wire_price(request.trigger_price) if request.trigger_price is not None else NIL_TRIGGER_PRICE
        )
    except ValueError as exc:
        raise InvalidRequest(f"lighter {market.symbol}: {exc}") from None
    if not 0 < wire_price <= MAX_PRICE:
        raise InvalidRequest(f"lighter {market.symbol}: price {price} is out of range")
    return WireOrder(
        market_index=market.market_id,
        client_order_index=int(request.client_id),
        base_amount=base_amount,
        price=wire_price,
        is_ask=request.side is Side.SELL,
        order_type=ORDER_TYPE_TO_WIRE[otype],
        time_in_force=tif,
        reduce_only=request.reduce_only,
        trigger_price=trigger,
        order_expiry=expiry,
    )
