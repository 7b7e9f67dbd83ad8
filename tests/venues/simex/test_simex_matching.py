"""The sim exchange's order book: priority, order types, time in force, edits, refusals."""

from __future__ import annotations

import pytest
from simex_support import BTC, D, quiet_engine

from perpd.model import OrderStatus, OrderType, Side, TimeInForce
from venues.simex.events import BookDelta, OrderEvent, Reason, SimReject

BUY, SELL = Side.BUY, Side.SELL


def test_better_price_fills_first_then_earlier_order_at_the_same_price() -> None:
    engine = quiet_engine()
    engine.place("a", BTC, SELL, D("0.01"), price=D(65010), client_id="a1")
    engine.place("b", BTC, SELL, D("0.01"), price=D(65010), client_id="b1")
    engine.place("c", BTC, SELL, D("0.01"), price=D(65005), client_id="c1")
    taker = engine.place("t", BTC, BUY, D("0.015"), type=OrderType.MARKET)
    assert taker.status is OrderStatus.FILLED
    assert engine.order("c", client_id="c1").status is OrderStatus.FILLED
    assert engine.order("a", client_id="a1").filled == D("0.005")
    assert engine.order("b", client_id="b1").filled == 0
    exact = (D(65005) * D("0.01") + D(65010) * D("0.005")) / D("0.015")
    assert taker.avg_price == exact.quantize(D("1e-10"))  # averages keep 10 decimals


def test_shrinking_at_the_same_price_keeps_time_priority() -> None:
    engine = quiet_engine()
    engine.place("a", BTC, BUY, D("0.02"), price=D(64990), client_id="a1")
    engine.place("b", BTC, BUY, D("0.02"), price=D(64990), client_id="b1")
    engine.edit("a", client_id="a1", size=D("0.01"))
    engine.place("t", BTC, SELL, D("0.01"), type=OrderType.MARKET)
    assert engine.order("a", client_id="a1").status is OrderStatus.FILLED
    assert engine.order("b", client_id="b1").filled == 0


@pytest.mark.parametrize(
    ("first_price", "change"),
    [(D(64990), {"size": D("0.03")}), (D(64991), {"price": D(64990)})],
    ids=["grows", "reprices"],
)
def test_growing_or_repricing_loses_time_priority(first_price, change) -> None:
    engine = quiet_engine()
    engine.place("a", BTC, BUY, D("0.02"), price=first_price, client_id="a1")
    engine.place("b", BTC, BUY, D("0.02"), price=D(64990), client_id="b1")
    engine.edit("a", client_id="a1", **change)
    engine.place("t", BTC, SELL, D("0.02"), type=OrderType.MARKET)
    assert engine.order("b", client_id="b1").status is OrderStatus.FILLED
    assert engine.order("a", client_id="a1").filled == 0


def test_edit_keeps_ids_and_a_crossing_edit_trades() -> None:
    engine = quiet_engine()
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65010))
    order = engine.place("a", BTC, BUY, D("0.01"), price=D(64990), client_id="a1")
    edited = engine.edit("a", client_id="a1", price=D(65010))
    assert (edited.oid, edited.client_id) == (order.oid, "a1")
    assert edited.status is OrderStatus.FILLED and edited.avg_price == D(65010)


def test_edit_of_a_post_only_order_into_the_spread_crossing_is_refused_and_changes_nothing() -> None:
    engine = quiet_engine()
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65010))
    engine.place("a", BTC, BUY, D("0.01"), price=D(64990), tif=TimeInForce.POST_ONLY, client_id="a1")
    with pytest.raises(SimReject) as info:
        engine.edit("a", client_id="a1", price=D(65010))
    assert info.value.reason is Reason.POST_ONLY_WOULD_CROSS
    assert engine.order("a", client_id="a1").price == D(64990)


