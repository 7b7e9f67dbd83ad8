"""The Hyperliquid venue: public market data, markets, and account sessions.

Built on `transport` (I/O) and `market_data` (meaning). One `HyperliquidVenue` per configured
venue owns the REST pool, the per-IP weight budget and the per-address action budgets
shared by all of its accounts; `session()` makes a `HyperliquidSession` (session.py).

Signing network follows the `network` key (mainnet signs with phantom agent source "a",
testnet with "b"), never the URL: an emulator or proxy in front of mainnet signs as the
network it stands for. The config refuses testnet with the mainnet URL.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from perpd.clock import Clock
from perpd.errors import NotFound
from perpd.model import (
    Candle,
    Event,
    FundingRate,
    FundingUpdate,
    Market,
    MarginMode,
    OrderBook,
    OrderType,
    StreamGap,
    Ticker,
    TickerUpdate,
    TimeInForce,
    Trade,
    TradeUpdate,
    normalize_symbol,
)
from venues.base import Capabilities, Channel, ClientIdFormat, EditMode, RateLimit, SecretResolver, Venue
from venues.hyperliquid import market_data
from venues.hyperliquid.config import HyperliquidAccountConfig, HyperliquidVenueConfig
from venues.hyperliquid.market_data import Asset
from venues.hyperliquid.session import HyperliquidSession
from venues.hyperliquid.transport import (
    MAINNET_URL,
    TESTNET_URL,
    HyperliquidTransport,
    Reconnected,
    Subscribed,
    subscribe_stream,
    ws_url_of,
)

if TYPE_CHECKING:
    from pathlib import Path

    from perpd.config import AccountConfig, VenueConfig

CAPABILITIES = Capabilities(
    order_types=frozenset(OrderType),
    tifs=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY}),
    reduce_only=True,
    edit=EditMode.NATIVE,  # modify keeps the cloid (the venue assigns a new oid)
    edit_keeps_priority_on_shrink=False,
    batch_create=50,
    batch_cancel=50,
    dead_mans_switch=True,
    dead_mans_switch_min_secs=5,
    dead_mans_switch_max_secs=86_400,
    client_id_format=ClientIdFormat.HEX128,
    margin_modes=frozenset({MarginMode.CROSS, MarginMode.ISOLATED}),
    async_acks=False,
    trigger_reference="mark",
    funding_payments=True,  # userFunding
    native_brackets=True,  # order grouping normalTpsl
    rate_limits=(
        RateLimit("ip_weight", 1200, 60.0, "ip"),
        # 1 action per USDC traded plus a 10,000 buffer per address, then 1 per 10 s.
        RateLimit("address_actions", 10_000, 86_400.0, "account"),
    ),
    extra={
        "schedule_cancel_triggers_per_day": 10,
        "min_notional": "10",
        "price_sig_figs": 5,
        "exchange_weight": "1 + floor(batch_length / 40)",
    },
)

_INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
                "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "8h": 28_800_000,
                "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000}
MARK_FRESH_MS = 2_000


class HyperliquidVenue(Venue):
    """Hyperliquid perpetuals (the first perp dex), over REST and WebSocket."""

    kind: ClassVar[str] = "hyperliquid"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    config_model = HyperliquidVenueConfig
    account_model = HyperliquidAccountConfig
    config: HyperliquidVenueConfig

    def __init__(
        self, name: str, config: VenueConfig, *, clock: Clock | None = None, state_dir: Path | None = None
    ) -> None:
        super().__init__(name, config, clock=clock, state_dir=state_dir)
        default = MAINNET_URL if self.config.network == "mainnet" else TESTNET_URL
        self.rest_url = (self.config.rest_url or default).rstrip("/")
        self.ws_url = self.config.ws_url or ws_url_of(self.rest_url)
        self.is_mainnet = self.config.network == "mainnet"
        self.transport = HyperliquidTransport(
            self.rest_url, timeout_secs=self.config.timeout_secs, ip_weight_per_min=self.config.ip_weight_per_min,
            clock=self.clock,
        )
        self.assets: dict[str, Asset] = {}  # unified symbol -> asset
        self.symbols: dict[str, str] = {}  # venue coin -> unified symbol
        self._tickers: dict[str, tuple[Ticker, int]] = {}  # symbol -> (ticker, fetched at ms)
        self._contexts: dict[str, tuple[dict[str, Any], int]] = {}

    # lifecycle ---------------------------------------------------------------------

    async def connect(self) -> None:
        await self.transport.open()
        if not self._markets:
            await self.load_markets()

    async def close(self) -> None:
        await self.transport.close()

    # markets ---------------------------------------------------------------------

    def symbol_of(self, coin: str) -> str | None:
        """Unified symbol of a venue coin, None for coins perpd does not trade."""
        return self.symbols.get(coin)

    def asset(self, symbol: str) -> Asset:
        unified = normalize_symbol(symbol)
        try:
            return self.assets[unified]
        except KeyError:
            raise NotFound(f"{self.name} has no market {unified}") from None

    def coin(self, symbol: str) -> str:
        return self.asset(symbol).name

    async def load_markets(self) -> dict[str, Market]:
        payload = await self.transport.info({"type": "metaAndAssetCtxs"})
        now = self.clock.now_ms()
        markets: dict[str, Market] = {}
        for asset, market, ticker in market_data.parse_meta_and_asset_ctxs(payload, now, venue=self.name):
            markets[market.symbol] = market
            self.assets[market.symbol] = asset
            self.symbols[asset.name] = market.symbol
            if ticker is not None:
                self._tickers[market.symbol] = (ticker, _mono_ms())
        for asset, ctx in zip(market_data.parse_meta(payload[0]), payload[1], strict=False):
            symbol = self.symbols.get(asset.name)
            if symbol is not None:
                self._contexts[symbol] = (ctx, now)
        self._markets = markets
        return dict(markets)

    # public data -------------------------------------------------------------------

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        market = self.market(symbol)
        payload = await self.transport.info({"type": "l2Book", "coin": market.venue_symbol})
        book = market_data.parse_l2_book(payload, market.symbol, venue=self.name)
        if depth < len(book.bids) or depth < len(book.asks):
            book = OrderBook(book.venue, book.symbol, book.bids[:depth], book.asks[:depth], book.seq, book.ts_ms)
        return book

    async def fetch_ticker(self, symbol: str) -> Ticker:
        """The asset context of `symbol`: from the last WS push or REST read if under
        2 s old (one metaAndAssetCtxs costs 20 of the 1200 weight a minute), else fresh."""
        market = self.market(symbol)
        cached = self._tickers.get(market.symbol)
        if cached is None or _mono_ms() - cached[1] > MARK_FRESH_MS:
            await self.load_markets()
            cached = self._tickers.get(market.symbol)
        if cached is None:
            raise NotFound(f"{self.name} has no mark price for {market.symbol}")
        return cached[0]

    async def mark_price(self, symbol: str) -> Decimal:
        """A recent mark (under 2 s old), refreshed from the venue when stale."""
        return (await self.fetch_ticker(symbol)).mark_price

    async def fetch_trades(self, symbol: str, limit: int = 100) -> list[Trade]:
        market = self.market(symbol)
        payload = await self.transport.info({"type": "recentTrades", "coin": market.venue_symbol})
        return market_data.parse_trades(payload, self.symbol_of, venue=self.name)[-limit:]

    async def fetch_funding(self, symbol: str) -> FundingRate:
        market = self.market(symbol)
        await self.fetch_ticker(market.symbol)  # refreshes the asset contexts when stale
        ctx, ts = self._contexts[market.symbol]
        return market_data.funding_of_ctx(ctx, market.symbol, ts, venue=self.name)

    async def fetch_funding_history(self, symbol: str, start_ms: int, end_ms: int | None = None) -> list[FundingRate]:
        market = self.market(symbol)
        body: dict[str, Any] = {"type": "fundingHistory", "coin": market.venue_symbol, "startTime": start_ms}
        if end_ms is not None:
            body["endTime"] = end_ms
        return market_data.parse_funding_history(await self.transport.info(body), self.symbol_of, venue=self.name)

    async def fetch_candles(
        self, symbol: str, interval: str = "1m", start_ms: int | None = None, end_ms: int | None = None, limit: int = 500
    ) -> list[Candle]:
        market = self.market(symbol)
        step = _INTERVAL_MS.get(interval)
        if step is None:
            raise NotFound(f"{self.name} has no candle interval {interval!r}")
        end = end_ms if end_ms is not None else self.clock.now_ms()
        start = start_ms if start_ms is not None else end - step * limit
        body = {"type": "candleSnapshot", "req": {"coin": market.venue_symbol, "interval": interval, "startTime": start, "endTime": end}}
        candles = market_data.parse_candles(await self.transport.info(body), self.symbol_of, venue=self.name)
        return candles[-limit:]

    async def watch(self, channels: Sequence[Channel]) -> AsyncIterator[Event]:
        """Books (a full snapshot per push), trades, tickers and funding from the WS;
        a StreamGap after every reconnect."""
        kinds: dict[str, set[str]] = {}
        for channel in channels:
            kinds.setdefault(self.market(channel.symbol).symbol, set()).add(channel.kind)
        subscriptions: list[dict[str, Any]] = []
        for symbol, wanted in kinds.items():
            coin = self.coin(symbol)
            if "book" in wanted:
                subscriptions.append({"type": "l2Book", "coin": coin})
            if "trades" in wanted:
                subscriptions.append({"type": "trades", "coin": coin})
            if wanted & {"ticker", "funding"}:
                subscriptions.append({"type": "activeAssetCtx", "coin": coin})
        seqs: dict[str, int] = {}
        since = self.clock.now_ms() - 2_000
        caught_up = False
        async for message in subscribe_stream(self.ws_url, subscriptions):
            if isinstance(message, Reconnected):
                yield StreamGap(venue=self.name, account=None, reason=message.reason, ts_ms=self.clock.now_ms())
            elif isinstance(message, Subscribed):
                if not caught_up:  # trades made between this call and the subscription
                    caught_up = True
                    for symbol in (s for s, wanted in kinds.items() if "trades" in wanted):
                        for trade in await self.fetch_trades(symbol):
                            if trade.ts_ms >= since:
                                yield TradeUpdate(trade)
            else:
                for event in self._public_events(message, kinds, seqs):
                    yield event

    def _public_events(self, message: dict[str, Any], kinds: dict[str, set[str]], seqs: dict[str, int]) -> list[Event]:
        channel, data = message.get("channel"), message.get("data")
        if channel == "l2Book":
            symbol = self.symbol_of(data["coin"])
            if symbol is None or "book" not in kinds.get(symbol, ()):
                return []
            seqs[symbol] = seq = seqs.get(symbol, 0) + 1
            return [market_data.parse_book_update(data, symbol, seq, venue=self.name)]
        if channel == "trades":
            trades = market_data.parse_trades(data, self.symbol_of, venue=self.name)
            return [TradeUpdate(t) for t in trades if "trades" in kinds.get(t.symbol, ())]
        if channel == "activeAssetCtx":
            symbol = self.symbol_of(data["coin"])
            if symbol is None:
                return []
            now = self.clock.now_ms()
            ctx = data["ctx"]
            self._contexts[symbol] = (ctx, now)
            ticker = market_data.parse_asset_ctx(ctx, symbol, now, venue=self.name)
            self._tickers[symbol] = (ticker, _mono_ms())
            out: list[Event] = []
            if "ticker" in kinds.get(symbol, ()):
                out.append(TickerUpdate(ticker))
            if "funding" in kinds.get(symbol, ()):
                out.append(FundingUpdate(market_data.funding_of_ctx(ctx, symbol, now, venue=self.name)))
            return out
        return []

    # accounts --------------------------------------------------------------------

    def session(self, account: str, config: AccountConfig, secrets: SecretResolver) -> HyperliquidSession:
        return HyperliquidSession(self, account, config, secrets)


def _mono_ms() -> int:
    return time.monotonic_ns() // 1_000_000
