"""What clients read: market data (the daemon's books and funding, else the venue's REST),
orders and the audit log as journaled (read-your-writes), and placement checks that name
the field a client got wrong. The API's routes call these; none reaches into venues or the
journal itself."""

from __future__ import annotations

import asyncio
from typing import Any

from perpd.engine.state import EngineState
from perpd.errors import NotFound
from perpd.journal import AuditEvent, Journal
from perpd.model import Candle, FundingRate, Market, Order, OrderBook, Trade


class Reads:
    def __init__(self, state: EngineState, journal: Journal) -> None:
        self.state = state
        self._journal = journal

    # ------------------------------------------------------------------ market data

    def markets(self, venue: str | None = None) -> list[Market]:
        """Every market of the running venues (of `venue` only, if given)."""
        if venue is not None and venue not in self.state.venues:
            raise NotFound(f"no running venue named {venue!r}", details={"field": "venue"})
        markets = self.state.portfolio.market_data.markets
        return [m for (v, _), m in sorted(markets.items()) if venue is None or v == venue]

    def venues_for(self, symbol: str, venue: str | None = None) -> list[str]:
        """Running venues that list `symbol` (only `venue` if given); NotFound naming the
        field that was wrong."""
        venues = self.state.venues
        if venue is not None and venue not in venues:
            raise NotFound(f"no running venue named {venue!r}", details={"field": "venue"})
        listed = [v for v in self.state.portfolio.market_data.venues_trading(symbol) if v in venues and venue in (None, v)]
        if not listed:
            where = f"venue {venue!r}" if venue else "any running venue"
            raise NotFound(f"{symbol} is not listed on {where}", details={"field": "symbol"})
        return listed

    async def order_book(self, venue: str, symbol: str, depth: int) -> OrderBook:
        """The book kept from the venue's stream, else the venue's REST book."""
        local = self.state.portfolio.market_data.books.get((venue, symbol))
        if local is not None and local.ready:
            return local.snapshot(depth)
        return await self.state.venues[venue].fetch_order_book(symbol, depth)

    async def trades(self, symbol: str, venues: list[str], limit: int) -> list[Trade]:
        lists = await asyncio.gather(*(self.state.venues[v].fetch_trades(symbol, limit) for v in venues))
        return sorted((t for batch in lists for t in batch), key=lambda t: (t.ts_ms, t.venue, t.trade_id))[-limit:]

    async def funding(self, symbol: str, venues: list[str]) -> list[FundingRate]:
        known = self.state.portfolio.market_data.funding

        async def one(venue: str) -> FundingRate:
            return known.get((venue, symbol)) or await self.state.venues[venue].fetch_funding(symbol)

        return list(await asyncio.gather(*(one(v) for v in venues)))

    async def candles(self, symbol: str, venues: list[str], interval: str, **window: Any) -> list[Candle]:
        lists = await asyncio.gather(*(self.state.venues[v].fetch_candles(symbol, interval, **window) for v in venues))
        return [c for batch in lists for c in batch]

    # ------------------------------------------------------------------ orders and audit

    async def orders(self, *, limit: int, **filters: Any) -> tuple[list[Order], bool]:
        """Orders newest first (journal filters), the engine's copy where fresher; and
        whether more follow."""
        await self._journal.flush()  # read-your-writes: status updates are queued, not awaited
        found = self._journal.orders(limit=limit + 1, **filters)
        live = self.state.orders
        return [live.get(o.client_id, o) for o in found[:limit]], len(found) > limit

    async def events(self, **filters: Any) -> list[AuditEvent]:
        await self._journal.flush()  # audit records are queued, not awaited
        return self._journal.events(**filters)

    def recent_events(self, limit: int = 50) -> list[AuditEvent]:
        return self._journal.events(limit=limit, newest_first=True)


    def replayed(self, idempotency_key: str) -> bool:
        """Has this Idempotency-Key placed an order before (a retry)?"""
        return self._journal.intent_by_key(idempotency_key) is not None

    # ------------------------------------------------------------------ placement checks

    def check_placement(self, *, account: str | None, route: str | None, symbol: str) -> None:
        """Unknown accounts, routes and symbols are the caller's mistake: NotFound naming
        the field, before anything is attempted."""
        state = self.state
        markets = state.portfolio.market_data.markets
        if account is not None:
            if account not in state.config.accounts:
                raise NotFound(f"no account named {account!r}", details={"field": "account"})
            venue = state.config.accounts[account].venue
            if (venue, symbol) not in markets and venue in state.venues:
                raise NotFound(f"{venue} has no market {symbol}", details={"field": "symbol"})
        elif route is not None:
            found = state.config.route(route)
            if found is None:
                raise NotFound(f"no route named {route!r}", details={"field": "route"})
            venues = {state.config.accounts[a].venue for a in found.accounts if a in state.config.accounts}
            if venues & set(state.venues) and not any((v, symbol) in markets for v in venues):
                raise NotFound(f"no venue of route {found.name!r} lists {symbol}", details={"field": "symbol"})
