"""The local order book applies Lighter's snapshot and deltas and sees nonce gaps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lighter_support import fixture

from venues.lighter.book import BookGap, LocalBook


def snapshot_book() -> LocalBook:
    book = LocalBook("lighter", "ETH-PERP")
    message = fixture("ws_order_book.subscribed.docs.nautilus.json")
    book.apply_snapshot(message["order_book"], message["timestamp"])
    return book


def test_snapshot_sets_levels_best_first_and_the_nonce() -> None:
    book = snapshot_book()
    assert book.best_bid == Decimal("2000.00") and book.best_ask == Decimal("2325.00")
    assert [lv.price for lv in book.snapshot().asks] == [Decimal("2325.00"), Decimal("2341.25")]
    assert book.nonce == 904845 and book.offset == 2164


def test_an_empty_snapshot_is_a_ready_empty_book() -> None:
    book = LocalBook("lighter", "X-PERP")
    book.apply_snapshot(fixture("ws_order_book.subscribed_empty.docs.nautilus.json")["order_book"])
    assert book.ready and book.best_bid is None and book.best_ask is None


def test_a_delta_that_continues_the_nonce_applies_and_zero_size_removes() -> None:
    book = snapshot_book()
    book.apply_delta({
        "asks": [{"price": "2325.00", "size": "0.0000"}, {"price": "2330.00", "size": "1.5000"}],
        "bids": [{"price": "2001.00", "size": "2.0000"}],
        "offset": 2165, "nonce": 904846, "begin_nonce": 904845,
    })
    assert book.best_ask == Decimal("2330.00") and book.best_bid == Decimal("2001.00")
    assert book.nonce == 904846
    assert [lv.price for lv in book.snapshot().bids] == [Decimal("2001.00"), Decimal("2000.00")]


def test_a_delta_whose_begin_nonce_skips_ahead_is_a_gap() -> None:
    book = snapshot_book()
    update = fixture("ws_order_book.update.docs.nautilus.json")["order_book"]  # begin_nonce far ahead
    with pytest.raises(BookGap):
        book.apply_delta(update)


def test_a_delta_before_any_snapshot_is_a_gap() -> None:
    with pytest.raises(BookGap):
        LocalBook("lighter", "ETH-PERP").apply_delta(fixture("ws_order_book.update.ccxt.json")["order_book"])


def test_without_begin_nonce_the_offset_must_advance() -> None:
    book = LocalBook("lighter", "ETH-PERP")
    update = fixture("ws_order_book.update.ccxt.json")["order_book"]  # no begin_nonce in this sample
    book.apply_snapshot({"asks": [], "bids": [{"price": "2979.36", "size": "1.0000"}], "offset": 11413308, "nonce": 1})
    book.apply_delta(update)
    assert book.best_bid is None and book.best_ask == Decimal("2979.64")
    with pytest.raises(BookGap):
        book.apply_delta(update)  # the same offset again
