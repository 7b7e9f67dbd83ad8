"""Sim engine views -> Hyperliquid JSON, in the shapes of the recorded samples.

Numbers are strings the way the venue prints them: a whole number keeps one decimal
(`"29792.0"`, `"0.0"`), others print without trailing zeros (`"0.0335"`). Ids and
times are JSON integers. Pure functions, used by the emulator only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from perpd.model import MarginMode, OrderStatus, OrderType, Side, TimeInForce
from venues.simex.events import (
    BalanceView,
    BookSnapshot,
    CandleView,
    FundingPayment,
    MarketView,
    OrderView,
    PositionView,
    PublicTrade,
    Reason,
    SimFill,
)

ZERO = Decimal(0)


def num(value: Decimal | int | None) -> str:
    """A venue number string: `65000` -> `"65000.0"`, `0.03350` -> `"0.0335"`."""
    if value is None:
        return "0.0"
    text = f"{Decimal(value).normalize():f}"
    if text in ("-0", "0"):
        return "0.0"
    return text if "." in text else text + ".0"


def side_of(side: Side) -> str:
    return "B" if side is Side.BUY else "A"


def tx_hash(n: int) -> str:
    return f"0x{n:064x}"


# --------------------------------------------------------------------------- meta


def universe_entry(coin: str, sz_decimals: int, max_leverage: int) -> dict[str, Any]:
    return {"name": coin, "szDecimals": sz_decimals, "maxLeverage": max_leverage, "marginTableId": max_leverage}


def meta(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    tables = sorted({e["maxLeverage"] for e in entries})
    return {
        "universe": list(entries),
        "marginTables": [[lev, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": lev}]}] for lev in tables],
    }


SPOT_META = {  # the shape of info_spotMeta--minimal.jkorf: USDC only, no spot pairs
    "universe": [],
    "tokens": [{"name": "USDC", "szDecimals": 8, "weiDecimals": 8, "index": 0,
                "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054", "isCanonical": True,
                "evmContract": None, "fullName": None}],
}


def asset_ctx(view: MarketView, book: BookSnapshot, day_volume: Decimal = ZERO) -> dict[str, Any]:
    bid = book.bids[0][0] if book.bids else None
    ask = book.asks[0][0] if book.asks else None
    mid = (bid + ask) / 2 if bid is not None and ask is not None else None
    premium = view.mark_price / view.index_price - 1 if view.index_price else ZERO
    return {
        "funding": num(view.funding_rate.quantize(Decimal("1e-10"))),
        "openInterest": num(view.open_interest),
        "prevDayPx": num(view.index_price),
        "dayNtlVlm": num(day_volume),
        "premium": num(premium.quantize(Decimal("1e-8"))),
        "oraclePx": num(view.index_price),
        "markPx": num(view.mark_price),
        "midPx": num(mid) if mid is not None else None,
        "impactPxs": [num(bid), num(ask)] if bid is not None and ask is not None else None,
        "dayBaseVlm": "0.0",
    }


# --------------------------------------------------------------------------- market data


def l2_book(coin: str, book: BookSnapshot, counts: tuple[Sequence[int], Sequence[int]]) -> dict[str, Any]:
    """`levels` [bids, asks], each level `{"px", "sz", "n"}` with `n` orders resting there."""

    def side(levels: Iterable[tuple[Decimal, Decimal]], n: Sequence[int]) -> list[dict[str, Any]]:
        return [{"px": num(px), "sz": num(sz), "n": count} for (px, sz), count in zip(levels, n, strict=True)]

    return {"coin": coin, "time": book.ts_ms, "levels": [side(book.bids, counts[0]), side(book.asks, counts[1])]}


def trade(coin: str, t: PublicTrade) -> dict[str, Any]:
    return {"coin": coin, "side": side_of(t.taker_side), "px": num(t.price), "sz": num(t.size), "time": t.ts_ms,
            "hash": tx_hash(t.trade_id), "tid": t.trade_id, "users": [t.buyer, t.seller]}


def candle(coin: str, interval: str, interval_ms: int, c: CandleView) -> dict[str, Any]:
    return {"t": c.open_ms, "T": c.open_ms + interval_ms - 1, "s": coin, "i": interval, "o": num(c.open),
            "c": num(c.close), "h": num(c.high), "l": num(c.low), "v": num(c.volume), "n": c.trades}


# --------------------------------------------------------------------------- orders

_TYPE_NAMES = {
    OrderType.LIMIT: "Limit", OrderType.MARKET: "Market", OrderType.STOP_MARKET: "Stop Market",
    OrderType.STOP_LIMIT: "Stop Limit", OrderType.TAKE_PROFIT_MARKET: "Take Profit Market",
    OrderType.TAKE_PROFIT_LIMIT: "Take Profit Limit",
}
_TIF_NAMES = {TimeInForce.GTC: "Gtc", TimeInForce.IOC: "Ioc", TimeInForce.POST_ONLY: "Alo", TimeInForce.FOK: "Ioc"}
_END_WORDS = {
    Reason.USER: "canceled",
    Reason.DEAD_MANS_SWITCH: "scheduledCancel",
    Reason.MARGIN: "marginCanceled",
    Reason.REDUCE_ONLY: "reduceOnlyCanceled",
    Reason.LIQUIDATION: "liquidatedCanceled",
    Reason.SELF_TRADE: "selfTradeCanceled",
    Reason.NO_LIQUIDITY: "marketOrderNoLiquidityRejected",
    Reason.POST_ONLY_WOULD_CROSS: "badAloPxRejected",
    Reason.FOK_UNFILLABLE: "canceled",
}


def status_word(view: OrderView) -> str:
    """The venue's status word for an order (orderStatus, orderUpdates)."""
    if view.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
        return "triggered" if view.triggered and view.filled == 0 and view.type.is_trigger else "open"
    if view.status is OrderStatus.FILLED:
        return "filled"
    if view.status is OrderStatus.REJECTED:
        return "rejected"
    if view.reason is Reason.IOC_UNFILLED:
        return "iocCancelRejected" if view.filled == 0 else "canceled"
    return _END_WORDS.get(view.reason, "canceled") if view.reason is not None else "canceled"


