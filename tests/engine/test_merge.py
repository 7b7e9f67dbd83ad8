"""What a venue says of an order, merged with what perpd holds (desk._merge)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from perpd.engine.desk import _merge
from perpd.model import Order, OrderStatus, OrderType, Side

amounts = st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1)])
prices = st.none() | st.sampled_from([Decimal(100), Decimal("100.5")])
reports = st.builds(
    Order,
    account=st.just("a"), venue=st.just("sim"), client_id=st.just("pd-1"), symbol=st.just("BTC-PERP"),
    side=st.just(Side.BUY), type=st.just(OrderType.LIMIT), size=st.just(Decimal(1)),
    status=st.sampled_from(OrderStatus), price=prices, trigger_price=prices,
    venue_order_id=st.none() | st.just("v-1"), filled_size=amounts, avg_fill_price=prices,
    created_ms=st.sampled_from([0, 5]), updated_ms=st.sampled_from([0, 7]),
    reason=st.none() | st.sampled_from(["venue says", "perpd: not sent"]),
    parent_client_id=st.none() | st.just("pd-0"),
)


@given(known=reports, report=reports)
def test_merging_the_same_report_again_changes_nothing(known: Order, report: Order) -> None:
    # record_order relies on it: a venue's echo of a report already merged is skipped.
    merged = _merge(known, report)
    assert _merge(merged, report) == merged
