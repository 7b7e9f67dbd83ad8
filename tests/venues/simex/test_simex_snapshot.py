"""Snapshot and restore of the sim exchange: JSON round trip, what survives, what is dropped."""

from __future__ import annotations

import json

from simex_support import BTC, D, still_spec

from perpd.clock import ManualClock
from perpd.model import MarginMode, OrderStatus, OrderType, Side
from venues.simex.events import Reason
from venues.simex.exchange import SimExchange

BUY, SELL = Side.BUY, Side.SELL
ETH = "ETH-PERP"


def busy_engine(clock: ManualClock) -> SimExchange:
    engine = SimExchange(clock=clock, seed=5, funding_interval_secs=60)
    engine.set_leverage("a", BTC, 5, MarginMode.ISOLATED)
    engine.place("a", BTC, BUY, D("0.05"), type=OrderType.MARKET, client_id="opened")
    engine.place("a", BTC, BUY, D("0.01"), price=D(60000), client_id="first")
    engine.place("b", BTC, BUY, D("0.01"), price=D(60000), client_id="second")
    engine.place("a", BTC, SELL, D("0.05"), type=OrderType.STOP_MARKET, trigger_price=D(50000),
                 reduce_only=True, client_id="stop")
    engine.place("a", ETH, SELL, D("0.5"), type=OrderType.MARKET, client_id="eth")
    engine.place("a", ETH, BUY, D("0.5"), price=D(3000), client_id="cancelled")
    engine.cancel("a", client_id="cancelled")
    engine.cancel_all_after("b", clock.now_ms() + 600_000)
    engine.step(clock.advance(150_000))
    return engine


def user_view(engine: SimExchange) -> tuple:
    return tuple(
        (engine.balance(a), engine.positions(a), engine.open_orders(a), engine.fills(a),
         engine.funding_payments(a), engine.leverage(a, BTC), engine.order(a, client_id="cancelled"))
        for a in ("a", "b")
    )


def test_a_json_round_trip_restores_everything_an_account_can_see() -> None:
    clock = ManualClock()
    engine = busy_engine(clock)
    state = json.loads(json.dumps(engine.to_state()))
    restored = SimExchange.from_state(state, clock=clock)
    assert user_view(restored) == user_view(engine)
    assert engine.funding_payments("a"), "the scenario should have paid funding"
    assert restored.market(BTC).mark_price == engine.market(BTC).mark_price
    assert restored.recent_trades(BTC, 1000) == engine.recent_trades(BTC, 1000)
    assert restored.funding_history(BTC) == engine.funding_history(BTC)


def test_restored_orders_keep_their_queue_places_ids_and_deadlines() -> None:
    clock = ManualClock()
    restored = SimExchange.from_state(busy_engine(clock).to_state(), clock=clock, makers=False, takers=False)
    taker = restored.place("t", BTC, SELL, D("0.01"), type=OrderType.MARKET, price=D(60000))
    assert taker.filled == D("0.01")
    assert restored.order("a", client_id="first").status is OrderStatus.FILLED  # it was first in line
    assert restored.order("b", client_id="second").status is OrderStatus.OPEN
    fresh = restored.place("c", BTC, BUY, D("0.01"), price=D(59000))
    assert fresh.oid > restored.order("a", client_id="stop").oid  # ids keep increasing
    restored.step(clock.advance(600_000))
    assert restored.order("b", client_id="second").reason is Reason.DEAD_MANS_SWITCH
    restored.place("mm", BTC, BUY, D(1), price=D(50000))
    restored.set_mark(BTC, D(50000))  # the restored stop still protects the position
    stop = restored.order("a", client_id="stop")
    assert stop.triggered and stop.status is OrderStatus.FILLED
    assert stop.avg_price == (D(59000) * D("0.01") + D(50000) * D("0.04")) / D("0.05")  # c, then mm
    # the 0.01 that "first" added is left, and 5x isolated cannot carry it at 50000
    assert restored.fills("a")[-1].liquidation and restored.fills("a")[-1].size == D("0.01")
    assert restored.position("a", BTC).size == 0


def test_a_market_no_longer_configured_is_dropped_with_a_warning() -> None:
    clock = ManualClock()
    state = busy_engine(clock).to_state()
    engine = SimExchange([still_spec(BTC)], clock=clock)
    warnings = engine.restore(state)
    assert any("ETH-PERP" in w for w in warnings)
    assert engine.position("a", BTC).size == D("0.05")
    assert [o.client_id for o in engine.open_orders("a")] == ["first", "stop"]


def test_a_save_after_more_trading_holds_the_new_ends_and_no_stale_order() -> None:
    """Ended orders' saved forms are built once and kept (the periodic save stays cheap
    with a full history); an order saved live and ended since is saved as it ended."""
    clock = ManualClock()
    engine = busy_engine(clock)
    engine.to_state()  # "first" and "second" saved while resting
    engine.cancel("a", client_id="first")
    engine.cancel("b", client_id="second")
    engine.place("a", ETH, BUY, D("0.5"), type=OrderType.MARKET, client_id="closed")
    engine.to_state()
    engine.step(clock.advance(1_000))
    restored = SimExchange.from_state(json.loads(json.dumps(engine.to_state())), clock=clock)
    assert user_view(restored) == user_view(engine)
    assert restored.order("a", client_id="first").status is OrderStatus.CANCELLED
    assert restored.order("b", client_id="second").status is OrderStatus.CANCELLED
    assert restored.order("a", client_id="closed").status is OrderStatus.FILLED
