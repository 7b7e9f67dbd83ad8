"""Orders and what they become: specs, requests, orders, fills, positions, balances,
leverage settings, and the audit record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

from perpd.model.core import (
    Liquidity,
    MarginMode,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    ZERO,
    normalize_symbol,
)


# --------------------------------------------------------------------------- orders


@dataclass(frozen=True, slots=True)
class Bracket:
    """An exit attached to an entry: placed (reduce-only, for what the entry filled) once
    it fills, at `trigger_price`; a limit at `price`, else at market."""

    trigger_price: Decimal
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """What a client asks for. Names an account or a route, never both.

    Clients (API, REPL, magics, standing orders, targets) all build one of these; the
    engine journals it as an intent before anything reaches a venue.
    """

    symbol: str
    side: Side
    size: Decimal
    type: OrderType = OrderType.LIMIT
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    account: str | None = None
    route: str | None = None
    client_tag: str | None = None
    slippage_bps: Decimal | None = None  # market orders: worst price vs mark
    take_profit: Bracket | None = None  # exits placed once this fills (perpd/engine: brackets)
    stop_loss: Bracket | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        if self.type is OrderType.MARKET and self.tif in (TimeInForce.GTC, TimeInForce.POST_ONLY):
            # Market orders are IOC on every venue; accept the default and normalise it.
            object.__setattr__(self, "tif", TimeInForce.IOC)
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        out = []
        if (self.account is None) == (self.route is None):
            out.append("name exactly one of account or route")
        if self.size <= 0:
            out.append(f"size must be positive (got {self.size})")
        if self.type.has_limit_price and self.price is None:
            out.append(f"{self.type.value} order needs a price")
        if self.price is not None and self.price <= 0:
            out.append(f"price must be positive (got {self.price})")
        if self.type.is_trigger and self.trigger_price is None:
            out.append(f"{self.type.value} order needs a trigger_price")
        if not self.type.is_trigger and self.trigger_price is not None:
            out.append(f"trigger_price is only for trigger orders, not {self.type.value}")
        if self.trigger_price is not None and self.trigger_price <= 0:
            out.append(f"trigger_price must be positive (got {self.trigger_price})")
        out.extend(self._bracket_problems())
        return out

    def _bracket_problems(self) -> list[str]:
        if self.take_profit is None and self.stop_loss is None:
            return []
        if self.reduce_only:
            return ["take_profit / stop_loss go on an entry, not on a reduce-only order"]
        out = []
        sign = self.side.sign
        for name, bracket, above in (("take_profit", self.take_profit, True), ("stop_loss", self.stop_loss, False)):
            if bracket is None:
                continue
            if bracket.trigger_price <= 0 or (bracket.price is not None and bracket.price <= 0):
                out.append(f"{name} prices must be positive")
            elif self.price is not None and ((bracket.trigger_price - self.price) * sign > 0) != above:
                where = "above" if above == (sign > 0) else "below"
                out.append(f"{name} trigger {bracket.trigger_price} must be {where} the entry price {self.price}")
        return out

    @property
    def brackets(self) -> dict[str, Bracket]:
        """The exits this entry carries: {"tp": ..., "sl": ...}."""
        return {k: b for k, b in (("tp", self.take_profit), ("sl", self.stop_loss)) if b is not None}

    @property
    def signed_size(self) -> Decimal:
        return self.size * self.side.sign

    def with_account(self, account: str) -> OrderSpec:
        if self.account == account and self.route is None:
            return self  # frozen: the same spec (most orders name their account)
        return replace(self, account=account, route=None)

    def evolve(self, **changes: object) -> OrderSpec:
        """A copy with `changes`, checked like any spec (`dataclasses.replace`, faster)."""
        return _evolve_spec(self, **changes)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order ready for one venue: account resolved, client id assigned, rounded.

    This is what `AccountSession.create_order` receives; the client id has already been
    journaled, so the venue call may be retried or resolved by it but never re-minted.
    """

    client_id: str
    symbol: str
    side: Side
    type: OrderType
    size: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    slippage_bps: Decimal | None = None

    @property
    def post_only(self) -> bool:
        return self.tif is TimeInForce.POST_ONLY

    def evolve(self, **changes: object) -> OrderRequest:
        """A copy with `changes` (`dataclasses.replace`, faster)."""
        return _evolve_request(self, **changes)  # type: ignore[no-any-return]

    def pending(self, account: str, venue: str, now_ms: int) -> Order:
        """The record of this request before any venue has answered for it."""
        return Order(
            account=account,
            venue=venue,
            client_id=self.client_id,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            size=self.size,
            status=OrderStatus.PENDING,
            price=self.price,
            trigger_price=self.trigger_price,
            tif=self.tif,
            reduce_only=self.reduce_only,
            created_ms=now_ms,
            updated_ms=now_ms,
        )


