"""Order verbs on the wire: create, cancel, edit, cancel-all, leverage, dead man's switch.

Must: call `self.capabilities.check(request, venue)` first (unsupported requests are
refused locally with NotSupported, never sent); round and validate prices and sizes
against the `Market` before signing (`venues.base.check_against_market`); send each
order under its deterministic client id, once — a timeout, transport error, 5xx or 429
raises OutcomeUnknown and is resolved later by client id, never resent under a new id;
map definitive refusals to VenueRejected through errors.py. A base class of the
session (session.py), which provides the venue, signer and reads.

=================  ========  =================================================
verb               required  notes
=================  ========  =================================================
create_order       yes       -> Order (PENDING on venues that ack asynchronously)
create_orders      optional  batching venues override (capabilities.batch_create)
create_bracket     optional  entry + TP/SL in one request the venue holds (capabilities.native_brackets)
cancel_order       yes       -> True if a live order was cancelled, else False
cancel_orders      optional  batching venues override (capabilities.batch_cancel)
cancel_all_orders  yes       -> number cancelled
edit_order         optional  capabilities.edit
set_leverage       yes       leverage and margin mode for a symbol
cancel_all_after   optional  capabilities.dead_mans_switch
=================  ========  =================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from perpd.model import MarginMode, Order, OrderRequest
from venues._template.signing import TemplateSigner
from venues.base import AccountSession

if TYPE_CHECKING:
    from venues._template.venue import TemplateVenue


class TemplateTrading(AccountSession):
    """The trading verbs of one account."""

    # Provided by TemplateSession.
    venue: TemplateVenue
    signer: TemplateSigner

    async def create_order(self, request: OrderRequest) -> Order:  # required
        self.capabilities.check(request, self.venue.name)
        raise NotImplementedError

    async def create_orders(self, requests: Sequence[OrderRequest]) -> list[Order | Exception]:  # optional
        return await super().create_orders(requests)

    async def create_bracket(
        self, entry: OrderRequest, take_profit: OrderRequest | None = None, stop_loss: OrderRequest | None = None
    ) -> list[Order | Exception]:  # optional (capabilities.native_brackets); default: NotSupported
        return await super().create_bracket(entry, take_profit, stop_loss)

    async def cancel_order(self, client_id: str) -> bool:  # required; False = no live order
        raise NotImplementedError

    async def cancel_orders(self, client_ids: Sequence[str]) -> list[bool | Exception]:  # optional
        return await super().cancel_orders(client_ids)

    async def cancel_all_orders(self, symbol: str | None = None) -> int:  # required
        raise NotImplementedError

    async def edit_order(self, client_id: str, *, new_client_id: str, price: Decimal | None = None,
                         size: Decimal | None = None) -> Order:  # optional (capabilities.edit)
        raise NotImplementedError

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:  # required
        raise NotImplementedError

    async def cancel_all_after(self, seconds: int) -> None:  # optional (capabilities.dead_mans_switch)
        raise NotImplementedError
