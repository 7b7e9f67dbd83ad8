"""Hyperliquid JSON -> perpd.model. Pure functions: no I/O, no clock, no state.

Every function takes the decoded payload as the venue sends it (`/info` responses,
`/exchange` responses, WebSocket `data`) and a `symbol_of` that turns a venue coin
name into a unified symbol (None skips non-perp coins: spot `@107`, `PURR/USDC`,
builder-deployed `xyz:XYZ100`). Integers may arrive as strings (some recorded
fixtures do that), so ids and times go through `int()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from perpd.model import (
    ZERO,
    Balance,
    BookLevel,
    BookUpdate,
    Candle,
    Fill,
    FundingRate,
    LeverageSetting,
    Liquidity,
    MarginMode,
    Market,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Position,
    Side,
    Ticker,
    TimeInForce,
    Trade,
)
from venues.hyperliquid import wire

VENUE = "hyperliquid"
QUOTE = "USDC"
FUNDING_INTERVAL_SECS = 3600
MIN_NOTIONAL = Decimal(10)
SymbolOf = Callable[[str], str | None]

_SIDE = {"B": Side.BUY, "A": Side.SELL}
_D = Decimal


def perp_symbol(coin: str) -> str | None:
    """`BTC` -> `BTC-PERP`; None for spot and builder-deployed coins."""
    if not coin or coin.startswith("@") or "/" in coin or ":" in coin:
        return None
    return f"{coin.upper()}-PERP"


# --------------------------------------------------------------------------- markets


@dataclass(frozen=True, slots=True)
class Asset:
    """One entry of `meta.universe`: its index is the asset id used in actions."""

    name: str
    index: int
    sz_decimals: int
    max_leverage: int
    only_isolated: bool = False
    delisted: bool = False


def parse_meta(meta: Mapping[str, Any]) -> list[Asset]:
    return [
        Asset(
            name=item["name"],
            index=index,
            sz_decimals=int(item["szDecimals"]),
            max_leverage=int(item["maxLeverage"]),
            only_isolated=bool(item.get("onlyIsolated", False))
            or item.get("marginMode") in ("strictIsolated", "noCross"),
            delisted=bool(item.get("isDelisted", False)),
        )
        for index, item in enumerate(meta["universe"])
    ]


def market_of(asset: Asset, mark: Decimal | None, *, venue: str = VENUE) -> Market:
    """The unified market; the tick is the one valid at the current mark (it is
    price-dependent on Hyperliquid: 5 significant figures)."""
    symbol = perp_symbol(asset.name) or asset.name
    lot = wire.lot_size(asset.sz_decimals)
    tick = wire.price_tick(mark, asset.sz_decimals) if mark else wire.lot_size(wire.max_price_decimals(asset.sz_decimals))
    return Market(
        venue=venue,
        symbol=symbol,
        venue_symbol=asset.name,
        base=asset.name,
        quote=QUOTE,
        tick_size=tick,
        lot_size=lot,
        min_size=lot,
        min_notional=MIN_NOTIONAL,
        max_leverage=asset.max_leverage,
        maker_fee=Decimal("0.00015"),
        taker_fee=Decimal("0.00045"),
    )


def parse_asset_ctx(ctx: Mapping[str, Any], symbol: str, ts_ms: int, *, venue: str = VENUE) -> Ticker:
    mark = _D(ctx["markPx"])
    mid = ctx.get("midPx")
    impact = ctx.get("impactPxs") or None
    return Ticker(
        venue=venue,
        symbol=symbol,
        mark_price=mark,
        index_price=_opt(ctx.get("oraclePx")),
        last_price=_opt(mid),
        best_bid=_D(impact[0]) if impact else None,
        best_ask=_D(impact[1]) if impact else None,
        funding_rate=_opt(ctx.get("funding")),
        open_interest=_opt(ctx.get("openInterest")),
        ts_ms=ts_ms,
    )


def funding_of_ctx(ctx: Mapping[str, Any], symbol: str, ts_ms: int, *, venue: str = VENUE) -> FundingRate:
    next_hour = (ts_ms // 3_600_000 + 1) * 3_600_000
    return FundingRate(
        venue=venue,
        symbol=symbol,
        rate=_D(ctx["funding"]),
        interval_secs=FUNDING_INTERVAL_SECS,
        ts_ms=ts_ms,
        mark_price=_opt(ctx.get("markPx")),
        index_price=_opt(ctx.get("oraclePx")),
        next_funding_ms=next_hour,
    )


def parse_meta_and_asset_ctxs(
    payload: list[Any], ts_ms: int = 0, *, venue: str = VENUE
) -> list[tuple[Asset, Market, Ticker | None]]:
    """`metaAndAssetCtxs` -> (asset, market, ticker) per listed perp, delisted ones left out."""
    assets = parse_meta(payload[0])
    ctxs = payload[1]
    out = []
    for asset in assets:
        symbol = perp_symbol(asset.name)
        if asset.delisted or symbol is None:
            continue
        ctx = ctxs[asset.index] if asset.index < len(ctxs) else None
        ticker = parse_asset_ctx(ctx, symbol, ts_ms, venue=venue) if ctx and ctx.get("markPx") else None
        out.append((asset, market_of(asset, ticker.mark_price if ticker else None, venue=venue), ticker))
    return out


def parse_all_mids(payload: Mapping[str, Any]) -> dict[str, Decimal]:
    """REST `allMids` (flat) or WS `allMids` data (`{"mids": {...}}`) -> coin: mid."""
    mids = payload.get("mids", payload)
    return {coin: _D(px) for coin, px in mids.items()}


# --------------------------------------------------------------------------- public data


# Hyperliquid pushes the whole book every time and most levels repeat from one push to
# the next, so a level seen before is reused instead of rebuilt (BookLevel is immutable).
# Hits stay in C (dict lookups through map); only a new (px, sz) pair runs Python.
class _PriceCache(dict[str, Decimal]):
    limit = 100_000

    def __missing__(self, key: str) -> Decimal:
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = _D(key)
        return value


class _LevelCache(dict[tuple[str, str], BookLevel]):
    limit = 200_000

    def __missing__(self, key: tuple[str, str]) -> BookLevel:
        if len(self) >= self.limit:
            self.clear()
        # Built without the dataclass __init__ (a third faster); prices repeat more than sizes.
        level = _new_object(BookLevel)
        _set(level, "price", _PRICES[key[0]])
        _set(level, "size", _D(key[1]))
        self[key] = level
        return level


_new_object = object.__new__
_set = object.__setattr__
_PRICES = _PriceCache()
_LEVEL_CACHE = _LevelCache()
_PX_SZ = itemgetter("px", "sz")


def _levels(side: Iterable[Mapping[str, Any]]) -> tuple[BookLevel, ...]:
    return tuple(map(_LEVEL_CACHE.__getitem__, map(_PX_SZ, side)))


def parse_l2_book(payload: Mapping[str, Any], symbol: str, *, venue: str = VENUE) -> OrderBook:
    bids, asks = payload["levels"]
    return OrderBook(
        venue=venue, symbol=symbol, bids=_levels(bids), asks=_levels(asks), ts_ms=int(payload["time"])
    )


def parse_book_update(data: Mapping[str, Any], symbol: str, seq: int, *, venue: str = VENUE) -> BookUpdate:
    """A WS `l2Book` push: Hyperliquid always sends the full book, so a snapshot."""
    bids, asks = data["levels"]
    # Positional (venue, symbol, bids, asks, seq, snapshot, ts_ms): the hot path.
    return BookUpdate(venue, symbol, _levels(bids), _levels(asks), seq, True, int(data["time"]))


def parse_trades(payload: Iterable[Mapping[str, Any]], symbol_of: SymbolOf = perp_symbol, *, venue: str = VENUE) -> list[Trade]:
    """`recentTrades` or WS `trades` -> trades, oldest first."""
    out = []
    for item in payload:
        symbol = symbol_of(item["coin"])
        if symbol is None:
            continue
        out.append(
            Trade(
                venue=venue,
                symbol=symbol,
                trade_id=str(item.get("tid") or item["hash"]),
                price=_D(item["px"]),
                size=_D(item["sz"]),
                side=_SIDE[item["side"]],
                ts_ms=int(item["time"]),
            )
        )
    out.sort(key=lambda t: t.ts_ms)
    return out


def parse_funding_history(payload: Iterable[Mapping[str, Any]], symbol_of: SymbolOf = perp_symbol, *, venue: str = VENUE) -> list[FundingRate]:
    out = []
    for item in payload:
        symbol = symbol_of(item["coin"])
        if symbol is not None:
            out.append(FundingRate(venue=venue, symbol=symbol, rate=_D(item["fundingRate"]), interval_secs=FUNDING_INTERVAL_SECS, ts_ms=int(item["time"])))
    return out


def parse_candles(payload: Iterable[Mapping[str, Any]] | Mapping[str, Any], symbol_of: SymbolOf = perp_symbol, *, venue: str = VENUE) -> list[Candle]:
    """`candleSnapshot` (a list) or a WS `candle` push (one object)."""
    items = [payload] if isinstance(payload, Mapping) else payload
    return [
        Candle(
            venue=venue,
            symbol=symbol_of(item["s"]) or item["s"],
            interval=item["i"],
            open_ms=int(item["t"]),
            open=_D(item["o"]),
            high=_D(item["h"]),
            low=_D(item["l"]),
            close=_D(item["c"]),
            volume=_D(item["v"]),
            trades=int(item.get("n", 0)),
        )
        for item in items
    ]


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
                entry_price=_opt(item.get("entryPx")),
                mark_price=(value / abs(size)) if size else None,
                unrealized_pnl=pnl,
                leverage=int(leverage["value"]) if "value" in leverage else None,
                margin_mode=MarginMode.ISOLATED if leverage.get("type") == "isolated" else MarginMode.CROSS,
                liquidation_price=_opt(item.get("liquidationPx")),
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
    trigger_px = _opt(item.get("triggerPx")) if is_trigger else None
    created = int(item["timestamp"])
    return Order(
        account=account,
        venue=venue,
        client_id=item.get("cloid") or f"oid:{int(item['oid'])}",
        symbol=symbol,
        side=_SIDE[item["side"]],
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
        side=_SIDE[item["side"]],
        price=_D(item["px"]),
        size=_D(item["sz"]),
        fee=fee,
        liquidity=Liquidity.TAKER if item.get("crossed") else Liquidity.MAKER,
        ts_ms=int(item["time"]),
        realized_pnl=_opt(item.get("closedPnl")),
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


def _opt(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return _D(value.strip()) if isinstance(value, str) else _D(str(value))
