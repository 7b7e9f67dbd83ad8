"""Sim exchange views -> Extended's JSON, in the shapes of the recorded samples plus the
fields SDK 2.6.0's models require (shared/venues/sdk-wire-notes.md section 1.6: a
position needs `status`, `unrealisedPnl`, `realisedPnl`, `createdAt`; an order
`timeInForce`; a balance `unrealisedPnl`, `initialMargin`, `marginRatio`; `expiryTime`,
not `expireTime`). Numbers are text on the market's scale, ids integers, times ms.
Pure functions, used by the emulator only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpd.model import OrderStatus, OrderType, Side
from venues.extended.emulator.markets import MarketDef
from venues.simex.events import BalanceView, OrderView, PositionView, PublicTrade, Reason, SimFill

ORDER_ID_BASE = 1_790_000_000_000_000_000  # Extended order ids are int64 snowflakes
TRADE_ID_BASE = 1_810_000_000_000_000_000
POSITION_ID_BASE = 1_820_000_000_000_000_000
ZERO = Decimal(0)
CASH = Decimal("0.000001")

REASONS = {
    Reason.POST_ONLY_WOULD_CROSS: "POST_ONLY_FAILED",
    Reason.REDUCE_ONLY_WOULD_INCREASE: "REDUCE_ONLY_FAILED",
    Reason.REDUCE_ONLY: "REDUCE_ONLY_FAILED",
    Reason.INSUFFICIENT_MARGIN: "NOT_ENOUGH_FUNDS",
    Reason.MARGIN: "NOT_ENOUGH_FUNDS",
    Reason.NO_LIQUIDITY: "NO_LIQUIDITY",
    Reason.IOC_UNFILLED: "NO_LIQUIDITY",
    Reason.SELF_TRADE: "SELF_TRADE_PROTECTION",
}


@dataclass(slots=True)
class OrderMeta:
    """What Extended shows of an order that the sim exchange does not keep."""

    wire_type: str  # LIMIT | MARKET | CONDITIONAL
    time_in_force: str  # GTT | IOC
    post_only: bool
    expiry_ms: int
    trigger: dict[str, Any] | None = None
    fee_rate: Decimal = ZERO
    expired: bool = False
    replaced: bool = False


def cash(value: Decimal) -> str:
    return format(value.quantize(CASH), "f")


def num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def order_id(oid: int) -> int:
    return ORDER_ID_BASE + oid


def status_of(view: OrderView, meta: OrderMeta | None) -> str:
    if view.status is OrderStatus.OPEN:
        return "UNTRIGGERED" if view.waiting_for_trigger else "NEW"
    if view.status is OrderStatus.CANCELLED and meta is not None and meta.expired:
        return "EXPIRED"
    return view.status.name


def order_json(view: OrderView, market: MarketDef, account_id: int, meta: OrderMeta | None) -> dict[str, Any]:
    """An OpenOrderModel (REST and the ORDER stream)."""
    reason = "NONE"
    if view.reason is not None and not view.status.is_live:
        reason = "ORDER_REPLACED" if meta is not None and meta.replaced else REASONS.get(view.reason, "NONE")
    if meta is not None and meta.expired:
        reason = "NONE"
    filled = view.filled
    row: dict[str, Any] = {
        "id": order_id(view.oid),
        "accountId": account_id,
        "externalId": view.client_id or str(order_id(view.oid)),
        "market": market.name,
        "type": meta.wire_type if meta else ("MARKET" if view.type is OrderType.MARKET else "LIMIT"),
        "side": "BUY" if view.side is Side.BUY else "SELL",
        "status": status_of(view, meta),
        "statusReason": reason,
        "price": market.price(view.price) if view.price is not None else None,
        "averagePrice": market.price(view.avg_price) if view.avg_price is not None and filled else None,
        "qty": market.size(view.size),
        "filledQty": market.size(filled),
        "cancelledQty": market.size(view.size - filled) if view.status is OrderStatus.CANCELLED else "0",
        "reduceOnly": view.reduce_only,
        "postOnly": meta.post_only if meta else False,
        "payedFee": cash(filled * (view.avg_price or ZERO) * (meta.fee_rate if meta else ZERO)),
        "createdTime": view.created_ms,
        "updatedTime": view.updated_ms,
        "expiryTime": meta.expiry_ms if meta else None,
        "timeInForce": meta.time_in_force if meta else "GTT",
    }
    if meta is not None and meta.trigger is not None:
        row["trigger"] = meta.trigger
    return row


def rejected_order_json(*, oid: int, account_id: int, body: dict[str, Any], market: MarketDef, reason: str,
                        now_ms: int) -> dict[str, Any]:
    """An order Extended accepted and then refused at execution (post-only, reduce-only)."""
    row = {
        "id": oid,
        "accountId": account_id,
        "externalId": str(body["id"]),
        "market": market.name,
        "type": body["type"],
        "side": body["side"],
        "status": "REJECTED",
        "statusReason": reason,
        "price": market.price(Decimal(str(body["price"]))),
        "averagePrice": None,
        "qty": market.size(Decimal(str(body["qty"]))),
        "filledQty": "0",
        "cancelledQty": market.size(Decimal(str(body["qty"]))),
        "reduceOnly": bool(body.get("reduceOnly")),
        "postOnly": bool(body.get("postOnly")),
        "payedFee": "0",
        "createdTime": now_ms,
        "updatedTime": now_ms,
        "expiryTime": int(body["expiryEpochMillis"]),
        "timeInForce": body["timeInForce"],
    }
    if body.get("trigger"):
        row["trigger"] = body["trigger"]
    return row


def trade_json(fill: SimFill, market: MarketDef, account_id: int) -> dict[str, Any]:
    """An AccountTradeModel (GET /user/trades and the TRADE stream)."""
    return {
        "id": TRADE_ID_BASE + fill.trade_id,
        "accountId": account_id,
        "market": market.name,
        "orderId": order_id(fill.oid),
        "externalOrderId": fill.client_id,
        "side": "BUY" if fill.side is Side.BUY else "SELL",
        "price": market.price(fill.price),
        "qty": market.size(fill.size),
        "value": cash(fill.price * fill.size),
        "fee": cash(fill.fee),
        "isTaker": fill.liquidity.value == "taker",
        "tradeType": "LIQUIDATION" if fill.liquidation else "TRADE",
        "createdTime": fill.ts_ms,
    }


def public_trade_json(trade: PublicTrade, market: MarketDef) -> dict[str, Any]:
    return {
        "i": TRADE_ID_BASE + trade.trade_id,
        "m": market.name,
        "S": "BUY" if trade.taker_side is Side.BUY else "SELL",
        "tT": "TRADE",
        "T": trade.ts_ms,
        "p": market.price(trade.price),
        "q": market.size(trade.size),
    }


def position_json(view: PositionView, market: MarketDef, account_id: int, opened_ms: int) -> dict[str, Any]:
    """A PositionModel; a flat position is CLOSED with size 0."""
    size = abs(view.size)
    return {
        "id": POSITION_ID_BASE + account_id * 100 + ord(market.asset[0]),
        "accountId": account_id,
        "market": market.name,
        "status": "OPENED" if size else "CLOSED",
        "side": "LONG" if view.size >= 0 else "SHORT",
        "leverage": str(view.leverage),
        "size": market.size(size),
        "value": cash(size * view.mark_price),
        "openPrice": market.price(view.entry_price) if view.entry_price is not None else "0",
        "markPrice": format(view.mark_price, "f"),
        "liquidationPrice": market.price(view.liquidation_price) if view.liquidation_price is not None else None,
        "margin": cash(view.margin_used),
        "unrealisedPnl": cash(view.unrealized_pnl),
        "realisedPnl": cash(view.realized_pnl),
        "tpPrice": None,
        "slPrice": None,
        "adl": 1 if size else None,
        "createdAt": opened_ms,
        "updatedAt": view.ts_ms,
    }


def balance_json(view: BalanceView) -> dict[str, Any]:
    """A BalanceModel."""
    margin = view.margin_used + view.order_margin
    ratio = (view.margin_used / view.equity) if view.equity > 0 else ZERO
    return {
        "collateralName": "USD",
        "balance": cash(view.balance),
        "equity": cash(view.equity),
        "availableForTrade": cash(view.available),
        "availableForWithdrawal": cash(max(view.available, ZERO)),
        "unrealisedPnl": cash(view.unrealized_pnl),
        "initialMargin": cash(margin),
        "marginRatio": format(ratio.quantize(Decimal("0.0001")), "f"),
        "updatedTime": view.ts_ms,
        "exposure": "0",
        "leverage": "0",
    }


def levels(rows: tuple[tuple[Decimal, Decimal], ...], market: MarketDef, *, short: bool) -> list[dict[str, str]]:
    if short:
        return [{"q": market.size(s), "p": market.price(p)} for p, s in rows]
    return [{"qty": market.size(s), "price": market.price(p)} for p, s in rows]


def envelope(data: Any) -> dict[str, Any]:
    return {"status": "OK", "data": data}


def error(code: int, message: str) -> dict[str, Any]:
    return {"status": "ERROR", "error": {"code": code, "message": message}}
