"""One Lighter account: reads over REST here, trading through signed L2 transactions
in trading.py (LighterTrading, mixed in).

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

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio

from perpd.errors import NotFound
from perpd.model import Balance, Event, Fill, FundingPayment, LeverageSetting, MarginMode, Order, Position
from venues.base import SecretResolver
from venues.lighter import parse
from venues.lighter.config import LighterAccountConfig
from venues.lighter.constants import MARGIN_FRACTION_SCALE
from venues.lighter.nonces import NonceManager
from venues.lighter.signing import LighterSigner
from venues.lighter.trading import LighterTrading

if TYPE_CHECKING:
    from venues.lighter.venue import LighterVenue

MEMORY = 20_000  # client ids whose market we remember


class LighterSession(LighterTrading):
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

    async def fetch_funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        """/api/v1/positionFunding, newest first a page at a time until `since_ms`; each
        row's funding_id names it (timestamps in seconds, as /fundings has them)."""
        found: dict[str, FundingPayment] = {}
        cursor: str | None = None
        for _ in range(50):  # 5,000 payments at most per call
            params: dict[str, Any] = {"account_index": self.account_index, "limit": 100, "cursor": cursor,
                                      "start_timestamp": since_ms // 1000}
            body = await self._get("/api/v1/positionFunding", params, auth=True)
            rows = body.get("position_fundings") or []
            for row in rows:
                payment = parse.parse_position_funding(row, self.venue.spec_by_id, self.account, self.venue.name)
                if payment is not None and payment.ts_ms >= since_ms - since_ms % 1000:
                    found.setdefault(payment.payment_id, payment)
            cursor = body.get("next_cursor") or None
            if not cursor or not rows:
                break
        return sorted(found.values(), key=lambda p: (p.ts_ms, p.payment_id))

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

    def watch_account(self) -> AsyncIterator[Event]:
        from venues.lighter.streams import CATCH_UP_MARGIN_MS, account_stream

        return account_stream(self, since_ms=self.venue.clock.now_ms() - CATCH_UP_MARGIN_MS)
