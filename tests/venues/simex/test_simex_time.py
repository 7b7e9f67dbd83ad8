"""What happens as sim time passes: triggers, the dead man's switch, makers, determinism."""

from __future__ import annotations

import pytest
from simex_support import BTC, D, quiet_engine

from perpd.clock import ManualClock
from perpd.model import OrderStatus, OrderType, Side
from venues.simex.events import Reason
from venues.simex.exchange import SimExchange

BUY, SELL = Side.BUY, Side.SELL


def with_liquidity():
    engine = quiet_engine()
    engine.place("mm", BTC, SELL, D(5), price=D(66010))
    engine.place("mm", BTC, BUY, D(5), price=D(63990))
    return engine


@pytest.mark.parametrize(
    ("type", "side", "trigger", "fires_at", "stays_at"),
    [
        (OrderType.STOP_MARKET, BUY, D(66000), D(66000), D(65999)),
        (OrderType.STOP_MARKET, SELL, D(64000), D(64000), D(64001)),
        (OrderType.TAKE_PROFIT_MARKET, BUY, D(64000), D(64000), D(64001)),
        (OrderType.TAKE_PROFIT_MARKET, SELL, D(66000), D(66000), D(65999)),
    ],
)
def test_market_triggers_fire_on_the_mark(type, side, trigger, fires_at, stays_at) -> None:
    engine = with_liquidity()
    order = engine.place("a", BTC, side, D("0.01"), type=type, trigger_price=trigger, client_id="t")
    assert order.status is OrderStatus.OPEN and order.waiting_for_trigger
    engine.set_mark(BTC, stays_at)
    assert engine.order("a", client_id="t").waiting_for_trigger
    engine.set_mark(BTC, fires_at)
    fired = engine.order("a", client_id="t")
    assert fired.triggered and fired.status is OrderStatus.FILLED
    assert fired.avg_price == (D(66010) if side is BUY else D(63990))


def test_a_triggered_stop_limit_rests_at_its_limit() -> None:
    engine = with_liquidity()
    engine.place("a", BTC, SELL, D("0.01"), type=OrderType.STOP_LIMIT, price=D(64500),
                 trigger_price=D(64600), client_id="sl")
    engine.set_mark(BTC, D(64600))
    order = engine.order("a", client_id="sl")
    assert order.triggered and order.status is OrderStatus.OPEN and order.price == D(64500)
    assert (D(64500), D("0.01")) in engine.book(BTC).asks


def test_a_trigger_already_crossed_fires_at_once() -> None:
    engine = with_liquidity()
    order = engine.place("a", BTC, BUY, D("0.01"), type=OrderType.STOP_MARKET, trigger_price=D(64000))
    assert order.triggered and order.status is OrderStatus.FILLED


def test_a_reduce_only_stop_is_cancelled_when_its_position_is_gone() -> None:
    engine = with_liquidity()
    engine.place("a", BTC, BUY, D("0.01"), type=OrderType.MARKET)
    engine.place("a", BTC, SELL, D("0.01"), type=OrderType.STOP_MARKET, trigger_price=D(64000),
                 reduce_only=True, client_id="sl")
    engine.place("a", BTC, SELL, D("0.01"), type=OrderType.MARKET)
    order = engine.order("a", client_id="sl")
    assert order.status is OrderStatus.CANCELLED and order.reason is Reason.REDUCE_ONLY


def test_dead_mans_switch_cancels_everything_at_its_deadline_unless_disarmed() -> None:
    clock = ManualClock()
    engine = quiet_engine(clock=clock)
    engine.place("a", BTC, BUY, D("0.01"), price=D(60000), client_id="x")
    engine.place("a", BTC, BUY, D("0.01"), type=OrderType.STOP_MARKET, trigger_price=D(70000), client_id="y")
    engine.cancel_all_after("a", clock.now_ms() + 5_000)
    engine.step(clock.advance(4_999))
    assert len(engine.open_orders("a")) == 2
    engine.step(clock.advance(1))
    assert engine.open_orders("a") == []
    assert engine.order("a", client_id="y").reason is Reason.DEAD_MANS_SWITCH
    engine.place("a", BTC, BUY, D("0.01"), price=D(60000), client_id="z")
    engine.cancel_all_after("a", clock.now_ms() + 5_000)
    engine.cancel_all_after("a", None)
    engine.step(clock.advance(10_000))
    assert engine.order("a", client_id="z").status is OrderStatus.OPEN


def test_makers_keep_a_book_around_a_moving_mark_and_takers_trade() -> None:
    clock = ManualClock()
    engine = SimExchange(clock=clock, seed=3)
    for _ in range(240):  # one simulated minute
        engine.step(clock.advance(250))
        book = engine.book(BTC, 1)
        mark = engine.market(BTC).mark_price
        assert book.bids[0][0] < mark < book.asks[0][0]
        assert book.asks[0][0] - book.bids[0][0] <= mark * D("0.001")
    assert len(engine.recent_trades(BTC)) > 0
    assert engine.market(BTC).mark_price != D(65000)


def test_a_resting_order_fills_when_the_market_moves_through_it() -> None:
    engine = SimExchange(clock=ManualClock(), takers=False)
    engine.place("a", BTC, BUY, D("0.01"), price=D(64900), client_id="dip")
    engine.set_mark(BTC, D(64800))  # the makers re-quote around the new mark and cross it
    order = engine.order("a", client_id="dip")
    assert order.status is OrderStatus.FILLED and order.avg_price == D(64900)


def test_the_same_seed_and_steps_give_the_same_market() -> None:
    def run(seed: int) -> tuple:
        clock = ManualClock()
        engine = SimExchange(clock=clock, seed=seed)
        engine.place("a", BTC, BUY, D("0.05"), price=D(64950))
        for _ in range(200):
            engine.step(clock.advance(250))
        return engine.recent_trades(BTC, 1000), engine.book(BTC), engine.fills("a")

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_a_long_gap_is_simulated_in_bounded_work() -> None:
    clock = ManualClock()
    engine = SimExchange(clock=clock, funding_interval_secs=3600)
    engine.step(clock.advance(3 * 86_400_000))  # a daemon restarted after three days
    assert len(engine.funding_history(BTC)) == 72
    assert engine.now_ms == clock.now_ms()
