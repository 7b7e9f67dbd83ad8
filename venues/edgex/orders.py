"""OrderRequest -> the body of `createOrder`, its fee and expiry fields as the SDK
computes them (edgex-python-sdk 2.0.1 `order/client.py`, `client.py`). Pure; no I/O.

- `price` is the limit price, or `"0"` for market types (MARKET, STOP_MARKET,
  TAKE_PROFIT_MARKET), whose time in force is IMMEDIATE_OR_CANCEL unless FOK is asked.
- The signed price (`l2 price`) is the limit price; for market types it is
  ceil_to_tick(oracle x 10) for a buy and one tick for a sell, as the SDK does.
- `l2Value = l2 price x size` (Decimal text), `l2Size = size`, `l2LimitFee =
  ceil(l2Value x max(taker, maker fee rate))` as an integer number of the quote coin.
- `l2ExpireTime = now + 30 days`, `expireTime = l2ExpireTime - 8 days` (ms); the
  signature carries `expireTime // 1000` seconds.
- `l2Nonce = int(sha256(clientOrderId)[:8], 16)`.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from perpd.errors import InvalidRequest
from perpd.model import OrderRequest, Side, TimeInForce, round_to_step
from venues.edgex.constants import (
    L1_OFFSET_MS,
    MARKET_BUY_ORACLE_FACTOR,
    MARKET_TYPES,
    ORDER_TYPES,
    ORDER_WINDOW_MS,
    TIFS,
    TRIGGER_PRICE_TYPE,
)
from venues.edgex.parse import Contract
from venues.edgex.signing import L2Order, OrderSigner, order_nonce

_MARKET_TIF = TIFS[TimeInForce.IOC]


def text(value: Decimal) -> str:
    """A price or size as the body carries it: plain digits, never exponent notation."""
    return format(value, "f")


def l2_price(request: OrderRequest, contract: Contract, oracle_price: Decimal | None) -> Decimal:
    """The price the signature covers (see the module docstring)."""
    if request.type not in MARKET_TYPES:
        assert request.price is not None  # OrderRequest of a limit type always has one
        return Decimal(text(request.price))
    tick = contract.market.tick_size
    if request.side is Side.SELL:
        return Decimal(text(tick))
    if oracle_price is None or oracle_price <= 0:
        raise InvalidRequest(f"edgex {contract.symbol}: no oracle price to cap a market buy")
    return round_to_step(oracle_price * MARKET_BUY_ORACLE_FACTOR, tick, ROUND_CEILING)


def create_order_body(
    request: OrderRequest,
    contract: Contract,
    *,
    account_id: int,
    signer: OrderSigner,
    now_ms: int,
    oracle_price: Decimal | None = None,
) -> dict[str, Any]:
    """The signed `createOrder` body for `request` (validated by the caller)."""
    market_type = request.type in MARKET_TYPES
    if market_type and request.tif is TimeInForce.POST_ONLY:
        raise InvalidRequest(f"edgex: a {request.type.value} order cannot be post-only")
    size = text(request.size)
    signed_price = l2_price(request, contract, oracle_price)
    value = signed_price * Decimal(size)
    fee = (value * contract.fee_cap_rate).to_integral_value(rounding=ROUND_CEILING)
    l2_expire = now_ms + ORDER_WINDOW_MS
    expire = l2_expire - L1_OFFSET_MS
    nonce = order_nonce(request.client_id)
    quote = contract.quote
    if contract.resolution is None or quote.resolution is None:
        raise InvalidRequest(f"edgex {contract.symbol}: the metadata gives no resolution to sign orders with")
    signature = signer.sign_order(L2Order(
        account_id=account_id,
        nonce=nonce,
        expire_time_ms=expire,
        is_buy=request.side is Side.BUY,
        size=Decimal(size),
        value=value,
        fee=fee,
        contract_id=int(contract.contract_id),
        collateral_coin_id=int(quote.coin_id),
        contract_resolution=contract.resolution,
        collateral_resolution=quote.resolution,
    ))
    trigger = request.trigger_price
    if market_type:
        tif = TIFS[TimeInForce.FOK] if request.tif is TimeInForce.FOK else _MARKET_TIF
    else:
        tif = TIFS[request.tif]
    return {
        "accountId": str(account_id),
        "contractId": contract.contract_id,
        "price": "0" if market_type else text(signed_price),
        "size": size,
        "type": ORDER_TYPES[request.type],
        "side": "BUY" if request.side is Side.BUY else "SELL",
        "timeInForce": tif,
        "clientOrderId": request.client_id,
        "expireTime": str(expire),
        "l2Nonce": str(nonce),
        "l2Signature": signature,
        "l2ExpireTime": str(l2_expire),
        "l2Value": str(value),
        "l2Size": size,
        "l2LimitFee": str(fee),
        "reduceOnly": request.reduce_only,
        "triggerPrice": text(trigger) if trigger is not None else "",
        "triggerPriceType": TRIGGER_PRICE_TYPE if trigger is not None else "",
        "sourceKey": "",
        "isPositionTpsl": False,
        "openTpslParentOrderId": "",
        "isSetOpenTp": False,
        "openTp": None,
        "isSetOpenSl": False,
        "openSl": None,
        "extraType": "",
        "extraDataJson": "",
    }
