"""The position ledger: a report plus the trades no report has shown yet, whatever order
the venue's channels deliver them in."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpd.ledger import PositionLedger
from perpd.model import Fill, Liquidity, Order, OrderStatus, OrderType, Position, Side, TimeInForce
from perpd.portfolio import AccountState

LAG = 10_000
T0 = 1_700_000_000_000


def order(cid: str, filled: str, side: Side = Side.BUY, status: OrderStatus = OrderStatus.FILLED) -> Order:
    return Order(
        client_id=cid, account="a", venue="v", symbol="ETH-PERP", side=side, type=OrderType.LIMIT,
        size=D("0.25"), price=D(3000), tif=TimeInForce.GTC, status=status, filled_size=D(filled),
        venue_order_id=f"v{cid}",
    )


def fill(cid: str | None, size: str, trade: str, side: Side = Side.BUY, voi: str | None = None) -> Fill:
    return Fill("a", "v", trade, cid, voi, "ETH-PERP", side, D(3000), D(size), D(0), Liquidity.TAKER, T0)


def test_a_fill_counts_until_a_report_shows_it():
    ledger = PositionLedger(LAG)
    ledger.on_report("ETH-PERP", D(0), T0, snapshot=True)
    ledger.on_fill(fill("c1", "0.25", "t1"), T0)
    assert ledger.size("ETH-PERP") == D("0.25")
    ledger.on_report("ETH-PERP", D(0), T0 + 500)  # a stale report: still counted
    assert ledger.size("ETH-PERP") == D("0.25")
    ledger.on_report("ETH-PERP", D("0.25"), T0 + 1000)  # now the report has it: once
    assert ledger.size("ETH-PERP") == D("0.25")
    assert ledger.in_flight("ETH-PERP") == 0


def test_an_order_report_and_its_fill_are_one_trade():
    ledger = PositionLedger(LAG)
    ledger.on_order(order("c1", "0.25"), T0)
    ledger.on_fill(fill("c1", "0.1", "t1"), T0)
    ledger.on_fill(fill("c1", "0.15", "t2"), T0)
    assert ledger.size("ETH-PERP") == D("0.25")


def test_a_fill_without_client_id_joins_its_order_by_venue_id():
    ledger = PositionLedger(LAG)
    ledger.on_order(order("c1", "0.25"), T0)
    ledger.on_fill(fill(None, "0.25", "t1", voi="vc1"), T0)
    assert ledger.size("ETH-PERP") == D("0.25")


def test_a_report_before_its_trade_is_not_counted_twice():
    ledger = PositionLedger(LAG)
    ledger.on_report("ETH-PERP", D(0), T0, snapshot=True)
    ledger.on_report("ETH-PERP", D("0.25"), T0 + 1)  # Lighter: the position channel first
    ledger.on_order(order("c1", "0.25"), T0 + 2)
    ledger.on_fill(fill("c1", "0.25", "t1"), T0 + 3)
    assert ledger.size("ETH-PERP") == D("0.25")


def test_unexplained_movement_absorbs_only_within_the_lag():
    ledger = PositionLedger(LAG)
    ledger.on_report("ETH-PERP", D(0), T0, snapshot=True)
    ledger.on_report("ETH-PERP", D("0.25"), T0 + 1)  # moved with no trade we know of
    ledger.on_fill(fill("c1", "0.25", "t1"), T0 + LAG + 5)  # long after: a new trade
    assert ledger.size("ETH-PERP") == D("0.5")


def test_a_snapshot_is_trusted_for_trades_older_than_the_lag():
    ledger = PositionLedger(LAG)
    ledger.on_report("ETH-PERP", D(0), T0, snapshot=True)
    ledger.on_fill(fill("c1", "0.25", "t1"), T0)
    ledger.on_report("ETH-PERP", D(0), T0 + LAG + 1, snapshot=True)  # the venue says flat
    assert ledger.size("ETH-PERP") == 0


def test_opposite_trades_in_flight_are_matched_by_sign():
    ledger = PositionLedger(LAG)
    ledger.on_report("ETH-PERP", D("0.5"), T0, snapshot=True)
    ledger.on_fill(fill("c1", "0.25", "t1", Side.SELL), T0)
    ledger.on_fill(fill("c2", "0.1", "t2", Side.BUY), T0)
    assert ledger.size("ETH-PERP") == D("0.35")
    ledger.on_report("ETH-PERP", D("0.25"), T0 + 1)  # shows the sell only
    assert ledger.size("ETH-PERP") == D("0.35")
    ledger.on_report("ETH-PERP", D("0.35"), T0 + 2)
    assert ledger.size("ETH-PERP") == D("0.35") and ledger.in_flight("ETH-PERP") == 0


def test_a_resync_that_leaves_a_symbol_out_says_it_is_flat():
    # Found by the state machine: a resync listed no ETH (flat), the target's first slice
    # filled, and the position channel told of it before the order and the fill did. The
    # report was taken as history, not movement, and the trade was counted on top of it.
    held = AccountState("a", "v")
    held.replace_positions([Position("a", "v", "BTC-PERP", D("0.02"))], T0)
    held.set_position(Position("a", "v", "ETH-PERP", D("0.01")), T0 + 1)
    held.upsert_order(order("c1", "0.01"), T0 + 2)
    held.add_fill(fill("c1", "0.01", "t1"), T0 + 3)
    assert held.position_size("ETH-PERP") == D("0.01")
    held.replace_positions([Position("a", "v", "BTC-PERP", D("0.02")), Position("a", "v", "ETH-PERP", D("0.01"))], T0 + 4)
    assert held.position_size("ETH-PERP") == D("0.01") and held.ledger.in_flight("ETH-PERP") == 0
    held.replace_positions([], T0 + 5)
    assert held.position_sizes() == {}


def test_a_saved_ledger_remembers_a_snapshot_came():
    ledger = PositionLedger(LAG)
    ledger.on_snapshot({}, T0)
    again = PositionLedger.from_dict(ledger.to_dict(), LAG)
    again.on_report("SOL-PERP", D(1), T0 + 1)  # before its trade: movement, not history
    again.on_fill(Fill("a", "v", "t2", "c2", None, "SOL-PERP", Side.BUY, D(100), D(1), D(0), Liquidity.TAKER, T0), T0 + 2)
    assert again.size("SOL-PERP") == D(1)


def test_a_first_report_matches_what_was_traded_before_it():
    ledger = PositionLedger(LAG)
    ledger.on_order(order("c1", "0.25"), T0)  # a new symbol: traded before any report
    ledger.on_report("ETH-PERP", D("0.25"), T0 + 1)
    assert ledger.size("ETH-PERP") == D("0.25")


def test_the_ledger_round_trips_through_its_saved_form():
    ledger = PositionLedger(LAG)
    ledger.on_report("ETH-PERP", D("0.1"), T0, snapshot=True)
    ledger.on_fill(fill("c1", "0.25", "t1"), T0, row=7)
    again = PositionLedger.from_dict(ledger.to_dict(), LAG)
    assert again.size("ETH-PERP") == D("0.35") and again.fill_row == 7
    again.on_report("ETH-PERP", D("0.35"), T0 + 1)
    assert again.size("ETH-PERP") == D("0.35")



def _filled(cid: str, side: Side, filled: D) -> Order:
    return Order(client_id=cid, account="a", venue="v", symbol="ETH-PERP", side=side, type=OrderType.LIMIT,
                 size=D("0.02"), price=D(3000), tif=TimeInForce.IOC, status=OrderStatus.FILLED, filled_size=filled,
                 venue_order_id="v" + cid)


def _fill(cid: str, side: Side, size: D, trade_id: str, ts: int) -> Fill:
    return Fill("a", "v", trade_id, cid, "v" + cid, "ETH-PERP", side, D(3000), size, D(0), Liquidity.TAKER, ts)


@settings(max_examples=max(300, settings().max_examples if settings().max_examples >= 1000 else 0), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def test_whatever_order_the_channels_deliver_in_a_settled_ledger_holds_the_venues_position(data):
    """A property over every interleaving of one account's three channels (order reports,
    fills, position reports; each in its own order, orders and positions duplicated at
    will, every report of a trade within the lag bound of it), snapshots at any point
    (while stale stream reports are still in flight) and crashes at any point (the last
    saved ledger, the journaled fills replayed, the start-up resync): once everything has
    arrived and a snapshot has come, the ledger says what the venue holds."""
    # The venue: orders of one or two fills; every trade happened before any report of it.
    orders, fills, positions = [], [], []
    venue, filled = D(0), {}
    for i in range(data.draw(st.integers(1, 5))):
        cid, side = f"c{i}", data.draw(st.sampled_from([Side.BUY, Side.SELL]))
        for _ in range(data.draw(st.integers(1, 2))):
            venue += side.sign * D("0.01")
            filled[cid] = filled.get(cid, D(0)) + D("0.01")
            orders.append((cid, side, filled[cid]))
            fills.append((cid, side, D("0.01"), f"t{len(fills)}"))
            positions.append(venue)

    def snapshot(at: int) -> None:
        ledger.on_snapshot({"ETH-PERP": venue} if venue else {}, at)

    ledger = PositionLedger(LAG)
    ledger.on_snapshot({}, 0)  # the engine resyncs before it trades
    saved, journaled_since = ledger.to_dict(), []
    now = 1
    channels = {"order": orders, "fill": fills, "position": positions}
    while any(channels.values()):
        kind = data.draw(st.sampled_from([k for k, queue in channels.items() if queue]))
        event = channels[kind].pop(0)
        if now < LAG - 4000:  # reports of one trade arrive within the lag bound of it
            now += data.draw(st.sampled_from([0, 0, 0, 3000]))
        # The journal dedupes fills before the ledger hears of them; the rest may repeat.
        for _ in range(2 if kind != "fill" and data.draw(st.booleans()) else 1):
            now += 1
            if kind == "order":
                ledger.on_order(_filled(*event), now)
            elif kind == "fill":
                ledger.on_fill(_fill(*event, now), now)
                journaled_since.append((event, now))
            else:
                ledger.on_report("ETH-PERP", event, now)
        then = data.draw(st.sampled_from(["go on"] * 17 + ["snapshot", "save", "crash"]))
        now += 1
        if then == "snapshot":
            snapshot(now)
        elif then == "save":
            saved, journaled_since = ledger.to_dict(), []
        elif then == "crash":
            ledger = PositionLedger.from_dict(saved, LAG)
            for (cid, side, size, trade_id), ts in journaled_since:
                ledger.on_fill(_fill(cid, side, size, trade_id, ts), ts)
            for cid, side, total in {o[0]: o for o in orders}.values():  # lookups of our orders
                ledger.on_order(_filled(cid, side, total), now)
            while fills:  # fetch_fills since the last journaled one
                event = fills.pop(0)
                ledger.on_fill(_fill(*event, now), now)
                journaled_since.append((event, now))
            orders.clear()
            positions.clear()  # the old stream's reports are gone; a new one reports changes
            snapshot(now)
    snapshot(now + 1)
    assert ledger.size("ETH-PERP") == venue, ledger.symbols["ETH-PERP"].to_dict() if "ETH-PERP" in ledger.symbols else None
