"""The sim exchange's events: what a listener reads, whenever it reads it."""

from __future__ import annotations

from typing import Any

from simex_support import BTC, D, quiet_engine

from perpd.model import MarginMode, OrderStatus, OrderType, Side
from venues.simex.events import BalanceEvent, FillEvent, OrderEvent, PositionEvent, TradeEvent

BUY, SELL = Side.BUY, Side.SELL
ETH = "ETH-PERP"


def test_an_event_read_later_shows_the_instant_it_was_emitted() -> None:
    engine = quiet_engine()
    engine.set_leverage("b", ETH, 5, MarginMode.ISOLATED)
    kept: list[Any] = []
    at_delivery: list[Any] = []  # the engine's own answers when each event arrived

    def on_event(event: Any) -> None:
        kept.append(event)  # not read now
        if isinstance(event, PositionEvent):
            at_delivery.append(engine.position(event.account, event.symbol))
        elif isinstance(event, BalanceEvent):
            at_delivery.append(engine.balance(event.account))
        elif isinstance(event, FillEvent):
            at_delivery.append(engine.fills(event.account)[-1])
        elif isinstance(event, TradeEvent):
            at_delivery.append(engine.recent_trades(event.symbol, 1)[0])

    engine.subscribe(on_event)
    engine.place("a", BTC, SELL, D("0.05"), price=D(65010))
    engine.place("b", BTC, BUY, D("0.02"), type=OrderType.MARKET)  # b long, a short
    engine.place("b", ETH, BUY, D("1"), price=D(3500))
    engine.place("a", ETH, SELL, D("0.4"), price=D(3500))  # b isolated long on ETH
    engine.set_mark(BTC, D(64000))
    engine.deposit("b", D(-50_000))
    engine.place("b", BTC, SELL, D("0.005"), price=D(63990))
    engine.place("a", BTC, BUY, D("0.02"), type=OrderType.MARKET)  # a closes against b and the rest
    engine.set_leverage("c", BTC, 3)  # a position event for an account with no position
    engine.set_mark(BTC, D(66000))

    # Everything has moved since; the kept events still show their own instant.
    read = [
        e.position if isinstance(e, PositionEvent) else e.balance if isinstance(e, BalanceEvent)
        else e.fill if isinstance(e, FillEvent) else e.trade
        for e in kept if isinstance(e, (PositionEvent, BalanceEvent, FillEvent, TradeEvent))
    ]
    assert read == at_delivery
    assert len({type(e) for e in kept} & {PositionEvent, BalanceEvent, FillEvent, TradeEvent}) == 4
    assert any(isinstance(e, PositionEvent) and e.position.liquidation_price is not None for e in kept)
    assert any(isinstance(e, PositionEvent) and e.position.margin_mode is MarginMode.ISOLATED for e in kept)
    assert any(isinstance(e, PositionEvent) and e.account == "c" and e.position.leverage == 3 for e in kept)


def test_an_event_builds_its_view_once_and_shows_it_in_its_repr() -> None:
    engine = quiet_engine()
    engine.place("a", BTC, SELL, D("0.01"), price=D(65010))
    fills: list[FillEvent] = []
    engine.subscribe(lambda e: fills.append(e) if isinstance(e, FillEvent) else None)
    engine.place("b", BTC, BUY, D("0.01"), type=OrderType.MARKET)
    assert [e.account for e in fills] == ["a", "b"]
    assert fills[0].fill is fills[0].fill
    assert repr(fills[1]) == f"FillEvent(account='b', fill={fills[1].fill!r})"


def test_cancel_answers_the_cancelled_order_after_the_listener_has_gone() -> None:
    engine = quiet_engine()
    unsubscribe = engine.subscribe(lambda e: None)
    view = engine.place("a", BTC, BUY, D("0.01"), price=D(64000))
    engine.edit("a", oid=view.oid, price=D(64100))  # its update is built and not handed back
    unsubscribe()
    cancelled = engine.cancel("a", oid=view.oid)
    assert cancelled is not None
    assert (cancelled.status, cancelled.price) == (OrderStatus.CANCELLED, D(64100))


def test_cancel_answers_the_view_its_order_event_carried() -> None:
    engine = quiet_engine()
    updates: list[OrderEvent] = []
    engine.subscribe(lambda e: updates.append(e) if isinstance(e, OrderEvent) else None)
    view = engine.place("a", BTC, BUY, D("0.01"), price=D(64000))
    cancelled = engine.cancel("a", oid=view.oid)
    assert updates[-1].order == cancelled
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
