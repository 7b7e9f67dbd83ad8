"""Property tests of the sim exchange's invariants, over random sequences of operations.

The book never crosses and its levels add up; fills conserve size (every user fill is
one side of a public trade of the same size and price, both sides agree, and an order's
filled size is the sum of its fills); positions equal the sum of fills; and the wallet
balance moved by exactly realized PnL - fees + funding. Book deltas applied to the first
snapshot rebuild the final book.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpd.clock import ManualClock
from perpd.model import MarginMode, OrderStatus, OrderType, Side, TimeInForce
from venues.simex.events import BookDelta, SimReject
from venues.simex.exchange import SimExchange

ACCOUNTS = ("alice", "bob", "carol")
SYMBOLS = ("BTC-PERP", "SOL-PERP")
D = Decimal
START = D(150)

side = st.sampled_from([Side.BUY, Side.SELL])
who = st.sampled_from(ACCOUNTS)
where = st.sampled_from(SYMBOLS)
op = st.one_of(
    st.tuples(st.just("limit"), who, where, side, st.integers(-40, 40), st.integers(1, 60),
              st.sampled_from(list(TimeInForce)), st.booleans()),
    st.tuples(st.just("market"), who, where, side, st.integers(1, 60), st.booleans()),
    st.tuples(st.just("trigger"), who, where, side, st.sampled_from(
        [OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT_LIMIT]),
        st.integers(-60, 60), st.integers(1, 30)),
    st.tuples(st.just("cancel"), who, st.integers(0, 50)),
    st.tuples(st.just("edit"), who, st.integers(0, 50), st.integers(-40, 40), st.integers(1, 60)),
    st.tuples(st.just("cancel_all"), who),
    st.tuples(st.just("step"), st.integers(1, 20_000)),
    st.tuples(st.just("mark"), where, st.integers(-800, 800)),
    st.tuples(st.just("all_in"), who, where, side),
    st.tuples(st.just("leverage"), who, where, st.integers(1, 45), st.sampled_from(list(MarginMode))),
)


def size_of(engine: SimExchange, symbol: str, units: int) -> Decimal:
    """`units` x a size worth about $12 at the start price (over the $10 minimum)."""
    spec = engine.spec(symbol)
    lots = (D(12) / spec.start_price / spec.lot_size).to_integral_value(rounding="ROUND_CEILING")
    return units * lots * spec.lot_size


def near(engine: SimExchange, symbol: str, offset_bps: int) -> Decimal:
    spec = engine.spec(symbol)
    mark = engine.market(symbol).mark_price
    return max(spec.tick_size, (mark * (1 + D(offset_bps) / 10_000) / spec.tick_size).to_integral_value() * spec.tick_size)


def apply(engine: SimExchange, clock: ManualClock, step: tuple) -> None:
    kind = step[0]
    try:
        if kind == "limit":
            _, account, symbol, s, offset, units, tif, reduce_only = step
            engine.place(account, symbol, s, size_of(engine, symbol, units), price=near(engine, symbol, offset),
                         tif=tif, reduce_only=reduce_only)
        elif kind == "market":
            _, account, symbol, s, units, reduce_only = step
            engine.place(account, symbol, s, size_of(engine, symbol, units), type=OrderType.MARKET,
                         reduce_only=reduce_only)
        elif kind == "trigger":
            _, account, symbol, s, type, offset, units = step
            trigger = near(engine, symbol, offset)
            price = trigger if type.has_limit_price else None
            engine.place(account, symbol, s, size_of(engine, symbol, units), type=type, price=price,
                         trigger_price=trigger)
        elif kind in ("cancel", "edit"):
            account, pick = step[1], step[2]
            live = engine.open_orders(account)
            if not live:
                return
            order = live[pick % len(live)]
            if kind == "cancel":
                engine.cancel(account, oid=order.oid)
            else:
                units = step[4]
                engine.edit(account, oid=order.oid, price=near(engine, order.symbol, step[3]) if order.price else None,
                            size=order.filled + size_of(engine, order.symbol, units))
        elif kind == "cancel_all":
            engine.cancel_all(step[1])
        elif kind == "step":
            engine.step(clock.advance(step[1]))
        elif kind == "mark":
            _, symbol, offset = step
            engine.set_mark(symbol, near(engine, symbol, offset))
        elif kind == "all_in":  # most of the free margin: the next big move liquidates
            _, account, symbol, s = step
            spec = engine.spec(symbol)
            leverage = engine.leverage(account, symbol)[0]
            budget = engine.balance(account).available * leverage * D("0.9") / engine.market(symbol).mark_price
            lots = (budget / spec.lot_size).to_integral_value(rounding="ROUND_FLOOR")
            engine.place(account, symbol, s, max(lots, 1) * spec.lot_size, type=OrderType.MARKET)
        elif kind == "leverage":
            _, account, symbol, leverage, mode = step
            engine.set_leverage(account, symbol, leverage, mode)
    except SimReject:
        pass  # refusals are part of the game; the invariants must hold regardless


def check_book(engine: SimExchange) -> None:
    for m in engine._markets.values():
        bid, ask = m.book.bids.best(), m.book.asks.best()
        assert bid is None or ask is None or bid < ask, f"{m.symbol} crossed: {bid} >= {ask}"
        for side in (m.book.bids, m.book.asks):
            assert side.prices == sorted(side.levels)
            for price, level in side.levels.items():
                assert level.orders, "an empty level stayed on the book"
                assert level.total == sum(o.size - o.filled for o in level.orders.values())
                for o in level.orders.values():
                    assert o.live and o.price == price and 0 <= o.filled < o.size


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(op, min_size=1, max_size=40), seed=st.integers(0, 2**16))
def test_engine_invariants_hold_for_any_sequence_of_operations(steps: list[tuple], seed: int) -> None:
    clock = ManualClock()
    engine = SimExchange(clock=clock, seed=seed, funding_interval_secs=10)
    for account in ACCOUNTS:
        engine.ensure_account(account, START)  # small: margin refusals and liquidations happen
    snapshots = {s: engine.book(s) for s in SYMBOLS}
    books = {s: (dict(b.bids), dict(b.asks), b.seq) for s, b in snapshots.items()}
    trades: dict[int, tuple] = {}

    def on_event(event: object) -> None:
        if isinstance(event, BookDelta) and event.symbol in books:
            bids, asks, seq = books[event.symbol]
            assert event.seq == seq + 1
            for levels, changes in ((bids, event.bids), (asks, event.asks)):
                for price, size in changes:
                    if size:
                        levels[price] = size
                    else:
                        levels.pop(price, None)
            books[event.symbol] = (bids, asks, event.seq)
        trade = getattr(event, "trade", None)
        if trade is not None:
            trades[trade.trade_id] = (trade.symbol, trade.price, trade.size)

    engine.subscribe(on_event)
    for step in steps:
        apply(engine, clock, step)
        check_book(engine)

    for symbol, (bids, asks, seq) in books.items():
        book = engine.book(symbol)
        assert (sorted(bids.items(), reverse=True), sorted(asks.items()), seq) == (list(book.bids), list(book.asks), book.seq)

    sides: dict[int, dict[Side, Decimal]] = defaultdict(dict)
    for account in ACCOUNTS:
        fills = engine.fills(account)
        position = defaultdict(Decimal)
        by_order = defaultdict(Decimal)
        for f in fills:
            position[f.symbol] += f.size if f.side is Side.BUY else -f.size
            by_order[f.oid] += f.size
            if not f.liquidation:  # liquidations trade against the house at the mark
                assert trades[f.trade_id] == (f.symbol, f.price, f.size)
                assert sides[f.trade_id].setdefault(f.side, f.size) == f.size
        for symbol in SYMBOLS:
            assert engine.position(account, symbol).size == position[symbol]
        for oid, filled in by_order.items():
            order = engine.order(account, oid=oid)
            assert order is not None and order.filled == filled
            assert order.status is not OrderStatus.FILLED or order.filled == order.size
        funding = sum(p.amount for p in engine.funding_payments(account))
        realized = sum(f.realized_pnl for f in fills)
        fees = sum(f.fee for f in fills)
        assert engine.balance(account).balance - START == realized - fees + funding
    for by_side in sides.values():
        assert len(set(by_side.values())) == 1, "buyer and seller of a trade disagree on its size"
