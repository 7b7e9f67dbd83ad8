"""What each Vest request does: checks in Vest's order, then the desk and the sim exchange.

`POST /orders` is checked field by field (INVALID_PARAMETER 1130, INVALID_NONCE 1023,
INVALID_ORDER_TYPE 1116, BAD_SYMBOL 1121), then its signature over the fields *as
received* (INVALID_SIGNATURE 1022: a key other than the registered signer changes
nothing), then the numbers against the market's decimals (BAD_DECIMALS 1111; trailing
zeros are fine), `timeInForce` (1133), `recvWindow` (1131) and age (ORDER_EXPIRED 1132),
TP/SL prices (1145) and their child signatures, and the nonce's uniqueness (DUPLICATE
3015). Only then is the order accepted: `{"id"}` at once, its fate later (orders.py).

Where clients disagree (sdk-wire-notes.md 3.2) every known form is accepted: signatures
with or without 0x; TP/SL child signatures over the parent's nonce or nonce+1 (TP) /
nonce+2 (SL); `timeInForce` sent with a MARKET order (ignored); cancels as the
documented signed `POST /orders/cancel`, with the EIP-712 `CancelOrder(string orderId,
uint256 nonce)` one Rust client signs, or as the unsigned `DELETE /orders?id=` of a
hummingbot derivative; leverage unsigned, an extra `signature` ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from perpd.clock import Clock
from perpd.model import MarginMode
from venues.simex.events import SimReject
from venues.simex.exchange import SimExchange
from venues.vest.constants import (
    DEFAULT_RECV_WINDOW_MS,
    LIMIT,
    MAX_RECV_WINDOW_MS,
    ORDER_TYPES,
    REGISTER_DOMAIN_NAME,
    REGISTER_DOMAIN_VERSION,
    STOP_LOSS,
    TAKE_PROFIT,
    TIMES_IN_FORCE,
)
from venues.vest.emulator.auth import CONTRACTS, ApiKey, Registry, VestAccount
from venues.vest.emulator.markets import MarketDef
from venues.vest.emulator.orders import Desk, VestOrder
from venues.vest.emulator.refusal import VestError
from venues.vest.errors import (
    BAD_DECIMALS,
    BAD_RECV_WINDOW,
    BAD_SYMBOL,
    DECREASE_LEVERAGE_WITH_POSITION,
    DUPLICATE,
    INVALID_NONCE,
    INVALID_ORDER_TYPE,
    INVALID_PARAMETER,
    INVALID_SIGNATURE,
    INVALID_TIME_IN_FORCE,
    INVALID_TP_SL_PRICE,
    ORDER_EXPIRED,
)
from venues.vest.signing import abi_encode, cancel_args_hash, keccak256, order_args_hash, personal_digest

_CANCEL_712_TYPEHASH = keccak256(b"CancelOrder(string orderId,uint256 nonce)")
_DOMAIN_712_TYPEHASH = keccak256(b"EIP712Domain(string name,string version,address verifyingContract)")


def cancel_712_digests(order_id: str, nonce: int) -> list[bytes]:
    """The EIP-712 cancel a Rust client signs, under Vest's register domain (either contract)."""
    struct = keccak256(_CANCEL_712_TYPEHASH + keccak256(order_id.encode()) + nonce.to_bytes(32, "big"))
    names = keccak256(REGISTER_DOMAIN_NAME.encode()) + keccak256(REGISTER_DOMAIN_VERSION.encode())
    return [keccak256(b"\x19\x01" + keccak256(_DOMAIN_712_TYPEHASH + names + abi_encode(("address",), (c,))) + struct)
            for c in CONTRACTS]


# --------------------------------------------------------------------------- field checks


