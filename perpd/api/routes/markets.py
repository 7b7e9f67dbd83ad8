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
from perpd.engine import Engine
from perpd.errors import NotFound
from perpd.model import FundingRate, OrderBook


async def list_markets(call: Call) -> Markets:
    return Markets(markets=call.engine.reads.markets(call.query.venue))


async def get_market(call: Call) -> MarketOut:
    engine = call.engine
    symbol = call.params["symbol"]
    data = engine.portfolio.market_data
    venues = engine.reads.venues_for(symbol, call.query.venue)
    out = [
        VenueMarket(market=data.markets[(v, symbol)], ticker=data.tickers.get((v, symbol)), funding=data.funding.get((v, symbol)))
        for v in venues
    ]
    return MarketOut(symbol=symbol, venues=out)


async def orderbook(call: Call) -> OrderBooks:
    q = call.query
    reads = call.engine.reads
    symbol = call.params["symbol"]
    venues = reads.venues_for(symbol, q.venue)
    books = await asyncio.gather(*(reads.order_book(v, symbol, q.depth) for v in venues))
    return OrderBooks(symbol=symbol, books=list(books), merged=merge_books(symbol, books, q.depth))


async def trades(call: Call) -> Trades:
    q: TradesQuery = call.query
    reads = call.engine.reads
    symbol = call.params["symbol"]
    return Trades(trades=await reads.trades(symbol, reads.venues_for(symbol, q.venue), q.limit))


async def funding(call: Call) -> Fundings:
    reads = call.engine.reads
    symbol = call.params["symbol"]
    return Fundings(funding=await reads.funding(symbol, reads.venues_for(symbol, call.query.venue)))


async def candles(call: Call) -> Candles:
    q: CandlesQuery = call.query
    reads = call.engine.reads
    symbol = call.params["symbol"]
    venues = reads.venues_for(symbol, q.venue)
    return Candles(candles=await reads.candles(symbol, venues, q.interval, start_ms=q.start, end_ms=q.end, limit=q.limit))


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
