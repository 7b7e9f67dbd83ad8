"""Extended market data JSON -> perpd.model: markets, books, trades, funding, candles,
stats. Pure functions: no I/O, no clock, no state.

Markets are `BTC-USD` on Extended and `BTC-PERP` in perpd; their rules come from
`tradingConfig` (minPriceChange = tick, minOrderSizeChange = lot, minOrderSize) and
their settlement assets from `l2Config`, which every signed order needs. REST books use
long names (`bid`, `qty`, `price`), streams short ones (`b`, `q`, `p`); both are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpd.model import (
    ZERO,
    BookLevel,
    Candle,
    FundingRate,
    Market,
    OrderBook,
    Side,
    Ticker,
    Trade,
    normalize_symbol,
)
from venues.extended.signing import L2Config

FUNDING_INTERVAL_SECS = 3600  # Extended settles funding hourly
TRADABLE = frozenset({"ACTIVE", "REDUCE_ONLY"})
INTERVALS = {"1m": "PT1M", "5m": "PT5M", "15m": "PT15M", "30m": "PT30M", "1h": "PT1H", "2h": "PT2H",
             "4h": "PT4H", "1d": "P1D"}


def dec(value: Any, default: Decimal | None = ZERO) -> Decimal | None:
    """A Decimal from the venue's text (or int); `default` for null/empty."""
    if value is None or value == "":
        return default
    if isinstance(value, float):  # never on the wire from Extended; a recorded sample had one
        return Decimal(repr(value))
    return Decimal(str(value))


def unified(name: str) -> str:
    """`BTC-USD` -> `BTC-PERP`."""
    base = name.rsplit("-", 1)[0] if "-" in name else name
    return normalize_symbol(base)


@dataclass(frozen=True, slots=True)
class ExtendedMarket:
    """A market with what signing needs besides the unified rules."""

    market: Market
    name: str  # BTC-USD
    l2: L2Config
    status: str
    max_market_order_value: Decimal | None
    max_position_value: Decimal | None

    @property
    def symbol(self) -> str:
        return self.market.symbol


def parse_markets(body: Mapping[str, Any], venue: str) -> list[ExtendedMarket]:
    """GET /info/markets -> tradable perpetual markets (delisted, disabled, spot dropped)."""
    out = []
    for row in body.get("data") or ():
        if row.get("type", "PERPETUAL") != "PERPETUAL":
            continue
        status = str(row.get("status") or ("ACTIVE" if row.get("active", True) else "DISABLED"))
        if status not in TRADABLE or row.get("active") is False:
            continue
        out.append(parse_market(row, venue))
    return out


def parse_market(row: Mapping[str, Any], venue: str) -> ExtendedMarket:
    trading = row["tradingConfig"]
    l2 = row["l2Config"]
    name = str(row["name"])
    lot = dec(trading["minOrderSizeChange"])
    market = Market(
        venue=venue,
        symbol=unified(name),
        venue_symbol=name,
        base=str(row.get("assetName") or name.split("-")[0]),
        quote=str(row.get("collateralAssetName") or "USD"),
        tick_size=dec(trading["minPriceChange"]),  # type: ignore[arg-type]
        lot_size=lot,  # type: ignore[arg-type]
        min_size=max(dec(trading["minOrderSize"]), lot),  # type: ignore[type-var]
        min_notional=ZERO,
        max_leverage=int(Decimal(str(trading.get("maxLeverage") or 1))),
    )
    return ExtendedMarket(
        market=market,
        name=name,
        l2=L2Config(
            synthetic_id=int(str(l2["syntheticId"]), 16),
            synthetic_resolution=int(l2["syntheticResolution"]),
            collateral_id=int(str(l2["collateralId"]), 16),
            collateral_resolution=int(l2["collateralResolution"]),
        ),
        status=str(row.get("status") or "ACTIVE"),
        max_market_order_value=dec(trading.get("maxMarketOrderValue"), None),
        max_position_value=dec(trading.get("maxPositionValue"), None),
    )


