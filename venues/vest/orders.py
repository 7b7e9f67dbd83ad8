"""An OrderRequest as Vest's `POST /orders` fields. Pure: no I/O, no clock.

===================  ===========  ==============================================
perpd                orderType    limitPrice (signed, exactly priceDecimals digits)
===================  ===========  ==============================================
LIMIT GTC / FOK      LIMIT        the limit; timeInForce "GTC" / "FOK"
LIMIT IOC            LIMIT        the limit; timeInForce "FOK" (see below)
MARKET               MARKET       the worst price: mark -/+ the slippage cap,
                                  rounded inwards to the tick (the slippage bound)
STOP_MARKET          STOP_LOSS    the trigger price
TAKE_PROFIT_MARKET   TAKE_PROFIT  the trigger price
===================  ===========  ==============================================

Vest fills every order whole, against itself: nothing rests on a book and there is no
partial fill, so an immediate-or-cancel limit can only fill completely or not at all —
what Vest calls FOK. POST_ONLY, STOP_LIMIT and TAKE_PROFIT_LIMIT do not exist on Vest
and are refused before this module (capabilities). The client id is the order's
`nonce` (Vest has no client order id; the nonce is what `GET /orders?nonce=` finds).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpd.errors import InvalidRequest, NotSupported
from perpd.model import OrderRequest, OrderType, Side, TimeInForce, round_price
from venues.vest.constants import LIMIT, MARKET, STOP_LOSS, TAKE_PROFIT
from venues.vest.markets import VestMarket

BPS = Decimal(10_000)
WIRE_TYPES = {
    OrderType.LIMIT: LIMIT,
    OrderType.MARKET: MARKET,
    OrderType.STOP_MARKET: STOP_LOSS,
    OrderType.TAKE_PROFIT_MARKET: TAKE_PROFIT,
}
WIRE_TIFS = {TimeInForce.GTC: "GTC", TimeInForce.FOK: "FOK", TimeInForce.IOC: "FOK"}


@dataclass(frozen=True, slots=True)
class WireOrder:
    """The fields of one `POST /orders` order, in the docs' order."""

    time: int
    nonce: int
    symbol: str
    is_buy: bool
    size: str
    order_type: str
    limit_price: str
    reduce_only: bool
    time_in_force: str | None = None

    def signed(self) -> tuple[int, int, str, str, bool, str, str, bool]:
        """The eight signed values, in the signature's order."""
        return (self.time, self.nonce, self.order_type, self.symbol, self.is_buy, self.size, self.limit_price,
                self.reduce_only)

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time": self.time, "nonce": self.nonce, "symbol": self.symbol, "isBuy": self.is_buy, "size": self.size,
            "orderType": self.order_type, "limitPrice": self.limit_price, "reduceOnly": self.reduce_only,
        }
        if self.time_in_force is not None:  # "only accepted when orderType == LIMIT"
            out["timeInForce"] = self.time_in_force
        return out

    def body(self, signature: str, recv_window_ms: int) -> dict[str, Any]:
        return {"order": self.fields(), "recvWindow": recv_window_ms, "signature": signature}

    def child(self, kind: str, price: str, nonce: int) -> WireOrder:
        """A TP/SL child's signed fields: type TAKE_PROFIT/STOP_LOSS, side flipped, reduce-only."""
        return WireOrder(self.time, nonce, self.symbol, not self.is_buy, self.size, kind, price, True)


def nonce_of(client_id: str) -> int:
    """perpd's INT63 client id is Vest's nonce."""
    if not client_id.isdigit():
        raise InvalidRequest(f"vest: client id {client_id!r} is not a nonce (a positive integer)")
    return int(client_id)


def worst_price(side: Side, reference: Decimal, slippage_bps: Decimal, market: VestMarket) -> Decimal:
    """A market order's bound: the reference moved `slippage_bps` against us, on the tick,
    rounded towards the reference (never a looser bound than asked)."""
    raw = reference * (BPS + side.sign * slippage_bps) / BPS
    return round_price(raw, market.market.tick_size, side)


def to_wire(request: OrderRequest, market: VestMarket, *, time_ms: int, reference: Decimal | None = None,
            default_slippage_bps: Decimal = Decimal(100)) -> WireOrder:
    """The wire order of a request already checked against capabilities and the market."""
    kind = WIRE_TYPES.get(request.type)
    if kind is None:
        raise NotSupported(f"vest has no {request.type.value} orders")
    tif = None
    if request.type is OrderType.LIMIT:
        assert request.price is not None
        limit = request.price
        tif = WIRE_TIFS.get(request.tif)
        if tif is None:
            raise NotSupported(f"vest limit orders are GTC, IOC or FOK, not {request.tif.value}")
    elif request.type is OrderType.MARKET:
        if request.price is not None:
            limit = request.price
        elif reference is not None:
            slippage = request.slippage_bps if request.slippage_bps is not None else default_slippage_bps
            limit = worst_price(request.side, reference, slippage, market)
        else:
            raise InvalidRequest("vest: a market order needs a reference price for its slippage bound")
    else:
        assert request.trigger_price is not None
        limit = request.trigger_price
    return WireOrder(
        time=time_ms,
        nonce=nonce_of(request.client_id),
        symbol=market.venue_symbol,
        is_buy=request.side is Side.BUY,
        size=market.fmt_size(request.size),
        order_type=kind,
        limit_price=market.fmt_price(limit),
        reduce_only=request.reduce_only,
        time_in_force=tif,
    )