def trigger_condition(view: OrderView) -> str:
    if not view.type.is_trigger or view.trigger_price is None:
        return "N/A"
    stop = view.type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
    above = (view.side is Side.BUY) == stop  # a buy stop fires on the way up
    return f"Price {'above' if above else 'below'} {num(view.trigger_price)}"


def frontend_order(coin: str, view: OrderView) -> dict[str, Any]:
    """`frontendOpenOrders` / `orderStatus` shape."""
    is_trigger = view.type.is_trigger and not view.triggered
    return {
        "coin": coin,
        "side": side_of(view.side),
        "limitPx": num(view.price),
        "sz": num(view.remaining),  # unfilled size, kept after a cancel (recorded samples)
        "oid": view.oid,
        "timestamp": view.created_ms,
        "triggerCondition": trigger_condition(view),
        "isTrigger": is_trigger,
        "triggerPx": num(view.trigger_price) if view.trigger_price is not None else "0.0",
        "children": [],
        "isPositionTpsl": False,
        "reduceOnly": view.reduce_only,
        "orderType": _TYPE_NAMES[view.type],
        "origSz": num(view.size),
        "tif": None if is_trigger else _TIF_NAMES.get(view.tif, "Gtc"),
        "cloid": view.client_id,
    }


def basic_order(coin: str, view: OrderView) -> dict[str, Any]:
    """`openOrders` / WS `orderUpdates` shape (cloid and reduceOnly only when set)."""
    out: dict[str, Any] = {
        "coin": coin, "side": side_of(view.side), "limitPx": num(view.price),
        "sz": num(view.remaining), "oid": view.oid,
        "timestamp": view.created_ms, "origSz": num(view.size),
    }
    if view.client_id is not None:
        out["cloid"] = view.client_id
    if view.reduce_only:
        out["reduceOnly"] = True
    return out


def order_update(coin: str, view: OrderView) -> dict[str, Any]:
    return {"order": basic_order(coin, view), "status": status_word(view), "statusTimestamp": view.updated_ms}


def order_status(coin: str, view: OrderView | None) -> dict[str, Any]:
    if view is None:
        return {"status": "unknownOid"}
    return {"status": "order", "order": {"order": frontend_order(coin, view), "status": status_word(view),
                                         "statusTimestamp": view.updated_ms}}


