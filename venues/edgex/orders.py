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

`create_order` writes the body's JSON and its canonical text (what the HMAC signs)
straight from the same values: the keys are fixed, so their sorted order is known, and
every value is digits, hex or a fixed word (the client id is escaped). Tests hold both
equal to `orjson.dumps` / `signing.canonical` of the SDK's body. This is the hot path of
every order, measured by tests/perf/bench_edgex.py.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any, NamedTuple

import orjson

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
_FOK_TIF = TIFS[TimeInForce.FOK]
_BUY, _SELL = Side.BUY, Side.SELL
_FOK, _POST_ONLY = TimeInForce.FOK, TimeInForce.POST_ONLY


class SignedOrder(NamedTuple):
    content: bytes  # the createOrder body, JSON
    canonical: str  # its canonical text: what the HMAC signs (signing.canonical of the body)

    @property
    def body(self) -> dict[str, Any]:
        return orjson.loads(self.content)  # type: ignore[no-any-return]


def text(value: Decimal) -> str:
    """A price or size as the body carries it: plain digits, never exponent notation
    (`str` is the fast way, and right unless it chose exponent notation)."""
    out = str(value)
    return format(value, "f") if "E" in out else out


def l2_price(request: OrderRequest, contract: Contract, oracle_price: Decimal | None) -> Decimal:
    """The price the signature covers (see the module docstring)."""
    if request.type not in MARKET_TYPES:
        assert request.price is not None  # OrderRequest of a limit type always has one
        return Decimal(text(request.price))
    tick = contract.market.tick_size
    if request.side is _SELL:
        return Decimal(text(tick))
    if oracle_price is None or oracle_price <= 0:
        raise InvalidRequest(f"edgex {contract.symbol}: no oracle price to cap a market buy")
    return round_to_step(oracle_price * MARKET_BUY_ORACLE_FACTOR, tick, ROUND_CEILING)


def create_order(
    request: OrderRequest,
    contract: Contract,
    *,
    account_id: int,
    signer: OrderSigner,
    now_ms: int,
    oracle_price: Decimal | None = None,
) -> SignedOrder:
    """The signed `createOrder` body for `request` (validated by the caller)."""
    market_type = request.type in MARKET_TYPES
    if market_type and request.tif is _POST_ONLY:
        raise InvalidRequest(f"edgex: a {request.type.value} order cannot be post-only")
    quote = contract.quote
    if contract.resolution is None or quote.resolution is None:
        raise InvalidRequest(f"edgex {contract.symbol}: the metadata gives no resolution to sign orders with")
    # The SDK reads sizes and prices from their text; str() of a Decimal is exact, so
    # unless it chose exponent notation the Decimal itself is what the SDK would read.
    size, amount = str(request.size), request.size
    if "E" in size:
        size = format(amount, "f")
        amount = Decimal(size)
    if market_type:
        signed_price = l2_price(request, contract, oracle_price)
        price = "0"
    else:  # the common case, inline
        signed_price = request.price  # type: ignore[assignment] - a limit type has a price
        price = str(signed_price)
        if "E" in price:
            price = format(signed_price, "f")
            signed_price = Decimal(price)
    value = signed_price * amount
    fee = (value * contract.fee_cap_rate).to_integral_value(ROUND_CEILING)
    l2_expire = now_ms + ORDER_WINDOW_MS
    expire = l2_expire - L1_OFFSET_MS
    client_id = request.client_id
    nonce = order_nonce(client_id)
    is_buy = request.side is _BUY
    synthetic_id, collateral_id = contract.asset_ids
    signature = signer.sign_order(L2Order(
        account_id, nonce, expire, is_buy, amount, value, fee, synthetic_id, collateral_id,
        contract.resolution, quote.resolution,
    ))
    trigger = request.trigger_price
    if market_type:
        tif = _FOK_TIF if request.tif is _FOK else _MARKET_TIF
    else:
        tif = TIFS[request.tif]
    account, contract_id = str(account_id), contract.contract_id
    order_type, side = ORDER_TYPES[request.type], "BUY" if is_buy else "SELL"
    expire_text, l2_expire_text, nonce_text = str(expire), str(l2_expire), str(nonce)
    value_text, fee_text = str(value), str(fee)
    reduce_only = "true" if request.reduce_only else "false"
    trigger_text = text(trigger) if trigger is not None else ""
    trigger_type = TRIGGER_PRICE_TYPE if trigger is not None else ""
    # Every value but the client id is digits, hex or a fixed word: nothing to escape.
    content = (
        f'{{"accountId":"{account}","contractId":"{contract_id}","price":"{price}","size":"{size}",'
        f'"type":"{order_type}","side":"{side}","timeInForce":"{tif}","clientOrderId":{_json(client_id)},'
        f'"expireTime":"{expire_text}","l2Nonce":"{nonce_text}","l2Signature":"{signature}",'
        f'"l2ExpireTime":"{l2_expire_text}","l2Value":"{value_text}","l2Size":"{size}","l2LimitFee":"{fee_text}",'
        f'"reduceOnly":{reduce_only},"triggerPrice":"{trigger_text}","triggerPriceType":"{trigger_type}",'
        f'"sourceKey":"","isPositionTpsl":false,"openTpslParentOrderId":"","isSetOpenTp":false,"openTp":null,'
        f'"isSetOpenSl":false,"openSl":null,"extraType":"","extraDataJson":""}}'
    ).encode()
    canonical = (
        f"accountId={account}&clientOrderId={client_id}&contractId={contract_id}&expireTime={expire_text}"
        f"&extraDataJson=&extraType=&isPositionTpsl=false&isSetOpenSl=false&isSetOpenTp=false"
        f"&l2ExpireTime={l2_expire_text}&l2LimitFee={fee_text}&l2Nonce={nonce_text}&l2Signature={signature}"
        f"&l2Size={size}&l2Value={value_text}&openSl=&openTp=&openTpslParentOrderId=&price={price}"
        f"&reduceOnly={reduce_only}&side={side}&size={size}&sourceKey="
        f"&timeInForce={tif}&triggerPrice={trigger_text}&triggerPriceType={trigger_type}&type={order_type}"
    )
    return SignedOrder(content, canonical)


def _json(text: str) -> str:
    return text.join('""') if text.isdigit() else orjson.dumps(text).decode()


def create_order_body(request: OrderRequest, contract: Contract, **kwargs: Any) -> dict[str, Any]:
    """Just the body of `create_order` (tests compare it with the SDK's)."""
    return create_order(request, contract, **kwargs).body
