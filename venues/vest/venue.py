"""The Vest venue: public market data over REST and `/ws-api`, and account sessions.

Vest is not a central limit order book: it is the counterparty of every trade (its
risk engine and LP pool). A limit order never shows on the book; it waits until the
index price reaches its limit and then fills whole, at or better than the limit, or
keeps waiting. Market orders fill whole at once within their `limitPrice` bound (the
slippage cap) or are rejected. `/depth` is Vest's quoted book, not users' orders.

Capabilities (data, read by the reconciler, the risk gate and the contract tests):
LIMIT (GTC; IOC and FOK, which are the same on a venue that fills whole orders),
MARKET (with its slippage bound), STOP_MARKET and TAKE_PROFIT_MARKET (Vest's STOP_LOSS
and TAKE_PROFIT, market on trigger), reduce-only; no post-only (there are no maker
orders), no stop-limit, no edit, no batches, no cancel-all and no dead man's switch (a
cancel-all is one signed cancel per open order); client ids are the orders' nonces
(63-bit integers); cross margin only; acknowledgements are asynchronous (POST /orders
answers an id, the order's fate arrives on the account stream).

Layout: `transport.py` (I/O), `markets.py` and `parse.py` (pure), `orders.py`
(request -> wire fields), `signing.py`, `streams.py` (WS -> events), `session.py`
(credentials, private reads) with `trading.py` (writes), `errors.py` (code tables),
`emulator/` (a protocol-faithful local Vest).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from perpd.clock import Clock
from perpd.errors import NotFound, VenueError
from perpd.model import (
    Candle,
    Event,
    FundingRate,
    MarginMode,
    Market,
    OrderBook,
    OrderType,
    Ticker,
    TimeInForce,
    Trade,
    normalize_symbol,
)
from venues.base import AccountSession, Capabilities, Channel, ClientIdFormat, EditMode, RateLimit, SecretResolver, Venue
from venues.vest import parse
from venues.vest.config import VestAccountConfig, VestVenueConfig
from venues.vest.constants import (
    KLINE_INTERVALS,
    MAINNET_REST,
    MAINNET_VERIFYING_CONTRACT,
    MAINNET_WS,
    MAX_DEPTH,
    MAX_ROWS,
    TESTNET_REST,
    TESTNET_VERIFYING_CONTRACT,
    TESTNET_WS,
)
from venues.vest.markets import VestMarket, parse_markets
from venues.vest.session import VestSession
from venues.vest.streams import CATCH_UP_MARGIN_MS, public_stream
from venues.vest.transport import VestTransport

if TYPE_CHECKING:
    from perpd.config import AccountConfig, VenueConfig

CAPABILITIES = Capabilities(
    order_types=frozenset({OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET}),
    tifs=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    reduce_only=True,
    edit=EditMode.NONE,
    batch_create=1,
    batch_cancel=1,
    dead_mans_switch=False,
    client_id_format=ClientIdFormat.INT63,
    margin_modes=frozenset({MarginMode.CROSS}),
    async_acks=True,
    trigger_reference="oracle",  # limits and TP/SL fire on Vest's index price
    rate_limits=(RateLimit("requests", 600, 60.0, "venue"),),
    extra={
        "order_book": "quotes only: resting limit orders wait off the book for the index price",
        "fills": "whole orders against Vest itself (no partial fills, every fill a taker fill)",
        "ioc": "sent as FOK (the same on a venue that fills whole orders)",
        "cancel_all": "one signed cancel per open order (Vest has no cancel-all)",
        "funding_interval_secs": 3600,
    },
)


def ws_url_for(rest_url: str) -> str:
    """`http://127.0.0.1:8785/v2` -> `ws://127.0.0.1:8785/ws-api?version=1.0`."""
    base = rest_url.rstrip("/").removesuffix("/v2")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://"):]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://"):]
    return base + "/ws-api?version=1.0"


class VestVenue(Venue):
    """One configured Vest venue (production, development or an emulator)."""

    kind: ClassVar[str] = "vest"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    config_model = VestVenueConfig
    account_model = VestAccountConfig

    def __init__(self, name: str, config: VenueConfig, *, clock: Clock | None = None, state_dir: Path | None = None) -> None:
        super().__init__(name, config, clock=clock, state_dir=state_dir)
        assert isinstance(config, VestVenueConfig)
        self.vest_config = config
        testnet = config.network == "testnet"
        self.rest_url = (config.rest_url or (TESTNET_REST if testnet else MAINNET_REST)).rstrip("/")
        if config.ws_url:
            self.ws_url = config.ws_url
        elif config.rest_url:
            self.ws_url = ws_url_for(config.rest_url)
        else:
            self.ws_url = TESTNET_WS if testnet else MAINNET_WS
        self.verifying_contract = config.verifying_contract or (
            TESTNET_VERIFYING_CONTRACT if testnet else MAINNET_VERIFYING_CONTRACT
        )
        self.transport = VestTransport(
            rest_url=self.rest_url, ws_url=self.ws_url, timeout_secs=config.timeout_secs,
            requests_per_min=config.requests_per_min, clock=self.clock,
        )
        self._specs: dict[str, VestMarket] = {}  # unified symbol -> market
        self._by_venue_symbol: dict[str, VestMarket] = {}

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        if not self._specs:
            await self.load_markets()

    async def close(self) -> None:
        await self.transport.close()

    # ------------------------------------------------------------------ markets

    async def load_markets(self) -> dict[str, Market]:
        specs = parse_markets(await self.transport.get("/exchangeInfo"), self.name)
        self._specs = {s.symbol: s for s in specs}
        self._by_venue_symbol = {s.venue_symbol: s for s in specs}
        self._markets = {s.symbol: s.market for s in specs}
        return dict(self._markets)

    def spec(self, symbol: str) -> VestMarket:
        """The Vest market (decimals, margin ratios) of a unified symbol."""
        unified = normalize_symbol(symbol)
        try:
            return self._specs[unified]
        except KeyError:
            raise NotFound(f"{self.name} has no market {unified}") from None

    def spec_of(self, venue_symbol: str) -> VestMarket | None:
        return self._by_venue_symbol.get(venue_symbol)

    @property
    def by_venue_symbol(self) -> dict[str, VestMarket]:
        return self._by_venue_symbol

    # ------------------------------------------------------------------ public data

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        spec = self.spec(symbol)
        body = await self.transport.get("/depth", {"symbol": spec.venue_symbol, "limit": max(1, min(depth, MAX_DEPTH))})
        book = parse.parse_depth(body, spec, ts_ms=self.clock.now_ms())
        return OrderBook(book.venue, book.symbol, book.bids[:depth], book.asks[:depth], 0, book.ts_ms)

    async def _ticker_row(self, spec: VestMarket) -> dict:
        body = await self.transport.get("/ticker/latest", {"symbols": spec.venue_symbol})
        for row in body.get("tickers") or ():
            if row.get("symbol") == spec.venue_symbol:
                return row
        raise VenueError(f"vest: no ticker for {spec.venue_symbol}", venue="vest")

    async def fetch_ticker(self, symbol: str) -> Ticker:
        spec = self.spec(symbol)
        return parse.parse_ticker(await self._ticker_row(spec), spec, self.clock.now_ms())

    async def fetch_trades(self, symbol: str, limit: int = 100) -> list[Trade]:
        spec = self.spec(symbol)
        rows = await self.transport.get("/trades", {"symbol": spec.venue_symbol, "limit": max(1, min(limit, MAX_ROWS))})
        book = await self.fetch_order_book(symbol, depth=1)  # the first trade's side is judged by the mid
        return parse.parse_trades(rows, spec, book.mid)[-limit:]

    async def fetch_funding(self, symbol: str) -> FundingRate:
        spec = self.spec(symbol)
        return parse.parse_funding(await self._ticker_row(spec), spec, self.clock.now_ms())

    async def fetch_candles(self, symbol: str, interval: str = "1m", start_ms: int | None = None,
                            end_ms: int | None = None, limit: int = 500) -> list[Candle]:
        if interval not in KLINE_INTERVALS:
            raise NotFound(f"{self.name} has no {interval} candles (one of {', '.join(KLINE_INTERVALS)})")
        spec = self.spec(symbol)
        rows = await self.transport.get("/klines", {
            "symbol": spec.venue_symbol, "interval": interval, "startTime": start_ms, "endTime": end_ms,
            "limit": max(1, min(limit, MAX_ROWS)),
        })
        return parse.parse_klines(rows, spec, interval)[-limit:]

    def watch(self, channels: Sequence[Channel]) -> AsyncIterator[Event]:
        return public_stream(self, channels, since_ms=self.clock.now_ms() - CATCH_UP_MARGIN_MS)

    # ------------------------------------------------------------------ accounts

    def session(self, account: str, config: AccountConfig, secrets: SecretResolver) -> AccountSession:
        assert isinstance(config, VestAccountConfig)
        return VestSession(self, account, config, secrets)
