"""Hyperliquid market data -> perpd.model: markets and tickers (`meta`, asset contexts),
mids, books, trades, funding history, candles. Pure functions: no I/O, no clock.

Every function takes the decoded payload as the venue sends it (`/info` responses,
WebSocket `data`) and, where coins appear, a `symbol_of` that turns a venue coin name
into a unified symbol (None skips non-perp coins: spot `@107`, `PURR/USDC`,
builder-deployed `xyz:XYZ100`). The account side (state, orders, fills, `/exchange`
answers) is parse.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from perpd.model import BookLevel, BookUpdate, Candle, FundingRate, Market, OrderBook, Side, Ticker, Trade
from venues.hyperliquid import wire

VENUE = "hyperliquid"
QUOTE = "USDC"
FUNDING_INTERVAL_SECS = 3600
MIN_NOTIONAL = Decimal(10)
SymbolOf = Callable[[str], str | None]

SIDES = {"B": Side.BUY, "A": Side.SELL}  # the venue's side letters
_D = Decimal


def perp_symbol(coin: str) -> str | None:
    """`BTC` -> `BTC-PERP`; None for spot and builder-deployed coins."""
    if not coin or coin.startswith("@") or "/" in coin or ":" in coin:
        return None
    return f"{coin.upper()}-PERP"


def opt_decimal(value: Any) -> Decimal | None:
    """A Decimal, or None for a missing or empty value (numbers may come as JSON numbers)."""
    if value is None or value == "":
        return None
    return _D(value.strip()) if isinstance(value, str) else _D(str(value))


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
        index_price=opt_decimal(ctx.get("oraclePx")),
        last_price=opt_decimal(mid),
        best_bid=_D(impact[0]) if impact else None,
        best_ask=_D(impact[1]) if impact else None,
        funding_rate=opt_decimal(ctx.get("funding")),
        open_interest=opt_decimal(ctx.get("openInterest")),
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
        mark_price=opt_decimal(ctx.get("markPx")),
        index_price=opt_decimal(ctx.get("oraclePx")),
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
                side=SIDES[item["side"]],
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