def test_ioc_trades_what_it_can_and_cancels_the_rest() -> None:
    engine = quiet_engine()
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65010))
    order = engine.place("a", BTC, BUY, D("0.03"), price=D(65010), tif=TimeInForce.IOC)
    assert order.status is OrderStatus.CANCELLED and order.reason is Reason.IOC_UNFILLED
    assert order.filled == D("0.01")
    assert engine.open_orders("a") == []


def test_fok_fills_entirely_or_not_at_all() -> None:
    engine = quiet_engine()
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65010))
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65020))
    refused = engine.place("a", BTC, BUY, D("0.03"), price=D(65020), tif=TimeInForce.FOK)
    assert refused.status is OrderStatus.CANCELLED and refused.reason is Reason.FOK_UNFILLABLE
    assert refused.filled == 0 and engine.fills("a") == []
    filled = engine.place("a", BTC, BUY, D("0.02"), price=D(65020), tif=TimeInForce.FOK)
    assert filled.status is OrderStatus.FILLED


def test_market_order_stops_at_its_worst_price() -> None:
    engine = quiet_engine()
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65010))
    engine.place("mm", BTC, SELL, D("0.01"), price=D(66000))
    order = engine.place("a", BTC, BUY, D("0.02"), type=OrderType.MARKET, price=D(65500))
    assert order.filled == D("0.01") and order.status is OrderStatus.CANCELLED
    nothing = engine.place("b", BTC, BUY, D("0.01"), type=OrderType.MARKET, price=D(65500))
    assert nothing.filled == 0 and nothing.reason is Reason.NO_LIQUIDITY


def test_a_taker_meeting_its_own_resting_order_cancels_the_resting_one() -> None:
    engine = quiet_engine()
    engine.place("a", BTC, SELL, D("0.01"), price=D(65010), client_id="mine")
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65020))
    order = engine.place("a", BTC, BUY, D("0.01"), type=OrderType.MARKET)
    assert engine.order("a", client_id="mine").reason is Reason.SELF_TRADE
    assert order.filled == D("0.01") and order.avg_price == D(65020)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"price": D("64990.5")}, Reason.BAD_TICK),
        ({"price": D(64990), "size": D("0.000015")}, Reason.BAD_LOT),
        ({"price": D(64990), "size": D("0.0001")}, Reason.MIN_NOTIONAL),
        ({"price": D(64990), "size": D(1000)}, Reason.INSUFFICIENT_MARGIN),
        ({"price": D(65010), "tif": TimeInForce.POST_ONLY}, Reason.POST_ONLY_WOULD_CROSS),
        ({"price": D(64990), "reduce_only": True}, Reason.REDUCE_ONLY_WOULD_INCREASE),
        ({"price": D(64990), "client_id": "taken"}, Reason.DUPLICATE_CLIENT_ID),
        ({"type": OrderType.STOP_MARKET}, Reason.BAD_TRIGGER),
        ({}, Reason.BAD_PRICE),
    ],
)
def test_refusals_name_their_reason_and_change_nothing(kwargs: dict, reason: Reason) -> None:
    engine = quiet_engine()
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65010))
    engine.place("a", BTC, BUY, D("0.01"), price=D(60000), client_id="taken")
    before = (engine.book(BTC), engine.open_orders("a"), engine.balance("a"))
    size = kwargs.pop("size", D("0.01"))
    with pytest.raises(SimReject) as info:
        engine.place("a", BTC, BUY, size, **kwargs)
    assert info.value.reason is reason and info.value.message
    assert (engine.book(BTC), engine.open_orders("a"), engine.balance("a")) == before


def test_unknown_market_is_refused() -> None:
    with pytest.raises(SimReject) as info:
        quiet_engine().place("a", "DOGE-PERP", BUY, D(1), price=D(1))
    assert info.value.reason is Reason.UNKNOWN_MARKET