@dataclass(frozen=True, slots=True)
class Order:
    """An order as it exists on a venue (or as far as perpd knows)."""

    account: str
    venue: str
    client_id: str
    symbol: str
    side: Side
    type: OrderType
    size: Decimal
    status: OrderStatus
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    venue_order_id: str | None = None
    filled_size: Decimal = ZERO
    avg_fill_price: Decimal | None = None
    created_ms: int = 0
    updated_ms: int = 0
    reason: str | None = None  # why rejected / cancelled, in the venue's words
    # A native bracket's exit: the venue holds it and places it once this entry fills.
    parent_client_id: str | None = None

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled_size

    @property
    def signed_remaining(self) -> Decimal:
        return self.remaining * self.side.sign

    def increases(self, held: Decimal) -> bool:
        """Would this order grow the position `held` (rather than only shrink it)?"""
        return not self.reduce_only and held * self.side.sign >= 0

    def evolve(self, **changes: object) -> Order:
        """A copy with `changes` (`dataclasses.replace`, without its per-field loop: an
        order is copied a few times on its way)."""
        return _evolve_order(self, **changes)  # type: ignore[no-any-return]


def _evolver(cls: type) -> Callable[..., Any]:
    """`replace` for one frozen dataclass whose fields are all init fields, written once:
    keyword-only parameters, each the field's current value unless given."""
    names = [f.name for f in fields(cls)]
    assert all(f.init for f in fields(cls))
    source = (
        f"def evolve(self, *, {', '.join(f'{n}=KEEP' for n in names)}):\n"
        f"    return cls({', '.join(f'self.{n} if {n} is KEEP else {n}' for n in names)})\n"
    )
    namespace: dict[str, Any] = {"KEEP": object(), "cls": cls}
    exec(source, namespace)  # noqa: S102 - built from the class's own field names
    return namespace["evolve"]  # type: ignore[no-any-return]


_evolve_order = _evolver(Order)
_evolve_spec = _evolver(OrderSpec)
_evolve_request = _evolver(OrderRequest)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of our orders; `trade_id` is unique per venue."""

    account: str
    venue: str
    trade_id: str
    client_id: str | None
    venue_order_id: str | None
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal  # paid, in quote; negative = rebate
    liquidity: Liquidity
    ts_ms: int
    realized_pnl: Decimal | None = None

    @property
    def signed_size(self) -> Decimal:
        return self.size * self.side.sign


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding payment on one of our positions; `payment_id` is unique per account
    and venue (the venue's id, else its time and symbol)."""

    account: str
    venue: str
    payment_id: str
    symbol: str
    amount: Decimal  # received, in quote; negative = paid
    ts_ms: int
    rate: Decimal | None = None
    position: Decimal | None = None  # signed size the payment was on


@dataclass(frozen=True, slots=True)
class Position:
    account: str
    venue: str
    symbol: str
    size: Decimal  # signed: > 0 long, < 0 short
    entry_price: Decimal | None = None
    mark_price: Decimal | None = None
    unrealized_pnl: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    leverage: int | None = None
    margin_mode: MarginMode = MarginMode.CROSS
    liquidation_price: Decimal | None = None
    margin_used: Decimal = ZERO
    ts_ms: int = 0

    @property
    def notional(self) -> Decimal:
        price = self.mark_price if self.mark_price is not None else self.entry_price
        return abs(self.size) * (price or ZERO)


@dataclass(frozen=True, slots=True)
class Balance:
    account: str
    venue: str
    asset: str  # the collateral: USDC, USD, USDT
    equity: Decimal  # wallet balance + unrealized PnL
    available: Decimal  # free for new orders / withdrawal
    margin_used: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    ts_ms: int = 0


@dataclass(frozen=True, slots=True)
class LeverageSetting:
    symbol: str
    leverage: int
    margin_mode: MarginMode = MarginMode.CROSS




@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit record: who did what, under which config revision and rule, with what result."""

    id: int
    ts_ms: int
    actor: str
    action: str
    account: str | None
    venue: str | None
    symbol: str | None
    client_id: str | None
    config_revision: int | None
    rule: str | None
    result: str
    details: Any
