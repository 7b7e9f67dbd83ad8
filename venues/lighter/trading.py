"""Lighter trading verbs: every write is a signed L2 transaction sent under one API
key's nonce (see session.py for the outcome rules). A mixin of LighterSession: it uses
the session's venue, signer, nonces and reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpd.errors import (
    InvalidRequest,
    NotFound,
    NotSupported,
    OutcomeUnknown,
    PerpdError,
    RateLimited,
    VenueRejected,
)
from perpd.model import MarginMode, Order, OrderRequest, OrderStatus, OrderType, Side
from venues.base import AccountSession, check_against_market
from venues.lighter import parse
from venues.lighter.constants import (
    CANCEL_ALL_ABORT,
    CANCEL_ALL_IMMEDIATE,
    CANCEL_ALL_SCHEDULED,
    CROSS_MARGIN,
    ISOLATED_MARGIN,
    MARGIN_FRACTION_SCALE,
    MAX_BATCH_TXS,
    NIL_MARKET_INDEX,
)
from venues.lighter.errors import CLIENT_ORDER_INDEX_EXISTS, INVALID_NONCE
from venues.lighter.nonces import KeyLease, NonceManager
from venues.lighter.orders import to_wire
from venues.lighter.signing import LighterSigner, SignedTx

if TYPE_CHECKING:
    from venues.lighter.venue import LighterVenue

GROUPING_OTO, GROUPING_OTOCO = 1, 3  # CreateGroupedOrders GroupingType (lighter-go; OCO is 2)
NOT_LIVE = frozenset({21600, 21700, 21709, 21715})  # cancel/modify of an order that is not live
Build = Callable[[int, int], Awaitable[SignedTx]]  # (api key index, nonce) -> signed tx
SignAll = Callable[[int, int], Awaitable[list[SignedTx]]]  # (api key index, first nonce) -> txs


class LighterTrading(AccountSession):
    """create/cancel/edit orders, cancel-all, leverage, dead man's switch."""

    # Provided by LighterSession.
    venue: LighterVenue
    signer: LighterSigner
    nonces: NonceManager
    _market_of: dict[str, int]
    remember: Callable[[Order, int], None]

    # ------------------------------------------------------------------ sending

    async def _submit(self, build: Build) -> dict[str, Any]:
        """Sign under a held key and send; re-fetch the nonce and resend once on 21104."""
        for attempt in range(2):
            async with self.nonces.hold() as lease:
                nonce = await lease.take()
                try:
                    signed = await build(lease.key, nonce)
                    return await self.venue.transport.send_tx(signed.tx_type, signed.tx_info)
                except BaseException as exc:
                    if _settle(lease, exc) and attempt == 0:
                        continue
                    raise
        raise AssertionError("unreachable")

    async def _submit_batch(self, count: int, sign_all: SignAll) -> dict[str, Any]:
        """`count` txs from one API key with consecutive nonces, in one sendTxBatch."""
        for attempt in range(2):
            async with self.nonces.hold() as lease:
                first = await lease.take(count)
                try:
                    signed = await sign_all(lease.key, first)
                    return await self.venue.transport.send_tx_batch(
                        [s.tx_type for s in signed], [s.tx_info for s in signed]
                    )
                except BaseException as exc:
                    if _settle(lease, exc) and attempt == 0:
                        continue
                    raise
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ trading

    def _prepare(self, request: OrderRequest) -> parse.LighterMarket:
        self.capabilities.check(request, self.venue.name)
        spec = self.venue.spec(request.symbol)
        check_against_market(request, spec.market)
        return spec

    async def _reference_price(self, spec: parse.LighterMarket, side: Side) -> Decimal | None:
        book = await self.venue.fetch_order_book(spec.symbol, depth=1)
        best = book.best_ask if side is Side.BUY else book.best_bid
        return best if best is not None else (await self.venue.fetch_ticker(spec.symbol)).mark_price

    async def _wire(self, request: OrderRequest, spec: parse.LighterMarket) -> dict[str, Any]:
        reference = None
        if request.type is OrderType.MARKET and request.price is None:
            reference = await self._reference_price(spec, request.side)
        slippage = Decimal(self.venue.lighter_config.market_slippage_bps)
        return to_wire(request, spec, reference_price=reference, default_slippage_bps=slippage).fields()

    def _pending(self, request: OrderRequest, spec: parse.LighterMarket) -> Order:
        now = self.venue.clock.now_ms()
        order = request.pending(self.account, self.venue.name, now)
        self.remember(order, spec.market_id)
        return order

    async def create_order(self, request: OrderRequest) -> Order:
        spec = self._prepare(request)
        fields = await self._wire(request, spec)
        pending = self._pending(request, spec)
        try:
            await self._submit(lambda key, nonce: self.signer.create_order(key=key, nonce=nonce, **fields))
        except VenueRejected as exc:
            if exc.code == CLIENT_ORDER_INDEX_EXISTS:
                return await self._existing(request.client_id, exc)
            raise
        return pending

    async def _existing(self, client_id: str, cause: PerpdError) -> Order:
        """21728: an order with this client index exists — it is ours; return it."""
        order = await self.fetch_order(client_id)
        if order is None:  # accepted but not yet visible: unknown, resolve later
            raise OutcomeUnknown(
                f"lighter: client order index {client_id} exists but is not visible yet", venue="lighter", code=CLIENT_ORDER_INDEX_EXISTS
            ) from cause
        return order

    async def create_orders(self, requests: Sequence[OrderRequest]) -> list[Order | Exception]:
        out: list[Order | Exception] = []
        for start in range(0, len(requests), MAX_BATCH_TXS):
            out.extend(await self._create_chunk(requests[start : start + MAX_BATCH_TXS]))
        return out

    async def _create_chunk(self, requests: Sequence[OrderRequest]) -> list[Order | Exception]:
        slots: list[Order | Exception | None] = [None] * len(requests)
        ready: list[tuple[int, OrderRequest, dict[str, Any], Order]] = []
        for i, request in enumerate(requests):
            try:
                spec = self._prepare(request)
                fields = await self._wire(request, spec)
                ready.append((i, request, fields, self._pending(request, spec)))
            except PerpdError as exc:
                slots[i] = exc
        if len(ready) == 1:
            i, request, _, _ = ready[0]
            slots[i] = (await super().create_orders([request]))[0]
        elif ready:
            orders = [fields for _, _, fields, _ in ready]
            try:
                await self._submit_batch(
                    len(orders), lambda key, first: self.signer.create_orders(key=key, first_nonce=first, orders=orders)
                )
                for i, _, _, pending in ready:
                    slots[i] = pending
            except VenueRejected:
                # One code answers the whole batch: learn each order's fate one by one.
                # Resending is safe: an order that did land answers 21728 and is looked up.
                singles = await super().create_orders([r for _, r, _, _ in ready])
                for (i, _, _, _), result in zip(ready, singles, strict=True):
                    slots[i] = result
            except PerpdError as exc:
                for i, _, _, _ in ready:
                    slots[i] = exc
        return [s if s is not None else OutcomeUnknown("lighter: no result", venue="lighter") for s in slots]

    async def create_bracket(
        self, entry: OrderRequest, take_profit: OrderRequest | None = None, stop_loss: OrderRequest | None = None
    ) -> list[Order | Exception]:
        """The entry and its exits as one CreateGroupedOrders tx (OTOCO with both exits, OTO
        with one): Lighter holds the exits and places them, reduce-only, for the size the
        entry filled (their BaseAmount is 0 on the wire); with both, one filling cancels the
        other. Slots: entry, then the exits given (take_profit first), all PENDING on
        acceptance. The tx is all-or-nothing: an error fills every slot."""
        _check_bracket(self.venue.name, entry, take_profit, stop_loss)
        requests = [r for r in (entry, take_profit, stop_loss) if r is not None]
        spec = self._prepare(entry)
        for child in requests[1:]:
            self._prepare(child)
        wires = [await self._wire(r, spec) for r in requests]
        expiry = wires[1]["order_expiry"]  # every child of a group has one expiry
        for child in wires[1:]:
            child["base_amount"] = 0  # Lighter sizes each by what the entry filled
            child["order_expiry"] = expiry
        grouping = GROUPING_OTOCO if len(wires) == 3 else GROUPING_OTO
        pending = [self._pending(r, spec) for r in requests]
        try:
            await self._submit(
                lambda key, nonce: self.signer.create_grouped(key=key, nonce=nonce, grouping_type=grouping, orders=wires)
            )
        except PerpdError as exc:  # VenueRejected (definitive), OutcomeUnknown, RateLimited, ...
            return [exc for _ in requests]
        return list(pending)

    async def _market_id_of(self, client_id: str) -> int | None:
        market_id = self._market_of.get(client_id)
        if market_id is None:
            order = await self.fetch_order(client_id)
            if order is None:
                return None
            market_id = self.venue.spec(order.symbol).market_id
        return market_id

    @staticmethod
    def _index(client_id: str) -> int:
        return int(client_id.partition(":")[2]) if client_id.startswith("order:") else int(client_id)

    async def cancel_order(self, client_id: str) -> bool:
        market_id = await self._market_id_of(client_id)
        if market_id is None:
            return False
        index = self._index(client_id)
        try:
            await self._submit(
                lambda key, nonce: self.signer.cancel_order(key=key, nonce=nonce, market_index=market_id, index=index)
            )
        except VenueRejected as exc:
            if exc.code in NOT_LIVE:
                return False
            raise
        return True

    async def cancel_orders(self, client_ids: Sequence[str]) -> list[bool | Exception]:
        known = [(cid, self._market_of.get(cid)) for cid in client_ids]
        if len(client_ids) < 2 or len(client_ids) > MAX_BATCH_TXS or any(m is None for _, m in known):
            return await super().cancel_orders(client_ids)
        builds = [_cancel_builder(self.signer, m, self._index(cid)) for cid, m in known if m is not None]

        async def sign_all(key: int, first: int) -> list[SignedTx]:
            return list(await asyncio.gather(*(b(key, first + i) for i, b in enumerate(builds))))

        try:
            await self._submit_batch(len(builds), sign_all)
        except VenueRejected:  # e.g. one of them is no longer live: ask one by one
            return await super().cancel_orders(client_ids)
        except PerpdError as exc:
            return [exc for _ in client_ids]
        return [True for _ in client_ids]

    async def cancel_all_orders(self, symbol: str | None = None) -> int:
        live = await self.fetch_open_orders(symbol)
        if not live:
            return 0
        market_index = self.venue.spec(symbol).market_id if symbol is not None else NIL_MARKET_INDEX
        await self._submit(
            lambda key, nonce: self.signer.cancel_all(
                key=key, nonce=nonce, time_in_force=CANCEL_ALL_IMMEDIATE, time_ms=0, market_index=market_index
            )
        )
        return len(live)

    async def edit_order(
        self, client_id: str, *, new_client_id: str, price: Decimal | None = None, size: Decimal | None = None
    ) -> Order:
        order = await self.fetch_order(client_id)
        if order is None or not order.status.is_live:
            raise NotFound(f"lighter: no live order with client id {client_id}")
        spec = self.venue.spec(order.symbol)
        new_price = price if price is not None else order.price
        new_size = size if size is not None else order.size
        if new_price is None:
            raise InvalidRequest("lighter: a modify needs a price")
        probe = OrderRequest(client_id, order.symbol, order.side, order.type, new_size, new_price, order.trigger_price)
        check_against_market(probe, spec.market)
        base_amount, wire_price = spec.to_wire_size(new_size), spec.to_wire_price(new_price)
        trigger = spec.to_wire_price(order.trigger_price) if order.trigger_price is not None else 0
        try:
            await self._submit(
                lambda key, nonce: self.signer.modify_order(
                    key=key, nonce=nonce, market_index=spec.market_id, index=self._index(client_id),
                    base_amount=base_amount, price=wire_price, trigger_price=trigger,
                )
            )
        except VenueRejected as exc:
            if exc.code in NOT_LIVE:
                raise NotFound(f"lighter: no live order with client id {client_id}") from exc
            raise
        return order.evolve(price=new_price, size=new_size, status=OrderStatus.PENDING, updated_ms=self.venue.clock.now_ms())

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:
        spec = self.venue.spec(symbol)
        if margin_mode not in self.capabilities.margin_modes:
            raise NotSupported(f"lighter does not support {margin_mode.value} margin")
        if not 1 <= leverage <= spec.market.max_leverage:
            raise InvalidRequest(f"lighter {spec.symbol}: leverage must be 1 .. {spec.market.max_leverage} (got {leverage})")
        fraction = MARGIN_FRACTION_SCALE // leverage
        mode = ISOLATED_MARGIN if margin_mode is MarginMode.ISOLATED else CROSS_MARGIN
        await self._submit(
            lambda key, nonce: self.signer.update_leverage(
                key=key, nonce=nonce, market_index=spec.market_id, fraction=fraction, margin_mode=mode
            )
        )

    async def cancel_all_after(self, seconds: int) -> None:
        caps = self.capabilities
        if seconds == 0:
            tif, time_ms = CANCEL_ALL_ABORT, 0
        elif caps.dead_mans_switch_min_secs <= seconds <= caps.dead_mans_switch_max_secs:
            tif, time_ms = CANCEL_ALL_SCHEDULED, self.venue.clock.now_ms() + seconds * 1000
        else:
            raise InvalidRequest(
                f"lighter: cancel_all_after must be 0 or {caps.dead_mans_switch_min_secs} .. "
                f"{caps.dead_mans_switch_max_secs} seconds (got {seconds})"
            )
        await self._submit(
            lambda key, nonce: self.signer.cancel_all(key=key, nonce=nonce, time_in_force=tif, time_ms=time_ms)
        )


