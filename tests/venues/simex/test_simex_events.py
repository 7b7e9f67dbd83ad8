"""The sim exchange's events: what a listener reads, whenever it reads it."""

from __future__ import annotations

from simex_support import BTC, D, quiet_engine

from perpd.model import OrderStatus, Side
from venues.simex.events import OrderEvent

BUY, SELL = Side.BUY, Side.SELL


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
