"""OrderRequest <-> Hyperliquid order wire, and answers -> Order. Pure functions.

What perpd asks for and what Hyperliquid takes:

======================  ==========================================================
perpd                   Hyperliquid order wire
======================  ==========================================================
LIMIT gtc/ioc/post_only `{"limit": {"tif": "Gtc" | "Ioc" | "Alo"}}`
MARKET                  IOC limit at mark -/+ the slippage cap (rounded inwards)
STOP_MARKET             `{"trigger": {"isMarket": true, "tpsl": "sl"}}`, p = the
                        trigger price moved by the cap (the worst fill accepted)
STOP_LIMIT              `{"trigger": {"isMarket": false, "tpsl": "sl"}}`, p = price
TAKE_PROFIT_*           same with `"tpsl": "tp"`
reduce_only             `"r": true`
client_id (HEX128)      `"c"` (cloid); kept across modify
======================  ==========================================================

Prices are rounded to Hyperliquid's rules (5 significant figures, at most
6 - szDecimals decimals), never more aggressively than asked; sizes must already be on
the lot (szDecimals): an off-lot size is refused locally, never silently cut.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpd.errors import InvalidRequest, VenueError
from perpd.model import Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from venues.hyperliquid import errors, wire
from venues.hyperliquid.market_data import MIN_NOTIONAL, Asset
from venues.hyperliquid.parse import PlaceResult

TIF_WIRE = {TimeInForce.GTC: "Gtc", TimeInForce.IOC: "Ioc", TimeInForce.POST_ONLY: "Alo"}
TPSL = {
    OrderType.STOP_MARKET: ("sl", True),
    OrderType.STOP_LIMIT: ("sl", False),
    OrderType.TAKE_PROFIT_MARKET: ("tp", True),
    OrderType.TAKE_PROFIT_LIMIT: ("tp", False),
}
TAKE_PROFITS = (OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT_LIMIT)
STOPS = (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
TRIGGER_SLIPPAGE_BPS = Decimal(1000)  # the venue fills market triggers within 10 %


def limit_price(request: OrderRequest, asset: Asset, mark: Decimal | None, slippage_bps: Decimal) -> Decimal:
    """The `p` of the wire order, rounded to the venue's price rules."""
    if request.type is OrderType.MARKET:
        if mark is None:
            raise InvalidRequest(f"hyperliquid {request.symbol}: no mark price for a market order")
        cap = request.slippage_bps if request.slippage_bps is not None else slippage_bps
        return wire.slippage_price(mark, request.side, cap, asset.sz_decimals)
    if request.type in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
        assert request.trigger_price is not None
        cap = request.slippage_bps if request.slippage_bps is not None else TRIGGER_SLIPPAGE_BPS
        reference = request.price if request.price is not None else request.trigger_price
        return wire.slippage_price(reference, request.side, cap, asset.sz_decimals)
    assert request.price is not None
    return wire.round_price(request.price, asset.sz_decimals, request.side)


def validate(request: OrderRequest, asset: Asset, price: Decimal) -> None:
    """Refuse locally what the venue would refuse for sure (nothing is sent)."""
    problems = []
    if not wire.is_valid_size(request.size, asset.sz_decimals):
        problems.append(f"size {request.size} is not a multiple of lot {wire.lot_size(asset.sz_decimals)}")
    if not request.reduce_only and price * request.size < MIN_NOTIONAL:
        problems.append(f"notional {price * request.size} is below the minimum {MIN_NOTIONAL}")
    if request.type is OrderType.LIMIT and request.tif not in TIF_WIRE:
        problems.append(f"time in force {request.tif.value} is not supported")
    if problems:
        raise InvalidRequest(f"hyperliquid {request.symbol}: " + "; ".join(problems))


def order_type_wire(request: OrderRequest, asset: Asset) -> dict[str, Any]:
    if request.type in (OrderType.LIMIT, OrderType.MARKET):
        tif = TimeInForce.IOC if request.type is OrderType.MARKET else request.tif
        return wire.limit_type(TIF_WIRE[tif])
    tpsl, is_market = TPSL[request.type]
    assert request.trigger_price is not None
    trigger = wire.round_price(request.trigger_price, asset.sz_decimals)
    return wire.trigger_type(trigger, is_market, tpsl)


def build_order_wire(
    request: OrderRequest,
    asset: Asset,
    *,
    mark: Decimal | None = None,
    slippage_bps: Decimal = Decimal(500),
) -> dict[str, Any]:
    """The signed-ready wire dict of one order (keys in the SDK's order)."""
    price = limit_price(request, asset, mark, slippage_bps)
    validate(request, asset, price)
    return wire.order_wire(
        asset.index,
        request.side is Side.BUY,
        price,
        request.size,
        request.reduce_only,
        order_type_wire(request, asset),
        request.client_id,
    )


def order_after(
    request: OrderRequest,
    result: PlaceResult,
    wire_order: dict[str, Any],
    *,
    account: str,
    venue: str,
    now_ms: int,
) -> Order:
    """The Order a place/modify answer describes, or raise its per-order error."""
    if result.kind == "error":
        raise errors.order_error(result.error or "")
    price = Decimal(wire_order["p"])
    trigger = wire_order["t"].get("trigger")
    status = OrderStatus.OPEN
    filled = Decimal(0)
    if result.kind == "waiting" and result.waiting_for == "fill":
        status = OrderStatus.PENDING  # a TP/SL child the venue places once its parent fills
    if result.kind == "filled":
        filled = result.filled_size
        # An IOC (or market) remainder is cancelled at once; a resting remainder would
        # have been reported as "resting".
        status = OrderStatus.FILLED if filled >= request.size else OrderStatus.CANCELLED
    return Order(
        account=account,
        venue=venue,
        client_id=request.client_id,
        symbol=request.symbol,
        side=request.side,
        type=request.type,
        size=request.size,
        status=status,
        price=None if request.type is OrderType.MARKET else price,
        trigger_price=Decimal(trigger["triggerPx"]) if trigger else None,
        tif=TimeInForce.IOC if request.type is OrderType.MARKET else request.tif,
        reduce_only=request.reduce_only,
        venue_order_id=result.oid,
        filled_size=filled,
        avg_fill_price=result.avg_price,
        created_ms=now_ms,
        updated_ms=now_ms,
    )


def merge(known: Order | None, seen: Order) -> Order:
    """Fill in what a thin venue view lacks (WS orderUpdates have no type, tif or
    trigger) from what perpd already knew of the same order."""
    if known is None:
        return seen
    return seen.evolve(
        client_id=known.client_id if seen.client_id.startswith("oid:") else seen.client_id,
        type=known.type if seen.type is OrderType.LIMIT else seen.type,
        tif=known.tif if seen.tif is TimeInForce.GTC else seen.tif,
        trigger_price=seen.trigger_price or known.trigger_price,
        price=seen.price if known.type is not OrderType.MARKET else None,
        reduce_only=seen.reduce_only or known.reduce_only,
        avg_fill_price=seen.avg_fill_price or known.avg_fill_price,
        created_ms=known.created_ms or seen.created_ms,
    )


def slot_errors(count: int, exc: VenueError) -> list[Order | Exception]:
    """The same whole-action failure for every slot of a batch."""
    return [exc] * count
