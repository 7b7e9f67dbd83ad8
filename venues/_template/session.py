"""One account: its state (balance, positions, orders, fills, leverage) and its private
stream; the trading verbs are its base class in trading.py.

Must: resolve the account's secrets once, through the resolver given (never read env or
files directly), into the signer; read state over the transport and turn it into the
model with parse.py; `watch_account` behaves as if subscribed when called — catch up
from REST what happened before the stream was live, and yield a StreamGap after every
reconnect so the engine resyncs. `fetch_order` finds an order by client id, live or
finished; None means the venue never heard of it.

=================  ========  =================================================
verb               required  notes
=================  ========  =================================================
fetch_balance      yes       -> Balance
fetch_positions    yes       -> [Position] (non-zero only)
fetch_open_orders  yes       -> [Order] (live)
fetch_order        yes       -> Order | None by client id
fetch_fills        yes       -> [Fill] since a time, oldest first
fetch_funding_payments
                   optional  -> [FundingPayment] since a time, oldest first, each
                             with an id unique on the account (the venue's, else
                             time:symbol); capabilities.funding_payments
fetch_leverage     yes       -> LeverageSetting for a symbol
watch_account      yes       -> AsyncIterator[Event]; StreamGap on any loss
=================  ========  =================================================
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from perpd.model import Balance, Event, Fill, FundingPayment, LeverageSetting, Order, Position
from venues._template.config import TemplateAccountConfig
from venues._template.signing import TemplateSigner
from venues._template.trading import TemplateTrading
from venues.base import SecretResolver

if TYPE_CHECKING:
    from venues._template.venue import TemplateVenue


class TemplateSession(TemplateTrading):
    """Private verbs of one account."""

    config: TemplateAccountConfig

    def __init__(self, venue: TemplateVenue, account: str, config: TemplateAccountConfig, secrets: SecretResolver) -> None:
        super().__init__(venue, account, config)
        self.signer = TemplateSigner(secrets(config.api_key), public_id=account)

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

    async def fetch_funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:  # optional
        raise NotImplementedError  # (capabilities.funding_payments; else leave it out: NotSupported)

    async def fetch_leverage(self, symbol: str) -> LeverageSetting:  # required
        raise NotImplementedError

    def watch_account(self) -> AsyncIterator[Event]:  # required; subscribe at call time
        raise NotImplementedError
