"""The trading verbs of the engine: place, cancel, cancel_all, edit, leverage, triggers.

Each verb validates everything before it changes anything, so a SimReject leaves the
exchange exactly as it was.
"""

from __future__ import annotations

from decimal import Decimal

from perpd.model import MarginMode, OrderStatus, OrderType, Side, TimeInForce
from venues.simex.accounts import Account, cash
from venues.simex.events import OrderView, Reason, SimReject
from venues.simex.markets import MarketState
from venues.simex.matching import MatchingCore
from venues.simex.orders import SimOrder

_MARKET_LIKE = frozenset({OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})
_TRIGGERS = frozenset(t for t in OrderType if t.is_trigger)
_LIMIT_PRICED = frozenset(t for t in OrderType if t.has_limit_price)
_BUY, _SELL = Side.BUY, Side.SELL
_USER = Reason.USER
_LIMIT, _MARKET = OrderType.LIMIT, OrderType.MARKET
_GTC, _IOC, _POST_ONLY = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY


class Trading(MatchingCore):
    """Order entry on top of the exchange core (mixed into SimExchange)."""

    _dms: dict[Account, int]

    def _account(self, account: str, balance: Decimal | None = None) -> Account:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ place

    def place(
        self,
        account: str,
        symbol: str,
        side: Side,
        size: Decimal,
        *,
        type: OrderType = OrderType.LIMIT,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        client_id: str | None = None,
    ) -> OrderView:
        """Accept an order (it may fill, rest, or end at once) or raise SimReject.

        `price` is the limit price of limit types; for market types it is the worst
        price accepted (default: the mark +/- the slippage cap). Market types are IOC.
        """
        # _begin() / _end() inlined: this is the hottest path of the engine.
        depth = self._depth
        if not depth:
            now = self._clock.now_ms()
            self._ts = now if now > self._t else self._t
        self._depth = depth + 1
        try:
            o = self._place(account, symbol, side, size, type, price, trigger_price, tif, reduce_only, client_id)
            last = self._last_view
            if last is not None and last[0] is o:  # its final update was just built
                self._last_view = None
                return last[1]  # type: ignore[no-any-return]
            return o.view()
        finally:
            self._depth -= 1
            if not self._depth:
                self._flush()

    def _place(self, account: str, symbol: str, side: Side, size: Decimal, type: OrderType,
               price: Decimal | None, trigger_price: Decimal | None, tif: TimeInForce,
               reduce_only: bool, client_id: str | None) -> SimOrder:
        m = self._markets.get(symbol) or self._market(symbol)
        acct = self._accounts.get(account) or self._account(account)
        is_buy = side is _BUY or (side is not _SELL and Side(side) is _BUY)  # Side(...) costs ~0.4 us
        if type.__class__ is not OrderType:
            type = OrderType(type)
        if tif.__class__ is not TimeInForce:
            tif = TimeInForce(tif)
        if client_id is not None and client_id in acct.by_cid:
            raise SimReject(Reason.DUPLICATE_CLIENT_ID, f"client id {client_id!r} was already used")
        lots = m._lots.get(size)
        if lots is None or lots <= 0:
            lots = self._lots(m, size)
        if price is not None:
            px = m._ticks.get(price)
            if px is None or px <= 0:
                px = self._ticks(m, price)
        else:
            px = None
        if type is _LIMIT:
            if px is None:
                raise SimReject(Reason.BAD_PRICE, "a limit order needs a price")
            if trigger_price is not None:
                raise SimReject(Reason.BAD_TRIGGER, "a limit order takes no trigger price")
            is_trigger = market_like = False
            trig = None
            ref = px
        else:
            is_trigger = type in _TRIGGERS
            market_like = type in _MARKET_LIKE
            if px is None and type in _LIMIT_PRICED:
                raise SimReject(Reason.BAD_PRICE, f"a {type.value} order needs a price")
            trig = None
            if is_trigger:
                if trigger_price is None:
                    raise SimReject(Reason.BAD_TRIGGER, f"a {type.value} order needs a trigger price")
                trig = self._ticks(m, trigger_price, "trigger price")
            elif trigger_price is not None:
                raise SimReject(Reason.BAD_TRIGGER, f"a {type.value} order takes no trigger price")
            if market_like:
                if tif is _GTC or tif is _POST_ONLY:
                    tif = _IOC
                if px is None and type is _MARKET:
                    px = self._worst_price(m, is_buy)
            ref = trig if is_trigger and (px is None or market_like) else (m.mark if market_like else px)
        if reduce_only:
            if not acct.reducible_lots(m, is_buy):
                raise SimReject(Reason.REDUCE_ONLY_WOULD_INCREASE, "reduce-only order would increase the position")
        elif lots < m.min_lots or ref * lots < m.min_units:
            self._check_order(acct, m, is_buy, lots, ref, reduce_only)  # raises with the reason
        if tif is _POST_ONLY and not is_trigger and self._would_cross(m, is_buy, px):  # type: ignore[arg-type]
            raise SimReject(Reason.POST_ONLY_WOULD_CROSS, _cross_message(m))
        inc = 0
        if not reduce_only and not acct.house:
            pos = acct.positions.get(m.symbol)
            current = pos.lots if pos is not None else 0
            if not current or (current > 0) == is_buy:
                inc = lots
            elif lots > abs(current):
                inc = lots - abs(current)
            if inc:
                self._check_margin(acct, m, inc, ref)  # type: ignore[arg-type]
        o = self._new_order(acct, m, is_buy, type, tif, px, trig, lots, reduce_only, client_id)
        o.inc = inc
        if is_trigger:
            self._arm(o)
        else:
            self._execute(o)
        return o

    def _check_order(self, acct: Account, m: MarketState, is_buy: bool, lots: int, ref: int,
                     reduce_only: bool) -> None:
        if reduce_only:
            if not acct.reducible_lots(m, is_buy):
                raise SimReject(Reason.REDUCE_ONLY_WOULD_INCREASE, "reduce-only order would increase the position")
            return
        if lots < m.min_lots:
            raise SimReject(Reason.MIN_SIZE, f"size {lots * m.lot} is below the minimum {m.spec.min_size}")
        notional = ref * lots * m.unit
        if notional < m.min_notional:
            raise SimReject(Reason.MIN_NOTIONAL,
                            f"order value {notional} is below the minimum {m.min_notional}")

    def _arm(self, o: SimOrder) -> None:
        """Park a trigger order until the mark reaches its trigger (now, if it already has)."""
        o.m.triggers[o.oid] = o
        o.acct.open[o.oid] = o
        if o.reduce_only:
            o.acct.ro_count += 1
        if o.trigger_hit(o.m.mark):
            self._fire(o)
        else:
            self._emit_order(o)

    def _fire(self, o: SimOrder) -> None:
        m, acct = o.m, o.acct
        del m.triggers[o.oid]
        if acct.open.pop(o.oid, None) is not None and o.reduce_only:
            acct.ro_count -= 1
        o.triggered = True
        o.updated_ms = self._ts
        if o.reduce_only and not acct.reducible_lots(m, o.is_buy):
            self._retire(o, OrderStatus.CANCELLED, Reason.REDUCE_ONLY)
            self._emit_order(o)
            return
        if o.market_like and o.price is None:
            o.price = self._worst_price(m, o.is_buy)
        if o.tif is TimeInForce.POST_ONLY and self._would_cross(m, o.is_buy, o.price):  # type: ignore[arg-type]
            self._retire(o, OrderStatus.CANCELLED, Reason.POST_ONLY_WOULD_CROSS)
            self._emit_order(o)
            return
        self._execute(o)

    # ------------------------------------------------------------------ cancel

    def _lookup(self, account: str, oid: int | None, client_id: str | None) -> SimOrder | None:
        acct = self._accounts.get(account)
        if acct is None:
            return None
        if client_id is not None:
            return acct.by_cid.get(client_id)
        return acct.by_oid.get(oid) if oid is not None else None

    def cancel(
        self, account: str, *, oid: int | None = None, client_id: str | None = None, reason: Reason = _USER
    ) -> OrderView | None:
        """Cancel a live order by engine id or client id (`reason`: why it ends, the
        owner's request by default); None if no live order has it."""
        depth = self._depth  # _begin() / _end() inlined, as in place()
        if not depth:
            now = self._clock.now_ms()
            self._ts = now if now > self._t else self._t
        self._depth = depth + 1
        try:
            acct = self._accounts.get(account)
            if acct is None:
                return None
            o = acct.by_cid.get(client_id) if client_id is not None else acct.by_oid.get(oid)  # type: ignore[arg-type]
            if o is None or not self._cancel(o, reason):
                return None
            last = self._last_view
            if last is not None and last[0] is o:  # its update was just built (as in place())
                self._last_view = None
                return last[1]  # type: ignore[no-any-return]
            return o.view()
        finally:
            self._depth -= 1
            if not self._depth:
                self._flush()

    def cancel_all(self, account: str, symbol: str | None = None) -> list[OrderView]:
        """Cancel every live order of `account` (on one market, or all); oldest first."""
        self._begin()
        try:
            acct = self._accounts.get(account)
            if acct is None:
                return []
            m = self._market(symbol) if symbol is not None else None
            out = []
            for o in sorted(acct.open.values(), key=lambda o: o.oid):
                if (m is None or o.m is m) and self._cancel(o, Reason.USER):
                    out.append(o.view())
            return out
        finally:
            self._end()

    def cancel_all_after(self, account: str, deadline_ms: int | None) -> None:
        """Arm the dead man's switch: at `deadline_ms` cancel every order. None disarms."""
        self._begin()
        try:
            acct = self._account(account)
            acct.dms_deadline = deadline_ms
            if deadline_ms is None:
                self._dms.pop(acct, None)
            else:
                self._dms[acct] = deadline_ms
        finally:
            self._end()

    # ------------------------------------------------------------------ edit

    def replace(self, account: str, *, oid: int, price: Decimal | None = None, size: Decimal | None = None,
                trigger_price: Decimal | None = None) -> OrderView:
        """Cancel a live order and place its replacement under the same client id with a
        new oid (Hyperliquid's modify). `size` is the replacement's own size (what is left
        to trade); the replaced order ends cancelled with what it filled. A refused
        replacement raises SimReject with the original already cancelled."""
        o = self._lookup(account, oid, None)
        if o is None or not o.live:
            raise SimReject(Reason.UNKNOWN_ORDER, "no live order with that id")
        m = o.m
        new_size = size if size is not None else (o.size - o.filled) * m.lot
        new_price = price if price is not None else (o.price * m.tick if o.price is not None else None)
        new_trigger = trigger_price if trigger_price is not None else (o.trigger * m.tick if o.trigger is not None else None)
        self._begin()
        try:
            cid = o.client_id
            self._cancel(o, Reason.USER)
            if cid is not None:
                del o.acct.by_cid[cid]  # the replacement takes the client id over
            new = self._place(account, m.symbol, _BUY if o.is_buy else Side.SELL, new_size, o.type, new_price,
                              new_trigger, o.tif, o.reduce_only, cid)
            return new.view()
        finally:
            self._end()

    def edit(self, account: str, *, oid: int | None = None, client_id: str | None = None,
             price: Decimal | None = None, size: Decimal | None = None,
             trigger_price: Decimal | None = None) -> OrderView:
        """Amend a live order in place (same oid and client id). `size` is the new total
        size. Time priority is kept only when the price is unchanged and the size does
        not grow; otherwise the order goes to the back of its (new) level, and may trade."""
        self._begin()
        try:
            o = self._lookup(account, oid, client_id)
            if o is None or not o.live:
                raise SimReject(Reason.UNKNOWN_ORDER, "no live order with that id")
            self._edit(o, price, size, trigger_price)
            return o.view()
        finally:
            self._end()

    def _edit(self, o: SimOrder, price: Decimal | None, size: Decimal | None,
              trigger_price: Decimal | None) -> None:
        m, acct = o.m, o.acct
        waiting = o.trigger is not None and not o.triggered
        new_px = self._ticks(m, price) if price is not None else o.price
        new_size = self._lots(m, size) if size is not None else o.size
        if trigger_price is not None and not waiting:
            raise SimReject(Reason.BAD_TRIGGER, "only an untriggered trigger order has a trigger price to edit")
        new_trig = self._ticks(m, trigger_price, "trigger price") if trigger_price is not None else o.trigger
        if new_size <= o.filled:
            raise SimReject(Reason.BAD_SIZE, f"new size {new_size * m.lot} is not above the filled {o.filled * m.lot}")
        remaining = new_size - o.filled
        ref = new_trig if waiting and (new_px is None or o.market_like) else new_px
        self._check_order(acct, m, o.is_buy, new_size, ref, o.reduce_only)  # type: ignore[arg-type]
        if o.tif is TimeInForce.POST_ONLY and not waiting and self._would_cross(m, o.is_buy, new_px):  # type: ignore[arg-type]
            raise SimReject(Reason.POST_ONLY_WOULD_CROSS, _cross_message(m))
        inc = 0
        if not o.reduce_only and not acct.house:
            inc = acct.increasing_lots(m, o.is_buy, remaining)
            extra = inc * ref - o.reserved  # type: ignore[operator]
            if extra > 0:
                self._check_margin(acct, m, extra, 1)
        o.inc = inc
        o.updated_ms = self._ts
        if waiting:
            o.price, o.size, o.trigger = new_px, new_size, new_trig
            if o.trigger_hit(m.mark):
                self._fire(o)
            else:
                self._emit_order(o)
            return
        side = m.book.side(o.is_buy)
        if new_px == o.price and new_size <= o.size:  # keeps its place in the queue
            if new_size < o.size:
                side.reduce(side.levels[o.price], o.size - new_size)  # type: ignore[index]
                self._dirty_books.add(m)
                o.size = new_size
            self._reserve(o)
            self._emit_order(o)
            return
        self._unrest(o)
        o.price, o.size = new_px, new_size
        self._execute(o)

    # ------------------------------------------------------------------ leverage

    def set_leverage(self, account: str, symbol: str, leverage: int,
                     margin_mode: MarginMode | None = None) -> None:
        """Set leverage (1..max) and margin mode of one market. The mode cannot change
        with a position open, nor can an isolated position's leverage go down."""
        self._begin()
        try:
            m = self._market(symbol)
            acct = self._account(account)
            if not isinstance(leverage, int) or not 1 <= leverage <= m.max_leverage:
                raise SimReject(Reason.BAD_LEVERAGE, f"leverage must be 1..{m.max_leverage} on {m.symbol} (got {leverage})")
            old = acct.lev(m)
            mode = MarginMode(margin_mode) if margin_mode is not None else old[1]
            if acct.lots(m):
                if mode is not old[1]:
                    raise SimReject(Reason.POSITION_OPEN, "cannot change margin mode with an open position")
                if mode is MarginMode.ISOLATED and leverage < old[0]:
                    raise SimReject(Reason.POSITION_OPEN, "cannot lower the leverage of an open isolated position")
            acct.set_lev(m, leverage, mode)
            if leverage < old[0] and acct.available(self._markets) < 0:
                acct.set_lev(m, *old)
                raise SimReject(Reason.INSUFFICIENT_MARGIN, "not enough margin for that leverage")
            self._touch(acct, m.symbol)
        finally:
            self._end()

    def adjust_isolated_margin(self, account: str, symbol: str, amount: Decimal) -> None:
        """Add (or with a negative amount, remove) collateral of an open isolated position.
        Adding needs that much available; what stays must cover the position's initial margin."""
        self._begin()
        try:
            m = self._market(symbol)
            acct = self._account(account)
            pos = acct.positions.get(m.symbol)
            if pos is None or not pos.lots or acct.lev(m)[1] is not MarginMode.ISOLATED:
                raise SimReject(Reason.POSITION_OPEN, f"no open isolated position on {m.symbol}")
            if amount > 0 and acct.available(self._markets) < amount:
                raise SimReject(Reason.INSUFFICIENT_MARGIN, "not enough available collateral to add")
            if amount < 0 and pos.iso_margin + amount < abs(pos.lots) * m.mark * acct.k(m):
                raise SimReject(Reason.INSUFFICIENT_MARGIN, "the position would fall below its initial margin")
            pos.iso_margin = cash(pos.iso_margin + amount)
            acct.base = None
            self._touch(acct, m.symbol)
        finally:
            self._end()


def _cross_message(m: MarketState) -> str:
    bid, ask = m.book.bids.best(), m.book.asks.best()
    bbo = (bid * m.tick if bid is not None else None, ask * m.tick if ask is not None else None)
    return f"post-only order would have immediately matched, bbo was {bbo[0]}@{bbo[1]}"
