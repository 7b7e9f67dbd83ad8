"""The contract for the template venue: every verb, required ones marked.

Replace each `NotImplementedError` with the venue's implementation, built on
`transport.py` (I/O) and `parse.py` (pure). Optional verbs may be deleted: the base class
then refuses them with `NotSupported`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import ClassVar

from perpd.model import (
    Balance,
    Event,
    Fill,
    FundingRate,
    LeverageSetting,
    MarginMode,
    Market,
    Order,
    OrderBook,
    OrderRequest,
    OrderType,
    Position,
    Ticker,
    TimeInForce,
    Trade,
)
from venues._template.config import TemplateAccountConfig, TemplateVenueConfig
from venues.base import AccountSession, Capabilities, Channel, ClientIdFormat, SecretResolver, Venue


class TemplateVenue(Venue):
    kind: ClassVar[str] = "template"
    config_model = TemplateVenueConfig
    account_model = TemplateAccountConfig
    capabilities: ClassVar[Capabilities] = Capabilities(  # data, read by reconciler, risk, tests
        order_types=frozenset({OrderType.LIMIT, OrderType.MARKET}),
        tifs=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY}),
        client_id_format=ClientIdFormat.STRING,
    )

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

    def watch(self, channels: Sequence[Channel]) -> AsyncIterator[Event]:  # required
        raise NotImplementedError

    def session(self, account: str, config: TemplateAccountConfig, secrets: SecretResolver) -> TemplateSession:  # type: ignore[override]  # required
        return TemplateSession(self, account, config)


class TemplateSession(AccountSession):
    async def fetch_balance(self) -> Balance:  # required
        raise NotImplementedError

    async def fetch_positions(self) -> list[Position]:  # required
        raise NotImplementedError

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:  # required
        raise NotImplementedError

    async def fetch_order(self, client_id: str) -> Order | None:  # required; None = never seen
        raise NotImplementedError

    async def fetch_fills(self, since_ms: int = 0) -> list[Fill]:  # required
        raise NotImplementedError

    async def create_order(self, request: OrderRequest) -> Order:  # required
        self.capabilities.check(request, self.venue.name)
        raise NotImplementedError

    async def cancel_order(self, client_id: str) -> bool:  # required; False = no live order
        raise NotImplementedError

    async def cancel_all_orders(self, symbol: str | None = None) -> int:  # required
        raise NotImplementedError

    async def edit_order(self, client_id: str, *, new_client_id: str, price: Decimal | None = None,
                         size: Decimal | None = None) -> Order:  # optional (capabilities.edit)
        raise NotImplementedError

    async def fetch_leverage(self, symbol: str) -> LeverageSetting:  # required
        raise NotImplementedError

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:  # required
        raise NotImplementedError

    async def cancel_all_after(self, seconds: int) -> None:  # optional (capabilities.dead_mans_switch)
        raise NotImplementedError

    def watch_account(self) -> AsyncIterator[Event]:  # required; subscribe at call time
        raise NotImplementedError
