"""Vest trading verbs: signed `POST /orders` and `POST /orders/cancel`, unsigned leverage.

The base class of VestSession (session.py), which provides the venue, the signer, the
authenticated requests and the reads. Outcome rules:
- `{"id": ...}`: accepted; the order is PENDING until the account stream (or a read)
  says NEW, FILLED or REJECTED (Vest decides asynchronously).
- DUPLICATE (3015): an order with this nonce exists, so an earlier send of the same
  intent landed: look it up by nonce and return it, never send it under a new id.
- any other code: VenueRejected (or AuthError for a refused key, 1022). A timeout, a lost
  connection after sending, a 5xx or a 429: OutcomeUnknown, resolved later by nonce.
Vest has no edit, no batch, no cancel-all and no dead man's switch: edits and the switch
are refused by the contract's defaults (NotSupported), a cancel-all cancels one by one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from perpd.errors import InvalidRequest, NotFound, NotSupported, OutcomeUnknown, PerpdError, VenueRejected
from perpd.model import MarginMode, Order, OrderRequest, OrderType
from venues.base import AccountSession, check_against_market
from venues.vest.errors import DUPLICATE
from venues.vest.orders import to_wire
from venues.vest.signing import VestSigner

if TYPE_CHECKING:
    from venues.vest.venue import VestVenue


class VestTrading(AccountSession):
    """create/cancel orders, cancel-all (one by one), leverage."""

    # Provided by VestSession.
    venue: VestVenue
    signer: VestSigner
    remember: Callable[[Order], None]
    known: Callable[[str], Order | None]
    next_nonce: Callable[[], int]
    send: Callable[[str, str, Mapping[str, Any] | None], Awaitable[Any]]

    @property
    def recv_window_ms(self) -> int:
        return self.venue.vest_config.recv_window_ms

    # ------------------------------------------------------------------ orders

    async def create_order(self, request: OrderRequest) -> Order:
        self.capabilities.check(request, self.venue.name)
        spec = self.venue.spec(request.symbol)
        check_against_market(request, spec.market)
        reference = None
        if request.type is OrderType.MARKET and request.price is None:
            reference = (await self.venue.fetch_ticker(spec.symbol)).mark_price
        now = self.venue.clock.now_ms()
        wire = to_wire(request, spec, time_ms=now, reference=reference,
                       default_slippage_bps=self.venue.vest_config.market_slippage_bps)
        signature = self.signer.sign_order(*wire.signed())
        pending = request.pending(self.account, self.venue.name, now)
        self.remember(pending)  # the stream may report the order before POST answers
        try:
            answer = await self.send("POST", "/orders", wire.body(signature, self.recv_window_ms))
        except VenueRejected as exc:
            if exc.code == DUPLICATE:
                return await self._existing(request.client_id, exc)
            raise
        known = self.known(request.client_id) or pending
        order = known.evolve(venue_order_id=str(answer["id"]))
        self.remember(order)
        return order

    async def _existing(self, client_id: str, cause: PerpdError) -> Order:
        """DUPLICATE: an order with this nonce exists — it is ours; return it."""
        order = await self.fetch_order(client_id)
        if order is None:  # accepted but not visible yet: unknown, resolved later by nonce
            raise OutcomeUnknown(f"vest: nonce {client_id} is taken but no order shows it yet", venue="vest",
                                 code=DUPLICATE) from cause
        return order

    async def cancel_order(self, client_id: str) -> bool:
        order = self.known(client_id)
        if order is None or order.venue_order_id is None or order.status.is_terminal:
            if order is not None and order.status.is_terminal:
                return False
            order = await self.fetch_order(client_id)
        if order is None or order.venue_order_id is None or not order.status.is_live:
            return False
        now = self.venue.clock.now_ms()
        nonce = self.next_nonce()
        body = {
            "order": {"time": now, "nonce": nonce, "id": order.venue_order_id},
            "recvWindow": self.recv_window_ms,
            "signature": self.signer.sign_cancel(now, nonce, order.venue_order_id),
        }
        try:
            await self.send("POST", "/orders/cancel", body)
        except NotFound:  # ORDER_NOT_FOUND: it filled or ended meanwhile
            return False
        return True

    async def cancel_all_orders(self, symbol: str | None = None) -> int:
        """Vest has no cancel-all: cancel each open order (of `symbol`, or all)."""
        cancelled = 0
        for order in await self.fetch_open_orders(symbol):
            if await self.cancel_order(order.client_id):
                cancelled += 1
        return cancelled

    # ------------------------------------------------------------------ settings

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:
        spec = self.venue.spec(symbol)
        if margin_mode not in self.capabilities.margin_modes:
            raise NotSupported(f"vest is cross margin only (not {margin_mode.value})")
        if not 1 <= leverage <= spec.market.max_leverage:
            raise InvalidRequest(f"vest {spec.symbol}: leverage must be 1 .. {spec.market.max_leverage} (got {leverage})")
        # Unsigned, as documented (a signature some clients add is ignored by Vest).
        await self.send("POST", "/account/leverage",
                        {"time": self.venue.clock.now_ms(), "symbol": spec.venue_symbol, "value": leverage})