def _integer(value: Any, code: int, what: str, *, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or value >= 2**256:
        raise VestError(code, f"{what} must be an integer >= {minimum}")
    return value


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise VestError(INVALID_PARAMETER, f"{what} must be true or false")
    return value


def _amount(value: Any, what: str) -> Decimal:
    if not isinstance(value, str):
        raise VestError(INVALID_PARAMETER, f"{what} must be a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise VestError(INVALID_PARAMETER, f"{what} {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise VestError(INVALID_PARAMETER, f"{what} must be positive")
    return number


def _on_grid(value: Decimal, step: Decimal, what: str, decimals: int) -> None:
    if value % step:
        raise VestError(BAD_DECIMALS, f"{what} {value} has more than {decimals} decimals")


class VestExchange:
    """Vest's request semantics over one sim exchange (accounts, keys and orders)."""

    def __init__(self, engine: SimExchange, markets: Sequence[MarketDef], clock: Clock, *, seed: int = 7,
                 groups: int = 4) -> None:
        self.engine = engine
        self.clock = clock
        self.markets = {m.symbol: m for m in markets}
        self.registry = Registry(clock, seed=seed, groups=groups)
        self.desk = Desk(engine, self.markets, clock, seed=seed)

    def step(self) -> None:
        """Bring the world up to now: the market moves, waiting orders may fire."""
        self.engine.step(self.clock.now_ms())
        self.desk.check_triggers()

    def market(self, symbol: Any) -> MarketDef:
        market = self.markets.get(str(symbol))
        if market is None:
            raise VestError(BAD_SYMBOL, f"unknown symbol {symbol!r}")
        return market

    # ------------------------------------------------------------------ accounts

    def register(self, body: Mapping[str, Any]) -> dict[str, Any]:
        account, api = self.registry.register(body)
        self.engine.ensure_account(account.primary)
        return {"apiKey": api.key, "accGroup": account.group}

    def set_leverage(self, account: VestAccount, body: Mapping[str, Any]) -> dict[str, Any]:
        market = self.market(body.get("symbol"))
        value = body.get("value")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= market.max_leverage:
            raise VestError(INVALID_PARAMETER, f"leverage must be 1..{market.max_leverage} on {market.symbol}")
        current, _ = self.engine.leverage(account.primary, market.symbol)
        if value < current and self.engine.position(account.primary, market.symbol).size != 0:
            raise VestError(DECREASE_LEVERAGE_WITH_POSITION, "cannot decrease leverage with an open position")
        try:
            self.engine.set_leverage(account.primary, market.symbol, value, MarginMode.CROSS)
        except SimReject as exc:
            raise VestError(INVALID_PARAMETER, exc.message) from None
        return {"symbol": market.symbol, "value": value}

    # ------------------------------------------------------------------ orders

    def _fresh(self, fields: Mapping[str, Any], body: Mapping[str, Any]) -> int:
        """The request's `time`, checked against `recvWindow` (server ts > time + window: expired)."""
        time = _integer(fields.get("time"), INVALID_PARAMETER, "time")
        window = body.get("recvWindow", DEFAULT_RECV_WINDOW_MS)
        if not isinstance(window, int) or isinstance(window, bool) or not 0 < window <= MAX_RECV_WINDOW_MS:
            raise VestError(BAD_RECV_WINDOW, f"recvWindow must be 1..{MAX_RECV_WINDOW_MS} ms")
        if self.clock.now_ms() > time + window:
            raise VestError(ORDER_EXPIRED, "the order is older than its recvWindow")
        return time

    def place(self, account: VestAccount, api: ApiKey, body: Mapping[str, Any]) -> dict[str, Any]:
        fields = body.get("order")
        if not isinstance(fields, dict):
            raise VestError(INVALID_PARAMETER, "order must be an object")
        time = _integer(fields.get("time"), INVALID_PARAMETER, "time")
        nonce = _integer(fields.get("nonce"), INVALID_NONCE, "nonce")
        kind = fields.get("orderType")
        if kind not in ORDER_TYPES:
            raise VestError(INVALID_ORDER_TYPE, f"orderType {kind!r} is not one of {sorted(ORDER_TYPES)}")
        market = self.market(fields.get("symbol"))
        is_buy = _flag(fields.get("isBuy"), "isBuy")
        reduce_only = _flag(fields.get("reduceOnly", False), "reduceOnly")
        size_text, price_text = fields.get("size"), fields.get("limitPrice")
        size, limit = _amount(size_text, "size"), _amount(price_text, "limitPrice")
        signed = (time, nonce, kind, market.symbol, is_buy, size_text, price_text, reduce_only)
        self.registry.verify(api, [personal_digest(order_args_hash(*signed))], body.get("signature"))  # type: ignore[arg-type]
        _on_grid(size, market.lot, "size", market.size_decimals)
        _on_grid(limit, market.tick, "limitPrice", market.price_decimals)
        tif = fields.get("timeInForce")
        if kind == LIMIT:
            tif = tif or "GTC"
            if tif not in TIMES_IN_FORCE:
                raise VestError(INVALID_TIME_IN_FORCE, f"timeInForce must be GTC or FOK (got {tif!r})")
        else:
            tif = None  # only read for LIMIT orders (the docs' own MARKET example sends "GTC")
        self._fresh(fields, body)
        children = {name: self._child(api, fields, body, name, market, signed, limit)
                    for name in ("tp", "sl") if fields.get(f"{name}Price") is not None}
        if self.desk.by_account_nonce(account.primary, nonce) is not None:
            raise VestError(DUPLICATE, f"an order with nonce {nonce} exists")
        self.engine.ensure_account(account.primary)
        leverage, _ = self.engine.leverage(account.primary, market.symbol)
        order = VestOrder(
            id=self.desk.new_id(), account=account.primary, nonce=nonce, symbol=market.symbol, is_buy=is_buy,
            order_type=str(kind), limit_price=limit, size=size, reduce_only=reduce_only, tif=tif,
            post_time=self.clock.now_ms(), mark_price=self.engine.market(market.symbol).mark_price,
            init_margin_ratio=max(market.init_margin_ratio, Decimal(1) / leverage),
            tp_price=children["tp"][0] if "tp" in children else None,
            sl_price=children["sl"][0] if "sl" in children else None,
            tp_nonce=children["tp"][1] if "tp" in children else None,
            sl_nonce=children["sl"][1] if "sl" in children else None,
        )
        self.desk.accept(order)
        return {"id": order.id}

    def _child(self, api: ApiKey, fields: Mapping[str, Any], body: Mapping[str, Any], name: str, market: MarketDef,
               parent: tuple[Any, ...], limit: Decimal) -> tuple[Decimal, int]:
        """A TP/SL attached to an order: its price, and the nonce its signature used."""
        text = fields.get(f"{name}Price")
        price = _amount(text, f"{name}Price")
        _on_grid(price, market.tick, f"{name}Price", market.price_decimals)
        is_buy = parent[4]
        above = price > limit
        if (name == "tp") != (above == is_buy) or price == limit:
            raise VestError(INVALID_TP_SL_PRICE, f"{name}Price {price} is on the wrong side of {limit}")
        time, nonce, _, symbol, _, size_text = parent[:6]
        kind = TAKE_PROFIT if name == "tp" else STOP_LOSS
        # Clients differ: the parent's nonce (docs, silent) or nonce+1 (TP) / nonce+2 (SL).
        candidates = (nonce, nonce + (1 if name == "tp" else 2))
        signature = fields.get(f"{name}Signature")
        for candidate in candidates:
            digest = personal_digest(order_args_hash(time, candidate, kind, symbol, not is_buy, size_text, text, True))
            try:
                self.registry.verify(api, [digest], signature)
            except VestError:
                continue
            return price, candidate
        raise VestError(INVALID_PARAMETER if signature is None else INVALID_SIGNATURE, f"{name}Signature does not sign the {kind} child")

    def cancel(self, account: VestAccount, api: ApiKey, body: Mapping[str, Any]) -> dict[str, Any]:
        fields = body.get("order")
        if not isinstance(fields, dict):
            raise VestError(INVALID_PARAMETER, "order must be an object")
        time = _integer(fields.get("time"), INVALID_PARAMETER, "time")
        nonce = _integer(fields.get("nonce"), INVALID_NONCE, "nonce")
        order_id = fields.get("id")
        if not isinstance(order_id, str) or not order_id:
            raise VestError(INVALID_PARAMETER, "id must be an order id")
        digests = [personal_digest(cancel_args_hash(time, nonce, order_id)), *cancel_712_digests(order_id, nonce)]
        self.registry.verify(api, digests, body.get("signature"))
        self._fresh(fields, body)
        return {"id": self.desk.cancel(account.primary, order_id).id}

    def cancel_unsigned(self, account: VestAccount, order_id: str) -> dict[str, Any]:
        """`DELETE /orders?id=` as one community client sends it (API key only)."""
        return {"id": self.desk.cancel(account.primary, order_id).id}
