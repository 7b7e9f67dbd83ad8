"""The PnL tracker: realized + fees + unrealized, daily resets, drawdown, rebuild from fills."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpd.model import FundingPayment, Side
from perpd.portfolio import Portfolio
from policies.pnl import Baseline, PnlParts, PnlTracker, curve, statement, window_start
from policy_world import D, fill, set_mark, set_position, world

DAY0 = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
MIDNIGHT = "00:00"


def marked(portfolio: Portfolio, mark: str, venue: str = "sim-a", symbol: str = "BTC-PERP") -> Portfolio:
    set_mark(portfolio, venue, symbol, mark)
    return portfolio


def test_window_start_is_the_last_reset_at_or_before_now() -> None:
    assert window_start(DAY0 + 9 * HOUR, "00:00") == DAY0
    assert window_start(DAY0 + 9 * HOUR, "08:30") == DAY0 + 8 * HOUR + 1_800_000
    assert window_start(DAY0 + 8 * HOUR, "08:00") == DAY0 + 8 * HOUR
    assert window_start(DAY0 + 7 * HOUR, "08:00") == DAY0 - 16 * HOUR


def test_pnl_is_realized_minus_fees_plus_the_change_in_unrealized() -> None:
    tracker = PnlTracker([MIDNIGHT])
    tracker.on_fill(fill("alpha", Side.BUY, "2", "100", ts_ms=DAY0 + HOUR, trade_id="1", fee="0.2"))
    tracker.on_fill(fill("alpha", Side.SELL, "1", "110", ts_ms=DAY0 + 2 * HOUR, trade_id="2", fee="0.11"))
    tracker.on_marks(marked(world(), "120"), DAY0 + 3 * HOUR)
    view = tracker.view("alpha", MIDNIGHT, DAY0 + 3 * HOUR)
    assert view.realized == D("9.69")  # (110 - 100) x 1 - 0.31 fees
    assert view.unrealized_change == D("20")  # 1 left at entry 100, mark 120
    assert view.pnl == D("29.69")
    assert tracker.position("alpha", "BTC-PERP") == D(1)


def test_the_venue_realized_pnl_is_used_when_a_fill_carries_it() -> None:
    tracker = PnlTracker([MIDNIGHT])
    tracker.on_fill(fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 + HOUR, trade_id="1"))
    tracker.on_fill(fill("alpha", Side.SELL, "1", "110", ts_ms=DAY0 + HOUR, trade_id="2", fee="1", realized_pnl="9.5"))
    assert tracker.view("alpha", MIDNIGHT, DAY0 + 2 * HOUR).realized == D("8.5")


def test_average_entry_accounting_through_adds_partial_closes_and_a_flip() -> None:
    tracker = PnlTracker([MIDNIGHT])
    steps = [
        (Side.BUY, "1", "100", "0"),
        (Side.BUY, "3", "120", "0"),  # entry 115
        (Side.SELL, "2", "130", "30"),  # closes 2 at +15
        (Side.SELL, "4", "110", "20"),  # closes 2 at -5, opens 2 short at 110
        (Side.BUY, "2", "100", "40"),  # closes the short at +10
    ]
    for i, (side, size, price, realized) in enumerate(steps):
        tracker.on_fill(fill("beta", side, size, price, ts_ms=DAY0 + i, trade_id=str(i)))
        assert tracker.view("beta", MIDNIGHT, DAY0 + i).realized == D(realized)
    assert tracker.position("beta", "BTC-PERP") == 0


fills_strategy = st.lists(
    st.tuples(
        st.sampled_from(Side),
        st.decimals(min_value="0.01", max_value="5", places=2),
        st.decimals(min_value="50", max_value="150", places=1),
        st.decimals(min_value="0", max_value="0.5", places=2),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(trades=fills_strategy, mark=st.decimals(min_value="50", max_value="150", places=1))
def test_pnl_equals_mark_to_market_of_every_fill_whatever_the_path(
    trades: list[tuple[Side, Decimal, Decimal, Decimal]], mark: Decimal
) -> None:
    tracker = PnlTracker([MIDNIGHT])
    for i, (side, size, price, fee) in enumerate(trades):
        tracker.on_fill(fill("alpha", side, str(size), str(price), ts_ms=DAY0 + i, trade_id=str(i), fee=str(fee)))
    now = DAY0 + len(trades)
    tracker.on_marks(marked(world(), str(mark)), now)
    mark_to_market = sum((side.sign * size * (mark - price) - fee for side, size, price, fee in trades), D(0))
    assert abs(tracker.pnl("alpha", MIDNIGHT, now) - mark_to_market) < D("1e-18")


def test_pnl_resets_at_the_configured_time_and_counts_only_the_change_since() -> None:
    tracker = PnlTracker(["00:00", "08:00"])
    portfolio = marked(world(), "100")
    tracker.on_fill(fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 + 7 * HOUR, trade_id="1", fee="1"))
    tracker.on_marks(marked(portfolio, "90"), DAY0 + 7 * HOUR + 1)
    assert tracker.pnl("alpha", "08:00", DAY0 + 7 * HOUR + 1) == D(-11)
    tracker.on_marks(marked(portfolio, "95"), DAY0 + 9 * HOUR)
    assert tracker.pnl("alpha", "00:00", DAY0 + 9 * HOUR) == D(-6)
    assert tracker.pnl("alpha", "08:00", DAY0 + 9 * HOUR) == D(5)  # from the mark at the reset: 90
    assert tracker.view("alpha", "08:00", DAY0 + 9 * HOUR).realized == 0
    # Read after the next midnight, before any event: a new day, nothing yet.
    assert tracker.pnl("alpha", "00:00", DAY0 + 24 * HOUR) == 0
    tracker.on_marks(marked(portfolio, "97"), DAY0 + 25 * HOUR)
    assert tracker.pnl("alpha", "00:00", DAY0 + 25 * HOUR) == D(2)


def test_drawdown_is_the_fall_from_the_peak_since_the_reset() -> None:
    tracker = PnlTracker([MIDNIGHT])
    portfolio = world()
    tracker.on_fill(fill("gamma", Side.SELL, "2", "100", ts_ms=DAY0 + HOUR, trade_id="1"))
    for hour, mark, pnl, drawdown in [(2, "100", 0, 0), (3, "94", 12, 0), (4, "97", 6, 6), (5, "92", 16, 0), (6, "103", -6, 22)]:
        set_mark(portfolio, "sim-b", "BTC-PERP", mark)
        tracker.on_marks(portfolio, DAY0 + hour * HOUR)
        view = tracker.view("gamma", MIDNIGHT, DAY0 + hour * HOUR)
        assert (view.pnl, view.drawdown) == (pnl, drawdown), hour
    tracker.on_marks(portfolio, DAY0 + 25 * HOUR)
    assert tracker.drawdown("gamma", MIDNIGHT, DAY0 + 25 * HOUR) == 0  # the peak resets too


def test_closing_a_position_moves_pnl_into_realized_without_a_false_peak() -> None:
    tracker = PnlTracker([MIDNIGHT])
    portfolio = marked(world(), "100")
    tracker.on_fill(fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 + 1, trade_id="1"))
    tracker.on_marks(marked(portfolio, "110"), DAY0 + 2)
    # The closing fill arrives before the venue's position update: no double count.
    tracker.on_fill(fill("alpha", Side.SELL, "1", "110", ts_ms=DAY0 + 3, trade_id="2"))
    view = tracker.view("alpha", MIDNIGHT, DAY0 + 3)
    assert (view.pnl, view.realized, view.unrealized_change, view.drawdown) == (10, 10, 0, 0)


def test_a_fill_booked_twice_counts_once_but_two_accounts_may_share_a_trade_id() -> None:
    tracker = PnlTracker([MIDNIGHT])
    one = fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 + 1, trade_id="x", fee="1")
    assert tracker.on_fill(one) and not tracker.on_fill(one)
    assert tracker.on_fill(fill("beta", Side.SELL, "1", "100", ts_ms=DAY0 + 1, trade_id="x", fee="1"))
    assert tracker.pnl("alpha", MIDNIGHT, DAY0 + 2) == tracker.pnl("beta", MIDNIGHT, DAY0 + 2) == -1


def test_a_late_fill_from_before_the_reset_does_not_move_todays_pnl() -> None:
    tracker = PnlTracker([MIDNIGHT])
    portfolio = marked(world(), "100")
    tracker.on_marks(portfolio, DAY0 + HOUR)
    tracker.on_fill(fill("alpha", Side.BUY, "1", "98", ts_ms=DAY0 - HOUR, trade_id="late", fee="1"))
    assert tracker.pnl("alpha", MIDNIGHT, DAY0 + HOUR) == 0
    tracker.on_marks(marked(portfolio, "103"), DAY0 + 2 * HOUR)
    assert tracker.pnl("alpha", MIDNIGHT, DAY0 + 2 * HOUR) == 3


def test_adopt_seeds_positions_the_fills_do_not_explain_without_moving_todays_pnl() -> None:
    portfolio = marked(world(), "110")
    set_position(portfolio, "alpha", "BTC-PERP", "2", entry="100")
    tracker = PnlTracker([MIDNIGHT])
    tracker.on_fill(fill("alpha", Side.BUY, "0.5", "108", ts_ms=DAY0 + HOUR, trade_id="1"))
    opening = tracker.adopt(portfolio, DAY0 + 2 * HOUR)
    assert [(f.side, f.size, f.price, f.ts_ms) for f in opening] == [(Side.BUY, D("1.5"), D(100), 0)]
    assert tracker.position("alpha", "BTC-PERP") == 2
    before = tracker.pnl("alpha", MIDNIGHT, DAY0 + 2 * HOUR)
    tracker.on_marks(marked(portfolio, "105"), DAY0 + 3 * HOUR)
    assert tracker.pnl("alpha", MIDNIGHT, DAY0 + 3 * HOUR) == before - 10
    assert tracker.adopt(portfolio, DAY0 + 3 * HOUR) == []  # nothing left to explain


def test_an_untracked_reset_time_is_refused_until_tracked() -> None:
    tracker = PnlTracker([MIDNIGHT])
    with pytest.raises(KeyError, match="12:00"):
        tracker.pnl("alpha", "12:00", DAY0)
    tracker.track("12:00")
    assert tracker.pnl("alpha", "12:00", DAY0) == 0
    with pytest.raises(ValueError, match="HH:MM"):
        tracker.track("25:00")


def test_a_baseline_survives_a_round_trip_through_plain_data() -> None:
    saved = Baseline("alpha", "08:00", DAY0, D("-12.5"), D("3.25"), D("7"))
    assert Baseline.from_dict(saved.to_dict()) == saved


# --------------------------------------------------------------------------- rebuild


events_strategy = st.lists(
    st.one_of(
        st.tuples(
            st.just("fill"),
            st.sampled_from(["alpha", "gamma"]),
            st.sampled_from(Side),
            st.decimals(min_value="0.1", max_value="3", places=1),
            st.decimals(min_value="80", max_value="120", places=1),
            st.integers(min_value=0, max_value=7 * HOUR),
        ),
        st.tuples(
            st.just("mark"),
            st.sampled_from(["sim-a", "sim-b"]),
            st.decimals(min_value="80", max_value="120", places=1),
            st.integers(min_value=0, max_value=7 * HOUR),
        ),
    ),
    min_size=1,
    max_size=20,
)


def _replay(events: list[tuple]) -> tuple[PnlTracker, list, Portfolio, int]:  # type: ignore[type-arg]
    tracker = PnlTracker(["00:00", "08:00"])
    portfolio = world()
    for venue in ("sim-a", "sim-b"):
        set_mark(portfolio, venue, "BTC-PERP", "100")
    fills, now = [], DAY0
    for n, event in enumerate(events):
        now += event[-1]
        if event[0] == "fill":
            _, account, side, size, price, _ = event
            booked = fill(account, side, str(size), str(price), ts_ms=now, trade_id=f"t{n}", fee="0.05")
            fills.append(booked)
            tracker.on_fill(booked)
        else:
            set_mark(portfolio, event[1], "BTC-PERP", event[2])
            tracker.on_marks(portfolio, now)
    tracker.on_marks(portfolio, now)
    return tracker, fills, portfolio, now


@settings(max_examples=100, deadline=None)
@given(events=events_strategy)
def test_a_tracker_rebuilt_from_fills_and_saved_baselines_equals_the_incremental_one(events: list[tuple]) -> None:  # type: ignore[type-arg]
    incremental, journal, portfolio, now = _replay(events)
    saved = [Baseline.from_dict(b.to_dict()) for b in incremental.baselines()]
    rebuilt = PnlTracker.from_fills(journal, ["00:00", "08:00"], baselines=saved)
    rebuilt.on_marks(portfolio, now)
    in_place = PnlTracker(["00:00", "08:00"])  # a running engine rebuilding after a gap
    in_place.on_fill(fill("alpha", Side.BUY, "99", "1", ts_ms=DAY0, trade_id="stale"))
    in_place.rebuild(journal, now, baselines=saved)
    in_place.on_marks(portfolio, now)
    for account in ("alpha", "beta", "gamma"):
        for reset in ("00:00", "08:00"):
            assert rebuilt.view(account, reset, now) == incremental.view(account, reset, now)
            assert in_place.view(account, reset, now) == incremental.view(account, reset, now)


def test_a_tracker_rebuilt_from_fills_alone_matches_when_flat_at_the_reset() -> None:
    events = [
        ("fill", "alpha", Side.BUY, D(2), D(100), 9 * HOUR),
        ("mark", "sim-a", D(97), HOUR),
        ("fill", "alpha", Side.SELL, D(1), D(104), HOUR),
        ("fill", "gamma", Side.SELL, D(3), D(101), HOUR),
        ("mark", "sim-b", D(99), HOUR),
    ]
    incremental, fills, portfolio, now = _replay(events)
    rebuilt = PnlTracker.from_fills(reversed(fills), ["00:00", "08:00"])
    rebuilt.on_marks(portfolio, now)
    for account in ("alpha", "gamma"):
        assert rebuilt.pnl(account, "00:00", now) == incremental.pnl(account, "00:00", now) != 0
        assert rebuilt.view(account, "08:00", now).realized == incremental.view(account, "08:00", now).realized


# --------------------------------------------------------------------------- funding, parts, statements


def payment(account: str, amount: str, *, ts_ms: int, payment_id: str, symbol: str = "BTC-PERP") -> FundingPayment:
    return FundingPayment(account=account, venue="sim-a", payment_id=payment_id, symbol=symbol, amount=D(amount),
                          ts_ms=ts_ms, rate=D("0.0001"), position=D("1"))


def test_funding_counts_in_the_days_pnl_once_per_payment_id() -> None:
    tracker = PnlTracker([MIDNIGHT])
    tracker.on_fill(fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 + HOUR, trade_id="1", fee="0.1"))
    assert tracker.on_funding(payment("alpha", "-2.5", ts_ms=DAY0 + 2 * HOUR, payment_id="p1"))
    assert not tracker.on_funding(payment("alpha", "-2.5", ts_ms=DAY0 + 2 * HOUR, payment_id="p1"))  # a resync's repeat
    tracker.on_funding(payment("alpha", "0.5", ts_ms=DAY0 + 3 * HOUR, payment_id="p2"))
    tracker.on_marks(marked(world(), "103"), DAY0 + 4 * HOUR)
    assert tracker.view("alpha", MIDNIGHT, DAY0 + 4 * HOUR).realized == D("-2.1")  # -0.1 fee - 2.5 + 0.5
    assert tracker.pnl("alpha", MIDNIGHT, DAY0 + 4 * HOUR) == D("0.9")  # + 3 unrealized
    start, parts = tracker.breakdown("alpha", MIDNIGHT, DAY0 + 4 * HOUR)
    assert start == DAY0
    assert parts == {"BTC-PERP": PnlParts(realized=D(0), fees=D("0.1"), funding=D("-2.0"), unrealized=D(3))}
    assert parts["BTC-PERP"].net == D("0.9")


def test_a_payment_from_before_the_reset_belongs_to_the_day_before() -> None:
    tracker = PnlTracker([MIDNIGHT])
    tracker.on_fill(fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 + HOUR, trade_id="1"))
    tracker.on_funding(payment("alpha", "-7", ts_ms=DAY0 - HOUR, payment_id="late"))  # fetched after the reset
    assert tracker.pnl("alpha", MIDNIGHT, DAY0 + 2 * HOUR) == 0
    assert tracker.breakdown("alpha", MIDNIGHT, DAY0 + 2 * HOUR)[1]["BTC-PERP"].funding == 0


def test_a_rebuild_replays_funding_with_the_fills() -> None:
    fills = [fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 + HOUR, trade_id="1", fee="0.1")]
    payments = [payment("alpha", "-1.25", ts_ms=DAY0 + 2 * HOUR, payment_id="p1")]
    live = PnlTracker([MIDNIGHT])
    for event in (*fills, *payments):
        live.on_event(event)
    rebuilt = PnlTracker.from_fills(fills, [MIDNIGHT], payments=payments, baselines=live.baselines())
    now = DAY0 + 3 * HOUR
    assert rebuilt.view("alpha", MIDNIGHT, now) == live.view("alpha", MIDNIGHT, now)
    assert rebuilt.breakdown("alpha", MIDNIGHT, now) == live.breakdown("alpha", MIDNIGHT, now)


def test_restored_baselines_keep_each_symbols_unrealized_at_the_reset() -> None:
    tracker = PnlTracker([MIDNIGHT])
    tracker.on_fill(fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 - HOUR, trade_id="1"))
    tracker.on_fill(fill("alpha", Side.BUY, "2", "50", ts_ms=DAY0 - HOUR, trade_id="2", symbol="ETH-PERP"))
    portfolio = marked(marked(world(), "110"), "40", symbol="ETH-PERP")
    tracker.on_marks(portfolio, DAY0 + HOUR)  # the window opened at the fill prices: +10 BTC, -20 ETH since
    saved = [Baseline.from_dict(b.to_dict()) for b in tracker.baselines()]
    rebuilt = PnlTracker.from_fills(
        [fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 - HOUR, trade_id="1"),
         fill("alpha", Side.BUY, "2", "50", ts_ms=DAY0 - HOUR, trade_id="2", symbol="ETH-PERP")],
        [MIDNIGHT], baselines=saved)
    rebuilt.on_marks(portfolio, DAY0 + 2 * HOUR)
    assert rebuilt.breakdown("alpha", MIDNIGHT, DAY0 + 2 * HOUR) == tracker.breakdown("alpha", MIDNIGHT, DAY0 + 2 * HOUR)
    assert rebuilt.breakdown("alpha", MIDNIGHT, DAY0 + 2 * HOUR)[1] == {
        "BTC-PERP": PnlParts(unrealized=D(10)), "ETH-PERP": PnlParts(unrealized=D(-20))}


def test_a_statement_over_a_window_replays_the_journal_with_the_same_accounting() -> None:
    fills = [
        fill("alpha", Side.BUY, "2", "100", ts_ms=DAY0 + HOUR, trade_id="1", fee="0.2"),
        fill("alpha", Side.SELL, "1", "110", ts_ms=DAY0 + 3 * HOUR, trade_id="2", fee="0.11"),
    ]
    payments = [payment("alpha", "-1", ts_ms=DAY0 + 2 * HOUR, payment_id="p1"),
                payment("alpha", "-1", ts_ms=DAY0 + 4 * HOUR, payment_id="p2")]
    marks = {("sim-a", "BTC-PERP"): D("120")}
    inception = statement(fills, payments, since_ms=None, until_ms=None, marks=marks)
    assert inception == {("alpha", "sim-a", "BTC-PERP"): PnlParts(D(10), D("0.31"), D(-2), D(20))}
    # From 02:30: the position (2 at 100) is valued at its last fill price there (100).
    window = statement(fills, payments, since_ms=DAY0 + 2 * HOUR + 1, until_ms=DAY0 + 4 * HOUR, marks=marks)
    assert window == {("alpha", "sim-a", "BTC-PERP"): PnlParts(D(10), D("0.11"), D(0), D(10))}  # 1 left, at 110
    assert statement(fills, payments, since_ms=DAY0 + 5 * HOUR, until_ms=None, marks=marks)[
        ("alpha", "sim-a", "BTC-PERP")] == PnlParts(D(0), D(0), D(0), D(10))  # 110 -> 120 on the 1 left
    assert curve(fills, payments, since_ms=DAY0 + 2 * HOUR, until_ms=None) == [
        (DAY0 + 2 * HOUR, "alpha", D(-1)), (DAY0 + 3 * HOUR, "alpha", D("8.89")), (DAY0 + 4 * HOUR, "alpha", D("7.89"))]


def test_statements_from_inception_equal_the_trackers_parts_after_the_same_events() -> None:
    fills = [fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 + i, trade_id=str(i), fee="0.01") for i in range(5)]
    fills += [fill("alpha", Side.SELL, "3", "104", ts_ms=DAY0 + 10, trade_id="s", realized_pnl="11")]
    tracker = PnlTracker.from_fills(fills, [MIDNIGHT], payments=[payment("alpha", "0.3", ts_ms=DAY0 + 20, payment_id="p")])
    tracker.on_marks(marked(world(), "101"), DAY0 + HOUR)
    assert statement(fills, [payment("alpha", "0.3", ts_ms=DAY0 + 20, payment_id="p")], since_ms=None, until_ms=None,
                     marks=tracker.marks) == tracker.parts()


def test_funding_paid_counts_toward_the_daily_loss_limit() -> None:
    from policies.risk import RiskGate
    from policy_world import policy

    portfolio = marked(world(), "100")
    set_position(portfolio, "alpha", "BTC-PERP", "1", entry="100")
    tracker = PnlTracker([MIDNIGHT])
    tracker.on_fill(fill("alpha", Side.BUY, "1", "100", ts_ms=DAY0 + HOUR, trade_id="1", fee="20"))
    gate = RiskGate([policy("house", daily_loss_limit=100)])
    tracker.on_marks(portfolio, DAY0 + 2 * HOUR)
    assert gate.loss_trips(portfolio, tracker, DAY0 + 2 * HOUR) == []  # 20 of fees
    tracker.on_funding(payment("alpha", "-81", ts_ms=DAY0 + 3 * HOUR, payment_id="p1"))
    trips = gate.loss_trips(portfolio, tracker, DAY0 + 3 * HOUR)
    assert [(t.policy, t.limit, t.value) for t in trips] == [("house", "daily_loss_limit", D(101))]
