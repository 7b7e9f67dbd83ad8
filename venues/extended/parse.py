"""Extended account JSON -> perpd.model: balance, positions, orders, fills, placed orders.
Pure functions: no I/O, no clock, no state (market data is in market_data.py).

Client ids are Extended's external ids (`externalId`; `externalOrderId` on fills where
the venue includes it). A fill without one is resolved through `client_of(order id)`,
which the session fills from the orders it has seen. Conditional orders are stop or
take-profit by side and trigger direction: a buy that fires UP (mark rises to the
trigger) is a stop, DOWN a take-profit; a sell mirrors it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from perpd.model import (
    ZERO,
    Balance,
    Fill,
    FundingPayment,
    Liquidity,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
)
from venues.extended.market_data import dec, unified

STATUSES: dict[str, OrderStatus] = {
    "NEW": OrderStatus.OPEN,
    "UNTRIGGERED": OrderStatus.OPEN,
    "TRIGGERED": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}
# (side, trigger direction) -> stop? (else take-profit)
STOP_DIRECTION = {(Side.BUY, "UP"): True, (Side.BUY, "DOWN"): False, (Side.SELL, "DOWN"): True,
                  (Side.SELL, "UP"): False}
TRIGGER_TYPES = {(True, True): OrderType.STOP_MARKET, (True, False): OrderType.STOP_LIMIT,
                 (False, True): OrderType.TAKE_PROFIT_MARKET, (False, False): OrderType.TAKE_PROFIT_LIMIT}


def side_of(text: Any) -> Side:
    return Side.BUY if str(text).upper() in ("BUY", "LONG") else Side.SELL


def order_type_of(row: Mapping[str, Any], side: Side) -> OrderType:
    kind = str(row.get("type") or "LIMIT")
    if kind == "MARKET":
        return OrderType.MARKET
    if kind == "CONDITIONAL":
        trigger = row.get("trigger") or {}
        stop = STOP_DIRECTION.get((side, str(trigger.get("direction"))), True)
        market_exec = str(trigger.get("executionPriceType") or "MARKET") == "MARKET"
        return TRIGGER_TYPES[(stop, market_exec)]
    return OrderType.LIMIT


def tif_of(row: Mapping[str, Any]) -> TimeInForce:
    if row.get("postOnly"):
        return TimeInForce.POST_ONLY
    return {"IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}.get(str(row.get("timeInForce")), TimeInForce.GTC)


def parse_order(row: Mapping[str, Any], account: str, venue: str) -> Order:
    """An OpenOrderModel (REST or the ORDER stream) -> Order with its cumulative fill."""
    side = side_of(row["side"])
    otype = order_type_of(row, side)
    trigger = row.get("trigger") or {}
    reason = row.get("statusReason")
    filled = dec(row.get("filledQty"))
    return Order(
        account=account,
        venue=venue,
        client_id=str(row.get("externalId") or row["id"]),
        symbol=unified(str(row["market"])),
        side=side,
        type=otype,
        size=Decimal(str(row["qty"])),
        status=STATUSES.get(str(row.get("status")), OrderStatus.UNKNOWN),
        price=dec(row.get("price"), None) if otype is not OrderType.MARKET or row.get("price") else None,
        trigger_price=dec(trigger.get("triggerPrice"), None),
        tif=tif_of(row),
        reduce_only=bool(row.get("reduceOnly")),
        venue_order_id=str(row["id"]),
        filled_size=filled,  # type: ignore[arg-type]
        avg_fill_price=dec(row.get("averagePrice"), None) if filled else None,
        created_ms=int(row.get("createdTime") or 0),
        updated_ms=int(row.get("updatedTime") or row.get("createdTime") or 0),
        reason=str(reason) if reason and reason != "NONE" else None,
    )


def parse_orders(rows: Iterable[Mapping[str, Any]] | None, account: str, venue: str) -> list[Order]:
    return [parse_order(row, account, venue) for row in rows or ()]


def parse_fill(row: Mapping[str, Any], account: str, venue: str,
               client_of: Callable[[str], str | None] = lambda _oid: None) -> Fill:
    """An AccountTradeModel -> Fill; the client id from the row or from `client_of`."""
    order_id = str(row["orderId"]) if row.get("orderId") is not None else None
    client = row.get("externalOrderId") or row.get("externalId")
    if not client and order_id is not None:
        client = client_of(order_id)
    return Fill(
        account=account,
        venue=venue,
        trade_id=str(row["id"]),
        client_id=str(client) if client else None,
        venue_order_id=order_id,
        symbol=unified(str(row["market"])),
        side=side_of(row["side"]),
        price=Decimal(str(row["price"])),
        size=Decimal(str(row["qty"])),
        fee=dec(row.get("fee")),  # type: ignore[arg-type]
        liquidity=Liquidity.TAKER if row.get("isTaker", True) else Liquidity.MAKER,
        ts_ms=int(row.get("createdTime") or 0),
    )


def parse_fills(rows: Iterable[Mapping[str, Any]] | None, account: str, venue: str,
                client_of: Callable[[str], str | None] = lambda _oid: None) -> list[Fill]:
    """Oldest first, each trade id once."""
    seen: dict[str, Fill] = {}
    for row in rows or ():
        fill = parse_fill(row, account, venue, client_of)
        seen.setdefault(fill.trade_id, fill)
    return sorted(seen.values(), key=lambda f: (f.ts_ms, f.trade_id))


def parse_position(row: Mapping[str, Any], account: str, venue: str, ts_ms: int = 0) -> Position:
    """A PositionModel -> Position (size signed; a CLOSED row is flat)."""
    size = dec(row.get("size"))
    if str(row.get("status", "OPENED")) == "CLOSED":
        size = ZERO
    signed = size if side_of(row.get("side", "LONG")) is Side.BUY else -size  # type: ignore[operator]
    leverage = dec(row.get("leverage"), None)
    return Position(
        account=account,
        venue=venue,
        symbol=unified(str(row["market"])),
        size=signed,
        entry_price=dec(row.get("openPrice"), None) if size else None,
        mark_price=dec(row.get("markPrice"), None),
        unrealized_pnl=dec(row.get("unrealisedPnl")),  # type: ignore[arg-type]
        realized_pnl=dec(row.get("realisedPnl")),  # type: ignore[arg-type]
        leverage=int(leverage) if leverage else None,
        margin_mode=MarginMode.CROSS,
        liquidation_price=dec(row.get("liquidationPrice"), None),
        margin_used=dec(row.get("margin")),  # type: ignore[arg-type]
        ts_ms=int(row.get("updatedAt") or ts_ms),
    )


def parse_positions(rows: Iterable[Mapping[str, Any]] | None, account: str, venue: str) -> list[Position]:
    """Non-zero positions only."""
    out = [parse_position(row, account, venue) for row in rows or ()]
    return [p for p in out if p.size != 0]


def parse_balance(data: Mapping[str, Any], account: str, venue: str) -> Balance:
    """A BalanceModel -> Balance (equity, available for trade, initial margin)."""
    return Balance(
        account=account,
        venue=venue,
        asset=str(data.get("collateralName") or "USD"),
        equity=dec(data.get("equity")),  # type: ignore[arg-type]
        available=dec(data.get("availableForTrade")),  # type: ignore[arg-type]
        margin_used=dec(data.get("initialMargin")),  # type: ignore[arg-type]
        unrealized_pnl=dec(data.get("unrealisedPnl")),  # type: ignore[arg-type]
        ts_ms=int(data.get("updatedTime") or 0),
    )


def parse_placed(body: Mapping[str, Any]) -> tuple[str, str]:
    """POST /user/order `data` -> (venue order id, external id); the id may be quoted."""
    data = body.get("data") or {}
    return str(int(str(data["id"]))), str(data.get("externalId") or "")


def parse_leverage(body: Mapping[str, Any], market: str) -> int | None:
    """GET /user/leverage -> the leverage of `market` (Extended name), if listed."""
    for row in body.get("data") or ():
        if row.get("market") == market:
            return int(Decimal(str(row["leverage"])))
    return None


def parse_funding_history(rows: Iterable[Mapping[str, Any]] | None, symbol_of: Callable[[str], str | None],
                          account: str, venue: str = "extended") -> list[FundingPayment]:
    """`GET /user/funding/history` rows -> payments, oldest first, each `id` once; rows of a
    market not loaded (`symbol_of(name)` None) are skipped.

    Checked against the recorded row in tests/fixtures/extended/rest_user_funding_history.resp.ccxt.json:
    `fundingFee` is the account's collateral movement, positive received and negative paid
    (ccxt's Extended adapter hands it on as its received-positive `amount`), so it is the
    amount as it stands; `size` is unsigned with `side` LONG/SHORT; `paidTime` is in ms."""
    found: dict[str, FundingPayment] = {}
    for row in rows or ():
        symbol = symbol_of(str(row.get("market")))
        if symbol is None:
            continue
        size = abs(dec(row.get("size")) or ZERO)
        payment_id = str(row["id"])
        found.setdefault(payment_id, FundingPayment(
            account=account, venue=venue, payment_id=payment_id, symbol=symbol,
            amount=dec(row.get("fundingFee")) or ZERO, ts_ms=int(row.get("paidTime") or 0),
            rate=dec(row.get("fundingRate"), None),
            position=-size if str(row.get("side")).upper() == "SHORT" else size))
    return sorted(found.values(), key=lambda p: (p.ts_ms, p.payment_id))
