"""One Extended account: reads over REST here, the order verbs in trading.py
(ExtendedTrading, its base class), the private stream in streams.py.

At connect the account is read once (`/user/account/info`): its Stark key must be the
one configured (else AuthError: every order would be refused with 1100/1101) and its
vault (`l2Vault`) is what orders settle against. Its fee rates come from
`/user/fees`: the signed fee of an order is the market's taker rate (plus the builder
fee when the account opted in), as Extended requires.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpd.errors import AuthError, NotFound
from perpd.model import Balance, Event, Fill, FundingPayment, LeverageSetting, MarginMode, Order, Position
from venues.base import SecretResolver
from venues.extended import parse
from venues.extended.config import ExtendedAccountConfig
from venues.extended.signing import StarkSigner
from venues.extended.streams import account_stream
from venues.extended.trading import ExtendedTrading

if TYPE_CHECKING:
    from venues.extended.venue import ExtendedVenue

MEMORY = 20_000  # order ids whose client id we remember (fills may name only the order id)
DEFAULT_TAKER_FEE = Decimal("0.0005")  # the SDK's default, until /user/fees answers
FILL_PAGES = 50


class ExtendedSession(ExtendedTrading):
    """Private verbs of one Extended account (API key + Stark key)."""

    def __init__(self, venue: ExtendedVenue, account: str, config: ExtendedAccountConfig, secrets: SecretResolver) -> None:
        super().__init__(venue, account, config)
        self.venue: ExtendedVenue = venue
        self.config: ExtendedAccountConfig = config
        self._api_key = secrets(config.api_key).get_secret_value()
        self.signer = StarkSigner(secrets(config.stark_private_key), vault=config.vault or 0, domain=venue.domain)
        self.account_id: int | None = None
        self.taker_fees: dict[str, Decimal] = {}
        self.builder = (config.builder_id, config.builder_fee) if config.builder_id is not None else None
        self._client_of: OrderedDict[str, str] = OrderedDict()

    def __repr__(self) -> str:
        return f"<ExtendedSession {self.account}@{self.venue.name}>"

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        await self.venue.connect()
        info = (await self._get("/user/account/info")).get("data") or {}
        l2_key = int(str(info.get("l2Key") or "0x0"), 16)
        if l2_key != self.signer.public_key:
            raise AuthError(
                f"extended: the Stark key of account {self.account!r} is not the account's registered key "
                f"(venue {hex(l2_key)[:12]}..., configured {hex(self.signer.public_key)[:12]}...)",
                venue="extended", code="l2Key",
            )
        vault = int(str(info.get("l2Vault")))
        if self.config.vault is not None and self.config.vault != vault:
            raise AuthError(f"extended: account {self.account!r} has vault {vault}, not {self.config.vault}",
                            venue="extended", code="l2Vault")
        self.signer.with_vault(vault)
        self.account_id = int(info.get("accountId") or info.get("id") or 0)
        await self.refresh_fees()

    async def refresh_fees(self) -> None:
        names = [s.name for s in self.venue.specs()]
        params: dict[str, Any] = {"market": names}
        if self.builder is not None:
            params["builderId"] = self.builder[0]
        body = await self._get("/user/fees", params)
        for row in body.get("data") or ():
            self.taker_fees[str(row["market"])] = Decimal(str(row["takerFeeRate"]))

    def taker_fee(self, market: str) -> Decimal:
        return self.taker_fees.get(market, DEFAULT_TAKER_FEE)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.venue.transport.get(path, params, api_key=self._api_key)

    async def _write(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.venue.transport.write(method, path, body=body, params=params, api_key=self._api_key)

    @property
    def api_key(self) -> str:
        return self._api_key

    def remember(self, order_id: str | None, client_id: str) -> None:
        """Note an order id's client id (fills on the stream may name only the order id)."""
        if order_id is None:
            return
        self._client_of[order_id] = client_id
        self._client_of.move_to_end(order_id)
        if len(self._client_of) > MEMORY:
            self._client_of.popitem(last=False)

    def client_of(self, order_id: str) -> str | None:
        return self._client_of.get(order_id)

    def orders_of(self, rows: Any) -> list[Order]:
        orders = parse.parse_orders(rows, self.account, self.venue.name)
        for order in orders:
            self.remember(order.venue_order_id, order.client_id)
        return orders

    # ------------------------------------------------------------------ state

    async def fetch_balance(self) -> Balance:
        data = (await self._get("/user/balance")).get("data")
        if not data:  # a never-funded account has no balance row
            return Balance(self.account, self.venue.name, "USD", Decimal(0), Decimal(0), ts_ms=self.venue.clock.now_ms())
        return parse.parse_balance(data, self.account, self.venue.name)

    async def fetch_positions(self) -> list[Position]:
        return parse.parse_positions((await self._get("/user/positions")).get("data"), self.account, self.venue.name)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        params = {"market": self.venue.spec(symbol).name} if symbol is not None else None
        orders = self.orders_of((await self._get("/user/orders", params)).get("data"))
        return [o for o in orders if o.status.is_live]

    async def fetch_order_history(self, limit: int = 100) -> list[Order]:
        """Recently ended orders, newest first."""
        return self.orders_of((await self._get("/user/orders/history", {"limit": limit})).get("data"))

    async def fetch_order(self, client_id: str) -> Order | None:
        rows = (await self._get(f"/user/orders/external/{client_id}")).get("data") or []
        orders = self.orders_of(rows)
        if not orders:
            return None
        return max(orders, key=lambda o: (o.status.is_live, o.updated_ms))

    async def fetch_fills(self, since_ms: int = 0) -> list[Fill]:
        rows: list[dict[str, Any]] = []
        cursor: Any = None
        for _ in range(FILL_PAGES):  # newest first, page by page back to `since_ms`
            body = await self._get("/user/trades", {"limit": 1000, "cursor": cursor})
            page = body.get("data") or []
            rows.extend(r for r in page if int(r.get("createdTime") or 0) >= since_ms)
            cursor = (body.get("pagination") or {}).get("cursor")
            if not page or cursor is None or int(page[-1].get("createdTime") or 0) < since_ms:
                break
        await self._resolve_client_ids({str(r["orderId"]) for r in rows if r.get("orderId") is not None
                                        and not (r.get("externalOrderId") or r.get("externalId"))})
        return parse.parse_fills(rows, self.account, self.venue.name, self.client_of)

    async def fetch_funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        """GET /user/funding/history, newest first, page by page (`pagination.cursor`) back to
        `since_ms`; parse.parse_funding_history reads the rows (fundingFee: received)."""
        rows: list[dict[str, Any]] = []
        cursor: Any = None
        for _ in range(FILL_PAGES):
            body = await self._get("/user/funding/history", {"fromTime": since_ms, "limit": 1000, "cursor": cursor})
            page = body.get("data") or []
            rows.extend(page)
            cursor = (body.get("pagination") or {}).get("cursor")
            if not page or cursor is None or int(page[-1].get("paidTime") or 0) < since_ms:
                break
        payments = parse.parse_funding_history(rows, self._symbol_of, self.account, self.venue.name)
        return [p for p in payments if p.ts_ms >= since_ms]

    def _symbol_of(self, name: str) -> str | None:
        spec = self.venue.spec_by_name(name)
        return spec.market.symbol if spec is not None else None

    async def _resolve_client_ids(self, order_ids: set[str], limit: int = 50) -> None:
        """Learn the client ids of orders named by fills that carry none (GET /user/orders/{id})."""
        for order_id in sorted(i for i in order_ids if self.client_of(i) is None)[:limit]:
            try:
                row = (await self._get(f"/user/orders/{order_id}")).get("data")
            except NotFound:
                continue
            if row:
                self.orders_of([row])

    async def fetch_leverage(self, symbol: str) -> LeverageSetting:
        spec = self.venue.spec(symbol)
        leverage = parse.parse_leverage(await self._get("/user/leverage", {"market": spec.name}), spec.name)
        return LeverageSetting(spec.symbol, leverage or 1, MarginMode.CROSS)

    def watch_account(self) -> AsyncIterator[Event]:
        return account_stream(self, since_ms=self.venue.clock.now_ms())