def parse_levels(rows: Iterable[Mapping[str, Any]] | None) -> tuple[BookLevel, ...]:
    """[{qty|q, price|p}] -> levels, in the order given."""
    out = []
    for row in rows or ():
        price = row.get("price", row.get("p"))
        size = row.get("qty", row.get("q"))
        out.append(BookLevel(Decimal(str(price)), Decimal(str(size))))
    return tuple(out)


def parse_order_book(data: Mapping[str, Any], symbol: str, venue: str, ts_ms: int = 0) -> OrderBook:
    """GET /info/markets/{m}/orderbook `data` (or a stream SNAPSHOT) -> a sorted book."""
    bids = sorted(parse_levels(data.get("bid", data.get("b"))), key=lambda lvl: lvl.price, reverse=True)
    asks = sorted(parse_levels(data.get("ask", data.get("a"))), key=lambda lvl: lvl.price)
    return OrderBook(venue, symbol, tuple(lvl for lvl in bids if lvl.size > 0), tuple(lvl for lvl in asks if lvl.size > 0),
                     ts_ms=ts_ms)


def parse_trade(row: Mapping[str, Any], symbol: str, venue: str) -> Trade:
    trade_id = row.get("i", row.get("id"))
    if isinstance(trade_id, float):  # a JS-tool-mangled sample; the API sends integers
        trade_id = int(trade_id)
    return Trade(
        venue=venue,
        symbol=symbol,
        trade_id=str(trade_id),
        price=Decimal(str(row.get("p", row.get("price")))),
        size=Decimal(str(row.get("q", row.get("qty")))),
        side=Side.BUY if str(row.get("S", row.get("side"))).upper() == "BUY" else Side.SELL,
        ts_ms=int(row.get("T", row.get("timestamp")) or 0),
    )


def parse_trades(rows: Iterable[Mapping[str, Any]] | None, symbol: str, venue: str) -> list[Trade]:
    """Public trades, oldest first."""
    trades = [parse_trade(row, symbol, venue) for row in rows or ()]
    trades.sort(key=lambda t: (t.ts_ms, t.trade_id))
    return trades


def parse_stats(data: Mapping[str, Any], symbol: str, venue: str, ts_ms: int) -> tuple[Ticker, FundingRate]:
    """GET /info/markets/{m}/stats (or `marketStats`) -> (ticker, current funding)."""
    mark = dec(data.get("markPrice"))
    bid, ask = dec(data.get("bidPrice"), None), dec(data.get("askPrice"), None)
    ticker = Ticker(
        venue=venue,
        symbol=symbol,
        mark_price=mark,  # type: ignore[arg-type]
        index_price=dec(data.get("indexPrice"), None),
        last_price=dec(data.get("lastPrice"), None),
        best_bid=bid if bid else None,
        best_ask=ask if ask else None,
        funding_rate=dec(data.get("fundingRate"), None),
        open_interest=dec(data.get("openInterestBase"), None),
        ts_ms=ts_ms,
    )
    funding = FundingRate(
        venue=venue,
        symbol=symbol,
        rate=dec(data.get("fundingRate")),  # type: ignore[arg-type]
        interval_secs=FUNDING_INTERVAL_SECS,
        ts_ms=ts_ms,
        mark_price=mark,
        index_price=ticker.index_price,
        next_funding_ms=int(data["nextFundingRate"]) if data.get("nextFundingRate") else None,
    )
    return ticker, funding


def parse_funding(row: Mapping[str, Any], symbol: str, venue: str) -> FundingRate:
    """A funding row `{m, f, T}` (history or the funding stream)."""
    return FundingRate(venue, symbol, Decimal(str(row["f"])), FUNDING_INTERVAL_SECS, int(row.get("T") or 0))


def parse_candles(rows: Iterable[Mapping[str, Any]] | None, symbol: str, venue: str, interval: str) -> list[Candle]:
    """Candle rows `{o, l, h, c, v?, T}` -> candles, oldest first."""
    out = [
        Candle(venue, symbol, interval, int(row["T"]), Decimal(str(row["o"])), Decimal(str(row["h"])),
               Decimal(str(row["l"])), Decimal(str(row["c"])), dec(row.get("v")))  # type: ignore[arg-type]
        for row in rows or ()
    ]
    out.sort(key=lambda c: c.open_ms)
    return out
