"""Sim exchange and desk views -> Vest's JSON, in the shapes of the docs' examples.

Decimals are strings (prices with the market's priceDecimals, sizes with its
sizeDecimals, money with 6), integers and times are numbers, as the docs say. Pure
functions, used by the emulator only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from venues.simex.events import CandleView, FundingEvent, PositionView, PublicTrade
from venues.simex.exchange import SimExchange
from venues.vest.constants import CANCELLED, FILLED, REJECTED
from venues.vest.emulator.markets import MarketDef, usdc
from venues.vest.emulator.orders import Desk, VestOrder

ZERO = Decimal(0)


def ratio(value: Decimal) -> str:
    return f"{value:.4f}"


# --------------------------------------------------------------------------- public


def exchange_info(markets: Iterable[MarketDef]) -> dict[str, Any]:
    return {
        "symbols": [
            {
                "symbol": m.symbol,
                "displayName": m.symbol,
                "base": m.base,
                "quote": "USDC",
                "sizeDecimals": m.size_decimals,
                "priceDecimals": m.price_decimals,
                "initMarginRatio": str(m.init_margin_ratio),
                "maintMarginRatio": str(m.maint_margin_ratio),
                "takerFee": str(m.taker_fee),
                "isolated": False,
            }
            for m in markets
        ],
        "exchange": {"lp": usdc(Decimal(100_000)), "insurance": usdc(Decimal(10_000_000)), "collateralDecimals": 6},
    }


def ticker_latest(engine: SimExchange, m: MarketDef) -> dict[str, Any]:
    view = engine.market(m.symbol)
    cumulative = sum((f.rate for f in engine.funding_history(m.symbol)), ZERO)
    return {
        "symbol": m.symbol,
        "markPrice": m.price(view.mark_price),
        "indexPrice": m.price(view.index_price),
        "imbalance": m.size(ZERO),
        "oneHrFundingRate": f"{view.funding_rate:.6f}",
        "cumFunding": f"{cumulative:.12f}",
        "status": "TRADING",
    }


def ticker_stream_row(engine: SimExchange, m: MarketDef) -> dict[str, Any]:
    """An item of the `tickers` channel (the REST ticker plus the day's change)."""
    day = ticker_24hr(engine, m, engine.now_ms)
    latest = ticker_latest(engine, m)
    return {
        "symbol": m.symbol,
        "oneHrFundingRate": latest["oneHrFundingRate"],
        "cumFunding": latest["cumFunding"],
        "imbalance": latest["imbalance"],
        "indexPrice": latest["indexPrice"],
        "markPrice": latest["markPrice"],
        "priceChange": day["priceChange"],
        "priceChangePercent": day["priceChangePercent"],
        "status": "TRADING",
    }


def ticker_24hr(engine: SimExchange, m: MarketDef, now_ms: int) -> dict[str, Any]:
    start = now_ms - 86_400_000
    candles = engine.candles(m.symbol, 60_000, start_ms=start, end_ms=now_ms, limit=1440)
    mark = engine.market(m.symbol).mark_price
    open_ = candles[0].open if candles else mark
    close = candles[-1].close if candles else mark
    volume = sum((c.volume for c in candles), ZERO)
    change = close - open_
    return {
        "symbol": m.symbol,
        "openPrice": m.price(open_),
        "closePrice": m.price(close),
        "highPrice": m.price(max((c.high for c in candles), default=mark)),
        "lowPrice": m.price(min((c.low for c in candles), default=mark)),
        "quoteVolume": usdc(sum((c.volume * c.close for c in candles), ZERO)),
        "volume": m.size(volume),
        "priceChange": f"{change:.8f}",
        "priceChangePercent": f"{(change / open_ * 100) if open_ else ZERO:.3f}",
        "openTime": start,
        "closeTime": now_ms,
    }


def depth(engine: SimExchange, m: MarketDef, limit: int) -> dict[str, Any]:
    book = engine.book(m.symbol, limit)
    return {
        "bids": [[m.price(p), m.size(s)] for p, s in book.bids],
        "asks": [[m.price(p), m.size(s)] for p, s in book.asks],
    }


def trade(t: PublicTrade, m: MarketDef, *, stream: bool) -> dict[str, Any]:
    """A REST trade (`id` an integer) or a stream trade (`id` a hex string)."""
    return {
        "id": f"0x{t.trade_id:x}" if stream else t.trade_id,
        "price": m.price(t.price),
        "qty": m.size(t.size),
        "quoteQty": usdc(t.price * t.size),
        "time": t.ts_ms,
    }


def kline(c: CandleView, m: MarketDef, interval_ms: int, *, stream: bool) -> list[Any]:
    """`[openTime, o, h, l, c, closeTime, v, quoteV, trades]`; trades a string on the stream."""
    return [c.open_ms, m.price(c.open), m.price(c.high), m.price(c.low), m.price(c.close), c.open_ms + interval_ms - 1,
            m.size(c.volume), usdc(c.volume * c.close), str(c.trades) if stream else c.trades]


def funding(f: FundingEvent) -> dict[str, Any]:
    return {"symbol": f.symbol, "time": f.ts_ms, "oneHrFundingRate": f"{f.rate:.6f}"}


# --------------------------------------------------------------------------- orders


def order_row(o: VestOrder, m: MarketDef) -> dict[str, Any]:
    """A `GET /orders` row (`lastFilled*`, `settledFunding`, `realizedPnl` null unless FILLED)."""
    filled = o.status == FILLED
    return {
        "id": o.id,
        "nonce": o.nonce,
        "symbol": o.symbol,
        "isBuy": o.is_buy,
        "orderType": o.order_type,
        "limitPrice": m.price(o.limit_price),
        "markPrice": m.price(o.mark_price),
        "size": m.size(o.size),
        "status": o.status,
        "reduceOnly": o.reduce_only,
        "initMarginRatio": ratio(o.init_margin_ratio),
        "code": o.code,
        "lastFilledSize": m.size(o.last_filled_size) if filled and o.last_filled_size is not None else None,
        "lastFilledPrice": m.price(o.last_filled_price) if filled else None,
        "lastFilledTime": o.last_filled_time if filled else None,
        "avgFilledPrice": m.price(o.avg_filled_price) if filled else None,
        "settledFunding": usdc(ZERO) if filled else None,
        "fees": usdc(o.fees),
        "realizedPnl": usdc(o.realized_pnl) if filled and o.realized_pnl is not None else None,
        "postTime": o.post_time,
        "tpPrice": m.price(o.tp_price),
        "slPrice": m.price(o.sl_price),
    }


def order_event(o: VestOrder, m: MarketDef) -> dict[str, Any]:
    """The `args` of an ORDER event, in the docs' four shapes (new, execution, cancel, reject)."""
    if o.status == CANCELLED:
        return {"id": o.id, "status": CANCELLED, "postTime": o.post_time, "nonce": o.nonce}
    if o.status == REJECTED:
        return {"id": o.id, "status": REJECTED, "code": o.code, "postTime": o.post_time, "nonce": o.nonce}
    args: dict[str, Any] = {
        "id": o.id,
        "symbol": o.symbol,
        "isBuy": o.is_buy,
        "orderType": o.order_type,
        "limitPrice": m.price(o.limit_price),
        "size": m.size(o.size),
        "reduceOnly": o.reduce_only,
        "initMarginRatio": ratio(o.init_margin_ratio),
        "status": o.status,
    }
    if o.status == FILLED:
        args.update({
            "lastFilledSize": m.size(o.last_filled_size or ZERO),
            "lastFilledPrice": m.price(o.last_filled_price),
            "lastFilledTime": o.last_filled_time,
            "avgFilledPrice": m.price(o.avg_filled_price),
            "cumFunding": usdc(ZERO),
            "fees": usdc(o.fees),
        })
    args.update({"postTime": o.post_time, "nonce": o.nonce})
    return args


def private_message(event: str, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"channel": "account_private", "data": {"event": event, "args": dict(args)}}


# --------------------------------------------------------------------------- account


def position(p: PositionView, m: MarketDef, index: Decimal) -> dict[str, Any]:
    notional = abs(p.size) * p.mark_price
    imr = max(m.init_margin_ratio, Decimal(1) / p.leverage)
    return {
        "symbol": p.symbol,
        "isLong": p.size > 0,
        "size": m.size(abs(p.size)),
        "entryPrice": m.price(p.entry_price) or m.price(ZERO),
        "entryFunding": f"{ZERO:.12f}",
        "unrealizedPnl": usdc(p.unrealized_pnl),
        "settledFunding": usdc(p.funding),
        "markPrice": m.price(p.mark_price),
        "indexPrice": m.price(index),
        "liqPrice": m.price(p.liquidation_price),  # null: no price liquidates it
        "initMargin": usdc(notional * imr),
        "maintMargin": usdc(notional * m.maint_margin_ratio),
        "initMarginRatio": ratio(imr),
    }


def account(engine: SimExchange, desk: Desk, primary: str, markets: Mapping[str, MarketDef], now_ms: int) -> dict[str, Any]:
    """`GET /account`: balances, margins, positions and leverages in one answer."""
    bal = engine.balance(primary)
    reserved = desk.open_order_margin(primary)
    rows = [position(p, markets[p.symbol], engine.market(p.symbol).index_price)
            for p in engine.positions(primary) if p.symbol in markets]
    maint = sum((Decimal(r["maintMargin"]) for r in rows), ZERO)
    return {
        "address": primary,
        "balances": [{"asset": "USDC", "total": usdc(bal.balance), "locked": usdc(reserved)}],
        "collateral": usdc(bal.balance),
        "withdrawable": usdc(max(ZERO, bal.available - reserved)),
        "totalAccountValue": usdc(bal.equity),
        "openOrderMargin": usdc(reserved),
        "totalMaintMargin": usdc(maint),
        "positions": rows,
        "leverages": [{"symbol": s, "value": engine.leverage(primary, s)[0]} for s in markets],
        "lp": {"balance": usdc(ZERO), "shares": usdc(ZERO), "unrealizedPnl": usdc(ZERO)},
        "time": now_ms,
        "twitterUsername": None,
        "discordUsername": None,
    }
