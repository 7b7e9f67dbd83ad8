"""Hyperliquid account data -> perpd.model: balance and positions, leverage, the address
budget, orders, fills, funding payments, and `/exchange` answers. Pure functions: no
I/O, no clock, no state.

Every function takes the decoded payload as the venue sends it (`/info` responses,
`/exchange` responses, WebSocket `data`) and a `symbol_of` that turns a venue coin
name into a unified symbol (market_data.perp_symbol by default: None skips non-perp
coins). Integers may arrive as strings (some recorded fixtures do that), so ids and
times go through `int()`. Market data (markets, books, trades, candles) is
market_data.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpd.model import (
    ZERO,
    Balance,
    Fill,
    LeverageSetting,
    Liquidity,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
)
from venues.hyperliquid.market_data import QUOTE, SIDES, VENUE, SymbolOf, opt_decimal, perp_symbol

_D = Decimal

# --------------------------------------------------------------------------- account


def parse_clearinghouse_state(
    payload: Mapping[str, Any], account: str, symbol_of: SymbolOf = perp_symbol, *, venue: str = VENUE, ts_ms: int = 0
) -> tuple[Balance, list[Position]]:
    """`clearinghouseState` -> the USDC balance and the non-zero positions."""
    ts = int(payload.get("time", ts_ms))
    summary = payload["marginSummary"]
    positions = []
    unrealized = ZERO
    for entry in payload["assetPositions"]:
        item = entry["position"]
        size = _D(item["szi"])
        symbol = symbol_of(item["coin"])
        if symbol is None or size == 0:
            continue
        pnl = _D(item["unrealizedPnl"])
        unrealized += pnl
        leverage = item.get("leverage") or {}
        value = _D(item["positionValue"])
        positions.append(
            Position(
                account=account,
                venue=venue,
                symbol=symbol,
                size=size,
                entry_price=opt_decimal(item.get("entryPx")),
                mark_price=(value / abs(size)) if size else None,
                unrealized_pnl=pnl,
                leverage=int(leverage["value"]) if "value" in leverage else None,
                margin_mode=MarginMode.ISOLATED if leverage.get("type") == "isolated" else MarginMode.CROSS,
                liquidation_price=opt_decimal(item.get("liquidationPx")),
                margin_used=_D(item.get("marginUsed", "0")),
                ts_ms=ts,
            )
        )
    balance = Balance(
        account=account,
        venue=venue,
        asset=QUOTE,
        equity=_D(summary["accountValue"]),
        available=_D(payload["withdrawable"]),
        margin_used=_D(summary["totalMarginUsed"]),
        unrealized_pnl=unrealized,
        ts_ms=ts,
    )
    return balance, positions


def parse_active_asset_data(payload: Mapping[str, Any], symbol: str) -> LeverageSetting:
    """`activeAssetData` -> the account's leverage setting for one asset."""
    leverage = payload["leverage"]
    mode = MarginMode.ISOLATED if leverage["type"] == "isolated" else MarginMode.CROSS
    return LeverageSetting(symbol, int(leverage["value"]), mode)


def parse_user_rate_limit(payload: Mapping[str, Any]) -> tuple[int, int]:
    """`userRateLimit` -> (requests used, request cap) of the address budget."""
    return int(payload["nRequestsUsed"]), int(payload["nRequestsCap"])


# --------------------------------------------------------------------------- orders

_ORDER_TYPES = {
    "Limit": OrderType.LIMIT,
    "Market": OrderType.MARKET,
    "Stop Market": OrderType.STOP_MARKET,
    "Stop Limit": OrderType.STOP_LIMIT,
    "Take Profit Market": OrderType.TAKE_PROFIT_MARKET,
    "Take Profit Limit": OrderType.TAKE_PROFIT_LIMIT,
}
_TIFS = {"Gtc": TimeInForce.GTC, "Ioc": TimeInForce.IOC, "Alo": TimeInForce.POST_ONLY,
         "FrontendMarket": TimeInForce.IOC, "LiquidationMarket": TimeInForce.IOC}

