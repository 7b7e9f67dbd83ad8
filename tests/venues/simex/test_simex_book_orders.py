"""The sim exchange's order-by-order view of its book: owners, ids, amounts, priority."""

from __future__ import annotations

from simex_support import BTC, D, quiet_engine

from perpd.model import OrderType, Side
from venues.simex.events import RestingOrder

BUY, SELL = Side.BUY, Side.SELL


def test_book_orders_lists_each_order_best_price_first_then_time_priority() -> None:
    engine = quiet_engine()
    a = engine.place("a", BTC, SELL, D("0.02"), price=D(65010), client_id="a1")
    b = engine.place("b", BTC, SELL, D("0.01"), price=D(65010))
    c = engine.place("c", BTC, SELL, D("0.03"), price=D(65005))
    d = engine.place("d", BTC, BUY, D("0.01"), price=D(64990))
    engine.place("t", BTC, BUY, D("0.035"), type=OrderType.MARKET)  # takes c and 0.005 of a

    book = engine.book_orders(BTC)
    assert book.asks == (
        RestingOrder(a.oid, "a", "a1", SELL, D(65010), D("0.02"), D("0.015"), a.created_ms),
        RestingOrder(b.oid, "b", None, SELL, D(65010), D("0.01"), D("0.01"), b.created_ms),
    )
    assert book.bids == (RestingOrder(d.oid, "d", None, BUY, D(64990), D("0.01"), D("0.01"), d.created_ms),)
    assert c.oid not in {o.oid for o in book.asks}
    assert book.seq == engine.book(BTC).seq
    assert engine.book_orders(BTC, limit=1).asks == book.asks[:1]


def test_an_edit_that_loses_priority_moves_the_order_behind_the_level() -> None:
    engine = quiet_engine()
    engine.place("a", BTC, BUY, D("0.01"), price=D(64990), client_id="a1")
    engine.place("b", BTC, BUY, D("0.01"), price=D(64990), client_id="b1")
    engine.edit("a", client_id="a1", size=D("0.02"))  # growing loses time priority
    assert [o.account for o in engine.book_orders(BTC).bids] == ["b", "a"]


def test_level_counts_match_the_levels_book_lists() -> None:
    engine = quiet_engine()
    for account in ("a", "b", "c"):
        engine.place(account, BTC, BUY, D("0.01"), price=D(64990))
    engine.place("d", BTC, BUY, D("0.01"), price=D(64980))
    engine.place("e", BTC, SELL, D("0.01"), price=D(65020))
    bids, asks = engine.level_counts(BTC, 1)
    assert (bids, asks) == ((3,), (1,))
    assert engine.level_counts(BTC) == ((3, 1), (1,))
    assert [p for p, _ in engine.book(BTC).bids] == [D(64990), D(64980)]
