"""One Lighter account: reads over REST, trading through signed L2 transactions.

Every write is a signed tx sent with `sendTx` / `sendTxBatch` under one API key's nonce
(`nonces.py`). Outcome rules:
- `code == 200`: accepted; the order is PENDING until the account stream confirms it.
- "invalid nonce" (21104): nothing happened; re-fetch the nonce and send again once.
- "client order index already exists" (21728): the order exists (an earlier send of the
  same intent landed): look it up and return it — never send it under a new id.
- any other 21xxx: VenueRejected (definitive). 429/405/23xxx: RateLimited. A timeout or
  a lost connection after sending: OutcomeUnknown — resolved later by client id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import anyio

from perpd.errors import (
    InvalidRequest,
    NotFound,
    NotSupported,
    OutcomeUnknown,
    PerpdError,
    RateLimited,
    VenueRejected,
)
from perpd.model import (
    Balance,
    Event,
    Fill,
    LeverageSetting,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from venues.base import AccountSession, SecretResolver, check_against_market
from venues.lighter import parse
from venues.lighter.config import LighterAccountConfig
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

NOT_LIVE = frozenset({21600, 21700, 21709, 21715})  # cancel/modify of an order that is not live
Build = Callable[[int, int], Awaitable[SignedTx]]  # (api key index, nonce) -> signed tx
SignAll = Callable[[int, int], Awaitable[list[SignedTx]]]  # (api key index, first nonce) -> txs
MEMORY = 20_000  # client ids whose market we remember


class LighterSession(AccountSession):
    """Private verbs of one Lighter account (`account_index`, one or more API keys)."""

    def __init__(self, venue: LighterVenue, account: str, config: LighterAccountConfig, secrets: SecretResolver) -> None:
        super().__init__(venue, account, config)
        self.venue: LighterVenue = venue
        self.account_index = config.account_index
        keys = {key.index: secrets(key.secret) for key in config.api_keys}
        self.signer = LighterSigner(
            venue.signers, url=venue.rest_url, chain_id=venue.chain_id, account_index=config.account_index, keys=keys
        )
        self.nonces = NonceManager(sorted(keys), self._fetch_nonce)
        lifetime_ms = venue.lighter_config.auth_token_secs * 1000
        self.token_lifetime_ms = lifetime_ms
        self.token_refresh_lead_ms = min(15 * 60_000, lifetime_ms // 4)
        self._token: tuple[str, int] | None = None  # (token, expires at ms)
        self._token_lock = anyio.Lock()
        self._market_of: dict[str, int] = {}

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        await self.venue.connect()
        await self.signer.register()
        for key in self.nonces.keys:  # fetch nextNonce for every key at start
            async with self.nonces.hold(key) as lease:
                await lease.take(0)

    async def _fetch_nonce(self, key: int) -> int:
        return await self.venue.transport.next_nonce(self.account_index, key)

    async def auth_token(self) -> tuple[str, int]:
        """A valid auth token and its expiry (ms), renewed ahead of expiry."""
        async with self._token_lock:
            now = self.venue.clock.now_ms()
            if self._token is None or self._token[1] - now < self.token_refresh_lead_ms:
                deadline_s = (now + self.token_lifetime_ms) // 1000
                token = await self.signer.auth_token(key=self.nonces.keys[0], deadline_s=deadline_s)
                self._token = (token, deadline_s * 1000)
            return self._token

    async def _get(self, path: str, params: dict[str, Any], *, auth: bool = False) -> dict[str, Any]:
        token = (await self.auth_token())[0] if auth else None
        return await self.venue.transport.get(path, params, auth=token)

    def remember(self, order: Order, market_id: int) -> None:
        """Note which market a client id trades on (for cancels and edits)."""
        if order.client_id not in self._market_of and len(self._market_of) >= MEMORY:
            self._market_of.pop(next(iter(self._market_of)))
        self._market_of[order.client_id] = market_id

    # ------------------------------------------------------------------ state

    async def _account(self) -> dict[str, Any]:
        body = await self._get("/api/v1/account", {"by": "index", "value": self.account_index})
        accounts = body.get("accounts") or []
        if not accounts:
            raise NotFound(f"lighter has no account {self.account_index}")
        return accounts[0]

    async def fetch_balance(self) -> Balance:
        return parse.parse_balance(await self._account(), self.account, self.venue.name, self.venue.clock.now_ms())

    async def fetch_positions(self) -> list[Position]:
        acct = await self._account()
        out = []
        for row in acct.get("positions") or ():
            spec = self.venue.spec_by_id(int(row.get("market_id", -1)))
            if spec is None:
                continue
            position = parse.parse_position(row, spec.market, self.account, self.venue.clock.now_ms())
            if position is not None:
                out.append(position)
        return out

    def _orders(self, body: dict[str, Any]) -> list[Order]:
        out = []
        for row in body.get("orders") or ():
            spec = self.venue.spec_by_id(int(row.get("market_index", -1)))
            if spec is None:
                continue
            order = parse.parse_order(row, spec.market, self.account)
            self.remember(order, spec.market_id)
            out.append(order)
        return out

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        params: dict[str, Any] = {"account_index": self.account_index}
        if symbol is not None:
            params["market_id"] = self.venue.spec(symbol).market_id
        body = await self._get("/api/v1/accountActiveOrders", params, auth=True)
        return [o for o in self._orders(body) if o.status.is_live]

    async def fetch_inactive_orders(self, symbol: str | None = None, limit: int = 100) -> list[Order]:
        """Recently ended orders (filled, cancelled, refused), newest first."""
        params: dict[str, Any] = {"account_index": self.account_index, "limit": limit}
        if symbol is not None:
            params["market_id"] = self.venue.spec(symbol).market_id
        return self._orders(await self._get("/api/v1/accountInactiveOrders", params, auth=True))

    async def fetch_order(self, client_id: str) -> Order | None:
        if client_id.startswith("order:"):  # an order we did not create (no client index)
            wanted = client_id.partition(":")[2]
            return next((o for o in await self.fetch_open_orders() if o.venue_order_id == wanted), None)
        if not client_id.isdigit():
            return None
        body = await self._get(
            "/api/v1/accountOrders",
            {"account_index": self.account_index, "client_order_indexes": client_id},
            auth=True,
        )
        orders = [o for o in self._orders(body) if o.client_id == client_id]
        return orders[0] if orders else None

    async def fetch_fills(self, since_ms: int = 0) -> list[Fill]:
        fills: list[Fill] = []
        cursor: str | None = None
        for _ in range(50):  # 5,000 fills at most per call
            params: dict[str, Any] = {
                "sort_by": "timestamp",
                "sort_dir": "asc",
                "limit": 100,
                "account_index": self.account_index,
                "from": since_ms,
                "cursor": cursor,
            }
            body = await self._get("/api/v1/trades", params, auth=True)
            for row in body.get("trades") or ():
                spec = self.venue.spec_by_id(int(row.get("market_id", -1)))
                if spec is not None and int(row.get("timestamp") or 0) >= since_ms:
                    fills.extend(parse.parse_fills(row, spec.market, self.account_index, self.account))
            cursor = body.get("next_cursor") or None
            if not cursor or not body.get("trades"):
                break
        fills.sort(key=lambda f: (f.ts_ms, f.trade_id))
        return fills

    async def fetch_leverage(self, symbol: str) -> LeverageSetting:
        spec = self.venue.spec(symbol)
        for row in (await self._account()).get("positions") or ():
            if int(row.get("market_id", -1)) == spec.market_id:
                leverage = parse.leverage_of(row.get("initial_margin_fraction"))
                if leverage:
                    mode = MarginMode.ISOLATED if int(row.get("margin_mode") or 0) == 1 else MarginMode.CROSS
                    return LeverageSetting(spec.symbol, leverage, mode)
        default = MARGIN_FRACTION_SCALE // (spec.default_initial_margin_fraction or MARGIN_FRACTION_SCALE)
        return LeverageSetting(spec.symbol, max(default, 1), MarginMode.CROSS)

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
        order = Order(
            account=self.account,
            venue=self.venue.name,
            client_id=request.client_id,
            symbol=spec.symbol,
            side=request.side,
            type=request.type,
            size=request.size,
            status=OrderStatus.PENDING,
            price=request.price,
            trigger_price=request.trigger_price,
            tif=request.tif,
            reduce_only=request.reduce_only,
            created_ms=now,
            updated_ms=now,
        )
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

    def watch_account(self) -> AsyncIterator[Event]:
        from venues.lighter.streams import CATCH_UP_MARGIN_MS, account_stream

        return account_stream(self, since_ms=self.venue.clock.now_ms() - CATCH_UP_MARGIN_MS)


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


def _cancel_builder(signer: LighterSigner, market_id: int, index: int) -> Build:
    return lambda key, nonce: signer.cancel_order(key=key, nonce=nonce, market_index=market_id, index=index)