# Order status words (docs: info endpoint, orderStatus) -> perpd status.
STATUSES: dict[str, OrderStatus] = {
    "open": OrderStatus.OPEN,
    "triggered": OrderStatus.OPEN,  # a trigger fired and now rests or fills as a limit
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
    "scheduledCancel": OrderStatus.CANCELLED,
    "waitingForTrigger": OrderStatus.OPEN,
    "waitingForFill": OrderStatus.OPEN,
}


def order_status(word: str) -> OrderStatus:
    """Map a status word; the many `<reason>Canceled` / `<reason>Rejected` words by suffix."""
    status = STATUSES.get(word)
    if status is not None:
        return status
    if word.endswith("Canceled"):
        return OrderStatus.CANCELLED
    if word.endswith("Rejected"):
        return OrderStatus.REJECTED
    return OrderStatus.UNKNOWN


def parse_order(
    item: Mapping[str, Any],
    account: str,
    symbol_of: SymbolOf = perp_symbol,
    *,
    status: str = "open",
    status_ms: int | None = None,
    venue: str = VENUE,
) -> Order | None:
    """One order as `frontendOpenOrders`, `orderStatus`, `historicalOrders` or WS
    `orderUpdates` describe it (the WS shape lacks type and tif: LIMIT/GTC assumed)."""
    symbol = symbol_of(item["coin"])
    if symbol is None:
        return None
    remaining = _D(item["sz"])
    original = _D(item.get("origSz", item["sz"]))
    filled = original - remaining
    order_type = _ORDER_TYPES.get(item.get("orderType") or "Limit", OrderType.LIMIT)
    is_trigger = bool(item.get("isTrigger")) or order_type.is_trigger
    mapped = order_status(status)
    if mapped is OrderStatus.OPEN and filled > 0:
        mapped = OrderStatus.PARTIALLY_FILLED
    trigger_px = opt_decimal(item.get("triggerPx")) if is_trigger else None
    created = int(item["timestamp"])
    return Order(
        account=account,
        venue=venue,
        client_id=item.get("cloid") or f"oid:{int(item['oid'])}",
        symbol=symbol,
        side=SIDES[item["side"]],
        type=order_type,
        size=original,
        status=mapped,
        price=None if order_type in (OrderType.MARKET,) else _D(item["limitPx"]),
        trigger_price=trigger_px if trigger_px else None,
        tif=_TIFS.get(item.get("tif") or "Gtc", TimeInForce.GTC),
        reduce_only=bool(item.get("reduceOnly", False)),
        venue_order_id=str(int(item["oid"])),
        filled_size=filled,
        created_ms=created,
        updated_ms=int(status_ms) if status_ms is not None else created,
        reason=None if mapped in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED) else status,
    )


def parse_open_orders(payload: Iterable[Mapping[str, Any]], account: str, symbol_of: SymbolOf = perp_symbol, *, venue: str = VENUE) -> list[Order]:
    """`frontendOpenOrders` (or `openOrders`) -> live orders."""
    orders = (parse_order(item, account, symbol_of, venue=venue) for item in payload)
    return [o for o in orders if o is not None]


def parse_order_status(payload: Mapping[str, Any], account: str, symbol_of: SymbolOf = perp_symbol, *, venue: str = VENUE) -> Order | None:
    """`orderStatus` -> the order, or None for `{"status": "unknownOid"}`."""
    if payload.get("status") != "order":
        return None
    entry = payload["order"]
    return parse_order(entry["order"], account, symbol_of, status=entry["status"], status_ms=entry.get("statusTimestamp"), venue=venue)


def parse_order_updates(payload: Iterable[Mapping[str, Any]], account: str, symbol_of: SymbolOf = perp_symbol, *, venue: str = VENUE) -> list[Order]:
    """WS `orderUpdates` data, or `historicalOrders` (same {order, status, statusTimestamp})."""
    orders = (
        parse_order(e["order"], account, symbol_of, status=e["status"], status_ms=e.get("statusTimestamp"), venue=venue)
        for e in payload
    )
    return [o for o in orders if o is not None]


