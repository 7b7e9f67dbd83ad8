"""An order body as Extended reads it: every field checked against the market's rules,
refusals with Extended's codes. Pure: the exchange (exchange.py) then checks the
signature against the account and acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from perpd.model import OrderType, Side, TimeInForce, is_multiple
from venues.extended import errors as codes
from venues.extended.emulator.markets import TAKER_FEE, MarketDef

# (side, trigger direction) -> a stop (else a take-profit) for the engine.
STOP = {("BUY", "UP"): True, ("BUY", "DOWN"): False, ("SELL", "DOWN"): True, ("SELL", "UP"): False}


class ApiError(Exception):
    """A refusal with Extended's code; `http_status` of the answer."""

    def __init__(self, code: int, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


@dataclass(frozen=True, slots=True)
class CheckedOrder:
    external_id: str
    kind: str  # LIMIT | MARKET | CONDITIONAL
    side: Side
    tif: str  # GTT | IOC | TOB
    qty: Decimal
    price: Decimal
    fee: Decimal  # the signed fee rate: taker + builder
    post_only: bool
    reduce_only: bool
    expiry_ms: int
    nonce_text: str
    trigger: dict[str, Any] | None
    trigger_price: Decimal | None
    cancel_id: str | None

    @property
    def engine_type(self) -> OrderType:
        if self.kind == "MARKET":
            return OrderType.MARKET
        if self.kind == "LIMIT":
            return OrderType.LIMIT
        assert self.trigger is not None
        stop = STOP.get((self.side.name, str(self.trigger.get("direction"))), True)
        market_exec = str(self.trigger.get("executionPriceType") or "MARKET") == "MARKET"
        if stop:
            return OrderType.STOP_MARKET if market_exec else OrderType.STOP_LIMIT
        return OrderType.TAKE_PROFIT_MARKET if market_exec else OrderType.TAKE_PROFIT_LIMIT

    @property
    def engine_tif(self) -> TimeInForce:
        if self.tif == "IOC":
            return TimeInForce.IOC
        return TimeInForce.POST_ONLY if self.post_only else TimeInForce.GTC


def check_order(body: dict[str, Any], market: MarketDef, *, now_ms: int, max_expiry_ms: int) -> CheckedOrder:
    """Read and check POST /user/order's fields as Extended does (not the signature)."""
    read = _Reader(body)
    kind, side, tif = read.text("type"), read.text("side"), read.text("timeInForce")
    if kind not in ("LIMIT", "MARKET", "CONDITIONAL"):
        raise ApiError(1129, f"Order type {kind} is not supported by the emulator")
    if side not in ("BUY", "SELL") or tif not in ("GTT", "IOC", "FOK", "TOB"):
        raise ApiError(1129, "Invalid side or timeInForce")
    if tif == "FOK":
        raise ApiError(1129, "FOK time in force is deprecated")
    if kind == "MARKET" and tif != "IOC":
        raise ApiError(codes.MARKET_ORDER_NOT_IOC, "Market order must have IOC time in force")
    trigger = body.get("trigger")
    if kind == "CONDITIONAL" and not isinstance(trigger, dict):
        raise ApiError(codes.TRIGGER_MISSING, "Conditional order trigger is missing")
    qty, price, fee = read.decimal("qty"), read.decimal("price"), read.decimal("fee")
    post_only, reduce_only = bool(body.get("postOnly")), bool(body.get("reduceOnly"))
    if not is_multiple(qty, market.lot):
        raise ApiError(codes.WRONG_SIZE_INCREMENT, f"Order quantity is not a multiple of {market.lot}")
    if qty < market.min_size and not reduce_only:
        raise ApiError(codes.QTY_BELOW_MIN, f"Order quantity is less than the minimum {market.min_size}")
    if price <= 0:
        raise ApiError(1141, "Invalid price")
    if not is_multiple(price, market.tick):
        raise ApiError(codes.WRONG_PRICE_INCREMENT, f"Order price is not a multiple of {market.tick}")
    if fee < TAKER_FEE:
        raise ApiError(codes.INVALID_FEE, f"Order fee {fee} is below the taker fee {TAKER_FEE}")
    builder_fee = read.decimal("builderFee") if body.get("builderFee") is not None else Decimal(0)
    expiry_ms = read.integer("expiryEpochMillis")
    if expiry_ms <= now_ms or expiry_ms > now_ms + max_expiry_ms:
        raise ApiError(codes.INVALID_EXPIRY, "Invalid expiration time")
    trigger_price = None
    if kind == "CONDITIONAL":
        assert isinstance(trigger, dict)
        trigger_price = _Reader(trigger).decimal("triggerPrice")
        if not is_multiple(trigger_price, market.tick):
            raise ApiError(1144, f"Trigger price is not a multiple of {market.tick}")
    cancel_id = body.get("cancelId")
    return CheckedOrder(
        external_id=read.text("id"), kind=kind, side=Side.BUY if side == "BUY" else Side.SELL, tif=tif, qty=qty,
        price=price, fee=fee + builder_fee, post_only=post_only, reduce_only=reduce_only, expiry_ms=expiry_ms,
        nonce_text=read.text("nonce"), trigger=trigger if kind == "CONDITIONAL" else None, trigger_price=trigger_price,
        cancel_id=str(cancel_id) if cancel_id is not None else None,
    )


class _Reader:
    """Typed reads of a JSON object; a missing or malformed field is Extended's 1129."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def text(self, name: str) -> str:
        value = self.body.get(name)
        if value is None or value == "":
            raise ApiError(1129, f"Invalid order: {name} is missing")
        return str(value)

    def decimal(self, name: str) -> Decimal:
        try:
            value = Decimal(self.text(name))
        except InvalidOperation:
            raise ApiError(1129, f"Invalid order: {name} is not a number") from None
        if not value.is_finite():
            raise ApiError(1129, f"Invalid order: {name} is not a number")
        return value

    def integer(self, name: str) -> int:
        value = self.decimal(name)
        if value != value.to_integral_value():
            raise ApiError(1129, f"Invalid order: {name} is not an integer")
        return int(value)
