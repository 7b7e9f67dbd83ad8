"""Fills and funding payments as traders read them: pages in time order with a cursor,
windows, filters, each fill's intent; payments journaled once per venue payment id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from perpd.clock import ManualClock
from perpd.errors import InvalidRequest
from perpd.journal import Journal
from perpd.model import Fill, FundingPayment, Liquidity, Order, OrderSpec, OrderStatus, OrderType, Side, TimeInForce

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000


def fill(trade_id: str, ts_ms: int, *, account: str = "hl-main", symbol: str = "BTC-PERP",
         client_id: str | None = None) -> Fill:
    return Fill(account=account, venue="hl", trade_id=trade_id, client_id=client_id, venue_order_id=None,
                symbol=symbol, side=Side.BUY, price=Decimal("100.5"), size=Decimal("0.010"), fee=Decimal("-0.001"),
                liquidity=Liquidity.MAKER, ts_ms=ts_ms)


def payment(payment_id: str, ts_ms: int, amount: str = "-0.25", account: str = "hl-main") -> FundingPayment:
    return FundingPayment(account=account, venue="hl", payment_id=payment_id, symbol="BTC-PERP", amount=Decimal(amount),
                          ts_ms=ts_ms, rate=Decimal("0.0000125"), position=Decimal("-2.5"))


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    opened = await Journal.open(tmp_path / "journal.sqlite", clock=ManualClock(T0))
    yield opened
    await opened.close()


async def test_fill_pages_follow_the_cursor_in_time_order_without_repeats_or_gaps(journal: Journal) -> None:
    # Journaled out of time order (a resync brings older fills late): pages go by the venue's time.
    for i, ts in enumerate([T0 + 30, T0 + 10, T0 + 20, T0 + 10, T0 + 40]):
        await journal.insert_fill(fill(f"t{i}", ts))
    seen, cursor = [], None
    while True:
        page, cursor = journal.fill_page(limit=2, cursor=cursor)
        seen += [j.fill.trade_id for j in page]
        if cursor is None:
            break
    assert seen == ["t1", "t3", "t2", "t0", "t4"]
    newest, cursor = journal.fill_page(limit=3, newest_first=True)
    rest, last = journal.fill_page(limit=3, newest_first=True, cursor=cursor)
    assert [j.fill.trade_id for j in newest + rest] == ["t4", "t0", "t2", "t3", "t1"] and last is None


async def test_fill_pages_filter_by_account_symbol_and_window(journal: Journal) -> None:
    await journal.insert_fill(fill("a", T0, symbol="ETH-PERP"))
    await journal.insert_fill(fill("b", T0 + 5))
    await journal.insert_fill(fill("c", T0 + 10, account="other"))
    await journal.insert_fill(fill("d", T0 + 15))
    ids = lambda **f: [j.fill.trade_id for j in journal.fill_page(**f)[0]]  # noqa: E731
    assert ids(account="hl-main") == ["a", "b", "d"]
    assert ids(symbol="BTC-PERP") == ["b", "c", "d"]
    assert ids(since_ms=T0 + 5, until_ms=T0 + 15) == ["b", "c"]  # since inclusive, until exclusive


async def test_a_fill_carries_its_orders_intent_and_source(journal: Journal) -> None:
    spec = OrderSpec(symbol="BTC", side=Side.BUY, size=Decimal("0.01"), price=Decimal("100.5"), account="hl-main")
    order = Order(account="hl-main", venue="hl", client_id="pd-1", symbol="BTC-PERP", side=Side.BUY,
                  type=OrderType.LIMIT, size=Decimal("0.01"), status=OrderStatus.OPEN, price=Decimal("100.5"),
                  tif=TimeInForce.GTC)
    intent_id, _ = await journal.insert_intent_with_orders(spec, source="target:eth", orders=lambda _: [(order, 0)])
    await journal.insert_fill(fill("mine", T0, client_id="pd-1"))
    await journal.insert_fill(fill("foreign", T0 + 1, client_id="someone-else"))
    page, _ = journal.fill_page()
    assert [(j.fill.trade_id, j.intent_id, j.source) for j in page] == [
        ("mine", intent_id, "target:eth"), ("foreign", None, None)]
    assert page[0].fill.price == Decimal("100.5") and page[0].fill.fee == Decimal("-0.001")


async def test_a_cursor_not_given_by_the_journal_is_refused(journal: Journal) -> None:
    with pytest.raises(InvalidRequest):
        journal.fill_page(cursor="yesterday")


async def test_funding_payments_are_journaled_once_per_venue_payment_id(journal: Journal) -> None:
    assert await journal.insert_funding_payments([payment("p1", T0), payment("p2", T0 + 3_600_000)]) == [True, True]
    assert await journal.insert_funding_payments([payment("p2", T0 + 3_600_000), payment("p3", T0 + 7_200_000)]) == [
        False, True]
    assert await journal.insert_funding_payments([payment("p1", T0, account="other")]) == [True]  # another account's
    page, cursor = journal.funding_page(account="hl-main", limit=2)
    assert [p.payment_id for p in page] == ["p1", "p2"] and cursor is not None
    assert [p.payment_id for p in journal.funding_page(account="hl-main", cursor=cursor)[0]] == ["p3"]
    assert page[0] == payment("p1", T0)  # Decimals exact
    assert journal.last_funding_ms("hl-main") == T0 + 7_200_000
    assert [p.payment_id for p in journal.iter_funding(T0 + 1)] == ["p2", "p3"]
