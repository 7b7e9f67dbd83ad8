"""The EdgeX venue (API V2): public market data over REST and the quote WebSocket, and
account sessions.

Capabilities (data, read by the reconciler, the risk gate and the contract tests): all
six order types (triggers compare with the oracle price, which EdgeX also publishes as
its mark), tifs GTC / IOC / FOK / post-only, reduce-only, no edit, no batch create, a
cancel of up to `MAX_CANCEL_BATCH` client ids in one request, no dead man's switch
(neither the API nor the SDK has one), cross margin only (V2's margin-mode enum is not
published: isolated is refused locally), numeric client order ids. Acknowledgements are
asynchronous: `createOrder` answers with an order id, the order's fate (PENDING, then
OPEN / FILLED / CANCELED) arrives on the account stream.

There is no REST endpoint for recent public trades: `fetch_trades` reads the snapshot
the `trades.{contractId}` channel starts with.

Layout: `transport.py` (I/O), `parse.py` (pure), `book.py` (local book), `signing.py`
(HMAC request auth; the swappable order signer, EIP-712 for V2), `orders.py` (request ->
createOrder body), `streams.py` (WS -> events), `session.py` (private reads) over
`trading.py` (writes), `errors.py` (code tables), `emulator/` (a protocol-faithful
local EdgeX).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import anyio

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
    RateLimit,
    SecretResolver,
    Venue,
)
from venues.edgex import parse
from venues.edgex.config import EdgexAccountConfig, EdgexVenueConfig
from venues.edgex.constants import (
    DEPTH,
    DEPTH_LEVELS,
    INTERVAL_MS,
    INTERVALS,
    KLINE,
    LATEST_FUNDING,
    MAINNET_REST,
    MAINNET_WS,
    METADATA,
    PUBLIC_WS,
    TICKER,
)
from venues.edgex.session import EdgexSession
from venues.edgex.signing import Eip712OrderSigner, OrderSigner
from venues.edgex.streams import public_stream
from venues.edgex.transport import EdgexTransport

if TYPE_CHECKING:
    from perpd.config import AccountConfig, VenueConfig

MAX_CANCEL_BATCH = 20  # client ids per cancelOrderByClientOrderId (EdgeX publishes no cap: ours)
TRADES_SNAPSHOT_SECS = 3.0  # how long fetch_trades waits for the trades channel's snapshot


def _rate_limits(requests_per_min: int) -> tuple[RateLimit, ...]:
    return (RateLimit("requests", requests_per_min, 60.0, "venue"),)


CAPABILITIES = Capabilities(
    order_types=frozenset(OrderType),
    tifs=frozenset(TimeInForce),
    reduce_only=True,
    edit=EditMode.NONE,
    batch_create=1,
    batch_cancel=MAX_CANCEL_BATCH,
    dead_mans_switch=False,
    client_id_format=ClientIdFormat.INT63,
    margin_modes=frozenset({MarginMode.CROSS}),
    async_acks=True,
    trigger_reference="oracle",
    funding_payments=True,  # POSITION_FUNDING collateral transactions
    rate_limits=_rate_limits(600),
    extra={"order_signature": "eip712", "request_auth": "hmac-sha256", "public_trades": "websocket snapshot"},
)


def ws_url_for(rest_url: str) -> str:
    """`http://127.0.0.1:8784` -> `ws://127.0.0.1:8784` (the emulator serves both)."""
    base = rest_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):]
    if base.startswith("http://"):
        return "ws://" + base[len("http://"):]
    return base


class EdgexVenue(Venue):
    """One configured EdgeX venue (mainnet, a host EdgeX gave you, or the emulator)."""

    kind: ClassVar[str] = "edgex"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    config_model = EdgexVenueConfig
    account_model = EdgexAccountConfig

    def __init__(
        self, name: str, config: VenueConfig, *, clock: Clock | None = None, state_dir: Path | None = None
    ) -> None:
        super().__init__(name, config, clock=clock, state_dir=state_dir)
        assert isinstance(config, EdgexVenueConfig)
        self.edgex_config = config
        self.capabilities = replace(CAPABILITIES, rate_limits=_rate_limits(config.requests_per_min))  # type: ignore[misc]
        self.rest_url = (config.rest_url or MAINNET_REST).rstrip("/")
        self.ws_url = (config.ws_url or (ws_url_for(config.rest_url) if config.rest_url else MAINNET_WS)).rstrip("/")
        self.transport = EdgexTransport(
            rest_url=self.rest_url, ws_url=self.ws_url, timeout_secs=config.timeout_secs,
            requests_per_min=config.requests_per_min, clock=self.clock,
        )
        self.metadata = parse.Metadata(None, None)
        self._lock = anyio.Lock()

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        if not self.metadata.contracts:
            async with self._lock:
                if not self.metadata.contracts:
                    await self.load_markets()

    async def close(self) -> None:
        await self.transport.close()

    # ------------------------------------------------------------------ markets

    async def load_markets(self) -> dict[str, Market]:
        data = await self.transport.public(METADATA)
        self.metadata = parse.parse_metadata(data or {}, venue=self.name)
        self._markets = {symbol: c.market for symbol, c in self.metadata.by_symbol.items()}
        return dict(self._markets)

    def contract(self, symbol: str) -> parse.Contract:
        """The EdgeX contract of a unified symbol."""
        unified = normalize_symbol(symbol)
        try:
            return self.metadata.by_symbol[unified]
        except KeyError:
            raise NotFound(f"{self.name} has no market {unified}") from None

    def contract_by_id(self, contract_id: str) -> parse.Contract | None:
        return self.metadata.contracts.get(str(contract_id))

    def order_signer(self, trading_key: str) -> OrderSigner:
        """The V2 order signer for a trading key, in this venue's EIP-712 domain."""
        meta = self.metadata
        if meta.chain_id is None or not meta.contract_address:
            raise VenueError(f"{self.name}: the metadata gives no chainId / contractAddress to sign orders with",
                             venue="edgex")
        return Eip712OrderSigner(trading_key, chain_id=meta.chain_id, verifying_contract=meta.contract_address)

    # ------------------------------------------------------------------ public data

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        contract = self.contract(symbol)
        level = DEPTH_LEVELS[0] if depth <= DEPTH_LEVELS[0] else DEPTH_LEVELS[1]
        data = await self.transport.public(DEPTH, {"contractId": contract.contract_id, "level": level})
        if not data:
            return OrderBook(self.name, contract.symbol, (), (), ts_ms=self.clock.now_ms())
        book = parse.parse_order_book(data[0], contract.market, ts_ms=self.clock.now_ms())
        return replace(book, bids=book.bids[:depth], asks=book.asks[:depth])

    async def fetch_ticker(self, symbol: str) -> Ticker:
        contract = self.contract(symbol)
        data = await self.transport.public(TICKER, {"contractId": contract.contract_id})
        if not data:
            raise VenueError(f"edgex: no ticker for contract {contract.contract_id}", venue="edgex")
        return parse.parse_ticker(data[0], contract.market, ts_ms=self.clock.now_ms())

    async def oracle_price(self, symbol: str) -> Decimal | None:
        """The oracle price a market buy's signed cap is computed from (as the SDK does)."""
        contract = self.contract(symbol)
        data = await self.transport.public(TICKER, {"contractId": contract.contract_id})
        return parse.dec(data[0].get("oraclePrice"), None) if data else None

    async def fetch_trades(self, symbol: str, limit: int = 100) -> list[Trade]:
        contract = self.contract(symbol)
        channel = f"trades.{contract.contract_id}"
        trades: list[Trade] = []
        with anyio.move_on_after(min(TRADES_SNAPSHOT_SECS, self.config.timeout_secs)):
            async with self.transport.socket(PUBLIC_WS, {"timestamp": self.clock.now_ms()}) as ws:
                await ws.subscribe(channel)
                while True:
                    message = await ws.recv()
                    if message.get("type") == "quote-event" and message.get("channel") == channel:
                        content = message.get("content") or {}
                        trades = [parse.parse_trade(row, contract.market) for row in content.get("data") or ()]
                        break
        trades.sort(key=lambda t: (t.ts_ms, t.trade_id))
        return trades[-limit:] if limit > 0 else []

    async def fetch_funding(self, symbol: str) -> FundingRate:
        contract = self.contract(symbol)
        data = await self.transport.public(LATEST_FUNDING, {"contractId": contract.contract_id})
        rows = [r for r in data or () if str(r.get("contractId")) == contract.contract_id]
        if not rows:
            raise VenueError(f"edgex: no funding rate for contract {contract.contract_id}", venue="edgex")
        return parse.parse_funding(rows[0], contract)

    async def fetch_candles(
        self,
        symbol: str,
        interval: str = "1m",
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Candle]:
        kline = INTERVALS.get(interval)
        if kline is None:
            raise NotFound(f"{self.name} has no {interval} candles (one of {', '.join(INTERVALS)})")
        contract = self.contract(symbol)
        params: dict[str, object] = {
            "contractId": contract.contract_id, "klineType": kline, "priceType": "LAST_PRICE",
            "size": max(1, min(limit, 1000)),
        }
        if start_ms is not None:
            params["filterBeginKlineTimeInclusive"] = start_ms - start_ms % INTERVAL_MS[kline]
        if end_ms is not None:
            params["filterEndKlineTimeExclusive"] = end_ms + 1
        data = await self.transport.public(KLINE, params)
        rows = (data or {}).get("dataList") or []
        candles = sorted((parse.parse_candle(r, contract.market, interval) for r in rows), key=lambda c: c.open_ms)
        return candles[-limit:] if limit > 0 else []

    def watch(self, channels: Sequence[Channel]) -> AsyncIterator[Event]:
        return public_stream(self, channels)

    # ------------------------------------------------------------------ accounts

    def session(self, account: str, config: AccountConfig, secrets: SecretResolver) -> AccountSession:
        assert isinstance(config, EdgexAccountConfig)
        return EdgexSession(self, account, config, secrets)