def test_orders_are_found_by_client_id_after_fill_and_cancel_and_unknown_is_none() -> None:
    engine = quiet_engine()
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65010))
    engine.place("a", BTC, BUY, D("0.01"), type=OrderType.MARKET, client_id="f")
    engine.place("a", BTC, BUY, D("0.01"), price=D(60000), client_id="c")
    assert engine.cancel("a", client_id="c").status is OrderStatus.CANCELLED
    assert engine.order("a", client_id="f").status is OrderStatus.FILLED
    assert engine.order("a", client_id="c").status is OrderStatus.CANCELLED
    assert engine.order("a", client_id="nope") is None
    assert engine.cancel("a", client_id="c") is None  # already ended: no live order
    assert engine.cancel("a", client_id="nope") is None


def test_order_history_is_bounded_and_forgets_the_oldest() -> None:
    engine = quiet_engine(history_limit=3)
    for i in range(5):
        engine.place("a", BTC, BUY, D("0.01"), price=D(60000), client_id=f"c{i}")
        engine.cancel("a", client_id=f"c{i}")
    assert engine.order("a", client_id="c0") is None and engine.order("a", client_id="c1") is None
    assert engine.order("a", client_id="c4") is not None
    engine.place("a", BTC, BUY, D("0.01"), price=D(60000), client_id="c0")  # forgotten: usable again


def test_cancel_all_by_market_and_everywhere() -> None:
    engine = quiet_engine()
    engine.place("a", BTC, BUY, D("0.01"), price=D(60000))
    engine.place("a", "ETH-PERP", BUY, D("0.01"), price=D(3000))
    assert [o.symbol for o in engine.cancel_all("a", BTC)] == [BTC]
    assert [o.symbol for o in engine.cancel_all("a")] == ["ETH-PERP"]
    assert engine.open_orders("a") == []


def test_book_deltas_rebuild_the_book_from_a_snapshot() -> None:
    engine = quiet_engine(makers=True, takers=True)
    snapshot = engine.book(BTC)
    bids = dict(snapshot.bids)
    asks = dict(snapshot.asks)
    seq = snapshot.seq
    deltas: list[BookDelta] = []
    engine.subscribe(lambda e: deltas.append(e) if isinstance(e, BookDelta) and e.symbol == BTC else None)
    engine.place("a", BTC, BUY, D("0.5"), type=OrderType.MARKET)
    engine.place("a", BTC, SELL, D("0.01"), price=D(65500))
    engine.set_mark(BTC, D(65100))
    engine.step(engine.now_ms + 60_000)
    assert deltas
    for delta in deltas:
        assert delta.seq == seq + 1
        seq = delta.seq
        for side, levels in ((bids, delta.bids), (asks, delta.asks)):
            for price, size in levels:
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)
    book = engine.book(BTC)
    assert book.seq == seq
    assert sorted(bids.items(), reverse=True) == list(book.bids)
    assert sorted(asks.items()) == list(book.asks)


def test_each_call_emits_one_final_order_update_per_order() -> None:
    engine = quiet_engine()
    engine.place("mm", BTC, SELL, D("0.01"), price=D(65010))
    updates: list[OrderEvent] = []
    engine.subscribe(lambda e: updates.append(e) if isinstance(e, OrderEvent) else None)
    engine.place("a", BTC, BUY, D("0.02"), price=D(65010), client_id="x")
    mine = [u.order for u in updates if u.account == "a"]
    assert [(o.client_id, o.status) for o in mine] == [("x", OrderStatus.PARTIALLY_FILLED)]
    assert [u.order.status for u in updates if u.account == "mm"] == [OrderStatus.FILLED]


def test_a_side_given_by_its_value_is_that_side() -> None:
    engine = quiet_engine()
    engine.place("mm", BTC, BUY, D("0.01"), price=D(64990))
    sell = engine.place("a", BTC, "sell", D("0.01"), price=D(64990))  # type: ignore[arg-type]
    buy = engine.place("b", BTC, "buy", D("0.01"), price=D(64980))  # type: ignore[arg-type]
    assert (sell.side, sell.status) == (SELL, OrderStatus.FILLED)
    assert (buy.side, buy.status) == (BUY, OrderStatus.OPEN)
