"""Extended's order verbs: every order is a Stark-signed POST /user/order; an edit is a
new order under a new external id that names the one it replaces (`cancelId`, atomic
on Extended); cancels by external id, in batches through massCancel; leverage by
PATCH; the dead man's switch through /user/deadmanswitch.

Outcome rules: HTTP OK means accepted for processing (the order is PENDING until the
account stream or a read shows it). 1134 "duplicate order" means an earlier send of
this client id landed: the order is looked up and returned, never sent under a new id.
A timeout, a lost connection after sending, 5xx or 429 is OutcomeUnknown. Everything
else Extended refuses is VenueRejected (errors.py). A base class of ExtendedSession,
which provides the venue, signer, fee rates and reads.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from perpd.errors import InvalidRequest, NotFound, NotSupported, OutcomeUnknown, PerpdError, VenueRejected
from perpd.model import BPS, MarginMode, Order, OrderRequest, OrderStatus, OrderType, Side, round_to_step
from venues.base import AccountSession, check_against_market
from venues.extended import orders, parse
from venues.extended.errors import DUPLICATE_ORDER
from venues.extended.market_data import ExtendedMarket
from venues.extended.signing import StarkSigner

if TYPE_CHECKING:
    from venues.extended.config import ExtendedAccountConfig
    from venues.extended.venue import ExtendedVenue

IOC_EXPIRY_MS = 3_600_000  # the SDK's default: one hour


class ExtendedTrading(AccountSession):
    """create/cancel/edit orders, cancel-all, leverage, dead man's switch."""

    # Provided by ExtendedSession.
    venue: ExtendedVenue
    config: ExtendedAccountConfig
    signer: StarkSigner
    builder: tuple[int, Decimal] | None
    taker_fee: Callable[[str], Decimal]
    remember: Callable[[str | None, str], None]
    _write: Callable[..., Awaitable[dict[str, Any]]]

    # ------------------------------------------------------------------ orders

    def _prepare(self, request: OrderRequest) -> ExtendedMarket:
        self.capabilities.check(request, self.venue.name)
        spec = self.venue.spec(request.symbol)
        check_against_market(request, spec.market)
        return spec

    async def _worst_price(self, request: OrderRequest, spec: ExtendedMarket) -> Decimal:
        """The signed price of market execution: the reference +/- the slippage cap, on the tick."""
        if request.price is not None:
            return request.price
        if request.trigger_price is not None:
            reference = request.trigger_price
        else:
            book = await self.venue.fetch_order_book(spec.symbol, depth=1)
            best = book.best_ask if request.side is Side.BUY else book.best_bid
            reference = best if best is not None else (await self.venue.fetch_ticker(spec.symbol)).mark_price
        bps = request.slippage_bps if request.slippage_bps is not None else Decimal(self.venue.extended_config.market_slippage_bps)
        if request.side is Side.BUY:
            return round_to_step(reference * (1 + bps / BPS), spec.market.tick_size, ROUND_CEILING)
        worst = round_to_step(reference * (1 - bps / BPS), spec.market.tick_size, ROUND_FLOOR)
        return max(worst, spec.market.tick_size)

    def _expiry_ms(self, request: OrderRequest) -> int:
        now = self.venue.clock.now_ms()
        if orders.wire_tif(request) == "IOC":
            return now + IOC_EXPIRY_MS
        return now + self.venue.extended_config.order_expiry_secs * 1000

    async def _send(self, request: OrderRequest, spec: ExtendedMarket, cancel_id: str | None = None) -> Order:
        price = request.price if request.type.has_limit_price else await self._worst_price(request, spec)
        assert price is not None
        body, _ = orders.build(
            request, spec, self.signer, price=price, fee_rate=self.taker_fee(spec.name), nonce=secrets.randbelow(2**32),
            expiry_ms=self._expiry_ms(request), builder=self.builder, cancel_id=cancel_id,
        )
        pending = request.pending(self.account, self.venue.name, self.venue.clock.now_ms())
        try:
            answer = await self._write("POST", "/user/order", body=body)
        except VenueRejected as exc:
            if exc.code == DUPLICATE_ORDER:
                return await self._existing(request.client_id, exc)
            raise
        order_id, _external = parse.parse_placed(answer)
        self.remember(order_id, request.client_id)
        if request.type is OrderType.MARKET:
            pending = pending.evolve(price=None)
        return pending.evolve(venue_order_id=order_id)

    async def _existing(self, client_id: str, cause: PerpdError) -> Order:
        """1134: an order with this external id exists -- an earlier send landed; return it."""
        order = await self.fetch_order(client_id)
        if order is None:  # accepted but not yet visible: unknown, resolve later
            raise OutcomeUnknown(f"extended: order {client_id} exists but is not visible yet", venue="extended",
                                 code=DUPLICATE_ORDER) from cause
        return order

    async def create_order(self, request: OrderRequest) -> Order:
        return await self._send(request, self._prepare(request))

    async def cancel_order(self, client_id: str) -> bool:
        try:
            await self._write("DELETE", "/user/order", params={"externalId": client_id})
        except NotFound:
            return False
        return True

    async def cancel_orders(self, client_ids: Sequence[str]) -> list[bool | Exception]:
        if len(client_ids) < 2:
            return await super().cancel_orders(client_ids)
        try:
            live = {o.client_id for o in await self.fetch_open_orders()}
            wanted = [cid for cid in client_ids if cid in live]
            for start in range(0, len(wanted), self.capabilities.batch_cancel):
                chunk = wanted[start : start + self.capabilities.batch_cancel]
                await self._write("POST", "/user/order/massCancel", body={"externalOrderIds": chunk, "cancelAll": False})
        except PerpdError as exc:
            return [exc for _ in client_ids]
        return [cid in live for cid in client_ids]

    async def cancel_all_orders(self, symbol: str | None = None) -> int:
        live = await self.fetch_open_orders(symbol)
        if not live:
            return 0
        body: dict[str, Any] = {"cancelAll": True} if symbol is None else {
            "markets": [self.venue.spec(symbol).name], "cancelAll": False}
        await self._write("POST", "/user/order/massCancel", body=body)
        return len(live)

    async def edit_order(self, client_id: str, *, new_client_id: str, price: Decimal | None = None,
                         size: Decimal | None = None) -> Order:
        order = await self.fetch_order(client_id)
        if order is None or not order.status.is_live:
            raise NotFound(f"extended: no live order with client id {client_id}")
        request = OrderRequest(
            client_id=new_client_id, symbol=order.symbol, side=order.side, type=order.type,
            size=size if size is not None else order.size, price=price if price is not None else order.price,
            trigger_price=order.trigger_price, tif=order.tif, reduce_only=order.reduce_only,
        )
        if request.type.has_limit_price and request.price is None:
            raise InvalidRequest("extended: an edit needs a price")
        spec = self._prepare(request)
        try:
            return await self._send(request, spec, cancel_id=client_id)
        except NotFound as exc:  # 1142: the order ended before the replace reached it
            raise NotFound(f"extended: no live order with client id {client_id}") from exc

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:
        spec = self.venue.spec(symbol)
        if margin_mode not in self.capabilities.margin_modes:
            raise NotSupported(f"extended does not support {margin_mode.value} margin (cross only)")
        if not 1 <= leverage <= spec.market.max_leverage:
            raise InvalidRequest(f"extended {spec.symbol}: leverage must be 1 .. {spec.market.max_leverage} (got {leverage})")
        await self._write("PATCH", "/user/leverage", body={"market": spec.name, "leverage": str(leverage)})

    async def cancel_all_after(self, seconds: int) -> None:
        caps = self.capabilities
        if seconds != 0 and not caps.dead_mans_switch_min_secs <= seconds <= caps.dead_mans_switch_max_secs:
            raise InvalidRequest(
                f"extended: cancel_all_after must be 0 or {caps.dead_mans_switch_min_secs} .. "
                f"{caps.dead_mans_switch_max_secs} seconds (got {seconds})"
            )
        await self._write("POST", "/user/deadmanswitch", params={"countdownTime": seconds})


__all__ = ["ExtendedTrading", "OrderStatus"]
