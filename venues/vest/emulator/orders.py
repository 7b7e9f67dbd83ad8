"""Vest's order model over the sim exchange: nothing rests on a book, every fill is whole.

Vest is the counterparty of every trade. The emulator keeps Vest's orders itself and
only ever sends the sim exchange fill-or-kill orders, so a user order never shows on
the book (the book is the makers' quotes: Vest's quoted depth) and never fills in part:

- accepted orders queue; a processor (app.py) takes them asynchronously, as Vest does:
  `POST /orders` answers the id first, the order's fate follows on the stream;
- MARKET: NEW, then fills whole within its `limitPrice` (the slippage bound) or is
  REJECTED (PRICE_CHECK_FAILED 3001, MARGIN_CHECK_FAILED 3002, REDUCE_ONLY_* 3018/3019);
- LIMIT: reserves margin (MARGIN_CHECK_FAILED if it cannot) and waits, NEW, off the book,
  until the index price reaches the limit; then it fills whole at or better than the
  limit, or keeps waiting if the quotes do not allow it. FOK: now or REJECTED 3001;
- STOP_LOSS / TAKE_PROFIT: wait for the index (a buy stop fires at or above its price, a
  buy take-profit at or below; sells mirror), then fill whole as a market order without
  a slippage check;
- TP/SL attached to a LIMIT (`tpPrice`/`slPrice`) become reduce-only orders of their own
  when the parent fills; when one fills the other is cancelled.

Every status change is handed to the listeners (the WS hub), one call per change.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from perpd.clock import Clock
from perpd.model import OrderStatus, OrderType, Side, TimeInForce, round_price
from venues.simex.events import FillEvent, Reason, SimFill, SimReject
from venues.simex.exchange import SimExchange
from venues.vest.constants import CANCELLED, FILLED, LIMIT, MARKET, NEW, REJECTED, STOP_LOSS, TAKE_PROFIT
from venues.vest.emulator.markets import MarketDef
from venues.vest.emulator.refusal import VestError
from venues.vest.errors import (
    MARGIN_CHECK_FAILED,
    ORDER_NOT_FOUND,
    PRICE_CHECK_FAILED,
    REDUCE_ONLY_EXCEEDS_SIZE,
    REDUCE_ONLY_INCREASES,
)

ZERO = Decimal(0)
TRIGGER_BOUND = Decimal("0.1")  # TP/SL fill "without slippage check": within 10 % of the mark
HISTORY = 5000  # finished orders kept per account
REJECTIONS = {Reason.INSUFFICIENT_MARGIN: MARGIN_CHECK_FAILED, Reason.REDUCE_ONLY_WOULD_INCREASE: REDUCE_ONLY_INCREASES}


@dataclass
class VestOrder:
    id: str
    account: str
    nonce: int
    symbol: str
    is_buy: bool
    order_type: str
    limit_price: Decimal
    size: Decimal
    reduce_only: bool
    tif: str | None
    post_time: int
    mark_price: Decimal
    init_margin_ratio: Decimal
    tp_price: Decimal | None = None
    sl_price: Decimal | None = None
    tp_nonce: int | None = None
    sl_nonce: int | None = None
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    status: str = NEW
    code: int | None = None
    queued: bool = True
    reserved: Decimal = ZERO  # margin a waiting limit holds (openOrderMargin)
    last_filled_size: Decimal | None = None
    last_filled_price: Decimal | None = None
    last_filled_time: int | None = None
    avg_filled_price: Decimal | None = None
    fees: Decimal = ZERO
    realized_pnl: Decimal | None = None

    @property
    def live(self) -> bool:
        return self.status == NEW

    @property
    def side(self) -> Side:
        return Side.BUY if self.is_buy else Side.SELL


Listener = Callable[[VestOrder], None]


class Desk:
    """Every Vest order of one emulator and how each one is executed."""

    def __init__(self, engine: SimExchange, markets: Mapping[str, MarketDef], clock: Clock, *, seed: int = 7) -> None:
        self.engine = engine
        self.markets = markets
        self.clock = clock
        self.orders: dict[str, VestOrder] = {}
        self.by_nonce: dict[tuple[str, int], str] = {}
        self.last_nonce: dict[str, int] = {}
        self.history: dict[str, deque[str]] = {}  # account -> order ids, oldest first
        self.waiting: dict[str, dict[str, VestOrder]] = {}  # symbol -> orders waiting for the index
        self.reserved: dict[str, Decimal] = {}  # account -> margin its waiting limits hold
        self._checked: dict[str, tuple[int, Decimal, Decimal]] = {}  # symbol -> (book seq, index, mark) last seen
        self.queue: deque[str] = deque()
        self.hold = False  # fault: accepted orders wait in the queue
        self.listeners: list[Listener] = []
        self._fills: dict[int, list[SimFill]] = {}  # fills of the execution under way, by engine oid
        self._executing = False
        self._rng = random.Random(f"vest-orders-{seed}")
        self._next_id = self._rng.getrandbits(48) << 12
        engine.subscribe(self._on_engine)

    def _on_engine(self, event: object) -> None:
        if self._executing and isinstance(event, FillEvent) and not event.account.startswith("~"):
            self._fills.setdefault(event.fill.oid, []).append(event.fill)

    def new_id(self) -> str:
        self._next_id += 1
        return f"0x{self._next_id:016x}"

    def _emit(self, order: VestOrder) -> None:
        for listener in list(self.listeners):
            listener(order)

    # ------------------------------------------------------------------ intake

    def accept(self, order: VestOrder) -> VestOrder:
        """Take a checked order into the queue (its fate is decided by `process`)."""
        self.orders[order.id] = order
        self.by_nonce[(order.account, order.nonce)] = order.id
        self.last_nonce[order.account] = max(self.last_nonce.get(order.account, 0), order.nonce)
        ids = self.history.setdefault(order.account, deque())
        ids.append(order.id)
        self._forget(ids)
        if order.queued:
            self.queue.append(order.id)
        return order

    def _forget(self, ids: deque[str]) -> None:
        """Drop the oldest finished orders past the history bound (working ones stay)."""
        while len(ids) > HISTORY:
            old = self.orders.get(ids[0])
            if old is not None and (old.live or old.queued):
                return
            ids.popleft()
            if old is not None:
                del self.orders[old.id]
                self.by_nonce.pop((old.account, old.nonce), None)

    def process(self) -> int:
        """Decide every queued order; the number decided."""
        done = 0
        while self.queue and not self.hold:
            order = self.orders.get(self.queue.popleft())
            if order is None or not order.queued:
                continue
            order.queued = False
            if order.live:
                self._start(order)
                done += 1
        return done

    def _start(self, o: VestOrder) -> None:
        if o.reduce_only and o.order_type in (MARKET, LIMIT):
            code = self._reduce_only_problem(o)
            if code is not None:
                return self._end(o, REJECTED, code)
        if o.order_type == MARKET:
            self._emit(o)
            code = self._execute(o, o.limit_price)
            if code is not None:
                self._end(o, REJECTED, code)
            return None
        if o.order_type == LIMIT and not o.reduce_only:
            needed = self._margin_needed(o)
            if needed > self.free_margin(o.account):
                return self._end(o, REJECTED, MARGIN_CHECK_FAILED)
            if o.tif != "FOK":
                o.reserved = needed  # held while it waits
        if o.order_type == LIMIT and o.tif == "FOK":  # now, whole, or never
            fires = self._fires(o, self.engine.market(o.symbol).index_price)
            code = self._execute(o, o.limit_price) if fires else PRICE_CHECK_FAILED
            if code is not None:
                self._end(o, REJECTED, code)
            return None
        self._wait(o)
        self._try(o)
        return None

    def _wait(self, o: VestOrder) -> None:
        """NEW: the order waits for the index, off the book."""
        self.waiting.setdefault(o.symbol, {})[o.id] = o
        if o.reserved:
            self.reserved[o.account] = self.reserved.get(o.account, ZERO) + o.reserved
        self._emit(o)

    # ------------------------------------------------------------------ margin and rules

    def _imr(self, account: str, symbol: str) -> Decimal:
        leverage, _ = self.engine.leverage(account, symbol)
        return max(self.markets[symbol].init_margin_ratio, Decimal(1) / leverage)

    def _margin_needed(self, o: VestOrder) -> Decimal:
        return o.size * o.limit_price * self._imr(o.account, o.symbol)

    def open_order_margin(self, account: str) -> Decimal:
        """Margin held by the account's waiting limit orders (Vest's openOrderMargin),
        fixed when each began to wait."""
        return self.reserved.get(account, ZERO)

    def free_margin(self, account: str) -> Decimal:
        return self.engine.balance(account).available - self.open_order_margin(account)

    def _reduce_only_problem(self, o: VestOrder) -> int | None:
        held = self.engine.position(o.account, o.symbol).size
        if held == 0 or (held > 0) == o.is_buy:
            return REDUCE_ONLY_INCREASES
        if o.size > abs(held):
            return REDUCE_ONLY_EXCEEDS_SIZE
        return None

    # ------------------------------------------------------------------ execution

    def _fires(self, o: VestOrder, index: Decimal) -> bool:
        if o.order_type == LIMIT:
            return index <= o.limit_price if o.is_buy else index >= o.limit_price
        if o.order_type == STOP_LOSS:
            return index >= o.limit_price if o.is_buy else index <= o.limit_price
        if o.order_type == TAKE_PROFIT:
            return index <= o.limit_price if o.is_buy else index >= o.limit_price
        return False

    def check_triggers(self) -> None:
        """Fill every waiting order whose trigger the index price has reached; a market
        is looked at again only once it moved (its index, mark or quotes changed)."""
        for symbol, orders in list(self.waiting.items()):
            if not orders:
                continue
            view = self.engine.market(symbol)
            seen = (self.engine.book(symbol, 0).seq, view.index_price, view.mark_price)
            if self._checked.get(symbol) == seen:
                continue
            self._checked[symbol] = seen
            for o in list(orders.values()):
                if self._fires(o, view.index_price):
                    self._try(o, view.index_price, view.mark_price)

    def _try(self, o: VestOrder, index: Decimal | None = None, mark: Decimal | None = None) -> None:
        if index is None or mark is None:
            view = self.engine.market(o.symbol)
            index, mark = view.index_price, view.mark_price
        if not o.live or not self._fires(o, index):
            return
        if o.order_type == LIMIT:
            bound = o.limit_price
        else:
            if o.reduce_only and self._reduce_only_problem(o) is not None:
                return self._end(o, REJECTED, REDUCE_ONLY_INCREASES)
            edge = mark * (1 + TRIGGER_BOUND) if o.is_buy else mark * (1 - TRIGGER_BOUND)
            bound = round_price(edge, self.markets[o.symbol].tick, o.side)
        code = self._execute(o, bound)
        if code in (MARGIN_CHECK_FAILED, REDUCE_ONLY_INCREASES):
            self._end(o, REJECTED, code)
        return None  # PRICE_CHECK_FAILED: the quotes do not allow it yet; keep waiting

    def _execute(self, o: VestOrder, bound: Decimal) -> int | None:
        """Fill `o` whole at `bound` or better through the sim exchange; None when filled,
        else the rejection code (nothing traded)."""
        self._executing = True
        try:
            view = self.engine.place(o.account, o.symbol, o.side, o.size, type=OrderType.LIMIT, price=bound,
                                     tif=TimeInForce.FOK, reduce_only=o.reduce_only)
        except SimReject as exc:
            return REJECTIONS.get(exc.reason, PRICE_CHECK_FAILED)
        finally:
            self._executing = False
        fills = self._fills.pop(view.oid, [])
        self._fills.clear()
        if view.status is not OrderStatus.FILLED or not fills:
            return PRICE_CHECK_FAILED
        size = sum((f.size for f in fills), ZERO)
        o.avg_filled_price = sum((f.price * f.size for f in fills), ZERO) / size
        o.last_filled_size = size
        o.last_filled_price = o.avg_filled_price
        o.last_filled_time = max(f.ts_ms for f in fills)
        o.fees = sum((f.fee for f in fills), ZERO)
        o.realized_pnl = sum((f.realized_pnl for f in fills), ZERO) - o.fees
        self._end(o, FILLED)
        self._after_fill(o)
        return None

    def _after_fill(self, o: VestOrder) -> None:
        if o.parent is not None:  # a TP/SL filled: its sibling is done
            parent = self.orders.get(o.parent)
            for sibling in parent.children if parent else ():
                child = self.orders.get(sibling)
                if child is not None and child.live and child is not o:
                    self._end(child, CANCELLED)
            return
        for kind, price, nonce in ((TAKE_PROFIT, o.tp_price, o.tp_nonce), (STOP_LOSS, o.sl_price, o.sl_nonce)):
            if price is None:
                continue
            child = VestOrder(
                id=self.new_id(), account=o.account, nonce=nonce if nonce is not None else o.nonce, symbol=o.symbol,
                is_buy=not o.is_buy, order_type=kind, limit_price=price, size=o.size, reduce_only=True, tif=None,
                post_time=self.clock.now_ms(), mark_price=self.engine.market(o.symbol).mark_price,
                init_margin_ratio=o.init_margin_ratio, parent=o.id, queued=False,
            )
            o.children.append(child.id)
            self.accept(child)
            self._wait(child)

    # ------------------------------------------------------------------ ends

    def cancel(self, account: str, order_id: str) -> VestOrder:
        o = self.orders.get(order_id)
        if o is None or o.account != account or not o.live:
            raise VestError(ORDER_NOT_FOUND, f"no open order {order_id}")
        self._end(o, CANCELLED)
        for child_id in o.children:
            child = self.orders.get(child_id)
            if child is not None and child.live:
                self._end(child, CANCELLED)
        return o

    def _end(self, o: VestOrder, status: str, code: int | None = None) -> None:
        o.status = status
        o.code = code
        o.queued = False
        self.waiting.get(o.symbol, {}).pop(o.id, None)
        if o.reserved:
            self.reserved[o.account] -= o.reserved
            o.reserved = ZERO
        self._emit(o)

    # ------------------------------------------------------------------ reads

    def of_account(self, account: str) -> list[VestOrder]:
        """The account's orders, newest first."""
        return [self.orders[i] for i in reversed(self.history.get(account, ())) if i in self.orders]

    def by_account_nonce(self, account: str, nonce: int) -> VestOrder | None:
        oid = self.by_nonce.get((account, nonce))
        return self.orders.get(oid) if oid is not None else None
