"""The emulator's state: Lighter accounts, API keys and nonces over one sim exchange.

Account index N is engine account "N"; it is created on first use with the starting
balance. Its API keys are not: a key signs only once a ChangePubKey registered it, and
every tx's signature is verified against the key at its (account, key index) (keys.py).
Each (account, key) has its own nonce: a tx must carry exactly the next one, which it
then consumes. Refusals are synchronous (`TxError`, HTTP 400, nothing happens, the nonce is
not consumed) for malformed txs and order-book rules; what Lighter decides at
execution — post-only that would cross, reduce-only that would increase, not enough
margin — is accepted (the nonce is consumed) and the order ends `canceled-*` on the
account streams and in the inactive orders, as on Lighter.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpd.clock import Clock
from perpd.model import MarginMode, OrderType, Side, TimeInForce
from venues.lighter.constants import (
    AUTH_TOKEN_MAX_SECS,
    CANCEL_ALL_IMMEDIATE,
    CANCEL_ALL_SCHEDULED,
    MAX_SCHEDULED_CANCEL_MS,
    MIN_ORDER_INDEX,
    MIN_SCHEDULED_CANCEL_MS,
    ORDER_TYPE_FROM_WIRE,
    TIF_FROM_WIRE,
    TX_CANCEL_ALL_ORDERS,
    TX_CANCEL_ORDER,
    TX_CHANGE_PUB_KEY,
    TX_CREATE_GROUPED_ORDERS,
    TX_CREATE_ORDER,
    TX_MODIFY_ORDER,
    TX_UPDATE_LEVERAGE,
)
from venues.lighter.emulator import markets as markets_json
from venues.lighter.emulator import shapes
from venues.lighter.emulator.keys import KeyRing
from venues.lighter.emulator.markets import MarketDef
from venues.lighter.emulator.schnorr import fp5_to_bytes
from venues.lighter.emulator.groups import Groups
from venues.lighter.emulator.txs import CLOCK_SLACK_MS, GROUPING_OCO, Tx, TxError, message
from venues.simex.events import OrderEvent, OrderView, Reason, RestingOrder, SimReject
from venues.simex.exchange import SimExchange

# Engine refusals -> Lighter codes (synchronous: HTTP 400, nothing happened).
REFUSALS: dict[Reason, int] = {
    Reason.UNKNOWN_MARKET: 21602,
    Reason.UNKNOWN_ORDER: 21715,
    Reason.BAD_TICK: 21702,
    Reason.BAD_PRICE: 21702,
    Reason.BAD_LOT: 21701,
    Reason.BAD_SIZE: 21701,
    Reason.BAD_TRIGGER: 21729,
    Reason.MIN_SIZE: 21706,
    Reason.MIN_NOTIONAL: 21706,
    Reason.DUPLICATE_CLIENT_ID: 21728,
    Reason.BAD_LEVERAGE: 21604,
    Reason.POSITION_OPEN: 21613,
    Reason.INSUFFICIENT_MARGIN: 21739,
    Reason.REDUCE_ONLY_WOULD_INCREASE: 21732,
    Reason.POST_ONLY_WOULD_CROSS: 21705,
}
# Engine refusals Lighter only discovers at execution: accepted, then canceled-*.
AT_EXECUTION: dict[Reason, str] = {
    Reason.POST_ONLY_WOULD_CROSS: "canceled-post-only",
    Reason.REDUCE_ONLY_WOULD_INCREASE: "canceled-reduce-only",
    Reason.INSUFFICIENT_MARGIN: "canceled-margin-not-allowed",
}
HOUSE_INDEX = {"~maker": 281474976710000, "~taker": 281474976710001, "~liquidator": 281474976710002}
SYNTHETIC_BASE = MIN_ORDER_INDEX + 2**40  # order indices of orders refused at execution
HISTORY = 5000
DEFAULT_ORDER_EXPIRY_MS = 28 * 86_400_000  # the signer's default for a resting order


@dataclass
class Faults:
    """Fault injection for tests (also settable over `POST /_emulator/faults`)."""

    rate_limited: int = 0  # the next N REST requests are answered 429 (or `rate_limit_status`)
    rate_limit_status: int = 429
    accept_then_timeout: int = 0  # the next N sendTx(Batch) are applied, then answered late
    timeout_secs: float = 30.0
    drop_book_deltas: int = 0  # the next N order_book deltas are not sent (a nonce gap)


class LighterExchange:
    """Lighter's account, key, nonce and tx semantics over one SimExchange."""

    def __init__(self, engine: SimExchange, markets: Sequence[MarketDef], clock: Clock, keyring: KeyRing) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock
        self.markets = {m.market_id: m for m in markets}
        self.by_symbol = {m.symbol: m for m in markets}
        self.faults = Faults()
        self.nonces: dict[tuple[int, int], int] = {}
        self.created_ms: dict[int, int] = {}
        self.order_nonce: dict[int, int] = {}  # engine oid -> nonce of its create tx
        self.order_expiry: dict[int, int] = {}  # engine oid -> OrderExpiry of its create tx (ms)
        self.synthetic: dict[int, dict[int, dict[str, Any]]] = {}  # account -> order index -> order
        self.synthetic_by_client: dict[int, dict[int, int]] = {}
        self.inactive: dict[int, deque[int]] = {}  # account -> order indices, oldest first
        self._next_synthetic = SYNTHETIC_BASE
        self.on_synthetic: list[Callable[[int, MarketDef, dict[str, Any]], None]] = []
        self.groups = Groups(self._place_child, lambda account, oid: self.engine.cancel(account, oid=oid, reason=Reason.OCO) and None)
        engine.subscribe(self._on_event)
        engine.subscribe(self.groups.on_event)

    # ------------------------------------------------------------------ time and ids

    def step(self) -> None:
        self.engine.step(self.clock.now_ms())
        self.groups.settle()

    @staticmethod
    def engine_id(account_index: int) -> str:
        return str(account_index)

    @staticmethod
    def account_index_of(engine_account: str) -> int:
        return int(engine_account) if engine_account.isdigit() else HOUSE_INDEX.get(engine_account, 0)

    def client_index_of(self, oid: int) -> int:
        view = self.engine.order_by_oid(oid)
        if view is None or not view.client_id or not view.client_id.isdigit():
            return 0
        return int(view.client_id)

    def market(self, market_id: int) -> MarketDef:
        market = self.markets.get(market_id)
        if market is None:
            raise TxError(21602, f"invalid market index {market_id}")
        return market

    # ------------------------------------------------------------------ accounts and keys

    def ensure_account(self, account_index: int) -> None:
        if account_index < 0 or account_index >= HOUSE_INDEX["~maker"]:
            raise TxError(21501, f"invalid account index {account_index}")
        if self.engine.ensure_account(self.engine_id(account_index)):
            self.created_ms[account_index] = self.clock.now_ms()

    def accounts_of(self, address: str) -> list[int]:
        """The accounts `address` owns; an unknown address opens a new account (its deposit)."""
        owned = self.keyring.accounts_of(address)
        if not owned:
            index = 1
            while self.engine.has_account(self.engine_id(index)) or self.keyring.owner(index) is not None:
                index += 1
            self.ensure_account(index)
            self.keyring.bind(index, address)
            owned = [index]
        return owned

    def next_nonce(self, account_index: int, key: int) -> int:
        self.ensure_account(account_index)
        return self.nonces.setdefault((account_index, key), 0)

    def desync_nonce(self, account_index: int, key: int, by: int = 1) -> None:
        """Fault: move the server's nonce so the client's next one is invalid (21104)."""
        self.nonces[(account_index, key)] = self.next_nonce(account_index, key) + by

    def check_auth(self, token: str | None, account_index: int | None = None) -> int:
        """Validate `{deadline}:{account}:{key}:{sig}` (signed by that registered key);
        returns the account. TxError if bad."""
        if not token:
            raise TxError(20013, "auth required")
        parts = token.split(":")
        if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
            raise TxError(20013, "invalid auth token format")
        deadline, account, key = (int(p) for p in parts[:3])
        sig = parts[3]
        if len(sig) != 160 or any(c not in "0123456789abcdef" for c in sig):
            raise TxError(20013, "invalid auth token signature")
        now_s = self.clock.now_ms() // 1000
        if deadline <= now_s:
            raise TxError(20013, "auth token expired")
        if deadline > now_s + AUTH_TOKEN_MAX_SECS + CLOCK_SLACK_MS // 1000:
            raise TxError(20013, "auth token lives longer than 8 hours")
        if key > 254:
            raise TxError(20013, "invalid api key index in auth token")
        if account_index is not None and account != account_index:
            raise TxError(20013, f"auth token is for account {account}, not {account_index}")
        self.ensure_account(account)
        self.keyring.check_token(token, account, key)
        return account

    # ------------------------------------------------------------------ transactions

    def submit(self, tx: Tx) -> str:
        """Apply one decoded tx in nonce order; returns its hash. TxError if refused."""
        self.ensure_account(tx.account)
        self.keyring.check_tx(tx)
        key = (tx.account, tx.key)
        expected = self.next_nonce(tx.account, tx.key)
        skip_nonce = tx.attribute(4) == 1
        if not skip_nonce and tx.nonce != expected:
            raise TxError(21104, f"invalid nonce: expected {expected}, got {tx.nonce}")
        self._apply(tx)
        if not skip_nonce:
            self.nonces[key] = expected + 1
        self.groups.settle()
        return fp5_to_bytes(message(tx, self.keyring.chain_ids[0])).hex()

    def submit_batch(self, txs: Sequence[Tx]) -> list[str]:
        """Txs one after the other; the first refusal stops the batch (earlier ones stand)."""
        return [self.submit(tx) for tx in txs]

    def _apply(self, tx: Tx) -> None:
        handler = {
            TX_CREATE_ORDER: self._create,
            TX_CANCEL_ORDER: self._cancel,
            TX_CANCEL_ALL_ORDERS: self._cancel_all,
            TX_MODIFY_ORDER: self._modify,
            TX_UPDATE_LEVERAGE: self._update_leverage,
            TX_CHANGE_PUB_KEY: self._change_pub_key,
            TX_CREATE_GROUPED_ORDERS: self._create_grouped,
        }[tx.tx_type]
        try:
            handler(tx)
        except SimReject as exc:
            raise TxError(REFUSALS.get(exc.reason, 21501), exc.message) from None

    def _change_pub_key(self, tx: Tx) -> None:
        self.keyring.apply_registration(tx, self.clock.now_ms())

    def _create(self, tx: Tx) -> None:
        self._place(tx.account, tx.info, tx.nonce)

    def _place(self, account: int, info: dict[str, Any], nonce: int, size_lots: int | None = None) -> OrderView | None:
        """Place one wire order (a create-order tx's fields, or one of a group's orders).
        Refusals at the API raise; those Lighter finds at execution end a synthetic order
        `canceled-*` (None is returned)."""
        market = self.market(info["MarketIndex"])
        client = info["ClientOrderIndex"]
        if client and client in self.synthetic_by_client.get(account, {}):
            raise TxError(21728, f"client order index {client} already exists")
        otype = ORDER_TYPE_FROM_WIRE[info["Type"]]
        tif = TIF_FROM_WIRE[info["TimeInForce"]]
        if otype in (OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
            tif = TimeInForce.IOC
        side = Side.SELL if info["IsAsk"] else Side.BUY
        size = market.size(size_lots if size_lots is not None else info["BaseAmount"])
        price = market.price(info["Price"])
        trigger = market.price(info["TriggerPrice"]) if info["TriggerPrice"] else None
        try:
            view = self.engine.place(
                self.engine_id(account), market.symbol, side, size,
                type=otype, price=price, trigger_price=trigger, tif=tif,
                reduce_only=bool(info["ReduceOnly"]), client_id=str(client) if client else None,
            )
        except SimReject as exc:
            status = AT_EXECUTION.get(exc.reason)
            if status is None:
                raise
            self._refused_at_execution(account, nonce, market, client, side, otype, tif, size, price, trigger,
                                       bool(info["ReduceOnly"]), status)
            return None
        self.order_nonce[view.oid] = nonce
        if info["OrderExpiry"] > 0:
            self.order_expiry[view.oid] = info["OrderExpiry"]
        return view

    def _create_grouped(self, tx: Tx) -> None:
        orders, grouping = tx.info["Orders"], tx.info["GroupingType"]
        if grouping == GROUPING_OCO:
            views = [v for v in (self._place(tx.account, o, tx.nonce) for o in orders) if v is not None]
            self.groups.pair_placed(self.engine_id(tx.account), views)
            return
        parent = self._place(tx.account, orders[0], tx.nonce)
        if parent is not None:
            self.groups.parent_placed(self.engine_id(tx.account), parent, [dict(o, Nonce=tx.nonce) for o in orders[1:]])

    def _place_child(self, engine_account: str, order: dict[str, Any], filled: Any) -> OrderView | None:
        """A triggered child of a group: the parent's filled size (its own BaseAmount is 0)."""
        market = self.market(order["MarketIndex"])
        try:
            return self._place(int(engine_account), order, order["Nonce"], market.wire_size(filled))
        except (SimReject, TxError):
            return None  # a child the book refuses (reduce-only with nothing to reduce) is dropped

    def _refused_at_execution(
        self, account: int, nonce: int, market: MarketDef, client: int, side: Side, otype: OrderType,
        tif: TimeInForce, size: Decimal, price: Decimal, trigger: Decimal | None, reduce_only: bool, status: str,
    ) -> None:
        idx = self._next_synthetic
        self._next_synthetic += 1
        order = shapes.synthetic_order(
            market, account, idx, client, side, otype, tif, size, price, trigger,
            reduce_only, status, nonce, self.clock.now_ms(),
        )
        self.synthetic.setdefault(account, {})[idx] = order
        if client:
            self.synthetic_by_client.setdefault(account, {})[client] = idx
        self._finished(account, idx)
        for callback in self.on_synthetic:
            callback(account, market, order)

    def _target(self, tx: Tx) -> tuple[int | None, str | None]:
        """(oid, client id) named by a cancel/modify `Index`, checked against MarketIndex."""
        index = tx.info["Index"]
        market = self.market(tx.info["MarketIndex"])
        engine_account = self.engine_id(tx.account)
        if index >= MIN_ORDER_INDEX:
            oid, client = index - MIN_ORDER_INDEX, None
            view = self.engine.order(engine_account, oid=oid)
        else:
            oid, client = None, str(index)
            view = self.engine.order(engine_account, client_id=client)
        if view is None or not view.status.is_live or view.symbol != market.symbol:
            raise TxError(21715, f"given order {index} is not an active order")
        return oid, client

    def _cancel(self, tx: Tx) -> None:
        oid, client = self._target(tx)
        if self.engine.cancel(self.engine_id(tx.account), oid=oid, client_id=client) is None:
            raise TxError(21715, f"given order {tx.info['Index']} is not an active order")

    def _cancel_all(self, tx: Tx) -> None:
        tif, when = tx.info["TimeInForce"], tx.info["Time"]
        account = self.engine_id(tx.account)
        if tif == CANCEL_ALL_IMMEDIATE:
            market_index = tx.attribute(5)
            symbol = self.market(market_index).symbol if market_index is not None and market_index != 255 else None
            self.engine.cancel_all(account, symbol)
        elif tif == CANCEL_ALL_SCHEDULED:
            now = self.clock.now_ms()
            if not now + MIN_SCHEDULED_CANCEL_MS - CLOCK_SLACK_MS <= when <= now + MAX_SCHEDULED_CANCEL_MS + CLOCK_SLACK_MS:
                raise TxError(21714, "invalid cancel all time: must be 5 minutes .. 15 days ahead")
            self.engine.cancel_all_after(account, when)
        else:
            self.engine.cancel_all_after(account, None)

    def _modify(self, tx: Tx) -> None:
        oid, client = self._target(tx)
        market = self.market(tx.info["MarketIndex"])
        account = self.engine_id(tx.account)
        view = self.engine.order(account, oid=oid) if oid is not None else self.engine.order(account, client_id=client)
        assert view is not None
        trigger = market.price(tx.info["TriggerPrice"]) if tx.info["TriggerPrice"] else None
        if not view.waiting_for_trigger or trigger == view.trigger_price:
            trigger = None
        self.engine.edit(
            account, oid=oid, client_id=client,
            price=market.price(tx.info["Price"]), size=market.size(tx.info["BaseAmount"]), trigger_price=trigger,
        )

    def _update_leverage(self, tx: Tx) -> None:
        market = self.market(tx.info["MarketIndex"])
        fraction = tx.info["InitialMarginFraction"]
        if fraction < market.min_imf:
            raise TxError(21604, f"initial margin fraction {fraction} is below the market's {market.min_imf}")
        mode = MarginMode.ISOLATED if tx.info["MarginMode"] == 1 else MarginMode.CROSS
        self.engine.set_leverage(self.engine_id(tx.account), market.symbol, 10_000 // fraction, mode)

    # ------------------------------------------------------------------ queries

    def _on_event(self, event: Any) -> None:
        if isinstance(event, OrderEvent) and not event.order.status.is_live and event.account.isdigit():
            self._finished(int(event.account), shapes.order_index(event.order.oid))

    def _finished(self, account_index: int, idx: int) -> None:
        history = self.inactive.setdefault(account_index, deque(maxlen=HISTORY))
        if not history or history[-1] != idx:
            history.append(idx)

    def order_json(self, account_index: int, view: OrderView) -> dict[str, Any]:
        market = self.by_symbol[view.symbol]
        return shapes.order_json(view, market, account_index, nonce=self.order_nonce.get(view.oid, 0),
                                 expiry_ms=self.order_expiry.get(view.oid))

    def order_by_index(self, account_index: int, idx: int) -> dict[str, Any] | None:
        synthetic = self.synthetic.get(account_index, {}).get(idx)
        if synthetic is not None:
            return synthetic
        view = self.engine.order(self.engine_id(account_index), oid=idx - MIN_ORDER_INDEX)
        return self.order_json(account_index, view) if view is not None else None

    def order_by_client(self, account_index: int, client: int) -> dict[str, Any] | None:
        view = self.engine.order(self.engine_id(account_index), client_id=str(client))
        if view is not None:
            return self.order_json(account_index, view)
        idx = self.synthetic_by_client.get(account_index, {}).get(client)
        return self.synthetic[account_index][idx] if idx is not None else None

    def book_orders_json(self, market: MarketDef, limit: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(asks, bids) of the public L3 book, at most `limit` orders each, with real owners.

        The house makers' orders carry the signer's default 28-day expiry."""
        book = self.engine.book_orders(market.symbol, limit)

        def rows(orders: Sequence[RestingOrder]) -> list[dict[str, Any]]:
            return [
                markets_json.simple_order_json(
                    market, o, self.account_index_of(o.account),
                    self.order_expiry.get(o.oid) or o.created_ms + DEFAULT_ORDER_EXPIRY_MS,
                )
                for o in orders
            ]

        return rows(book.asks), rows(book.bids)

    def active_orders(self, account_index: int, market_id: int | None = None) -> list[dict[str, Any]]:
        symbol = self.market(market_id).symbol if market_id is not None else None
        views = self.engine.open_orders(self.engine_id(account_index), symbol)
        return [self.order_json(account_index, v) for v in views]

    def inactive_orders(self, account_index: int, market_id: int | None, limit: int) -> list[dict[str, Any]]:
        out = []
        for idx in reversed(self.inactive.get(account_index, ())):  # newest first
            order = self.order_by_index(account_index, idx)
            if order is None or (market_id is not None and order["market_index"] != market_id):
                continue
            out.append(order)
            if len(out) >= limit:
                break
        return out

    def positions_json(self, account_index: int) -> list[dict[str, Any]]:
        """One row per market (flat ones too: they carry the leverage setting)."""
        account = self.engine_id(account_index)
        open_by_symbol: dict[str, int] = {}
        for view in self.engine.open_orders(account):
            open_by_symbol[view.symbol] = open_by_symbol.get(view.symbol, 0) + 1
        return [
            shapes.position_json(self.engine.position(account, m.symbol), m, open_by_symbol.get(m.symbol, 0))
            for m in self.markets.values()
        ]

    def account_json(self, account_index: int) -> dict[str, Any]:
        self.ensure_account(account_index)
        account = self.engine_id(account_index)
        return shapes.account_json(
            account_index,
            self.engine.balance(account),
            self.positions_json(account_index),
            len(self.engine.open_orders(account)),
            self.created_ms.get(account_index, 0),
            self.keyring.owner(account_index),
        )

    def stats_json(self, market: MarketDef) -> dict[str, Any]:
        """market_stats of one market (funding rate as a percentage per hour)."""
        view = self.engine.market(market.symbol)
        return {
            "symbol": market.base,
            "market_id": market.market_id,
            "index_price": market.fmt_price(view.index_price),
            "mark_price": market.fmt_price(view.mark_price),
            "mid_price": market.fmt_price(view.mark_price),
            "open_interest": market.fmt_size(view.open_interest),
            "open_interest_limit": "72057594037927936.000000",
            "funding_clamp_small": "0.0500",
            "funding_clamp_big": "4.0000",
            "base_interest_rate": "0.0100",
            "last_trade_price": market.fmt_price(view.last_price if view.last_price is not None else view.mark_price),
            "current_funding_rate": f"{view.funding_rate * 100:.6f}",
            "funding_rate": f"{view.funding_rate * 100:.6f}",
            "funding_timestamp": view.next_funding_ms,
            "daily_base_token_volume": 0,
            "daily_quote_token_volume": 0,
            "daily_price_low": float(view.mark_price),
            "daily_price_high": float(view.mark_price),
            "daily_price_change": 0,
        }
