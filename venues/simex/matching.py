"""The exchange core: order entry, price-time matching and clearing.

`SimExchange` (exchange.py) is the public face; this base class holds the parts every
operation shares. Conventions: prices are integer ticks and sizes integer lots inside;
each public call runs between `_begin()` and `_end()`, and events produced during the
call are delivered to listeners once, in order, when the outermost call ends
(delivery.py).
"""

from __future__ import annotations

from bisect import insort
from decimal import Decimal
from typing import Any

from perpd.clock import Clock
from perpd.model import Liquidity, OrderStatus, OrderType, Side, TimeInForce, normalize_symbol
from venues.simex.accounts import Account
from venues.simex.book import Level
from venues.simex.delivery import EventDelivery
from venues.simex.events import FillEvent, PublicTrade, Reason, SimFill, SimReject, TradeEvent
from venues.simex.markets import MarketState
from venues.simex.orders import SimOrder

_FILLED = OrderStatus.FILLED
_CANCELLED = OrderStatus.CANCELLED
_PARTIAL = OrderStatus.PARTIALLY_FILLED
_OPEN = OrderStatus.OPEN
_IOC = TimeInForce.IOC
_GTC = TimeInForce.GTC
_FOK = TimeInForce.FOK
_POST_ONLY = TimeInForce.POST_ONLY
_ZERO = Decimal(0)
_MAKER, _TAKER = Liquidity.MAKER, Liquidity.TAKER
_BUY, _SELL = Side.BUY, Side.SELL
_new = tuple.__new__


