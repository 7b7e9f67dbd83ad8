"""One Vest account: credentials, reads over REST, the private stream (trading.py has
the writes, VestTrading is the base class).

Credentials: the signing key signs every order and cancel. Its API key and account group
come from the config, or from `POST /register` on connect when `register_on_connect` is
set (the primary key then signs the EIP-712 SignerProof; perpd never uses it again).
Private requests carry `X-API-KEY` and `xrestservermm: restserver{group}`; reads take a
`time` parameter and no signature.

The client id of an order is its nonce: `fetch_order` asks `GET /orders?nonce=`. Vest has
no fills endpoint: a fill is what a FILLED order reports (`lastFilled*`, whole orders).
What perpd knows of each order (its tif, what a short cancel event leaves out) is kept
by client id, bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from perpd.errors import AuthError, ConfigError
from perpd.model import Balance, Event, Fill, LeverageSetting, Order, Position
from venues.base import SecretResolver
from venues.vest import parse
from venues.vest.config import VestAccountConfig
from venues.vest.constants import FILLED, LIVE_STATUSES, MAX_ROWS, NETWORK_TYPE
from venues.vest.signing import VestSigner
from venues.vest.streams import CATCH_UP_MARGIN_MS, account_stream
from venues.vest.trading import VestTrading

if TYPE_CHECKING:
    from venues.vest.venue import VestVenue

MEMORY = 20_000  # orders remembered by client id
DAY_MS = 86_400_000


def _signer(secrets: SecretResolver, reference: str, what: str) -> VestSigner:
    try:
        return VestSigner(secrets(reference).get_secret_value())
    except ValueError:
        raise ConfigError(f"{what}: {reference} is not a valid secp256k1 private key") from None


class VestSession(VestTrading):
    """Private verbs of one Vest account."""

    def __init__(self, venue: VestVenue, account: str, config: VestAccountConfig, secrets: SecretResolver) -> None:
        super().__init__(venue, account, config)
        self.venue: VestVenue = venue
        self.vest_account = config
        self.signer = _signer(secrets, config.signing_key, f"accounts.{account}.signing_key")
        self._primary = (
            _signer(secrets, config.primary_key, f"accounts.{account}.primary_key")
            if config.register_on_connect and config.primary_key is not None else None
        )
        self._api_key: str | None = secrets(config.api_key).get_secret_value() if config.api_key else None
        self.group: int = config.account_group or 0
        self._known: OrderedDict[str, Order] = OrderedDict()
        self._client_of: dict[str, str] = {}  # venue order id -> client id
        self._listen_lock = anyio.Lock()
        self._register_lock = anyio.Lock()
        self._renew_ms = 0 if self._primary is not None else 2**62
        self._last_nonce = 0

    def __repr__(self) -> str:
        return f"<VestSession {self.account}@{self.venue.name} signer {self.signer.address}>"

    # ------------------------------------------------------------------ credentials

    async def connect(self) -> None:
        await self.venue.connect()
        if self._primary is not None:
            await self.register()

    async def register(self) -> None:
        """POST /register: bind the signing key to the primary wallet; keep apiKey and group."""
        assert self._primary is not None
        expiry = self.venue.clock.now_ms() + self.vest_account.signer_expiry_days * DAY_MS
        body = {
            "signingAddr": self.signer.address,
            "primaryAddr": self._primary.address,
            "signature": self._primary.sign_register(self.signer.address, expiry, self.venue.verifying_contract),
            "expiryTime": expiry,
            "networkType": NETWORK_TYPE,
        }
        answer = await self.venue.transport.write("POST", "/register", body, group=0)
        self._api_key = str(answer["apiKey"])
        self.group = int(answer["accGroup"])
        # Register again a day before the approval lapses (a long-running daemon).
        self._renew_ms = expiry - min(DAY_MS, self.vest_account.signer_expiry_days * DAY_MS // 2)

    async def _credentials(self) -> str:
        if self._primary is not None and self.venue.clock.now_ms() >= self._renew_ms:
            async with self._register_lock:
                if self.venue.clock.now_ms() >= self._renew_ms:
                    await self.register()
        return self.api_key

    @property
    def api_key(self) -> str:
        if self._api_key is None:
            raise AuthError(f"vest: account {self.account} is not registered yet (connect first)", venue="vest")
        return self._api_key

    def next_nonce(self) -> int:
        """Time as nonce, as Vest recommends, never repeating within this session (cancels)."""
        self._last_nonce = max(self.venue.clock.now_ms(), self._last_nonce + 1)
        return self._last_nonce

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        api_key = await self._credentials()
        query = {"time": self.venue.clock.now_ms(), **(params or {})}
        return await self.venue.transport.get(path, query, group=self.group, api_key=api_key)

    async def send(self, method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        api_key = await self._credentials()
        return await self.venue.transport.write(method, path, body, group=self.group, api_key=api_key)

    # ------------------------------------------------------------------ orders known

    def remember(self, order: Order) -> None:
        known = self._known
        known[order.client_id] = order
        known.move_to_end(order.client_id)
        if order.venue_order_id:
            self._client_of[order.venue_order_id] = order.client_id
        while len(known) > MEMORY:
            _, old = known.popitem(last=False)
            if old.venue_order_id:
                self._client_of.pop(old.venue_order_id, None)

    def known(self, client_id: str) -> Order | None:
        return self._known.get(client_id)

    def order_of(self, row: Mapping[str, Any]) -> Order | None:
        """An order row or event as an Order, completed by what is known, and remembered."""
        client_id = str(row["nonce"]) if row.get("nonce") is not None else self._client_of.get(str(row.get("id")))
        known = self._known.get(client_id) if client_id is not None else None
        market = self.venue.spec_of(str(row["symbol"])) if row.get("symbol") else (
            self.venue.spec(known.symbol) if known is not None else None
        )
        order = parse.parse_order(row, self.account, self.venue.name, market, known, ts_ms=self.venue.clock.now_ms())
        if order is not None:
            self.remember(order)
        return order

    async def orders(self, **params: Any) -> list[dict[str, Any]]:
        rows = await self.get("/orders", {"limit": MAX_ROWS, **params})
        return list(rows or ())

    # ------------------------------------------------------------------ state

    async def account_state(self) -> dict[str, Any]:
        return dict(await self.get("/account"))

    async def fetch_balance(self) -> Balance:
        return parse.parse_balance(await self.account_state(), self.account, self.venue.name, self.venue.clock.now_ms())

    async def fetch_positions(self) -> list[Position]:
        body = await self.account_state()
        return parse.parse_positions(body, self.account, self.venue.by_venue_symbol, self.venue.clock.now_ms())

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        venue_symbol = self.venue.spec(symbol).venue_symbol if symbol is not None else None
        out: list[Order] = []
        for status in LIVE_STATUSES:
            for row in await self.orders(status=status, symbol=venue_symbol):
                order = self.order_of(row)
                if order is not None and order.status.is_live:
                    out.append(order)
        return sorted(out, key=lambda o: o.created_ms)

    async def fetch_order(self, client_id: str) -> Order | None:
        if not client_id.isdigit():
            return None
        rows = await self.orders(nonce=int(client_id))
        rows.sort(key=lambda r: int(r.get("postTime") or 0))
        return self.order_of(rows[-1]) if rows else None

    async def fetch_order_by_id(self, order_id: str) -> Order | None:
        rows = await self.orders(id=order_id)
        return self.order_of(rows[0]) if rows else None

    async def fetch_fills(self, since_ms: int = 0) -> list[Fill]:
        fills = []
        for row in await self.orders(status=FILLED):
            order = self.order_of(row)
            fill = parse.parse_fill(row, order) if order is not None else None
            if fill is not None and fill.ts_ms >= since_ms:
                fills.append(fill)
        return sorted(fills, key=lambda f: (f.ts_ms, f.trade_id))

    async def fetch_leverage(self, symbol: str) -> LeverageSetting:
        return parse.parse_leverage(await self.account_state(), self.venue.spec(symbol))

    # ------------------------------------------------------------------ private stream

    async def listen_key(self) -> str:
        """POST /account/listenKey: the active key (extended), or a new one."""
        async with self._listen_lock:
            return str((await self.send("POST", "/account/listenKey", {}))["listenKey"])

    async def keep_alive(self) -> None:
        """PUT /account/listenKey: another 60 minutes."""
        await self.send("PUT", "/account/listenKey", {})

    def watch_account(self) -> AsyncIterator[Event]:
        return account_stream(self, since_ms=self.venue.clock.now_ms() - CATCH_UP_MARGIN_MS)
