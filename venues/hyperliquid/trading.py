"""Hyperliquid trading verbs: every write is one signed L1 action posted to `/exchange`.

Each action gets a fresh nonce from the signer's `NonceSource`, is signed (signing.py),
charged to the shared address budget and posted once. A timeout, transport failure, 429
or 5xx raises OutcomeUnknown: the caller resolves by client id, never resends under a
new one. `{"status": "err"}` and per-order `{"error": ...}` map through the tables in
errors.py. Requests become order wires in orders.py, actions take their SDK shape in
wire.py. A base class of HyperliquidSession (session.py), as Lighter's trading.py is of
its session: it uses the session's signer, nonces, known orders and reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpd.errors import InvalidRequest, NotFound, PerpdError, VenueError
from perpd.model import MarginMode, Order, OrderRequest, OrderStatus
from venues.base import AccountSession
from venues.hyperliquid import errors, orders, parse, wire
from venues.hyperliquid.signing import NonceSource, Signer

if TYPE_CHECKING:
    from venues.hyperliquid.venue import HyperliquidVenue


class HyperliquidTrading(AccountSession):
    """create/cancel/edit orders (single, batched, with TP/SL), cancel-all, leverage,
    dead man's switch."""

    # Provided by HyperliquidSession.
    venue: HyperliquidVenue
    _signer: Signer
    nonces: NonceSource
    vault_address: str | None
    user: str
    _builder: dict[str, Any] | None
    _known: dict[str, Order]
    _carried: dict[str, tuple[str, Decimal]]
    _replaced: set[str]
    _remember: Callable[[Order], Order]

    # ------------------------------------------------------------------ sending

    def sign(self, action: dict[str, Any], nonce: int) -> dict[str, Any]:
        """The full /exchange body for `action` (exposed for tests and benchmarks)."""
        signature = self._signer.sign_l1(action, nonce, is_mainnet=self.venue.is_mainnet, vault_address=self.vault_address)
        return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": self.vault_address, "expiresAfter": None}

    async def _send(self, action: dict[str, Any], count: int = 1, *, cancel: bool = False) -> dict[str, Any]:
        self.venue.transport.address_budgets.spend(self.user, count, cancel=cancel)
        body = self.sign(action, self.nonces.next())
        answer = await self.venue.transport.exchange(body, batch_length=count)
        if not isinstance(answer, dict) or "status" not in answer:
            raise errors.bad_payload(str(answer)[:100])
        if answer["status"] != "ok":
            raise errors.action_error(answer.get("response", ""))
        return answer

    # ------------------------------------------------------------------ trading

    async def _wire(self, request: OrderRequest) -> dict[str, Any]:
        self.capabilities.check(request, self.venue.name)
        asset = self.venue.asset(request.symbol)
        mark = await self.venue.mark_price(request.symbol) if request.type.value == "market" else None
        return orders.build_order_wire(request, asset, mark=mark, slippage_bps=self.venue.config.market_slippage_bps)

    async def create_order(self, request: OrderRequest) -> Order:
        wire_order = await self._wire(request)
        answer = await self._send(wire.order_action([wire_order], builder=self._builder))
        result = parse.parse_place_result(parse.parse_statuses(answer)[0])
        return self._remember(orders.order_after(request, result, wire_order, account=self.account, venue=self.venue.name, now_ms=self.venue.clock.now_ms()))

    async def create_orders(self, requests: Sequence[OrderRequest]) -> list[Order | Exception]:
        """Place up to `batch_create` orders in one signed action; one slot per request."""
        out: list[Order | Exception] = []
        for start in range(0, len(requests), self.capabilities.batch_create):
            out.extend(await self._create_batch(requests[start : start + self.capabilities.batch_create]))
        return out

    async def _create_batch(self, requests: Sequence[OrderRequest]) -> list[Order | Exception]:
        slots: list[Order | Exception | None] = [None] * len(requests)
        wires: list[tuple[int, dict[str, Any]]] = []
        for i, request in enumerate(requests):
            try:
                wires.append((i, await self._wire(request)))
            except PerpdError as exc:  # refused locally: that slot only, nothing sent
                slots[i] = exc
        if wires:
            try:
                answer = await self._send(wire.order_action([w for _, w in wires], builder=self._builder), len(wires))
                statuses = parse.parse_statuses(answer)
            except VenueError as exc:
                statuses = [exc] * len(wires)
            now = self.venue.clock.now_ms()
            for (i, wire_order), status in zip(wires, statuses, strict=False):
                if isinstance(status, Exception):
                    slots[i] = status
                    continue
                try:
                    order = orders.order_after(requests[i], parse.parse_place_result(status), wire_order, account=self.account, venue=self.venue.name, now_ms=now)
                    slots[i] = self._remember(order)
                except VenueError as exc:
                    slots[i] = exc
        return [s if s is not None else errors.bad_payload("missing status") for s in slots]

    async def create_bracket(
        self,
        parent: OrderRequest,
        take_profit: OrderRequest | None = None,
        stop_loss: OrderRequest | None = None,
    ) -> list[Order | Exception]:
        """Parent plus attached TP/SL in one action (grouping `normalTpsl`): the venue
        places the children, reduce-only triggers of the parent's size, once the parent
        has filled whole (a parent cancelled part-filled drops them). Slots: parent, then
        the children given (a child not yet placed comes back PENDING)."""
        children = [c for c in (take_profit, stop_loss) if c is not None]
        for child, kinds in ((take_profit, orders.TAKE_PROFITS), (stop_loss, orders.STOPS)):
            if child is not None and (child.type not in kinds or not child.reduce_only or child.side is parent.side):
                raise InvalidRequest(f"{self.venue.name}: a TP/SL child must be a reduce-only {'/'.join(k.value for k in kinds)} on the other side")
        if not children:
            raise InvalidRequest(f"{self.venue.name}: give a take_profit, a stop_loss or both")
        requests = [parent, *children]
        wires = [await self._wire(r) for r in requests]
        try:
            answer = await self._send(wire.order_action(wires, grouping="normalTpsl", builder=self._builder), len(wires))
        except VenueError as exc:
            return [exc] * len(wires)
        now = self.venue.clock.now_ms()
        out: list[Order | Exception] = []
        for request, wire_order, status in zip(requests, wires, parse.parse_statuses(answer), strict=False):
            try:
                order = orders.order_after(request, parse.parse_place_result(status), wire_order, account=self.account, venue=self.venue.name, now_ms=now)
                out.append(self._remember(order))
            except VenueError as exc:
                out.append(exc)
        return out

    async def _asset_of(self, client_id: str) -> int | None:
        known = self._known.get(client_id)
        if known is None:
            known = await self.fetch_order(client_id)
        return self.venue.asset(known.symbol).index if known is not None else None

    async def cancel_order(self, client_id: str) -> bool:
        return _as_bool((await self.cancel_orders([client_id]))[0])

    async def cancel_orders(self, client_ids: Sequence[str]) -> list[bool | Exception]:
        out: list[bool | Exception] = []
        for start in range(0, len(client_ids), self.capabilities.batch_cancel):
            out.extend(await self._cancel_batch(client_ids[start : start + self.capabilities.batch_cancel]))
        return out

    async def _cancel_batch(self, client_ids: Sequence[str]) -> list[bool | Exception]:
        slots: list[bool | Exception] = [False] * len(client_ids)
        targets: list[tuple[int, int, str]] = []
        for i, client_id in enumerate(client_ids):
            try:
                self.capabilities.client_id_format.validate(client_id)
                asset = await self._asset_of(client_id)
            except PerpdError as exc:
                slots[i] = exc
                continue
            if asset is not None:
                targets.append((i, asset, client_id))
        if not targets:
            return slots
        try:
            answer = await self._send(wire.cancel_by_cloid_action([(a, c) for _, a, c in targets]), len(targets), cancel=True)
            statuses: list[Any] = parse.parse_statuses(answer)
        except VenueError as exc:
            statuses = [exc] * len(targets)
        for (i, _, client_id), status in zip(targets, statuses, strict=False):
            slots[i] = self._cancel_result(client_id, status)
        return slots

    def _cancel_result(self, client_id: str, status: Any) -> bool | Exception:
        if isinstance(status, Exception):
            return status
        if status == "success":
            known = self._known.get(client_id)
            if known is not None:
                self._known[client_id] = known.evolve(status=OrderStatus.CANCELLED)
            return True
        error = errors.order_error(str(status.get("error", status)) if isinstance(status, dict) else str(status))
        return False if error.code == "unknown_order" else error

    async def cancel_all_orders(self, symbol: str | None = None) -> int:
        live = await self.fetch_open_orders(symbol)
        cancelled = 0
        size = self.capabilities.batch_cancel
        for start in range(0, len(live), size):
            chunk = live[start : start + size]
            action = wire.cancel_action([(self.venue.asset(o.symbol).index, int(o.venue_order_id or 0)) for o in chunk])
            answer = await self._send(action, len(chunk), cancel=True)
            cancelled += sum(1 for s in parse.parse_statuses(answer) if s == "success")
        return cancelled

    async def edit_order(self, client_id: str, *, new_client_id: str, price: Decimal | None = None, size: Decimal | None = None) -> Order:
        """Modify (batchModify by cloid). Hyperliquid replaces the order: the new one keeps
        the cloid, gets a new oid, and its `s` is what it has left to trade. perpd's sizes
        are totals, so `s` is always the new total (or the old one) less what has filled;
        the order perpd tracks keeps its total and filled size across the replacement."""
        current = self._known.get(client_id) or await self.fetch_order(client_id)
        if current is None or not current.status.is_live:
            raise NotFound(f"{self.venue.name}: no live order {client_id}")
        total = size if size is not None else current.size
        remaining = total - current.filled_size
        if remaining <= 0:
            raise InvalidRequest(f"{self.venue.name}: new size {total} is not above the filled size {current.filled_size}")
        request = OrderRequest(
            client_id=client_id, symbol=current.symbol, side=current.side, type=current.type, size=remaining,
            price=price if price is not None else current.price,
            trigger_price=current.trigger_price, tif=current.tif, reduce_only=current.reduce_only,
        )
        if request.price is None:
            raise InvalidRequest(f"{self.venue.name}: order {client_id} has no price to keep")
        wire_order = await self._wire(request)
        # The old oid's "canceled" report can arrive before the answer: it is not the order's.
        old = current.venue_order_id
        if old:
            self._replaced.add(old)
        try:
            answer = await self._send(wire.batch_modify_action([(client_id, wire_order)]))
            result = parse.parse_place_result(parse.parse_statuses(answer)[0])
        except Exception:
            self._replaced.discard(old or "")
            raise
        replacement = orders.order_after(request, result, wire_order, account=self.account, venue=self.venue.name, now_ms=self.venue.clock.now_ms())
        if replacement.venue_order_id and replacement.venue_order_id != old:
            self._carried[client_id] = (replacement.venue_order_id, current.filled_size)
        else:
            self._replaced.discard(old or "")
        return self._remember(replacement)

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:
        asset = self.venue.asset(symbol)
        if not 0 < leverage <= asset.max_leverage:
            raise InvalidRequest(f"{self.venue.name} {symbol}: leverage must be 1..{asset.max_leverage} (got {leverage})")
        if asset.only_isolated and margin_mode is MarginMode.CROSS:
            raise InvalidRequest(f"{self.venue.name} {symbol}: isolated margin only")
        await self._send(wire.update_leverage_action(asset.index, margin_mode is MarginMode.CROSS, leverage))

    async def cancel_all_after(self, seconds: int) -> None:
        """Arm scheduleCancel at now + seconds (>= 5 s), or disarm with 0. The venue
        fires it at most 10 times a day: re-arming is free, firing is counted."""
        if seconds == 0:
            await self._send(wire.schedule_cancel_action(None))
            return
        low, high = self.capabilities.dead_mans_switch_min_secs, self.capabilities.dead_mans_switch_max_secs
        if not low <= seconds <= high:
            raise InvalidRequest(f"{self.venue.name}: dead man's switch must be {low}..{high} s (got {seconds})")
        await self._send(wire.schedule_cancel_action(self.venue.clock.now_ms() + seconds * 1000))


def _as_bool(slot: bool | Exception) -> bool:
    if isinstance(slot, Exception):
        raise slot
    return slot
