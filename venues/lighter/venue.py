"""The Lighter venue: public market data over REST and `/stream`, and account sessions.

Capabilities (data, read by the reconciler, the risk gate and the contract tests):
all six order types, tifs GTC (Lighter's good-till-time) / IOC / post-only — no FOK,
refused locally — reduce-only, native edit by client order index, batches of 15 txs from
one API key, a dead man's switch through a scheduled cancel-all (5 min .. 15 days),
client order indices 1 .. 2^48-1, cross and isolated margin. Acknowledgements are
asynchronous: `sendTx` returns a tx hash, the order's fate arrives on the account stream.

Layout: `transport.py` (I/O), `markets.py` and `parse.py` (pure), `book.py` (local
book), `signing.py` (native signer on worker threads), `nonces.py`, `ratelimit.py`,
`orders.py` (request -> tx fields), `streams.py` (WS -> events), `session.py` (private
reads) with `trading.py` (writes), `errors.py` (code tables), `emulator/` (a
protocol-faithful local Lighter).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from decimal import Decimal
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
from venues.base import (
    AccountSession,
    Capabilities,
    Channel,
    ClientIdFormat,
    EditMode,
    SecretResolver,
    Venue,
)
from venues.lighter import parse
from venues.lighter.config import LighterAccountConfig, LighterVenueConfig
from venues.lighter.constants import (
    MAINNET_CHAIN_ID,
    MAINNET_REST,
    MAINNET_WS,
    MAX_BATCH_TXS,
    MAX_SCHEDULED_CANCEL_MS,
    MIN_SCHEDULED_CANCEL_MS,
    RESOLUTIONS,
    TESTNET_CHAIN_ID,
    TESTNET_REST,
    TESTNET_WS,
)
from venues.lighter.ratelimit import TIERS, tier_of
from venues.lighter.signing import SignerPool
from venues.lighter.transport import LighterTransport

if TYPE_CHECKING:
    from perpd.config import AccountConfig, VenueConfig

CAPABILITIES = Capabilities(
    order_types=frozenset(OrderType),
    tifs=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY}),
    reduce_only=True,
    edit=EditMode.NATIVE,
    edit_keeps_priority_on_shrink=False,
    batch_create=MAX_BATCH_TXS,
    batch_cancel=MAX_BATCH_TXS,
    dead_mans_switch=True,
    dead_mans_switch_min_secs=MIN_SCHEDULED_CANCEL_MS // 1000,
    dead_mans_switch_max_secs=MAX_SCHEDULED_CANCEL_MS // 1000,
    client_id_format=ClientIdFormat.INT48,
    margin_modes=frozenset({MarginMode.CROSS, MarginMode.ISOLATED}),
    async_acks=True,
    trigger_reference="mark",
    funding_payments=True,  # /api/v1/positionFunding
    native_brackets=True,  # create_bracket: CreateGroupedOrders (OTO / OTOCO)
    rate_limits=TIERS["standard"].rate_limits(),
    extra={"batch_from_one_api_key": True, "funding_interval_secs": 3600},
)


def ws_url_for(rest_url: str) -> str:
    """`http://127.0.0.1:8780` -> `ws://127.0.0.1:8780/stream`."""
    base = rest_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/stream"
    if base.startswith("http://"):
        return "ws://" + base[len("http://"):] + "/stream"
    return base + "/stream"


class LighterVenue(Venue):
    """One configured Lighter venue (mainnet, testnet or an emulator)."""

    kind: ClassVar[str] = "lighter"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    config_model = LighterVenueConfig
    account_model = LighterAccountConfig

    def __init__(
        self, name: str, config: VenueConfig, *, clock: Clock | None = None, state_dir: Path | None = None
    ) -> None:
        super().__init__(name, config, clock=clock, state_dir=state_dir)
        assert isinstance(config, LighterVenueConfig)
        self.lighter_config = config
        tier = tier_of(config.tier, config.requests_per_min, config.tx_per_min)
        # Rate limits depend on the account tier in config, so this instance carries its own.
        self.capabilities = replace(CAPABILITIES, rate_limits=tier.rate_limits())  # type: ignore[misc]
        testnet = config.network == "testnet"
        self.rest_url = (config.rest_url or (TESTNET_REST if testnet else MAINNET_REST)).rstrip("/")
        if config.ws_url:
            self.ws_url = config.ws_url
        elif config.rest_url:
            self.ws_url = ws_url_for(config.rest_url)
        else:
            self.ws_url = TESTNET_WS if testnet else MAINNET_WS
        self.chain_id = config.chain_id or (TESTNET_CHAIN_ID if testnet else MAINNET_CHAIN_ID)
        self.transport = LighterTransport(
            rest_url=self.rest_url, ws_url=self.ws_url, timeout_secs=config.timeout_secs, tier=tier, clock=self.clock
        )
        self.signers = SignerPool(config.signer_threads, name=f"lighter-signer-{name}")
        self._by_symbol: dict[str, parse.LighterMarket] = {}
        self._by_id: dict[int, parse.LighterMarket] = {}

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        if not self._by_symbol:
            await self.load_markets()

    async def close(self) -> None:
        await self.transport.close()
        self.signers.close()

    # ------------------------------------------------------------------ markets

    async def load_markets(self) -> dict[str, Market]:
        body = await self.transport.get("/api/v1/orderBookDetails", {"filter": "perp"})
        specs = parse.parse_markets(body, self.name)
        self._by_symbol = {s.symbol: s for s in specs}
        self._by_id = {s.market_id: s for s in specs}
        self._markets = {s.symbol: s.market for s in specs}
        return dict(self._markets)

    def spec(self, symbol: str) -> parse.LighterMarket:
        """The Lighter market (id and scales) of a unified symbol."""
        unified = normalize_symbol(symbol)
        try:
            return self._by_symbol[unified]
        except KeyError:
            raise NotFound(f"{self.name} has no market {unified}") from None

    def spec_by_id(self, market_id: int) -> parse.LighterMarket | None:
        return self._by_id.get(market_id)

    # ------------------------------------------------------------------ public data

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        spec = self.spec(symbol)
        # orderBookOrders lists resting orders (L3); several may share a level.
        limit = min(250, max(depth * 4, 50))
        body = await self.transport.get("/api/v1/orderBookOrders", {"market_id": spec.market_id, "limit": limit})
        book = parse.parse_order_book_orders(body, spec.market, ts_ms=self.clock.now_ms())
        return replace(book, bids=book.bids[:depth], asks=book.asks[:depth])

    async def fetch_ticker(self, symbol: str) -> Ticker:
        spec = self.spec(symbol)
        details = await self.transport.get("/api/v1/orderBookDetails", {"market_id": spec.market_id})
        rows = details.get("order_book_details") or []
        if not rows:
            raise VenueError(f"lighter: no details for market {spec.market_id}", venue="lighter")
        row = rows[0]
        top = await self.fetch_order_book(symbol, depth=1)
        last = parse.dec(row.get("last_trade_price"), None)
        mark = parse.dec(row.get("mark_price"), None) or last or top.mid or Decimal(0)
        return Ticker(
            venue=self.name,
            symbol=spec.symbol,
            mark_price=mark,
            index_price=parse.dec(row.get("index_price"), None),
            last_price=last,
            best_bid=top.best_bid,
            best_ask=top.best_ask,
            open_interest=parse.dec(row.get("open_interest"), None),
            ts_ms=self.clock.now_ms(),
        )

    async def fetch_trades(self, symbol: str, limit: int = 100) -> list[Trade]:
        spec = self.spec(symbol)
        body = await self.transport.get(
            "/api/v1/recentTrades", {"market_id": spec.market_id, "limit": max(1, min(limit, 100))}
        )
        return parse.parse_trades(body.get("trades"), spec.market)

    async def fetch_funding(self, symbol: str) -> FundingRate:
        spec = self.spec(symbol)
        body = await self.transport.get("/api/v1/funding-rates")
        rate = parse.parse_funding_rates(body, spec, ts_ms=self.clock.now_ms())
        if rate is None:
            raise VenueError(f"lighter: no funding rate for {spec.symbol}", venue="lighter")
        return rate

    async def fetch_candles(
        self,
        symbol: str,
        interval: str = "1m",
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Candle]:
        if interval not in RESOLUTIONS:
            raise NotFound(f"{self.name} has no {interval} candles (one of {', '.join(RESOLUTIONS)})")
        spec = self.spec(symbol)
        end = end_ms if end_ms is not None else self.clock.now_ms()
        body = await self.transport.get(
            "/api/v1/candles",
            {
                "market_id": spec.market_id,
                "resolution": interval,
                "start_timestamp": start_ms if start_ms is not None else 0,
                "end_timestamp": end,
                "count_back": max(1, min(limit, 500)),
            },
        )
        return parse.parse_candles(body, spec.market)[-limit:]

    def watch(self, channels: Sequence[Channel]) -> AsyncIterator[Event]:
        from venues.lighter.streams import CATCH_UP_MARGIN_MS, public_stream

        return public_stream(self, channels, since_ms=self.clock.now_ms() - CATCH_UP_MARGIN_MS)

    # ------------------------------------------------------------------ accounts

    def session(self, account: str, config: AccountConfig, secrets: SecretResolver) -> AccountSession:
        from venues.lighter.session import LighterSession

        assert isinstance(config, LighterAccountConfig)
        return LighterSession(self, account, config, secrets)