class MatchingCore(EventDelivery):
    """Order books, accounts and matching. Not used directly: see SimExchange."""

    _accounts: dict[str, Account]

    def _init_core(self, clock: Clock, market_slippage_bps: int) -> None:
        self._clock = clock
        self._orders: dict[int, SimOrder] = {}  # remembered non-house orders by oid
        self._next_oid = 1
        self._next_tid = 1
        self._next_prio = 1
        self._init_delivery()
        self._t = clock.now_ms()  # simulated time reached by step()
        self._ts = self._t  # timestamp of the operation in progress
        self._slippage_bps = market_slippage_bps

    # ------------------------------------------------------------------ lookups

    def _market(self, symbol: str) -> MarketState:
        m = self._markets.get(symbol)
        if m is None:
            try:
                m = self._markets.get(normalize_symbol(symbol))
            except ValueError:
                m = None
            if m is None:
                raise SimReject(Reason.UNKNOWN_MARKET, f"unknown market {symbol!r}")
        return m

    def _ticks(self, m: MarketState, price: Decimal, what: str = "price") -> int:
        ticks = m.ticks_of(price)
        if ticks is None:
            raise SimReject(Reason.BAD_TICK, f"{what} {price} is not a multiple of tick {m.tick}")
        if ticks <= 0:
            raise SimReject(Reason.BAD_TRIGGER if what == "trigger price" else Reason.BAD_PRICE,
                            f"{what} must be positive (got {price})")
        return ticks

    def _lots(self, m: MarketState, size: Decimal) -> int:
        lots = m.lots_of(size)
        if lots is None:
            raise SimReject(Reason.BAD_LOT, f"size {size} is not a multiple of lot {m.lot}")
        if lots <= 0:
            raise SimReject(Reason.BAD_SIZE, f"size must be positive (got {size})")
        return lots

    def _worst_price(self, m: MarketState, is_buy: bool) -> int:
        """Default worst price of a market order: the mark +/- the slippage cap."""
        bps = self._slippage_bps
        if is_buy:
            return m.mark * (10_000 + bps) // 10_000
        return max(1, -(-m.mark * (10_000 - bps) // 10_000))

    @staticmethod
    def _would_cross(m: MarketState, is_buy: bool, price: int) -> bool:
        best = m.book.asks.best() if is_buy else m.book.bids.best()
        return best is not None and (price >= best if is_buy else price <= best)

    def _check_margin(self, acct: Account, m: MarketState, lots: int, price: int) -> None:
        need = lots * price * acct.k(m)
        available = acct.available(self._markets)
        if need > available:
            raise SimReject(
                Reason.INSUFFICIENT_MARGIN,
                f"insufficient margin: order needs {need:.2f}, available {max(available, Decimal(0)):.2f}",
            )

    # ------------------------------------------------------------------ order life

    def _remember(self, o: SimOrder) -> None:
        acct = o.acct
        acct.by_oid[o.oid] = o
        if o.client_id is not None:
            acct.by_cid[o.client_id] = o
        self._orders[o.oid] = o

    def _rest(self, o: SimOrder) -> None:
        m, acct = o.m, o.acct
        o.prio = self._next_prio
        self._next_prio += 1
        # BookSide.add and _reserve, inlined: every resting order comes through here.
        side = m.book.bids if o.is_buy else m.book.asks
        price = o.price
        level = side.levels.get(price)
        if level is None:
            level = side.levels[price] = Level(price)
            insort(side.prices, price)
        level.orders[o.oid] = o
        remaining = o.size - o.filled
        level.total += remaining
        side.changed.add(price)
        self._dirty_books.add(m)
        acct.open[o.oid] = o
        o.status = _PARTIAL if o.filled else _OPEN
        if o.reduce_only:
            acct.ro_count += 1
        elif not acct.house:
            units = (o.inc if o.inc < remaining else remaining) * price  # type: ignore[operator]
            delta = units - o.reserved
            if delta:
                units_by_symbol = acct.order_units
                units_by_symbol[m.symbol] = units_by_symbol.get(m.symbol, 0) + delta
                o.reserved = units

    def _unrest(self, o: SimOrder) -> None:
        """Take a resting order off the book without ending it (an edit re-queues it)."""
        m, acct = o.m, o.acct
        m.book.side(o.is_buy).remove(o)
        self._dirty_books.add(m)
        if acct.open.pop(o.oid, None) is not None and o.reduce_only:
            acct.ro_count -= 1

    def _reserve(self, o: SimOrder) -> None:
        """Reserve margin for the part of a resting order that would grow the position."""
        acct = o.acct
        if acct.house or o.reduce_only:
            return
        remaining = o.size - o.filled
        status = o.status
        if status is _OPEN or status is _PARTIAL:
            units = (o.inc if o.inc < remaining else remaining) * o.price
        else:
            units = 0
        delta = units - o.reserved
        if delta:
            units_by_symbol = acct.order_units
            symbol = o.m.symbol
            units_by_symbol[symbol] = units_by_symbol.get(symbol, 0) + delta
            o.reserved = units

    def _retire(self, o: SimOrder, status: OrderStatus, reason: Reason | None) -> None:
        """Bookkeeping of an order's end; the caller already took it off book/triggers."""
        o.status = status
        o.reason = reason
        o.updated_ms = self._ts
        acct = o.acct
        if acct.open.pop(o.oid, None) is not None and o.reduce_only:
            acct.ro_count -= 1
        if o.reserved:
            acct.order_units[o.m.symbol] -= o.reserved
            o.reserved = 0
        if acct.house:
            return
        history = acct.history
        history.append(o)
        if len(history) > acct.history_limit:
            old = history.popleft()
            acct.by_oid.pop(old.oid, None)
            self._orders.pop(old.oid, None)
            if old.client_id is not None and acct.by_cid.get(old.client_id) is old:
                del acct.by_cid[old.client_id]

    def _cancel(self, o: SimOrder, reason: Reason) -> bool:
        status = o.status
        if status is not _OPEN and status is not _PARTIAL:
            return False
        m = o.m
        if o.trigger is not None and not o.triggered:
            m.triggers.pop(o.oid, None)
        else:
            side = m.book.bids if o.is_buy else m.book.asks
            price = o.price
            level = side.levels[price]
            del level.orders[o.oid]
            level.total -= o.size - o.filled
            if not level.orders:
                side.drop_if_empty(level)
            side.changed.add(price)
            self._dirty_books.add(m)
        self._retire(o, _CANCELLED, reason)
        if self._listeners:
            self._emit_order(o)
        return True

    def _execute(self, o: SimOrder) -> None:
        """Match a new (or re-queued) order, then rest it or end it by its time in force."""
        tif = o.tif
        if (tif is _GTC or tif is _POST_ONLY) and not o.market_like:
            # The common case of a passive order that does not cross: straight to the book.
            opp = o.m.book.asks if o.is_buy else o.m.book.bids
            prices = opp.prices
            if not prices or (prices[0] > o.price if o.is_buy else prices[-1] < o.price):  # type: ignore[operator]
                self._rest(o)
                if self._listeners:
                    self._emit_order(o)
                return
        if o.tif is _FOK and not self._fillable(o):
            self._retire(o, _CANCELLED, Reason.FOK_UNFILLABLE)
            self._emit_order(o)
            return
        self._match(o)
        remaining = o.size - o.filled
        if not remaining:
            self._retire(o, _FILLED, None)
        elif o.reduce_only and not o.acct.reducible_lots(o.m, o.is_buy):
            self._retire(o, _CANCELLED, Reason.REDUCE_ONLY)
        elif o.market_like or o.tif is _IOC or o.tif is _FOK:
            reason = Reason.NO_LIQUIDITY if o.market_like and not o.filled else Reason.IOC_UNFILLED
            self._retire(o, _CANCELLED, reason)
        else:
            self._rest(o)
        o.updated_ms = self._ts
        self._emit_order(o)

    def _fillable(self, o: SimOrder) -> bool:
        acct, m = o.acct, o.m
        need = o.size - o.filled
        if o.reduce_only and acct.reducible_lots(m, o.is_buy) < need:
            return False
        opp = m.book.opposite(o.is_buy)
        for price in opp.marketable(o.price, o.is_buy):  # type: ignore[arg-type]
            for maker in opp.levels[price].orders.values():
                if maker.acct is acct and not acct.house:
                    continue
                need -= maker.size - maker.filled
                if need <= 0:
                    return True
        return False

    def _match(self, o: SimOrder) -> None:
        m, acct, is_buy, limit = o.m, o.acct, o.is_buy, o.price
        opp = m.book.asks if is_buy else m.book.bids
        prices, levels = opp.prices, opp.levels
        while o.filled < o.size and prices:
            best = prices[0] if is_buy else prices[-1]
            if (best > limit) if is_buy else (best < limit):  # type: ignore[operator]
                break
            level = levels[best]
            maker = next(iter(level.orders.values()))
            if maker.acct is acct and not acct.house:
                self._cancel(maker, Reason.SELF_TRADE)  # expire the maker, keep the taker
                continue
            lots = o.size - o.filled
            if maker.size - maker.filled < lots:
                lots = maker.size - maker.filled
            if o.reduce_only:
                allowed = acct.reducible_lots(m, is_buy)
                if not allowed:
                    break
                lots = min(lots, allowed)
            if maker.reduce_only:
                allowed = maker.acct.reducible_lots(m, maker.is_buy)
                if not allowed:
                    self._cancel(maker, Reason.REDUCE_ONLY)
                    continue
                lots = min(lots, allowed)
            self._trade(m, opp, level, maker, o, best, lots)

    def _trade(self, m: MarketState, opp: Any, level: Any, maker: SimOrder, taker: SimOrder,
               price: int, lots: int) -> None:
        ts = self._ts
        maker.filled += lots
        maker.notional += price * lots
        taker.filled += lots
        taker.notional += price * lots
        level.total -= lots
        opp.changed.add(price)
        self._dirty_books.add(m)
        if maker.filled == maker.size:
            del level.orders[maker.oid]
            if not level.orders:
                opp.drop_if_empty(level)
            self._retire(maker, _FILLED, None)
        else:
            maker.status = _PARTIAL
            maker.updated_ms = ts
            self._reserve(maker)
        tid = self._next_tid
        self._next_tid += 1
        self._record_trade(m, tid, price, lots, taker, maker.acct.id, maker.oid)
        if not maker.acct.house:
            self._clear(maker, price, lots, _MAKER, tid)
            if self._listeners:
                self._emit_order(maker)
        if not taker.acct.house:
            self._clear(taker, price, lots, _TAKER, tid)

    def _record_trade(self, m: MarketState, tid: int, price: int, lots: int, taker: SimOrder,
                      maker_account: str, maker_oid: int) -> None:
        ts = self._ts
        if taker.is_buy:
            row = (tid, price, lots, True, taker.acct.id, maker_account, taker.oid, maker_oid, ts)
        else:
            row = (tid, price, lots, False, maker_account, taker.acct.id, maker_oid, taker.oid, ts)
        m.trades.append(row)
        m.last_price = price
        minute = ts - ts % 60_000
        candles = m.candles
        if candles and candles[-1][0] == minute:
            c = candles[-1]
            if price > c[2]:
                c[2] = price
            if price < c[3]:
                c[3] = price
            c[4] = price
            c[5] += lots
            c[6] += 1
        else:
            candles.append([minute, price, price, price, price, lots, 1])
        if self._listeners:
            self._pending.append(TradeEvent(m.symbol, public_trade, m, row))

    def _clear(self, o: SimOrder, price: int, lots: int, liquidity: Liquidity, tid: int,
               liquidation: bool = False) -> None:
        acct, m = o.acct, o.m
        fee_unit = m.maker_fee_unit if liquidity is _MAKER else m.taker_fee_unit
        realized, fee, start = acct.apply_fill(m, o.is_buy, price, lots, fee_unit)
        if start + (lots if o.is_buy else -lots):
            m.holders.add(acct)
        else:
            m.holders.discard(acct)
        # Kept raw (ints) and turned into SimFill only when someone looks: fills are hot.
        row = (m, tid, o.oid, o.client_id, o.is_buy, price, lots, fee, liquidity, realized, start,
               self._ts, liquidation)
        acct.fills.append(row)
        if self._listeners:
            self._pending.append(FillEvent(acct.id, fill_view, acct.id, row))
            symbols = self._touched.get(acct)  # _touch, inlined
            if symbols is None:
                self._touched[acct] = {m.symbol}
            else:
                symbols.add(m.symbol)
        if acct.ro_count:
            self._sweep_reduce_only(acct, m)

    def _sweep_reduce_only(self, acct: Account, m: MarketState) -> None:
        """Cancel reduce-only orders that can no longer reduce (position gone or flipped)."""
        for o in [o for o in acct.open.values() if o.reduce_only and o.m is m]:
            if not acct.reducible_lots(m, o.is_buy):
                self._cancel(o, Reason.REDUCE_ONLY)

    def _new_order(self, acct: Account, m: MarketState, is_buy: bool, type: OrderType,
                   tif: TimeInForce, price: int | None, trigger: int | None, lots: int,
                   reduce_only: bool, client_id: str | None) -> SimOrder:
        oid = self._next_oid
        self._next_oid += 1
        o = SimOrder(oid, acct, m, is_buy, type, tif, price, trigger, lots, reduce_only, client_id, self._ts)
        if not acct.house:  # _remember, inlined
            acct.by_oid[oid] = o
            if client_id is not None:
                acct.by_cid[client_id] = o
            self._orders[oid] = o
        return o


# The views below are built with tuple.__new__, what their NamedTuple constructors call
# (every field given, in order): direct, it costs half as much, once per fill or trade.

def fill_view(account: str, row: tuple) -> SimFill:
    m, tid, oid, cid, is_buy, price, lots, fee, liquidity, realized, start, ts, liquidation = row
    return _new(SimFill, (tid, oid, cid, account, m.symbol, _BUY if is_buy else _SELL, price * m.tick,
                          lots * m.lot, fee, liquidity, realized, start * m.lot, ts, liquidation))


def public_trade(m: MarketState, row: tuple) -> PublicTrade:
    tid, price, lots, taker_buys, buyer, seller, buy_oid, sell_oid, ts = row
    return _new(PublicTrade, (tid, m.symbol, price * m.tick, lots * m.lot, _BUY if taker_buys else _SELL,
                              buyer, seller, buy_oid, sell_oid, ts))
