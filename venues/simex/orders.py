"""The engine's mutable order record (integer ticks and lots) and its immutable view."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpd.model import OrderStatus, OrderType, Side, TimeInForce
from venues.simex.events import OrderView, Reason

if TYPE_CHECKING:
    from venues.simex.accounts import Account
    from venues.simex.markets import MarketState

_MARKET_LIKE = frozenset({OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})
_STOPS = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})
AVG_QUANTUM = Decimal("1e-10")
_BUY, _SELL = Side.BUY, Side.SELL
_view = OrderView
_new = tuple.__new__


class SimOrder:
    """An order inside the engine. Prices are ticks, sizes lots; never handed out."""

    __slots__ = (
        "oid", "acct", "m", "is_buy", "type", "tif", "price", "trigger", "size", "filled",
        "notional", "status", "reduce_only", "client_id", "created_ms", "updated_ms",
        "reason", "triggered", "inc", "reserved", "prio", "dumped",
    )

    def __init__(
        self,
        oid: int,
        acct: Account,
        m: MarketState,
        is_buy: bool,
        type: OrderType,
        tif: TimeInForce,
        price: int | None,
        trigger: int | None,
        size: int,
        reduce_only: bool,
        client_id: str | None,
        now_ms: int,
    ) -> None:
        self.oid = oid
        self.acct = acct
        self.m = m
        self.is_buy = is_buy
        self.type = type
        self.tif = tif
        self.price = price  # ticks; market-like orders: the worst price accepted
        self.trigger = trigger
        self.size = size  # lots
        self.filled = 0
        self.notional = 0  # sum of ticks * lots over fills (for the average price)
        self.status = OrderStatus.OPEN
        self.reduce_only = reduce_only
        self.client_id = client_id
        self.created_ms = now_ms
        self.updated_ms = now_ms
        self.reason: Reason | None = None
        self.triggered = False
        self.inc = 0  # lots that increased the position when accepted (margin basis)
        self.reserved = 0  # ticks * lots of margin basis currently reserved
        self.prio = oid  # time priority; renewed when an edit loses priority
        self.dumped: dict[str, Any] | None = None  # its saved form, once it has ended (snapshot.py)

    @property
    def market_like(self) -> bool:
        return self.type in _MARKET_LIKE

    @property
    def is_stop(self) -> bool:
        return self.type in _STOPS

    @property
    def remaining(self) -> int:
        return self.size - self.filled

    @property
    def live(self) -> bool:
        return self.status is OrderStatus.OPEN or self.status is OrderStatus.PARTIALLY_FILLED

    def trigger_hit(self, mark: int) -> bool:
        """Stops fire when the mark moves against a position the order protects
        (a buy stop at or above its trigger); take-profits when it moves in favour."""
        trig = self.trigger
        if self.type in _STOPS:
            return mark >= trig if self.is_buy else mark <= trig  # type: ignore[operator]
        return mark <= trig if self.is_buy else mark >= trig  # type: ignore[operator]

    def avg_price(self) -> Decimal | None:
        filled = self.filled
        if not filled:
            return None
        whole, rest = divmod(self.notional, filled)
        if not rest:
            return whole * self.m.tick
        return (Decimal(self.notional) * self.m.tick / filled).quantize(AVG_QUANTUM)

    def view(self) -> OrderView:
        m = self.m
        price, trigger, size, filled = self.price, self.trigger, self.size, self.filled
        prices, sizes = m._prices, m._sizes  # memoized conversions (MarketState.price/size)
        # tuple.__new__ is what the NamedTuple constructor calls; direct, it costs half as
        # much, and this runs once per order operation and once per order event
        return _new(_view, (
            self.oid,
            self.client_id,
            self.acct.id,
            m.symbol,
            _BUY if self.is_buy else _SELL,
            self.type,
            self.tif,
            (prices.get(price) or m.price(price)) if price is not None else None,
            (prices.get(trigger) or m.price(trigger)) if trigger is not None else None,
            sizes.get(size) or m.size(size),
            (sizes.get(filled) or m.size(filled)) if filled else m.size(0),
            self.avg_price() if filled else None,
            self.status,
            self.reduce_only,
            self.triggered,
            self.reason,
            self.created_ms,
            self.updated_ms,
        ))
