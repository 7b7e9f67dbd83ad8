"""Extended's semantics over one sim exchange: accounts, API keys, Stark keys and vaults,
signed orders, replaces, mass cancels, leverage and the dead man's switch.

Account id N is engine account "N". An account has a Stark public key (`l2Key`), a
vault (`l2Vault`) and API keys; it is created by onboarding (onboarding.py), or by
`register()` for tests and for the demo account the app seeds. Every order is checked
as Extended checks it before anything happens: the market's steps and minimum, the fee
(at least the taker fee), the expiry, the settlement's Stark key and vault (the
account's own), and the Stark signature over the order hash recomputed from the body
(`venues.extended.signing`, the SDK's recipe). Refusals raise `ApiError` with
Extended's codes; what Extended decides at execution -- a post-only order that would
cross, a reduce-only one that would increase -- is accepted and ends REJECTED with its
reason, on the account stream and in the order history.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from perpd.clock import Clock
from perpd.model import MarginMode, OrderStatus, Side
from venues.extended import errors as codes
from venues.extended.emulator import shapes
from venues.extended.emulator.orders import ApiError, CheckedOrder, check_order
from venues.extended.emulator.markets import COLLATERAL_ID, COLLATERAL_RESOLUTION, TAKER_FEE, MarketDef
from venues.extended.signing import L2Config, StarknetDomain, order_hash, settlement_amounts, verify
from venues.simex.events import OrderEvent, OrderView, PositionEvent, Reason, SimReject
from venues.simex.exchange import SimExchange

DAY_MS = 86_400_000
HISTORY = 5000
# Engine refusals -> Extended codes (synchronous: nothing happened).
REFUSALS: dict[Reason, int] = {
    Reason.UNKNOWN_MARKET: codes.MARKET_NOT_FOUND,
    Reason.BAD_TICK: codes.WRONG_PRICE_INCREMENT,
    Reason.BAD_PRICE: 1141,
    Reason.BAD_LOT: codes.WRONG_SIZE_INCREMENT,
    Reason.BAD_SIZE: codes.WRONG_SIZE_INCREMENT,
    Reason.BAD_TRIGGER: 1144,
    Reason.MIN_SIZE: codes.QTY_BELOW_MIN,
    Reason.MIN_NOTIONAL: codes.QTY_BELOW_MIN,
    Reason.INSUFFICIENT_MARGIN: codes.INSUFFICIENT_BALANCE,
    Reason.DUPLICATE_CLIENT_ID: codes.DUPLICATE_ORDER,
    Reason.BAD_LEVERAGE: codes.INVALID_LEVERAGE,
}
# Engine refusals Extended only discovers at execution: accepted, then REJECTED.
AT_EXECUTION: dict[Reason, str] = {
    Reason.POST_ONLY_WOULD_CROSS: "POST_ONLY_FAILED",
    Reason.REDUCE_ONLY_WOULD_INCREASE: "REDUCE_ONLY_FAILED",
}



@dataclass
class ExtAccount:
    account_id: int
    account_index: int
    description: str
    l2_key: int
    vault: int
    wallet: str | None = None
    api_keys: set[str] = field(default_factory=set)

    @property
    def engine_id(self) -> str:
        return str(self.account_id)

    def json(self) -> dict[str, Any]:
        """An AccountModel (GET /user/account/info)."""
        return {
            "accountId": self.account_id,
            "description": self.description,
            "accountIndex": self.account_index,
            "status": "ACTIVE",
            "l2Key": hex(self.l2_key),
            "l2Vault": str(self.vault),
            "bridgeStarknetAddress": None,
            "apiKeys": [key[:4] + "..." for key in sorted(self.api_keys)],
        }


class ExtendedExchange:
    """Extended's accounts and order rules around one SimExchange."""

    def __init__(self, engine: SimExchange, markets: Sequence[MarketDef], clock: Clock, *,
                 chain_id: str = "SN_SEPOLIA") -> None:
        self.engine = engine
        self.clock = clock
        self.domain = StarknetDomain(chain_id=chain_id)
        self.max_expiry_ms = (90 if chain_id == "SN_MAIN" else 28) * DAY_MS
        self.markets = {m.name: m for m in markets}
        self.by_symbol = {m.symbol: m for m in markets}
        self.l2 = {m.name: L2Config(int(m.synthetic_id, 16), m.synthetic_resolution, int(COLLATERAL_ID, 16),
                                    COLLATERAL_RESOLUTION) for m in markets}
        self.accounts: dict[int, ExtAccount] = {}
        self.by_key: dict[str, int] = {}
        self.meta: dict[tuple[int, str], shapes.OrderMeta] = {}  # (account, external id)
        self.rejected: dict[int, dict[str, dict[str, Any]]] = {}  # account -> external id -> order
        self.history: dict[int, deque[str]] = {}  # account -> ended external ids, oldest first
        self.opened_ms: dict[tuple[int, str], int] = {}
        self.expiring: dict[tuple[int, str], int] = {}  # live GTT orders -> expiry (ms)
        self.on_rejected: list[Callable[[int, dict[str, Any]], None]] = []
        self._next_account = 3000
        self._next_vault = 10_000
        self._next_rejected = shapes.ORDER_ID_BASE + 10**15
        engine.subscribe(self._on_event)

    # ------------------------------------------------------------------ time

    def step(self) -> None:
        self.engine.step(self.clock.now_ms())
        self._expire()

    def _expire(self) -> None:
        now = self.clock.now_ms()
        for key, expiry_ms in list(self.expiring.items()):
            if expiry_ms <= now:
                self.expiring.pop(key, None)
                self.meta[key].expired = True
                self.engine.cancel(str(key[0]), client_id=key[1])

    # ------------------------------------------------------------------ accounts

    def register(self, l2_key: int, api_key: str | None = None, *, wallet: str | None = None, index: int = 0,
                 description: str = "Main account", account_id: int | None = None, vault: int | None = None) -> ExtAccount:
        """Create an account (funded with the starting balance) holding `l2_key`."""
        if account_id is None:
            self._next_account += 1
            account_id = self._next_account
        if vault is None:
            self._next_vault += 1
            vault = self._next_vault
        account = ExtAccount(account_id, index, description, l2_key, vault, wallet)
        self.accounts[account_id] = account
        self.engine.ensure_account(account.engine_id)
        if api_key:
            self.add_api_key(account, api_key)
        return account

    def add_api_key(self, account: ExtAccount, api_key: str) -> None:
        account.api_keys.add(api_key)
        self.by_key[api_key] = account.account_id

    def authenticate(self, api_key: str | None) -> ExtAccount:
        """The account an `X-Api-Key` belongs to; HTTP 401 for a missing or unknown key."""
        account_id = self.by_key.get(api_key or "")
        if account_id is None:
            raise ApiError(codes.INVALID_API_KEY, "Invalid API key" if api_key else "API key required", 401)
        return self.accounts[account_id]

    def wallet_accounts(self, account: ExtAccount) -> list[ExtAccount]:
        if account.wallet is None:
            return [account]
        return [a for a in self.accounts.values() if a.wallet == account.wallet]

    def market(self, name: str) -> MarketDef:
        market = self.markets.get(name)
        if market is None:
            raise ApiError(codes.MARKET_NOT_FOUND, "Market not found", 404)
        return market

    # ------------------------------------------------------------------ orders

    def place(self, account: ExtAccount, body: dict[str, Any]) -> dict[str, Any]:
        """POST /user/order: verify, then replace (`cancelId`) and place; -> {id, externalId}."""
        market = self.market(str(body.get("market") or ""))
        order = check_order(body, market, now_ms=self.clock.now_ms(), max_expiry_ms=self.max_expiry_ms)
        self._check_signature(account, market, body, order)
        external_id = order.external_id
        if self._known(account, external_id):
            raise ApiError(codes.DUPLICATE_ORDER, f"Duplicate order: external id {external_id} exists")
        if order.cancel_id is not None:
            previous = self.engine.order(account.engine_id, client_id=order.cancel_id)
            if previous is None or not previous.status.is_live:
                raise ApiError(codes.EDIT_ORDER_NOT_FOUND, "Edit order not found")
        key = (account.account_id, external_id)
        # Before placing: the engine reports the order (and the hub shows it) while placing it.
        self.meta[key] = shapes.OrderMeta(order.kind, order.tif, order.post_only, order.expiry_ms, order.trigger,
                                          fee_rate=TAKER_FEE)
        if order.tif == "GTT":
            self.expiring[key] = order.expiry_ms
        if order.cancel_id is not None:
            old = self.meta.get((account.account_id, order.cancel_id))
            if old is not None:
                old.replaced = True
            self.engine.cancel(account.engine_id, client_id=order.cancel_id)
        try:
            view = self.engine.place(
                account.engine_id, market.symbol, order.side, order.qty, type=order.engine_type, price=order.price,
                trigger_price=order.trigger_price, tif=order.engine_tif, reduce_only=order.reduce_only,
                client_id=external_id,
            )
        except SimReject as exc:
            del self.meta[key]
            self.expiring.pop(key, None)
            reason = AT_EXECUTION.get(exc.reason)
            if reason is None:
                raise ApiError(REFUSALS.get(exc.reason, codes.APPLICATION_ERROR), exc.message) from None
            return self._reject(account, market, body, reason)
        return {"id": shapes.order_id(view.oid), "externalId": external_id}

    def _check_signature(self, account: ExtAccount, market: MarketDef, body: dict[str, Any], order: CheckedOrder) -> None:
        settlement = body.get("settlement")
        if not isinstance(settlement, dict) or not isinstance(settlement.get("signature"), dict):
            raise ApiError(codes.INVALID_SIGNATURE, "Order settlement signature is missing")
        try:
            stark_key = int(str(settlement["starkKey"]), 16)
            vault = int(str(settlement["collateralPosition"]))
            r = int(str(settlement["signature"]["r"]), 16)
            s = int(str(settlement["signature"]["s"]), 16)
            nonce = int(order.nonce_text)
        except (KeyError, ValueError) as exc:
            raise ApiError(codes.INVALID_SIGNATURE, f"Invalid settlement ({type(exc).__name__})") from None
        if stark_key != account.l2_key:
            raise ApiError(codes.INVALID_PUBLIC_KEY, "Invalid StarkEx public key")
        if vault != account.vault:
            raise ApiError(codes.INVALID_VAULT, "Invalid vault")
        if not 0 <= nonce < 2**32:
            raise ApiError(codes.INVALID_SIGNATURE, "Invalid nonce")
        amounts = settlement_amounts(order.side is Side.BUY, order.qty, order.price, order.fee, self.l2[market.name])
        digest = order_hash(vault=vault, amounts=amounts, l2=self.l2[market.name], expiry_ms=order.expiry_ms, nonce=nonce,
                            public_key=stark_key, domain=self.domain)
        if not verify(stark_key, digest, r, s):
            raise ApiError(codes.INVALID_SIGNATURE, "Invalid StarkEx signature")

    def _known(self, account: ExtAccount, external_id: str) -> bool:
        return (self.engine.order(account.engine_id, client_id=external_id) is not None
                or external_id in self.rejected.get(account.account_id, {}))

    def _reject(self, account: ExtAccount, market: MarketDef, body: dict[str, Any], reason: str) -> dict[str, Any]:
        self._next_rejected += 1
        row = shapes.rejected_order_json(oid=self._next_rejected, account_id=account.account_id, body=body,
                                         market=market, reason=reason, now_ms=self.clock.now_ms())
        self.rejected.setdefault(account.account_id, {})[row["externalId"]] = row
        self._finished(account.account_id, row["externalId"])
        for callback in self.on_rejected:
            callback(account.account_id, row)
        return {"id": row["id"], "externalId": row["externalId"]}

    def cancel(self, account: ExtAccount, *, order_id: int | None = None, external_id: str | None = None) -> None:
        """DELETE /user/order/{id} or ?externalId=: a live order, else 404."""
        if order_id is not None:
            view = self.engine.order(account.engine_id, oid=order_id - shapes.ORDER_ID_BASE)
            external_id = view.client_id if view is not None else None
        if external_id is None or self.engine.cancel(account.engine_id, client_id=external_id) is None:
            raise ApiError(codes.NOT_FOUND, "Order not found", 404)

    def mass_cancel(self, account: ExtAccount, body: dict[str, Any]) -> None:
        """POST /user/order/massCancel: by ids, external ids, markets, or everything."""
        if body.get("cancelAll"):
            self.engine.cancel_all(account.engine_id)
            return
        for name in body.get("markets") or ():
            self.engine.cancel_all(account.engine_id, self.market(str(name)).symbol)
        for oid in body.get("orderIds") or ():
            self.engine.cancel(account.engine_id, oid=int(oid) - shapes.ORDER_ID_BASE)
        for ext in body.get("externalOrderIds") or ():
            self.engine.cancel(account.engine_id, client_id=str(ext))

    def set_leverage(self, account: ExtAccount, body: dict[str, Any]) -> None:
        market = self.market(str(body.get("market")))
        try:
            leverage = Decimal(str(body.get("leverage")))
        except InvalidOperation:
            raise ApiError(codes.INVALID_LEVERAGE, "Invalid leverage") from None
        if leverage != leverage.to_integral_value() or not 1 <= leverage <= market.max_leverage:
            raise ApiError(codes.INVALID_LEVERAGE, f"Invalid leverage: 1..{market.max_leverage}")
        try:
            self.engine.set_leverage(account.engine_id, market.symbol, int(leverage), MarginMode.CROSS)
        except SimReject as exc:
            code = 1050 if exc.reason is Reason.INSUFFICIENT_MARGIN else codes.INVALID_LEVERAGE
            raise ApiError(code, exc.message) from None

    def dead_mans_switch(self, account: ExtAccount, countdown_secs: int) -> None:
        if countdown_secs < 0:
            raise ApiError(1129, "countdownTime must be >= 0")
        deadline = self.clock.now_ms() + countdown_secs * 1000 if countdown_secs else None
        self.engine.cancel_all_after(account.engine_id, deadline)

    # ------------------------------------------------------------------ queries

    def _on_event(self, event: Any) -> None:
        if isinstance(event, OrderEvent) and not event.order.status.is_live and event.account.isdigit():
            if event.order.client_id:
                self._finished(int(event.account), event.order.client_id)
        elif isinstance(event, PositionEvent) and event.account.isdigit():
            key = (int(event.account), event.position.symbol)
            if event.position.size == 0:
                self.opened_ms.pop(key, None)
            else:
                self.opened_ms.setdefault(key, event.position.ts_ms)

    def _finished(self, account_id: int, external_id: str) -> None:
        self.expiring.pop((account_id, external_id), None)
        history = self.history.setdefault(account_id, deque())
        history.append(external_id)
        if len(history) > HISTORY:  # forget the oldest ended order entirely
            old = history.popleft()
            self.meta.pop((account_id, old), None)
            self.rejected.get(account_id, {}).pop(old, None)

    def order_json(self, account_id: int, view: OrderView) -> dict[str, Any]:
        market = self.by_symbol[view.symbol]
        meta = self.meta.get((account_id, view.client_id or ""))
        return shapes.order_json(view, market, account_id, meta)

    def order_by_external(self, account: ExtAccount, external_id: str) -> dict[str, Any] | None:
        view = self.engine.order(account.engine_id, client_id=external_id)
        if view is not None:
            return self.order_json(account.account_id, view)
        return self.rejected.get(account.account_id, {}).get(external_id)

    def order_by_id(self, account: ExtAccount, order_id: int) -> dict[str, Any] | None:
        view = self.engine.order(account.engine_id, oid=order_id - shapes.ORDER_ID_BASE)
        if view is not None:
            return self.order_json(account.account_id, view)
        return next((r for r in self.rejected.get(account.account_id, {}).values() if r["id"] == order_id), None)

    def open_orders(self, account: ExtAccount, markets: Iterable[str] = ()) -> list[dict[str, Any]]:
        names = set(markets)
        return [self.order_json(account.account_id, v) for v in self.engine.open_orders(account.engine_id)
                if not names or self.by_symbol[v.symbol].name in names]

    def orders_history(self, account: ExtAccount, markets: Iterable[str] = (), limit: int = 100) -> list[dict[str, Any]]:
        """Ended orders, newest first."""
        names = set(markets)
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for ext in reversed(self.history.get(account.account_id, ())):
            if ext in seen:
                continue
            seen.add(ext)
            row = self.order_by_external(account, ext)
            if row is not None and (not names or row["market"] in names):
                out.append(row)
                if len(out) >= limit:
                    break
        return out

    def trades(self, account: ExtAccount, markets: Iterable[str] = (), *, limit: int = 100,
               cursor: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
        """Fills newest first, `limit` at most, older than `cursor` (a trade id); -> (rows, next cursor)."""
        names = set(markets)
        rows = []
        for fill in reversed(self.engine.fills(account.engine_id)):
            market = self.by_symbol[fill.symbol]
            trade_id = shapes.TRADE_ID_BASE + fill.trade_id
            if (names and market.name not in names) or (cursor is not None and trade_id >= cursor):
                continue
            rows.append(shapes.trade_json(fill, market, account.account_id))
            if len(rows) >= limit:
                break
        return rows, (rows[-1]["id"] if len(rows) >= limit else None)

    def positions(self, account: ExtAccount, markets: Iterable[str] = ()) -> list[dict[str, Any]]:
        names = set(markets)
        return [self.position_json(account.account_id, v) for v in self.engine.positions(account.engine_id)
                if not names or self.by_symbol[v.symbol].name in names]

    def position_json(self, account_id: int, view: Any) -> dict[str, Any]:
        market = self.by_symbol[view.symbol]
        return shapes.position_json(view, market, account_id, self.opened_ms.get((account_id, view.symbol), view.ts_ms))

    def balance(self, account: ExtAccount) -> dict[str, Any]:
        return shapes.balance_json(self.engine.balance(account.engine_id))

    def leverage(self, account: ExtAccount, markets: Iterable[str] = ()) -> list[dict[str, Any]]:
        names = list(markets) or list(self.markets)
        return [{"market": name, "leverage": str(self.engine.leverage(account.engine_id, self.market(name).symbol)[0])}
                for name in names]

    def fees(self, markets: Iterable[str] = (), builder_id: int | None = None) -> list[dict[str, Any]]:
        names = list(markets) or list(self.markets)
        builder = "0.0001" if builder_id is not None else "0"
        return [{"market": self.market(n).name, "makerFeeRate": "0.00000", "takerFeeRate": format(TAKER_FEE, "f"),
                 "builderFeeRate": builder} for n in names]





__all__ = ["ApiError", "ExtAccount", "ExtendedExchange", "OrderStatus"]
