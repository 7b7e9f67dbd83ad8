"""Markets across venues: list, one symbol, order books (per venue and merged), trades,
funding, candles. Books and funding come from the streams' in-memory state when it is
live; otherwise (and for trades and candles) from the venue's REST verbs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from perpd.api.endpoint import Call
from perpd.api.models import (
    BookQuery,
    Candles,
    CandlesQuery,
    Fundings,
    MarketOut,
    Markets,
    MergedBook,
    MergedLevel,
    OrderBooks,
    Trades,
    TradesQuery,
    VenueMarket,
)
from perpd.api.routes.positions import path_symbol
from perpd.engine import Engine
from perpd.errors import NotFound
from perpd.model import FundingRate, OrderBook


async def list_markets(call: Call) -> Markets:
    engine = call.engine
    venue = _venue(engine, call.query.venue)
    markets = engine.portfolio.market_data.markets
    chosen = [m for (v, _), m in sorted(markets.items()) if venue is None or v == venue]
    return Markets(markets=chosen)


async def get_market(call: Call) -> MarketOut:
    engine = call.engine
    symbol = path_symbol(call)
    data = engine.portfolio.market_data
    venues = _venues_for(engine, symbol, call.query.venue)
    out = [
        VenueMarket(market=data.markets[(v, symbol)], ticker=data.tickers.get((v, symbol)), funding=data.funding.get((v, symbol)))
        for v in venues
    ]
    return MarketOut(symbol=symbol, venues=out)


async def orderbook(call: Call) -> OrderBooks:
    q: BookQuery = call.query
    engine = call.engine
    symbol = path_symbol(call)
    venues = _venues_for(engine, symbol, q.venue)
    books = await asyncio.gather(*(_book(engine, v, symbol, q.depth) for v in venues))
    return OrderBooks(symbol=symbol, books=list(books), merged=merge_books(symbol, books, q.depth))


async def trades(call: Call) -> Trades:
    q: TradesQuery = call.query
    engine = call.engine
    symbol = path_symbol(call)
    venues = _venues_for(engine, symbol, q.venue)
    lists = await asyncio.gather(*(engine.venues[v].fetch_trades(symbol, q.limit) for v in venues))
    merged = sorted((t for batch in lists for t in batch), key=lambda t: (t.ts_ms, t.venue, t.trade_id))
    return Trades(trades=merged[-q.limit:])


async def funding(call: Call) -> Fundings:
    engine = call.engine
    symbol = path_symbol(call)
    venues = _venues_for(engine, symbol, call.query.venue)
    known = engine.portfolio.market_data.funding

    async def one(venue: str) -> FundingRate:
        return known.get((venue, symbol)) or await engine.venues[venue].fetch_funding(symbol)

    return Fundings(funding=list(await asyncio.gather(*(one(v) for v in venues))))


async def candles(call: Call) -> Candles:
    q: CandlesQuery = call.query
    engine = call.engine
    symbol = path_symbol(call)
    venues = _venues_for(engine, symbol, q.venue)
    lists = await asyncio.gather(
        *(engine.venues[v].fetch_candles(symbol, q.interval, start_ms=q.start, end_ms=q.end, limit=q.limit) for v in venues)
    )
    return Candles(candles=[c for batch in lists for c in batch])


async def _book(engine: Engine, venue: str, symbol: str, depth: int) -> OrderBook:
    local = engine.portfolio.market_data.books.get((venue, symbol))
    if local is not None and local.ready:
        return local.snapshot(depth)
    return await engine.venues[venue].fetch_order_book(symbol, depth)


def merge_books(symbol: str, books: list[OrderBook], depth: int) -> MergedBook:
    """Sum every venue's size at each price: the depth a router could reach."""
    bids: dict[Decimal, dict[str, Decimal]] = {}
    asks: dict[Decimal, dict[str, Decimal]] = {}
    for book in books:
        for side, levels in ((bids, book.bids), (asks, book.asks)):
            for level in levels:
                venues = side.setdefault(level.price, {})
                venues[book.venue] = venues.get(book.venue, Decimal(0)) + level.size
    return MergedBook(
        symbol=symbol,
        bids=_levels(bids, reverse=True, depth=depth),
        asks=_levels(asks, reverse=False, depth=depth),
    )


def _levels(side: dict[Decimal, dict[str, Decimal]], *, reverse: bool, depth: int) -> list[MergedLevel]:
    prices = sorted(side, reverse=reverse)[:depth]
    return [MergedLevel(price=p, size=sum(side[p].values(), Decimal(0)), venues=side[p]) for p in prices]


def _venue(engine: Engine, venue: str | None) -> str | None:
    if venue is not None and venue not in engine.venues:
        raise NotFound(f"no running venue named {venue!r}", details={"field": "venue"})
    return venue


def _venues_for(engine: Engine, symbol: str, venue: str | None) -> list[str]:
    """Running venues that list `symbol` (just `venue` if given); 404 if none does."""
    _venue(engine, venue)
    listed = [v for v in engine.portfolio.market_data.venues_trading(symbol) if v in engine.venues]
    if venue is not None:
        listed = [v for v in listed if v == venue]
    if not listed:
        where = f"venue {venue!r}" if venue else "any running venue"
        raise NotFound(f"{symbol} is not listed on {where}", details={"field": "symbol"})
    return listed

