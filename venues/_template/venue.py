"""The venue: public market data, markets, capabilities, and the session factory.

Must: declare `capabilities` as data (order types, tifs, batch sizes, edit mode, dead
man's switch, client id format, margin modes, rate limits) — the reconciler, the risk
gate and the contract tests read it; load markets with tick, lot, minimums and max
leverage; serve public data over the transport (one per venue, shared by its
accounts); `watch` yields book snapshots then deltas (seq +1 each), trades, tickers,
funding, and a StreamGap on any loss; `session()` makes one TemplateSession per account.
Register the class under the `perpd.venues` entry point group (pyproject.toml).

Every verb of the contract is listed here or in session.py / trading.py, required ones
marked; `venues/base.py` holds the reference table. Optional verbs may be deleted: the
base class then refuses them with `NotSupported`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import ClassVar

from perpd.model import Candle, Event, FundingRate, Market, OrderBook, OrderType, Ticker, TimeInForce, Trade
from venues._template.config import TemplateAccountConfig, TemplateVenueConfig
from venues._template.session import TemplateSession
from venues.base import Capabilities, Channel, ClientIdFormat, SecretResolver, Venue


class TemplateVenue(Venue):
    kind: ClassVar[str] = "template"
    config_model = TemplateVenueConfig
    account_model = TemplateAccountConfig
    capabilities: ClassVar[Capabilities] = Capabilities(  # data, read by reconciler, risk, tests
        order_types=frozenset({OrderType.LIMIT, OrderType.MARKET}),
        tifs=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY}),
        client_id_format=ClientIdFormat.STRING,
    )

    async def connect(self) -> None:  # required; idempotent
        raise NotImplementedError

    async def close(self) -> None:  # required; idempotent
        raise NotImplementedError

    async def load_markets(self) -> dict[str, Market]:  # required
        raise NotImplementedError

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:  # required
        raise NotImplementedError

    async def fetch_ticker(self, symbol: str) -> Ticker:  # required
        raise NotImplementedError

    async def fetch_trades(self, symbol: str, limit: int = 100) -> list[Trade]:  # required
        raise NotImplementedError

    async def fetch_funding(self, symbol: str) -> FundingRate:  # required
        raise NotImplementedError

    async def fetch_candles(self, symbol: str, interval: str = "1m", start_ms: int | None = None,
                            end_ms: int | None = None, limit: int = 500) -> list[Candle]:  # optional
        raise NotImplementedError

    def watch(self, channels: Sequence[Channel]) -> AsyncIterator[Event]:  # required
        raise NotImplementedError

    def session(self, account: str, config: TemplateAccountConfig, secrets: SecretResolver) -> TemplateSession:  # type: ignore[override]  # required
        return TemplateSession(self, account, config, secrets)
