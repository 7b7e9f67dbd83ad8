"""One Hyperliquid account: state, trading, and its private stream.

An agent (API) wallet signs; the account address (or `vault_address`) is whose orders,
positions and fills these are. A signer whose address *is* the account's (the master
key) is refused unless the account says `allow_master_key = true`.

Writes: each action gets a fresh nonce from the signer's `NonceSource`, is signed,
charged to the shared address budget and posted once. A timeout, transport failure,
429 or 5xx raises OutcomeUnknown: the caller resolves by client id, never resends
under a new one. `{"status": "err"}` and per-order `{"error": ...}` map through the
tables in errors.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpd.errors import ConfigError, InvalidRequest, NotFound, PerpdError, VenueError
from perpd.model import (
    Balance,
    BalanceUpdate,
    Event,
    Fill,
    FillUpdate,
    LeverageSetting,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionUpdate,
    StreamGap,
)
from venues.base import AccountSession, SecretResolver
from venues.hyperliquid import errors, orders, parse, wire
from venues.hyperliquid.config import HyperliquidAccountConfig
from venues.hyperliquid.signing import NonceSource, Signer
from venues.hyperliquid.transport import Reconnected, Subscribed, subscribe_stream

if TYPE_CHECKING:
    from perpd.config import AccountConfig
    from venues.hyperliquid.venue import HyperliquidVenue

FILLS_PAGE = 2000  # userFillsByTime returns at most this many per call
CATCH_UP_MARGIN_MS = 2_000  # clock skew allowance: a duplicate is harmless, a gap is not


class HyperliquidSession(AccountSession):
    venue: HyperliquidVenue
    config: HyperliquidAccountConfig

    def __init__(self, venue: HyperliquidVenue, account: str, config: AccountConfig, secrets: SecretResolver) -> None:
        super().__init__(venue, account, config)
        try:
            self._signer = Signer(secrets(self.config.signer).get_secret_value())
        except ValueError:
            raise ConfigError(f"accounts.{account}.signer: {self.config.signer} is not a private key") from None
        self.account_address = self.config.account_address.lower()
        if self._signer.address == self.account_address and not self.config.allow_master_key:
            raise ConfigError(
                f"accounts.{account}.signer: this is the master key of {self.config.account_address}; "
                "sign with an API wallet (approveAgent) or set allow_master_key = true"
            )
        self.vault_address = self.config.vault_address.lower() if self.config.vault_address else None
        self.user = self.vault_address or self.account_address  # whose state we read
        self.nonces = NonceSource.for_signer(self._signer.address)
        self._builder = (
            {"b": self.config.builder_address.lower(), "f": self.config.builder_fee_tenths_bp or 0}
            if self.config.builder_address
            else None
        )
        self._known: dict[str, Order] = {}  # client id -> last Order we saw
        self._held: set[str] = set()  # symbols with a position at the last state read

    async def connect(self) -> None:
        """Read the address budget the venue has counted for this account (it also
        tells an emulator the account exists, like a deposit would)."""
        await self.fetch_rate_limit()

    @property
    def signer_address(self) -> str:
        return self._signer.address

    def _symbol_of(self, coin: str) -> str | None:
        return self.venue.symbol_of(coin)

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

    async def _info(self, body: dict[str, Any]) -> Any:
        return await self.venue.transport.info(body)

    # ------------------------------------------------------------------ state

    async def fetch_state(self) -> tuple[Balance, list[Position]]:
        payload = await self._info({"type": "clearinghouseState", "user": self.user, "dex": ""})
        return parse.parse_clearinghouse_state(payload, self.account, self._symbol_of, venue=self.venue.name, ts_ms=self.venue.clock.now_ms())

    async def fetch_balance(self) -> Balance:
        return (await self.fetch_state())[0]

    async def fetch_positions(self) -> list[Position]:
        return (await self.fetch_state())[1]

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        payload = await self._info({"type": "frontendOpenOrders", "user": self.user, "dex": ""})
        found = [self._remember(o) for o in parse.parse_open_orders(payload, self.account, self._symbol_of, venue=self.venue.name)]
        if symbol is not None:
            unified = self.venue.market(symbol).symbol
            found = [o for o in found if o.symbol == unified]
        return found

    async def fetch_order(self, client_id: str) -> Order | None:
        self.capabilities.client_id_format.validate(client_id)
        payload = await self._info({"type": "orderStatus", "user": self.user, "oid": client_id})
        order = parse.parse_order_status(payload, self.account, self._symbol_of, venue=self.venue.name)
        return self._remember(order) if order is not None else None

    async def fetch_fills(self, since_ms: int = 0) -> list[Fill]:
        fills: list[Fill] = []
        start = since_ms
        while True:
            page = await self._info({"type": "userFillsByTime", "user": self.user, "startTime": start, "aggregateByTime": False})
            fills.extend(parse.parse_fills(page, self.account, self._symbol_of, venue=self.venue.name))
            if len(page) < FILLS_PAGE:
                break
            # The same ms may hold more fills (re-read it; duplicates are dropped), but a
            # full page inside one ms must not loop forever.
            start = max(max(int(item["time"]) for item in page), start + 1)
        return _dedup(fills)

    async def fetch_funding_payments(self, since_ms: int = 0) -> list[parse.FundingPayment]:
        payload = await self._info({"type": "userFunding", "user": self.user, "startTime": since_ms})
        return parse.parse_user_funding(payload, self._symbol_of)

    async def fetch_rate_limit(self) -> tuple[int, int]:
        """The venue's count of this address's actions: (used, cap); also resyncs the
        shared budget."""
        payload = await self._info({"type": "userRateLimit", "user": self.user})
        used, cap = parse.parse_user_rate_limit(payload)
        self.venue.transport.address_budgets.update(self.user, used, cap)
        return used, cap

    async def fetch_leverage(self, symbol: str) -> LeverageSetting:
        market = self.venue.market(symbol)
        payload = await self._info({"type": "activeAssetData", "user": self.user, "coin": market.venue_symbol})
        return parse.parse_active_asset_data(payload, market.symbol)

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

    async def create_order_with_tpsl(
        self,
        parent: OrderRequest,
        *,
        take_profit: OrderRequest | None = None,
        stop_loss: OrderRequest | None = None,
    ) -> list[Order | Exception]:
        """Parent plus attached TP/SL in one action (grouping `normalTpsl`): the venue
        places the children, reduce-only triggers, once the parent has filled. Slots:
        parent, then the children given (a child not yet placed comes back PENDING)."""
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
        """Modify in place (batchModify by cloid): the cloid stays, `new_client_id` is
        not used (EditMode.NATIVE); the venue gives the order a new oid."""
        current = self._known.get(client_id) or await self.fetch_order(client_id)
        if current is None or not current.status.is_live:
            raise NotFound(f"{self.venue.name}: no live order {client_id}")
        request = OrderRequest(
            client_id=client_id, symbol=current.symbol, side=current.side, type=current.type,
            size=size if size is not None else current.remaining,
            price=price if price is not None else current.price,
            trigger_price=current.trigger_price, tif=current.tif, reduce_only=current.reduce_only,
        )
        if request.price is None:
            raise InvalidRequest(f"{self.venue.name}: order {client_id} has no price to keep")
        wire_order = await self._wire(request)
        answer = await self._send(wire.batch_modify_action([(client_id, wire_order)]))
        result = parse.parse_place_result(parse.parse_statuses(answer)[0])
        return self._remember(orders.order_after(request, result, wire_order, account=self.account, venue=self.venue.name, now_ms=self.venue.clock.now_ms()))

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

    # ------------------------------------------------------------------ stream

    def _remember(self, order: Order) -> Order:
        merged = orders.merge(self._known.get(order.client_id), order)
        if not merged.client_id.startswith("oid:"):
            self._known[merged.client_id] = merged
        return merged

    async def watch_account(self) -> AsyncIterator[Event]:
        """Order updates and fills from the WS; after fills, positions and balance from
        REST; a StreamGap after every reconnect (nothing missed is replayed).

        What happened between this call and the first subscription being acknowledged
        is caught up from REST (historicalOrders, userFillsByTime), so the stream
        behaves as if it had subscribed when called."""
        since = self.venue.clock.now_ms() - CATCH_UP_MARGIN_MS
        subscriptions = [
            {"type": "orderUpdates", "user": self.user},
            {"type": "userFills", "user": self.user},
        ]
        caught_up = False
        async for message in subscribe_stream(self.venue.ws_url, subscriptions):
            if isinstance(message, Reconnected):
                yield StreamGap(venue=self.venue.name, account=self.account, reason=message.reason, ts_ms=self.venue.clock.now_ms())
            elif isinstance(message, Subscribed):
                if not caught_up:
                    caught_up = True
                    for event in await self._catch_up(since):
                        yield event
            else:
                for event in await self._account_events(message):
                    yield event

    async def _catch_up(self, since_ms: int) -> list[Event]:
        history = await self._info({"type": "historicalOrders", "user": self.user})
        recent = [e for e in history if int(e.get("statusTimestamp", 0)) >= since_ms]
        recent.sort(key=lambda e: int(e.get("statusTimestamp", 0)))
        name = self.venue.name
        events: list[Event] = [OrderUpdate(self._remember(o)) for o in parse.parse_order_updates(recent, self.account, self._symbol_of, venue=name)]
        fills = await self.fetch_fills(since_ms)
        events.extend(FillUpdate(f) for f in fills)
        if fills:
            events.extend(await self._state_events())
        return events

    async def _account_events(self, message: dict[str, Any]) -> list[Event]:
        channel, data = message.get("channel"), message.get("data")
        name = self.venue.name
        if channel == "orderUpdates":
            return [OrderUpdate(self._remember(o)) for o in parse.parse_order_updates(data, self.account, self._symbol_of, venue=name)]
        if channel == "userFills" and not data.get("isSnapshot"):
            events: list[Event] = [FillUpdate(f) for f in parse.parse_fills(data["fills"], self.account, self._symbol_of, venue=name)]
            if events:
                events.extend(await self._state_events())
            return events
        return []


    async def _state_events(self) -> list[Event]:
        # A closed position vanishes from clearinghouseState: report it at size 0.
        balance, positions = await self.fetch_state()
        now_held = {p.symbol for p in positions}
        events: list[Event] = [PositionUpdate(p) for p in positions]
        events.extend(
            PositionUpdate(Position(self.account, self.venue.name, symbol, Decimal(0), ts_ms=balance.ts_ms))
            for symbol in self._held - now_held
        )
        self._held = now_held
        events.append(BalanceUpdate(balance))
        return events


def _as_bool(slot: bool | Exception) -> bool:
    if isinstance(slot, Exception):
        raise slot
    return slot


def _dedup(fills: list[Fill]) -> list[Fill]:
    seen: dict[str, Fill] = {}
    for fill in fills:
        seen.setdefault(fill.trade_id, fill)
    return sorted(seen.values(), key=lambda f: (f.ts_ms, f.trade_id))