# --------------------------------------------------------------------------- fills and funding


def fill_id(item: Mapping[str, Any]) -> str:
    """The unique trade id of a fill: `tid` when present (old recordings lack it)."""
    if item.get("tid") is not None:
        return str(int(item["tid"]))
    return f"{item['hash']}:{int(item['oid'])}:{item['px']}:{item['sz']}"


def parse_fill(item: Mapping[str, Any], account: str, symbol_of: SymbolOf = perp_symbol, *, venue: str = VENUE) -> Fill | None:
    symbol = symbol_of(item["coin"])
    if symbol is None:
        return None
    fee = _D(item["fee"]) + _D(item.get("builderFee", "0"))
    return Fill(
        account=account,
        venue=venue,
        trade_id=fill_id(item),
        client_id=item.get("cloid"),
        venue_order_id=str(int(item["oid"])),
        symbol=symbol,
        side=SIDES[item["side"]],
        price=_D(item["px"]),
        size=_D(item["sz"]),
        fee=fee,
        liquidity=Liquidity.TAKER if item.get("crossed") else Liquidity.MAKER,
        ts_ms=int(item["time"]),
        realized_pnl=opt_decimal(item.get("closedPnl")),
    )


def parse_fills(payload: Iterable[Mapping[str, Any]], account: str, symbol_of: SymbolOf = perp_symbol, *, venue: str = VENUE) -> list[Fill]:
    """`userFills(ByTime)`, WS `user.fills` or `userFills.fills` -> fills, oldest first,
    each trade id once (the venue may repeat a fill across pages)."""
    seen: dict[str, Fill] = {}
    for item in payload:
        fill = parse_fill(item, account, symbol_of, venue=venue)
        if fill is not None:
            seen.setdefault(fill.trade_id, fill)
    return sorted(seen.values(), key=lambda f: (f.ts_ms, f.trade_id))


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One hourly funding payment on a position; `amount` < 0 is paid."""

    symbol: str
    amount: Decimal
    size: Decimal
    rate: Decimal
    ts_ms: int


def parse_user_funding(payload: Iterable[Mapping[str, Any]], symbol_of: SymbolOf = perp_symbol) -> list[FundingPayment]:
    """`userFunding` (ledger rows with a `delta`) or WS `userFundings.fundings`."""
    out = []
    for item in payload:
        delta = item.get("delta", item)
        if delta.get("type", "funding") != "funding":
            continue
        symbol = symbol_of(delta["coin"])
        if symbol is not None:
            out.append(FundingPayment(symbol, _D(delta["usdc"].strip()), _D(delta["szi"]), _D(delta["fundingRate"]), int(item["time"])))
    return out


# --------------------------------------------------------------------------- exchange answers


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """One slot of an order/batchModify answer."""

    kind: str  # resting | filled | error | waiting
    oid: str | None = None
    filled_size: Decimal = ZERO
    avg_price: Decimal | None = None
    error: str | None = None
    waiting_for: str | None = None  # "fill" (parent still open) | "trigger" (child placed)


def parse_statuses(body: Mapping[str, Any]) -> list[Any]:
    """The `statuses` list of an ok order/cancel answer ([] for the `default` type)."""
    response = body["response"]
    if response.get("type") == "default":
        return []
    return list(response["data"]["statuses"])


def parse_place_result(status: Any) -> PlaceResult:
    if isinstance(status, str):  # "waitingForTrigger" / "waitingForFill" children
        return PlaceResult("waiting", waiting_for="fill" if status == "waitingForFill" else "trigger")
    if "resting" in status:
        return PlaceResult("resting", oid=str(int(status["resting"]["oid"])))
    if "filled" in status:
        f = status["filled"]
        return PlaceResult("filled", oid=str(int(f["oid"])), filled_size=_D(f["totalSz"]), avg_price=_D(f["avgPx"]))
    if "error" in status:
        return PlaceResult("error", error=str(status["error"]))
    raise ValueError(f"unknown order status {status!r}")