def _settle(lease: KeyLease, exc: BaseException) -> bool:
    """Put a failed send's nonces right; True when the send may be retried (21104)."""
    if isinstance(exc, VenueRejected) and exc.code == INVALID_NONCE:
        lease.forget()
        return True
    if isinstance(exc, RateLimited) or (isinstance(exc, PerpdError) and not isinstance(exc, OutcomeUnknown)):
        lease.release()  # refused before execution: the nonces were not consumed
    else:
        lease.forget()  # unknown (timeout, lost connection, cancelled): re-fetch next time
    return False


_TAKE_PROFITS = frozenset({OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT_LIMIT})
_STOPS = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})


def _check_bracket(
    venue: str, entry: OrderRequest, take_profit: OrderRequest | None, stop_loss: OrderRequest | None
) -> None:
    """What lighter-go's grouped-orders Validate would refuse, and what perpd's brackets
    promise (reduce-only exits of the entry's size on the other side), before signing."""
    if take_profit is None and stop_loss is None:
        raise InvalidRequest(f"{venue}: a bracket needs a take_profit, a stop_loss or both")
    if entry.type not in (OrderType.LIMIT, OrderType.MARKET):
        raise InvalidRequest(f"{venue}: a bracket's entry is a limit or market order (got {entry.type.value})")
    if entry.reduce_only:
        raise InvalidRequest(f"{venue}: a bracket's entry opens a position; it cannot be reduce-only")
    ids = {entry.client_id}
    for name, child, kinds in (("take_profit", take_profit, _TAKE_PROFITS), ("stop_loss", stop_loss, _STOPS)):
        if child is None:
            continue
        if (
            child.type not in kinds
            or not child.reduce_only
            or child.side is entry.side
            or child.symbol != entry.symbol
            or child.size != entry.size
            or child.trigger_price is None
            or (child.type.has_limit_price and child.price is None)
        ):
            raise InvalidRequest(
                f"{venue}: a bracket's {name} must be a reduce-only {'/'.join(sorted(k.value for k in kinds))} "
                f"on {entry.symbol}, on the other side, of the entry's size, with its trigger (and limit) price"
            )
        if child.client_id in ids:
            raise InvalidRequest(f"{venue}: a bracket's orders need distinct client ids ({child.client_id} repeats)")
        ids.add(child.client_id)


def _cancel_builder(signer: LighterSigner, market_id: int, index: int) -> Build:
    return lambda key, nonce: signer.cancel_order(key=key, nonce=nonce, market_index=market_id, index=index)