def place_status(view: OrderView) -> dict[str, Any]:
    """One slot of an order answer for an accepted order."""
    if view.status.is_live:
        resting: dict[str, Any] = {"oid": view.oid}
        if view.client_id is not None:
            resting["cloid"] = view.client_id
        return {"resting": resting}
    filled: dict[str, Any] = {"totalSz": num(view.filled), "avgPx": num(view.avg_price), "oid": view.oid}
    if view.client_id is not None:
        filled["cloid"] = view.client_id
    return {"filled": filled}


# --------------------------------------------------------------------------- account


def direction(side: Side, start: Decimal, size: Decimal) -> str:
    end = start + size * side.sign
    if side is Side.BUY:
        if start >= 0:
            return "Open Long"
        return "Close Short" if end <= 0 else "Short > Long"
    if start <= 0:
        return "Open Short"
    return "Close Long" if end >= 0 else "Long > Short"


def fill(coin: str, f: SimFill, twap_id: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "coin": coin, "px": num(f.price), "sz": num(f.size), "side": side_of(f.side), "time": f.ts_ms,
        "startPosition": num(f.start_position), "dir": direction(f.side, f.start_position, f.size),
        "closedPnl": num(f.realized_pnl), "hash": tx_hash(f.trade_id), "oid": f.oid,
        "crossed": f.liquidity.value == "taker", "fee": num(f.fee), "tid": f.trade_id,
        "feeToken": "USDC", "twapId": twap_id,
    }
    if f.client_id is not None:
        out["cloid"] = f.client_id
    return out


def funding_payment(coin: str, p: FundingPayment) -> dict[str, Any]:
    return {"time": p.ts_ms, "hash": tx_hash(0),
            "delta": {"type": "funding", "coin": coin, "usdc": num(p.amount), "szi": num(p.position),
                      "fundingRate": num(p.rate), "nSamples": None}}


def leverage(lev: int, mode: MarginMode, raw_usd: Decimal | None = None) -> dict[str, Any]:
    if mode is MarginMode.ISOLATED:
        return {"type": "isolated", "value": lev, "rawUsd": num(raw_usd or ZERO)}
    return {"type": "cross", "value": lev}


def clearinghouse_state(
    positions: Sequence[tuple[str, PositionView, int]], balance: BalanceView, now_ms: int
) -> dict[str, Any]:
    """`clearinghouseState` from the engine's positions (coin, view, max leverage) and balance."""
    entries = []
    total_ntl = ZERO
    signed_ntl = ZERO
    cross_margin = ZERO
    for coin, p, max_leverage in positions:
        value = abs(p.size) * p.mark_price
        total_ntl += value
        signed_ntl += p.size * p.mark_price
        if p.margin_mode is MarginMode.CROSS:
            cross_margin += p.margin_used
        raw = -p.size * (p.entry_price or ZERO) + p.margin_used if p.margin_mode is MarginMode.ISOLATED else None
        entries.append({"type": "oneWay", "position": {
            "coin": coin, "szi": num(p.size), "leverage": leverage(p.leverage, p.margin_mode, raw),
            "entryPx": num(p.entry_price), "positionValue": num(value), "unrealizedPnl": num(p.unrealized_pnl),
            "returnOnEquity": num((p.unrealized_pnl / p.margin_used).quantize(Decimal("1e-8")) if p.margin_used else ZERO),
            "liquidationPx": num(p.liquidation_price) if p.liquidation_price is not None else None,
            "marginUsed": num(p.margin_used), "maxLeverage": max_leverage,
            "cumFunding": {"allTime": num(-p.funding), "sinceOpen": num(-p.funding), "sinceChange": num(-p.funding)},
        }})
    summary = {"accountValue": num(balance.equity), "totalNtlPos": num(total_ntl),
               "totalRawUsd": num(balance.equity - signed_ntl), "totalMarginUsed": num(balance.margin_used)}
    return {
        "marginSummary": summary,
        "crossMarginSummary": dict(summary, totalMarginUsed=num(cross_margin)),
        "crossMaintenanceMarginUsed": num(cross_margin / 2),
        "withdrawable": num(max(balance.available, ZERO)),
        "assetPositions": entries,
        "time": now_ms,
    }
