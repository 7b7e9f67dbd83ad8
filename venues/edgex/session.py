"""One EdgeX account: its state over REST (balance, positions, orders, fills, leverage)
and its private stream; the order verbs are its base class in trading.py.

Secrets are resolved once, here, through the resolver given: the API key, passphrase
and secret into the `RequestSigner` (HMAC on every private call), the trading key into
the order signer (built at connect, once the metadata names the EIP-712 domain).

Fills name their order by id only; the session remembers which client id each order id
belongs to (from its own creates, streams and reads) and asks `getOrderById` for the
rest, so every fill carries its client id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from perpd.errors import ConfigError
from perpd.model import Balance, Event, Fill, FundingPayment, LeverageSetting, MarginMode, Order, Position
from venues.base import SecretResolver
from venues.edgex import parse
from venues.edgex.config import EdgexAccountConfig
from venues.edgex.constants import (
    ACCOUNT_ASSET,
    ACCOUNT_BY_ID,
    ACTIVE_ORDERS,
    COLLATERAL_TRANSACTIONS,
    FILLS,
    HISTORY_ORDER_BY_CLIENT_ID,
    HISTORY_ORDER_BY_ID,
    HISTORY_ORDERS,
    ORDER_BY_CLIENT_ID,
    ORDER_BY_ID,
    PAGE_SIZE,
)
from venues.edgex.signing import RequestSigner, address_of_key
from venues.edgex.streams import account_stream
from venues.edgex.trading import EdgexTrading

if TYPE_CHECKING:
    from venues.edgex.venue import EdgexVenue

MEMORY = 20_000  # order ids whose client id we remember
MAX_PAGES = 50  # 5,000 rows at most per paged read
LOOKUP_CHUNK = 50  # order ids per getOrderById
# getCollateralTransactionPage: a created-time range spans 90 days at most, and a missing
# start is 90 days ago (the official docs); older history is read a window at a time.
FUNDING_WINDOW_MS = 89 * 86_400_000  # a day short of 90: room for clock skew
FUNDING_WINDOWS = 24  # about 6 years back at most


class EdgexSession(EdgexTrading):
    """Private verbs of one EdgeX account (`account_id`)."""

    config: EdgexAccountConfig

    def __init__(self, venue: EdgexVenue, account: str, config: EdgexAccountConfig, secrets: SecretResolver) -> None:
        super().__init__(venue, account, config)
        self.venue = venue
        self.account_id = config.account_id
        where = f"accounts.{account}"
        try:
            self.auth = RequestSigner(
                secrets(config.api_key).get_secret_value(),
                secrets(config.api_passphrase).get_secret_value(),
                secrets(config.api_secret).get_secret_value(),
            )
        except ValueError:
            raise ConfigError(f"{where}: api_key, api_passphrase and api_secret must all be non-empty") from None
        self._trading_key = secrets(config.trading_key)
        try:
            self.trading_address = address_of_key(self._trading_key.get_secret_value())
        except ValueError as exc:
            raise ConfigError(f"{where}.trading_key ({config.trading_key}): {exc}") from None
        if config.trading_address and config.trading_address.lower() != self.trading_address.lower():
            raise ConfigError(
                f"{where}.trading_key ({config.trading_key}) signs as {self.trading_address}, "
                f"not trading_address {config.trading_address}"
            )
        self._client_of: dict[str, str] = {}  # venue order id -> client id

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        await self.venue.connect()
        if self.signer is None:
            self.signer = self.venue.order_signer(self._trading_key.get_secret_value())

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self.venue.transport.private_get(self.auth, path, {"accountId": self.account_id, **(params or {})})

    def remember(self, order: Order) -> None:
        """Note which client id an order id belongs to (fills name only the order id)."""
        if order.venue_order_id and order.venue_order_id not in self._client_of:
            if len(self._client_of) >= MEMORY:
                self._client_of.pop(next(iter(self._client_of)))
            self._client_of[order.venue_order_id] = order.client_id

    def _orders(self, rows: Iterable[dict[str, Any]]) -> list[Order]:
        out = []
        for row in rows:
            contract = self.venue.contract_by_id(str(row.get("contractId")))
            if contract is None:
                continue
            order = parse.parse_order(row, contract.market, self.account)
            self.remember(order)
            out.append(order)
        return out

    # ------------------------------------------------------------------ state

    async def _asset(self) -> dict[str, Any]:
        return await self._get(ACCOUNT_ASSET) or {}

    def _collateral_name(self, data: dict[str, Any]) -> str:
        rows = data.get("collateralList") or data.get("collateralAssetModelList") or []
        coin = self.venue.metadata.coins.get(str(rows[0].get("coinId"))) if rows else None
        if coin is not None:
            return coin.name
        contracts = list(self.venue.metadata.contracts.values())
        return contracts[0].quote.name if contracts else "USD"

    async def fetch_balance(self) -> Balance:
        data = await self._asset()
        return parse.parse_balance(data, self.account, venue=self.venue.name, asset=self._collateral_name(data),
                                   ts_ms=self.venue.clock.now_ms())

    async def fetch_positions(self) -> list[Position]:
        data = await self._asset()
        return parse.parse_positions(data, self.venue.metadata.contracts, self.account, ts_ms=self.venue.clock.now_ms())

    async def _pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = ""
        for _ in range(MAX_PAGES):
            data = await self._get(path, {**params, "size": PAGE_SIZE, "offsetData": offset or None}) or {}
            rows.extend(data.get("dataList") or ())
            offset = data.get("nextPageOffsetData") or ""
            if not offset or not data.get("dataList"):
                break
        return rows

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        params = {"filterContractIdList": self.venue.contract(symbol).contract_id} if symbol is not None else {}
        return [o for o in self._orders(await self._pages(ACTIVE_ORDERS, params)) if o.status.is_live]

    async def fetch_history_orders(self, symbol: str | None = None) -> list[Order]:
        """The most recent orders that ended (one page, newest first)."""
        params: dict[str, Any] = {"size": PAGE_SIZE}
        if symbol is not None:
            params["filterContractIdList"] = self.venue.contract(symbol).contract_id
        data = await self._get(HISTORY_ORDERS, params) or {}
        return self._orders(data.get("dataList") or ())

    async def fetch_order(self, client_id: str) -> Order | None:
        if client_id.startswith("order:"):  # an order known only by its venue id
            wanted = client_id.partition(":")[2]
            for path in (ORDER_BY_ID, HISTORY_ORDER_BY_ID):
                found = self._orders(await self._get(path, {"orderIdList": wanted}) or ())
                if found:
                    return found[0]
            return None
        if not client_id or "," in client_id:  # lists are comma-joined: not an id EdgeX can hold
            return None
        for path in (ORDER_BY_CLIENT_ID, HISTORY_ORDER_BY_CLIENT_ID):
            found = [o for o in self._orders(await self._get(path, {"clientOrderIdList": client_id}) or ())
                     if o.client_id == client_id]
            if found:
                return max(found, key=lambda o: o.updated_ms)
        return None

    async def client_ids_of(self, order_ids: Iterable[str]) -> dict[str, str]:
        """Client ids of venue order ids: remembered ones, the rest looked up."""
        wanted = {oid for oid in order_ids if oid}
        missing = sorted(oid for oid in wanted if oid not in self._client_of)
        for path in (ORDER_BY_ID, HISTORY_ORDER_BY_ID):
            for start in range(0, len(missing), LOOKUP_CHUNK):
                chunk = missing[start : start + LOOKUP_CHUNK]
                self._orders(await self._get(path, {"orderIdList": ",".join(chunk)}) or ())
            missing = [oid for oid in missing if oid not in self._client_of]
            if not missing:
                break
        return {oid: self._client_of[oid] for oid in wanted if oid in self._client_of}

    async def fetch_fills(self, since_ms: int = 0) -> list[Fill]:
        params = {"filterStartCreatedTimeInclusive": since_ms} if since_ms > 0 else {}
        rows = [r for r in await self._pages(FILLS, params) if self.venue.contract_by_id(str(r.get("contractId")))]
        client_ids = await self.client_ids_of(str(r.get("orderId")) for r in rows)
        fills: dict[str, Fill] = {}
        for row in rows:
            contract = self.venue.contract_by_id(str(row.get("contractId")))
            assert contract is not None
            fill = parse.parse_fill(row, contract.market, self.account, client_ids.get(str(row.get("orderId"))))
            if fill.ts_ms >= since_ms:
                fills[fill.trade_id] = fill
        return sorted(fills.values(), key=lambda f: (f.ts_ms, f.trade_id))

    async def fetch_funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        """POSITION_FUNDING collateral transactions (parse.parse_funding_transaction: deltaAmount
        is what the account received), each named by its id. `since_ms` 0: the venue's default
        range, the last 90 days; an older `since_ms`: windows of FUNDING_WINDOW_MS from it, the
        last one open-ended (the venue's range limit)."""
        windows: list[tuple[int | None, int | None]] = [(None, None)]
        if since_ms > 0:
            now = self.venue.clock.now_ms()
            start = max(since_ms, now - FUNDING_WINDOWS * FUNDING_WINDOW_MS)
            starts = list(range(start, now - FUNDING_WINDOW_MS, FUNDING_WINDOW_MS))
            windows = [(s, s + FUNDING_WINDOW_MS) for s in starts]
            windows.append((starts[-1] + FUNDING_WINDOW_MS if starts else start, None))
        found: dict[str, FundingPayment] = {}
        for start_ms, end_ms in windows:
            params: dict[str, Any] = {"filterTypeList": "POSITION_FUNDING"}
            if start_ms is not None:
                params["filterStartCreatedTimeInclusive"] = start_ms
            if end_ms is not None:
                params["filterEndCreatedTimeExclusive"] = end_ms
            for row in await self._pages(COLLATERAL_TRANSACTIONS, params):
                payment = parse.parse_funding_transaction(row, self.venue.contract_by_id, self.account, self.venue.name)
                if payment is not None and payment.ts_ms >= since_ms:
                    found.setdefault(payment.payment_id, payment)
        return sorted(found.values(), key=lambda p: (p.ts_ms, p.payment_id))

    async def fetch_leverage(self, symbol: str) -> LeverageSetting:
        contract = self.venue.contract(symbol)
        data = await self._get(ACCOUNT_BY_ID) or {}
        setting = (data.get("contractIdToTradeSetting") or {}).get(contract.contract_id) or {}
        leverage = parse.dec(setting.get("maxLeverage"), None) if setting.get("isSetMaxLeverage") else None
        return LeverageSetting(contract.symbol, int(leverage) if leverage else contract.default_leverage, MarginMode.CROSS)

    def watch_account(self) -> AsyncIterator[Event]:
        return account_stream(self)
