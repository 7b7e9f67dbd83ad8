"""EdgeX's semantics over one sim exchange: accounts and their keys, orders as
createOrder describes them, and what each request does to the exchange.

Account N is engine account "N", funded when provisioned. An order is checked as EdgeX
checks it before anything happens — the fields and their arithmetic (`l2Size` is the
size; a limit order's `l2Value` is price x size; the fee cap covers the taker fee; the
expiry windows), then the EIP-712 signature, recovered and compared with the account's
registered address — and refused synchronously with EdgeX's codes (`INVALID_PARAMETER`,
`INVALID_CONTRACT_ID`, `INVALID_L2_SIGNATURE`, ...). `clientOrderId` is the idempotency
key: a second create with the same one answers the first order's id. What EdgeX decides
at matching — a post-only that would cross, a reduce-only that would grow the position,
not enough margin — is accepted (an order id is returned) and the order ends CANCELED
with its cancelReason, on the stream and in the history, as on EdgeX.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from perpd.clock import Clock
from perpd.model import MarginMode, OrderType, Side, TimeInForce
from venues.edgex.constants import (
    L1_OFFSET_MS,
    MARKET_TYPES,
    ORDER_TYPES_FROM_WIRE,
    STATUS_CANCELED,
    TIFS_FROM_WIRE,
)
from venues.edgex.emulator import shapes
from venues.edgex.emulator.auth import Credentials, EdgexError, Keyring, recover_order_signer
from venues.edgex.emulator.markets import QUOTE_COIN_ID, QUOTE_RESOLUTION, ContractDef
from venues.edgex.emulator.shapes import ORDER_ID_BASE, SYNTHETIC_ID_BASE, OrderRecord
from venues.edgex.errors import INVALID_CONTRACT_ID, INVALID_L2_SIGNATURE, INVALID_PARAMETER, ORDER_NOT_FOUND
from venues.simex.events import FillEvent, OrderEvent, OrderView, Reason, SimReject
from venues.simex.exchange import SimExchange

# Engine refusals -> EdgeX codes (synchronous: nothing happened).
REFUSALS: dict[Reason, str] = {
    Reason.UNKNOWN_MARKET: INVALID_CONTRACT_ID,
    Reason.UNKNOWN_ORDER: ORDER_NOT_FOUND,
    Reason.BAD_TICK: INVALID_PARAMETER,
    Reason.BAD_PRICE: INVALID_PARAMETER,
    Reason.BAD_LOT: INVALID_PARAMETER,
    Reason.BAD_SIZE: INVALID_PARAMETER,
    Reason.BAD_TRIGGER: INVALID_PARAMETER,
    Reason.MIN_SIZE: INVALID_PARAMETER,
    Reason.MIN_NOTIONAL: INVALID_PARAMETER,
    Reason.BAD_LEVERAGE: INVALID_PARAMETER,
    Reason.POSITION_OPEN: INVALID_PARAMETER,
}
# Engine refusals EdgeX only discovers at matching: accepted, then CANCELED with a reason.
AT_MATCHING = frozenset({Reason.POST_ONLY_WOULD_CROSS, Reason.REDUCE_ONLY_WOULD_INCREASE, Reason.INSUFFICIENT_MARGIN})
HISTORY = 5000  # ended orders remembered per account
CANCEL_OK = "SUCCESS"


@dataclass
class Faults:
    """Fault injection for tests (also settable over `POST /_emulator/faults`)."""

    rate_limited: int = 0  # the next N REST requests are answered 429 RATE_LIMIT_EXCEEDED
    accept_then_timeout: int = 0  # the next N createOrder are applied, then answered late
    timeout_secs: float = 30.0
    drop_book_deltas: int = 0  # the next N depth changes are not sent (a version gap)
    skip_account_versions: int = 0  # the next N account events skip a version


def _decimal(body: dict[str, Any], name: str) -> Decimal:
    try:
        return Decimal(str(body[name]))
    except (KeyError, InvalidOperation):
        raise EdgexError(INVALID_PARAMETER, f"invalid {name}: {body.get(name)!r}") from None


def _int(body: dict[str, Any], name: str) -> int:
    try:
        return int(str(body[name]))
    except (KeyError, ValueError):
        raise EdgexError(INVALID_PARAMETER, f"invalid {name}: {body.get(name)!r}") from None


class EdgexExchange:
    """EdgeX's account, key and order semantics around one SimExchange."""

    def __init__(self, engine: SimExchange, contracts: Iterable[ContractDef], clock: Clock, keyring: Keyring) -> None:
        self.engine = engine
        self.clock = clock
        self.keyring = keyring
        self.contracts = {c.contract_id: c for c in contracts}
        self.by_symbol = {c.symbol: c for c in self.contracts.values()}
        self.faults = Faults()
        self.records: dict[str, OrderRecord] = {}  # order id -> record
        self.by_oid: dict[int, OrderRecord] = {}
        self.by_client: dict[int, dict[str, OrderRecord]] = {}
        self.history: dict[int, deque[str]] = {}  # account -> ended order ids, oldest first
        self.leverage: dict[int, dict[str, int]] = {}  # account -> contract id -> leverage set
        self.created_ms: dict[int, int] = {}
        self.on_synthetic: list[Callable[[OrderRecord], None]] = []
        self._next_synthetic = SYNTHETIC_ID_BASE
        engine.subscribe(self._on_event)

    # ------------------------------------------------------------------ time, ids, accounts

    def step(self) -> None:
        self.engine.step(self.clock.now_ms())

    @staticmethod
    def engine_id(account_id: int) -> str:
        return str(account_id)

    def contract(self, contract_id: Any) -> ContractDef:
        contract = self.contracts.get(str(contract_id))
        if contract is None:
            raise EdgexError(INVALID_CONTRACT_ID, f"invalid contractId:{contract_id}")
        return contract

    def provision(self, balance: Decimal | None = None, **given: Any) -> Credentials:
        """A new funded account with API credentials (derived, or the values given)."""
        credentials = self.keyring.provision(**given)
        self.add_account(credentials, balance)
        return credentials

    def add_account(self, credentials: Credentials, balance: Decimal | None = None) -> None:
        self.keyring.add(credentials)
        if self.engine.ensure_account(self.engine_id(credentials.account_id), balance):
            self.created_ms[credentials.account_id] = self.clock.now_ms()

    def account(self, account_id: int) -> Credentials:
        credentials = self.keyring.account(account_id)
        self.engine.ensure_account(self.engine_id(account_id))
        return credentials

    # ------------------------------------------------------------------ orders

    def create_order(self, account_id: int, body: dict[str, Any]) -> str:
        """Check and apply a createOrder body; returns the order id. EdgexError if refused."""
        credentials = self.account(account_id)
        contract = self.contract(body.get("contractId"))
        client_id = str(body.get("clientOrderId") or "")
        if not client_id or len(client_id) > 64:
            raise EdgexError(INVALID_PARAMETER, "clientOrderId is required (at most 64 characters)")
        known = self.by_client.setdefault(account_id, {}).get(client_id)
        if known is not None and known.order_id:
            return known.order_id  # idempotent: the same client id is the same order
        side, otype, tif, size, price, trigger = self._check(body, contract)
        signer = recover_order_signer(body, credentials.address, contract.resolution, QUOTE_RESOLUTION, QUOTE_COIN_ID)
        if signer.lower() != credentials.address.lower():
            raise EdgexError(INVALID_L2_SIGNATURE, f"l2Signature is by {signer}, not the account's {credentials.address}")
        now = self.clock.now_ms()
        record = OrderRecord("", account_id, contract, dict(body), now)
        self.by_client[account_id][client_id] = record
        try:
            view = self.engine.place(
                self.engine_id(account_id), contract.symbol, side, size, type=otype, price=price,
                trigger_price=trigger, tif=tif, reduce_only=bool(body.get("reduceOnly")), client_id=client_id,
            )
        except SimReject as exc:
            if exc.reason not in AT_MATCHING:
                del self.by_client[account_id][client_id]
                raise EdgexError(REFUSALS.get(exc.reason, INVALID_PARAMETER), exc.message) from None
            return self._refused_at_matching(record, exc.reason)
        self._link(record, view)
        return record.order_id

    def _check(self, body: dict[str, Any], contract: ContractDef) -> tuple[
            Side, OrderType, TimeInForce, Decimal, Decimal | None, Decimal | None]:
        side = {"BUY": Side.BUY, "SELL": Side.SELL}.get(str(body.get("side")))
        otype = ORDER_TYPES_FROM_WIRE.get(str(body.get("type")))
        tif = TIFS_FROM_WIRE.get(str(body.get("timeInForce")))
        if side is None or otype is None or tif is None:
            raise EdgexError(INVALID_PARAMETER, "invalid side, type or timeInForce")
        size = _decimal(body, "size")
        if size <= 0 or _decimal(body, "l2Size") != size:
            raise EdgexError(INVALID_PARAMETER, "size must be positive and equal l2Size")
        value, fee_cap = _decimal(body, "l2Value"), _decimal(body, "l2LimitFee")
        if value <= 0 or fee_cap < value * contract.taker_fee:
            raise EdgexError(INVALID_PARAMETER, "l2Value must be positive and l2LimitFee cover the taker fee")
        market = otype in MARKET_TYPES
        price: Decimal | None = None
        if market:
            if _decimal(body, "price") != 0:
                raise EdgexError(INVALID_PARAMETER, "a market order's price is 0")
            if tif not in (TimeInForce.IOC, TimeInForce.FOK):
                raise EdgexError(INVALID_PARAMETER, "a market order is IMMEDIATE_OR_CANCEL or FILL_OR_KILL")
        else:
            price = _decimal(body, "price")
            if price <= 0 or value != price * size:
                raise EdgexError(INVALID_PARAMETER, "l2Value must be price x size")
        trigger = None
        if otype.is_trigger:
            trigger = _decimal(body, "triggerPrice")
            if trigger <= 0:
                raise EdgexError(INVALID_PARAMETER, f"a {body.get('type')} order needs a triggerPrice")
        now = self.clock.now_ms()
        expire, l2_expire = _int(body, "expireTime"), _int(body, "l2ExpireTime")
        if expire <= now or l2_expire - expire < L1_OFFSET_MS:
            raise EdgexError(INVALID_PARAMETER, "expireTime must be in the future and 8 days before l2ExpireTime")
        _int(body, "l2Nonce")
        return side, otype, tif, size, price, trigger

    def _link(self, record: OrderRecord, view: OrderView) -> None:
        if record.oid is None:
            record.oid = view.oid
            record.order_id = str(ORDER_ID_BASE + view.oid)
            self.records[record.order_id] = record
            self.by_oid[view.oid] = record

    def _refused_at_matching(self, record: OrderRecord, reason: Reason) -> str:
        record.order_id = str(self._next_synthetic)
        self._next_synthetic += 1
        record.status = STATUS_CANCELED
        record.cancel_reason = shapes.CANCEL_REASONS[reason]
        record.updated_ms = self.clock.now_ms()
        self.records[record.order_id] = record
        self._ended(record)
        for callback in self.on_synthetic:
            callback(record)
        return record.order_id

    def _on_event(self, event: Any) -> None:
        if isinstance(event, OrderEvent) and event.account.isdigit():
            view = event.order
            account_id = int(event.account)
            record = self.by_oid.get(view.oid)
            if record is None and view.client_id is not None:
                record = self.by_client.get(account_id, {}).get(view.client_id)
                if record is not None:
                    self._link(record, view)
            if record is not None and view.status.is_terminal:
                self._ended(record)
        elif isinstance(event, FillEvent) and event.account.isdigit():
            fill = event.fill
            record = self.by_oid.get(fill.oid)
            if record is None and fill.client_id is not None:
                record = self.by_client.get(int(event.account), {}).get(fill.client_id)
            if record is not None:
                record.cum_fill_size += fill.size
                record.cum_fill_value += fill.price * fill.size
                record.cum_fill_fee += fill.fee
                record.cum_realize += fill.realized_pnl - fill.fee

    def _ended(self, record: OrderRecord) -> None:
        history = self.history.setdefault(record.account_id, deque())
        if record.order_id in history:
            return
        history.append(record.order_id)
        while len(history) > HISTORY:  # forget the oldest ended orders
            old = self.records.pop(history.popleft(), None)
            if old is not None:
                if old.oid is not None:
                    self.by_oid.pop(old.oid, None)
                self.by_client.get(old.account_id, {}).pop(old.client_order_id, None)

    def view(self, record: OrderRecord) -> OrderView | None:
        return self.engine.order_by_oid(record.oid) if record.oid is not None else None

    def order_json(self, record: OrderRecord) -> dict[str, Any]:
        return shapes.order_json(record, self.view(record))

    # ------------------------------------------------------------------ cancels, leverage

    def _cancel(self, account_id: int, record: OrderRecord | None) -> str:
        if record is None or record.oid is None:
            return ORDER_NOT_FOUND
        view = self.engine.cancel(self.engine_id(account_id), oid=record.oid)
        return CANCEL_OK if view is not None else ORDER_NOT_FOUND

    def cancel_by_client_ids(self, account_id: int, client_ids: Iterable[str]) -> dict[str, str]:
        self.account(account_id)
        known = self.by_client.get(account_id, {})
        return {cid: self._cancel(account_id, known.get(cid)) for cid in client_ids}

    def cancel_by_ids(self, account_id: int, order_ids: Iterable[str]) -> dict[str, str]:
        self.account(account_id)
        return {oid: self._cancel(account_id, self._own(account_id, oid)) for oid in order_ids}

    def cancel_all(self, account_id: int, contract_ids: list[str]) -> dict[str, str]:
        self.account(account_id)
        symbols = {self.contract(cid).symbol for cid in contract_ids}
        out = {}
        for view in self.engine.open_orders(self.engine_id(account_id)):
            record = self.by_oid.get(view.oid)
            if record is not None and (not symbols or view.symbol in symbols):
                out[record.order_id] = self._cancel(account_id, record)
        return out

    def _own(self, account_id: int, order_id: str) -> OrderRecord | None:
        record = self.records.get(order_id)
        return record if record is not None and record.account_id == account_id else None

    def update_leverage(self, account_id: int, contract_id: Any, leverage: Any) -> None:
        self.account(account_id)
        contract = self.contract(contract_id)
        try:
            value = int(str(leverage))
        except ValueError:
            raise EdgexError(INVALID_PARAMETER, f"invalid leverage: {leverage!r}") from None
        if not 1 <= value <= contract.max_leverage:
            raise EdgexError(INVALID_PARAMETER, f"leverage must be 1..{contract.max_leverage} (got {value})")
        try:
            self.engine.set_leverage(self.engine_id(account_id), contract.symbol, value, MarginMode.CROSS)
        except SimReject as exc:
            raise EdgexError(INVALID_PARAMETER, exc.message) from None
        self.leverage.setdefault(account_id, {})[contract.contract_id] = value

    # ------------------------------------------------------------------ queries

    def active_orders(self, account_id: int, contract_ids: list[str]) -> list[dict[str, Any]]:
        self.account(account_id)
        symbols = {self.contract(cid).symbol for cid in contract_ids}
        out = []
        for view in self.engine.open_orders(self.engine_id(account_id)):
            record = self.by_oid.get(view.oid)
            if record is not None and (not symbols or view.symbol in symbols):
                out.append(shapes.order_json(record, view))
        return out

    def orders_by_ids(self, account_id: int, order_ids: Iterable[str], *, ended_only: bool = False) -> list[dict[str, Any]]:
        self.account(account_id)
        records = [self._own(account_id, oid) for oid in order_ids]
        return [self.order_json(r) for r in records if r is not None and (not ended_only or self._is_ended(r))]

    def orders_by_client_ids(self, account_id: int, client_ids: Iterable[str], *,
                             ended_only: bool = False) -> list[dict[str, Any]]:
        self.account(account_id)
        known = self.by_client.get(account_id, {})
        records = [known.get(cid) for cid in client_ids]
        return [self.order_json(r) for r in records
                if r is not None and r.order_id and (not ended_only or self._is_ended(r))]

    def _is_ended(self, record: OrderRecord) -> bool:
        view = self.view(record)
        return view.status.is_terminal if view is not None else record.status == STATUS_CANCELED

    def history_orders(self, account_id: int, contract_ids: list[str]) -> list[dict[str, Any]]:
        """Ended orders, newest first."""
        self.account(account_id)
        wanted = set(contract_ids)
        out = []
        for order_id in reversed(self.history.get(account_id, ())):
            record = self.records.get(order_id)
            if record is not None and (not wanted or record.contract.contract_id in wanted):
                out.append(self.order_json(record))
        return out

    def fills(self, account_id: int, since_ms: int, order_ids: list[str], contract_ids: list[str]) -> list[dict[str, Any]]:
        """Fills newest first, as the history pages list them."""
        self.account(account_id)
        wanted_orders, wanted_contracts = set(order_ids), set(contract_ids)
        out = []
        for fill in reversed(self.engine.fills(self.engine_id(account_id), since_ms)):
            record = self.by_oid.get(fill.oid)
            if record is None:
                continue
            if (wanted_orders and record.order_id not in wanted_orders) or (
                    wanted_contracts and record.contract.contract_id not in wanted_contracts):
                continue
            out.append(shapes.fill_json(fill, record))
        return out

    def funding_transactions(self, account_id: int, since_ms: int) -> list[dict[str, Any]]:
        """The account's POSITION_FUNDING collateral transactions, newest first, with every
        CollateralTransaction field (getCollateralTransactionPage rows)."""
        self.account(account_id)
        out = []
        for payment in reversed(self.engine.funding_payments(self.engine_id(account_id), since_ms)):
            out.append(shapes.collateral_transaction_json(payment, self.by_symbol[payment.symbol], account_id))
        return out

    def asset(self, account_id: int) -> dict[str, Any]:
        """getAccountAsset data."""
        credentials = self.account(account_id)
        account = self.engine_id(account_id)
        balance = self.engine.balance(account)
        positions = [p for p in self.engine.positions(account) if p.symbol in self.by_symbol]
        return {
            "account": self.account_json(account_id, credentials),
            "collateralList": [shapes.collateral_json(balance, account_id)],
            "positionList": [shapes.position_json(p, self.by_symbol[p.symbol], account_id) for p in positions],
            "version": "0",
            "positionAssetList": [shapes.position_asset_json(p, self.by_symbol[p.symbol], account_id) for p in positions],
            "collateralAssetModelList": [shapes.collateral_asset_json(balance, positions, account_id)],
            "oraclePriceList": [],
        }

    def account_json(self, account_id: int, credentials: Credentials | None = None) -> dict[str, Any]:
        credentials = credentials or self.account(account_id)
        return shapes.account_json(account_id, credentials.address, self.leverage.get(account_id, {}),
                                   self.created_ms.get(account_id, 0))
