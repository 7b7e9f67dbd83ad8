"""The Extended venue: public market data over REST and the v2 RPC stream, and sessions.

Capabilities (data, read by the reconciler, the risk gate and the contract tests): limit
and market orders and stop / take-profit (CONDITIONAL orders triggered on the mark),
tifs GTC (Extended's GTT, with an expiry), IOC and post-only -- FOK is deprecated on
Extended and refused locally -- reduce-only, edits as an atomic replace (`cancelId`)
under a new external id, cancels in batches (massCancel by external ids), a dead man's
switch (`/user/deadmanswitch`), external ids as client ids, cross margin only.
Acknowledgements are asynchronous: POST /user/order answers "accepted for
processing", the order's fate arrives on the account stream.

Layout: `transport.py` (I/O), `market_data.py` and `parse.py` (pure), `signing.py`
(the Stark order hash), `orders.py` (request -> signed body), `streams.py` (frames ->
events), `session.py` (account state) with `trading.py` (writes), `errors.py` (code
tables), `emulator/` (a protocol-faithful local Extended).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from perpd.clock import Clock
from perpd.errors import NotFound
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
from venues.extended import market_data
from venues.extended.config import ExtendedAccountConfig, ExtendedVenueConfig
from venues.extended.market_data import ExtendedMarket
from venues.extended.session import ExtendedSession
from venues.extended.signing import StarknetDomain
from venues.extended.streams import CATCH_UP_MARGIN_MS, public_stream
from venues.extended.transport import ExtendedTransport

if TYPE_CHECKING:
    from perpd.config import AccountConfig, VenueConfig

MAINNET_HOST = "https://api.starknet.extended.exchange"
TESTNET_HOST = "https://api.starknet.sepolia.extended.exchange"
API_PATH = "/api/v1"
STREAM_PATH = "/stream.extended.exchange/v1"
RPC_PATH = "/stream.extended.exchange/v2/rpc"
MAX_MASS_CANCEL = 100
DEAD_MANS_SWITCH_MAX_SECS = 86_400

CAPABILITIES = Capabilities(
    order_types=frozenset(OrderType),
    tifs=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY}),
    reduce_only=True,
    edit=EditMode.REPLACE,
    batch_create=1,
    batch_cancel=MAX_MASS_CANCEL,
    dead_mans_switch=True,
    dead_mans_switch_min_secs=1,
    dead_mans_switch_max_secs=DEAD_MANS_SWITCH_MAX_SECS,
    client_id_format=ClientIdFormat.STRING,
    margin_modes=frozenset({MarginMode.CROSS}),
    async_acks=True,
    trigger_reference="mark",
    funding_payments=True,  # /user/funding/history
    rate_limits=(RateLimit("requests", 1000, 60.0, "venue"),),
    extra={"funding_interval_secs": market_data.FUNDING_INTERVAL_SECS, "builder_fee_opt_in": True},
)


def urls(config: ExtendedVenueConfig) -> tuple[str, str, str]:
    """(REST API base, classic stream base, RPC stream URL) from the config.

    `rest_url` may be the host (`http://127.0.0.1:8783`) or the API base (`.../api/v1`);
    `ws_url` the host (`ws://127.0.0.1:8783`) or the stream base (`.../stream.extended.exchange/v1`).
    """
    host = MAINNET_HOST if config.network == "mainnet" else TESTNET_HOST
    rest = (config.rest_url or host).rstrip("/")
    api = rest if rest.endswith(API_PATH) else rest + API_PATH
    if config.ws_url:
        ws = config.ws_url.rstrip("/")
    else:
        base = rest.removesuffix(API_PATH)
        ws = "wss://" + base.removeprefix("https://") if base.startswith("https://") else "ws://" + base.removeprefix("http://")
    if "/stream.extended.exchange" in ws:
        root = ws.split("/stream.extended.exchange", 1)[0]
    else:
        root = ws
    return api, root + STREAM_PATH, root + RPC_PATH


class ExtendedVenue(Venue):
    """One configured Extended venue (mainnet, testnet or an emulator)."""

    kind: ClassVar[str] = "extended"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    config_model = ExtendedVenueConfig
    account_model = ExtendedAccountConfig

    def __init__(self, name: str, config: VenueConfig, *, clock: Clock | None = None, state_dir: Path | None = None) -> None:
        super().__init__(name, config, clock=clock, state_dir=state_dir)
        assert isinstance(config, ExtendedVenueConfig)
        self.extended_config = config
        self.capabilities = replace(  # type: ignore[misc]
            CAPABILITIES, rate_limits=(RateLimit("requests", config.requests_per_min, 60.0, "venue"),)
        )
        self.api_url, self.stream_url, self.rpc_url = urls(config)
        chain_id = config.chain_id or ("SN_MAIN" if config.network == "mainnet" else "SN_SEPOLIA")
        self.domain = StarknetDomain(chain_id=chain_id)
        self.transport = ExtendedTransport(
            api_url=self.api_url, stream_url=self.stream_url, rpc_url=self.rpc_url, timeout_secs=config.timeout_secs,
            requests_per_min=config.requests_per_min, clock=self.clock,
        )
        self._specs: dict[str, ExtendedMarket] = {}
        self._by_name: dict[str, ExtendedMarket] = {}

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        if not self._specs:
            await self.load_markets()

    async def close(self) -> None:
        await self.transport.close()

    # ------------------------------------------------------------------ markets

    async def load_markets(self) -> dict[str, Market]:
        specs = market_data.parse_markets(await self.transport.get("/info/markets"), self.name)
        self._specs = {s.symbol: s for s in specs}
        self._by_name = {s.name: s for s in specs}
        self._markets = {s.symbol: s.market for s in specs}
        return dict(self._markets)

    def spec(self, symbol: str) -> ExtendedMarket:
        """The Extended market (name, l2Config) of a unified symbol."""
        unified = normalize_symbol(symbol)
        try:
            return self._specs[unified]
        except KeyError:
            raise NotFound(f"{self.name} has no market {unified}") from None

    def specs(self) -> list[ExtendedMarket]:
        return list(self._specs.values())

    def spec_by_name(self, name: str) -> ExtendedMarket | None:
        return self._by_name.get(name)

    # ------------------------------------------------------------------ public data

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        spec = self.spec(symbol)
        body = await self.transport.get(f"/info/markets/{spec.name}/orderbook")
        book = market_data.parse_order_book(body.get("data") or {}, spec.symbol, self.name, self.clock.now_ms())
        return replace(book, bids=book.bids[:depth], asks=book.asks[:depth])

    async def _stats(self, symbol: str) -> tuple[Ticker, FundingRate]:
        spec = self.spec(symbol)
        body = await self.transport.get(f"/info/markets/{spec.name}/stats")
        return market_data.parse_stats(body.get("data") or {}, spec.symbol, self.name, self.clock.now_ms())

    async def fetch_ticker(self, symbol: str) -> Ticker:
        return (await self._stats(symbol))[0]

    async def fetch_trades(self, symbol: str, limit: int = 100) -> list[Trade]:
        spec = self.spec(symbol)
        body = await self.transport.get(f"/info/markets/{spec.name}/trades")
        return market_data.parse_trades(body.get("data"), spec.symbol, self.name)[-limit:]

    async def fetch_funding(self, symbol: str) -> FundingRate:
        return (await self._stats(symbol))[1]

    async def fetch_candles(self, symbol: str, interval: str = "1m", start_ms: int | None = None,
                            end_ms: int | None = None, limit: int = 500) -> list[Candle]:
        wire = market_data.INTERVALS.get(interval)
        if wire is None:
            raise NotFound(f"{self.name} has no {interval} candles (one of {', '.join(market_data.INTERVALS)})")
        spec = self.spec(symbol)
        body = await self.transport.get(
            f"/info/candles/{spec.name}/trades", {"interval": wire, "limit": max(1, min(limit, 1000)), "endTime": end_ms}
        )
        candles = market_data.parse_candles(body.get("data"), spec.symbol, self.name, interval)
        if start_ms is not None:
            candles = [c for c in candles if c.open_ms >= start_ms]
        return candles[-limit:]

    def watch(self, channels: Sequence[Channel]) -> AsyncIterator[Event]:
        return public_stream(self, channels, since_ms=self.clock.now_ms() - CATCH_UP_MARGIN_MS)

    # ------------------------------------------------------------------ accounts

    def session(self, account: str, config: AccountConfig, secrets: SecretResolver) -> AccountSession:
        assert isinstance(config, ExtendedAccountConfig)
        return ExtendedSession(self, account, config, secrets)
