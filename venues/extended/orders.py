"""OrderRequest -> the signed JSON body of POST /user/order, as the SDK builds it.

Field order and formatting follow `NewOrderModel.to_api_request_json(exclude_none=True)`
of x10-python-trading-starknet 2.6.0: decimals as text, the nonce as text, the vault
(`collateralPosition`) as text, r/s/starkKey as 0x-hex. perpd's order types map onto
Extended's: LIMIT, MARKET (IOC at a worst price), and stop / take-profit as CONDITIONAL
orders triggered on the mark price in the direction that makes them a stop or a
take-profit for their side. Time in force: GTC is Extended's GTT (with an expiry),
post-only is GTT with `postOnly`, IOC is IOC; FOK is deprecated on Extended.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpd.model import OrderRequest, OrderType, Side, TimeInForce
from venues.extended.market_data import ExtendedMarket
from venues.extended.signing import Signed, StarkSigner

# (order type, side) -> trigger direction: a buy stop fires when the mark rises to it.
DIRECTIONS = {
    (OrderType.STOP_MARKET, Side.BUY): "UP", (OrderType.STOP_LIMIT, Side.BUY): "UP",
    (OrderType.STOP_MARKET, Side.SELL): "DOWN", (OrderType.STOP_LIMIT, Side.SELL): "DOWN",
    (OrderType.TAKE_PROFIT_MARKET, Side.BUY): "DOWN", (OrderType.TAKE_PROFIT_LIMIT, Side.BUY): "DOWN",
    (OrderType.TAKE_PROFIT_MARKET, Side.SELL): "UP", (OrderType.TAKE_PROFIT_LIMIT, Side.SELL): "UP",
}
MARKET_EXECUTION = frozenset({OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})


def text(value: Decimal) -> str:
    """A decimal as the SDK prints it (plain notation, scale kept)."""
    return format(value, "f")


def wire_type(order_type: OrderType) -> str:
    if order_type is OrderType.LIMIT:
        return "LIMIT"
    if order_type is OrderType.MARKET:
        return "MARKET"
    return "CONDITIONAL"


def wire_tif(request: OrderRequest) -> str:
    if request.type in MARKET_EXECUTION or request.tif is TimeInForce.IOC:
        return "IOC"
    return "GTT"


def build(
    request: OrderRequest,
    spec: ExtendedMarket,
    signer: StarkSigner,
    *,
    price: Decimal,
    fee_rate: Decimal,
    nonce: int,
    expiry_ms: int,
    builder: tuple[int, Decimal] | None = None,
    cancel_id: str | None = None,
) -> tuple[dict[str, Any], Signed]:
    """The body of POST /user/order for `request` at `price` (limit, or worst for market
    execution), signed for `fee_rate` plus the builder fee when the account opted in."""
    signed_fee = fee_rate + (builder[1] if builder is not None else Decimal(0))
    signed = signer.sign_settlement(
        is_buy=request.side is Side.BUY, qty=request.size, price=price, fee_rate=signed_fee, l2=spec.l2,
        expiry_ms=expiry_ms, nonce=nonce,
    )
    body: dict[str, Any] = {
        "id": request.client_id,
        "market": spec.name,
        "type": wire_type(request.type),
        "side": "BUY" if request.side is Side.BUY else "SELL",
        "qty": text(request.size),
        "price": text(price),
        "reduceOnly": request.reduce_only,
        "postOnly": request.tif is TimeInForce.POST_ONLY,
        "timeInForce": wire_tif(request),
        "expiryEpochMillis": expiry_ms,
        "fee": text(fee_rate),
        "nonce": str(nonce),
        "selfTradeProtectionLevel": "ACCOUNT",
    }
    if cancel_id is not None:
        body["cancelId"] = cancel_id
    body["settlement"] = {
        "signature": {"r": hex(signed.r), "s": hex(signed.s)},
        "starkKey": hex(signer.public_key),
        "collateralPosition": str(signer.vault),
    }
    if request.type.is_trigger:
        assert request.trigger_price is not None
        body["trigger"] = {
            "triggerPrice": text(request.trigger_price),
            "triggerPriceType": "MARK",
            "direction": DIRECTIONS[(request.type, request.side)],
            "executionPriceType": "MARKET" if request.type in MARKET_EXECUTION else "LIMIT",
        }
    body["debuggingAmounts"] = {
        "collateralAmount": str(signed.amounts.collateral),
        "feeAmount": str(signed.amounts.fee),
        "syntheticAmount": str(signed.amounts.synthetic),
    }
    if builder is not None:
        body["builderFee"] = text(builder[1])
        body["builderId"] = builder[0]
    return body, signed
