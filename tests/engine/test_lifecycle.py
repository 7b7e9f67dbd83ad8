"""The order lifecycle on a real daemon over the sim venue."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from perpd.errors import Denied, InvalidRequest, NotFound
from perpd.model import IntentState, OrderSpec, OrderStatus, OrderType, Side, TradingState

pytestmark = pytest.mark.anyio


def bid(size="0.01", price="1000", account="paper", **kw) -> OrderSpec:
    return OrderSpec(symbol="BTC", side=Side.BUY, size=D(size), price=D(price), account=account, **kw)


async def test_an_order_is_journaled_before_the_venue_hears_of_it(harness):
    engine = await harness.start()
    (order,) = await engine.submit(bid())
    (at_send,) = harness.sessions["paper"].journal_at_send
    assert at_send is not None and at_send.client_id == order.client_id
    assert at_send.status is OrderStatus.PENDING
    assert order.status is OrderStatus.OPEN
    await engine.journal.flush()
    assert engine.journal.order(order.client_id).status is OrderStatus.OPEN
    assert harness.exchange.order("paper", client_id=order.client_id).status is OrderStatus.OPEN


async def test_prices_and_sizes_are_rounded_to_tick_and_lot_never_more_aggressive(harness):
    engine = await harness.start()
    market = engine.venues["sim"].market("BTC")
    (buy,) = await engine.submit(bid(size=str(market.lot_size * 3000 + market.lot_size / 2), price=str(1000 + market.tick_size / 2)))
    assert buy.size == market.lot_size * 3000
    assert buy.price == 1000  # a buy rounds down
    (sell,) = await engine.submit(
        OrderSpec(symbol="BTC", side=Side.SELL, size=D("0.01"), price=D(10**6) + market.tick_size / 2, account="paper")
    )
    assert sell.price == 10**6 + market.tick_size  # a sell rounds up


async def test_a_size_below_one_lot_is_refused_and_nothing_is_journaled(harness):
    engine = await harness.start()
    with pytest.raises(InvalidRequest, match="rounds to 0"):
        await engine.submit(bid(size="0.0000001"))
    assert engine.journal.orders() == []


async def test_the_same_idempotency_key_returns_the_same_order_across_restarts(harness):
    engine = await harness.start()
    (first,) = await engine.submit(bid(), idempotency_key="k-1")
    (again,) = await engine.submit(bid(), idempotency_key="k-1")
    assert again.client_id == first.client_id
    engine = await harness.restart()
    (after,) = await engine.submit(bid(), idempotency_key="k-1")
    assert after.client_id == first.client_id
    assert harness.sessions["paper"].sent == []  # nothing sent again after the restart
    with pytest.raises(InvalidRequest, match="different order"):
        await engine.submit(bid(price="999"), idempotency_key="k-1")


async def test_cancel_and_modify_by_client_id(harness):
    engine = await harness.start()
    (order,) = await engine.submit(bid())
    modified = await engine.modify(order.client_id, price=D("1100"))
    assert modified.price == D("1100") and modified.client_id == order.client_id
    cancelled = await engine.cancel(order.client_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert harness.exchange.order("paper", client_id=order.client_id).status is OrderStatus.CANCELLED
    with pytest.raises(NotFound):
        await engine.cancel("no-such-id")


async def test_a_marketable_order_fills_and_the_fill_is_journaled_once(harness):
    engine = await harness.start()
    (order,) = await engine.submit(OrderSpec(symbol="BTC", side=Side.BUY, size=D("0.01"), type=OrderType.MARKET, account="paper"))
    await harness.until(lambda: engine.portfolio.accounts["paper"].position_size("BTC-PERP") == D("0.01"), what="position")
    assert engine.order(order.client_id).status is OrderStatus.FILLED
    # The order's own report counts toward the position before its fill is journaled.
    await harness.until(lambda: engine.journal.fills(account="paper") != [], what="the fill journaled")
    fills = engine.journal.fills(account="paper")
    assert sum(f.size for f in fills) == D("0.01")
    assert len({f.trade_id for f in fills}) == len(fills)


async def test_an_intent_whose_done_was_lost_in_a_crash_is_finished_at_restart(harness):
    engine = await harness.start()
    (order,) = await engine.submit(OrderSpec(symbol="BTC", side=Side.BUY, size=D("0.01"), type=OrderType.MARKET, account="paper"))
    intent_id = engine.journal.intent_id_of(order.client_id)
    await harness.until(lambda: engine.journal.intent(intent_id).state is IntentState.DONE, what="the intent done")
    # What a kill between the order's final status and the queued DONE leaves behind:
    await engine.journal.set_intent_state(intent_id, IntentState.OPEN)
    engine = await harness.restart()
    assert engine.journal.intent(intent_id).state is IntentState.DONE
    assert engine.state.intents[intent_id].state is IntentState.DONE


async def test_halt_cancels_and_blocks_new_orders_until_resume_also_across_restart(harness):
    engine = await harness.start()
    (order,) = await engine.submit(bid())
    await engine.set_trading_state("global", TradingState.HALTED, "operator", actor="test")
    assert engine.order(order.client_id).status is OrderStatus.CANCELLED
    with pytest.raises(Denied, match="halted"):
        await engine.submit(bid())
    engine = await harness.restart()
    with pytest.raises(Denied, match="halted"):
        await engine.submit(bid())
    await engine.set_trading_state("global", TradingState.ACTIVE, "operator resumed", actor="test")
    (placed,) = await engine.submit(bid())
    assert placed.status is OrderStatus.OPEN


async def test_orders_the_daemon_did_not_create_are_left_alone(harness):
    engine = await harness.start()
    foreign = harness.exchange.place("paper", "BTC-PERP", Side.BUY, D("0.01"), type=OrderType.LIMIT, price=D(1000), client_id="manual-1")
    await harness.until(lambda: "manual-1" in engine.foreign["paper"], what="foreign order seen")
    await engine.set_trading_state("account:paper", TradingState.HALTED, "test", actor="test")
    assert harness.exchange.order("paper", oid=foreign.oid).status is OrderStatus.OPEN
    with pytest.raises(Denied, match="not created by perpd"):
        await engine.cancel("manual-1")


async def test_a_denied_order_is_audited_with_the_policy_that_refused_it(rig):
    h = rig('\n[[policies]]\nname = "tiny"\nmax_order_notional = 5\n')
    engine = await h.start()
    with pytest.raises(Denied, match='policy "tiny"'):
        await engine.submit(bid())
    await engine.journal.flush()
    (event,) = engine.journal.events(action="place", result="denied")
    assert event.details["policy"] == "tiny" and event.details["limit"] == "max_order_notional"
    assert engine.journal.orders() == []  # nothing was journaled as an order


async def test_a_standing_order_the_venue_cancels_is_replaced_but_not_one_an_operator_cancels(rig):
    standing = '\n[[orders]]\nname = "bid"\naccount = "paper"\nsymbol = "BTC"\nside = "buy"\nsize = 0.01\nprice = 1000\n'
    h = rig(standing)
    engine = await h.start()
    def live() -> list:
        return [o for o in h.exchange.open_orders("paper")]

    await h.until(lambda: len(live()) == 1, what="standing order live")
    for _ in range(5):
        await engine.reconcile_once()  # steady passes: nothing to do, nothing doubled
    (first,) = live()
    h.exchange.cancel("paper", client_id=first.client_id)  # the venue cancels it
    await h.until(lambda: len(live()) == 1 and live()[0].client_id != first.client_id, what="re-placed")
    (second,) = live()
    await engine.cancel(second.client_id, actor="operator", retire=True)  # an operator cancels it
    for _ in range(10):
        await engine.reconcile_once()
    assert live() == []


async def test_the_dead_mans_switch_is_kept_armed_and_fires_when_the_daemon_goes_quiet(rig):
    h = rig()
    h.path.write_text(h.path.read_text().replace('[accounts.paper]\nvenue = "sim"\n', '[accounts.paper]\nvenue = "sim"\ndead_mans_switch_secs = 2\n'))
    engine = await h.start()
    (order,) = await engine.submit(bid())
    await asyncio.sleep(3)  # longer than the horizon: only the daemon's refreshes keep it
    assert h.exchange.order("paper", client_id=order.client_id).status is OrderStatus.OPEN
    engine.lifecycle.tasks["watchdog"].cancel()  # the daemon goes quiet
    await h.until(
        lambda: h.exchange.order("paper", client_id=order.client_id).status is OrderStatus.CANCELLED,
        timeout=6, what="the venue's switch to fire",
    )


async def test_client_ids_never_repeat_across_journals(tmp_path):
    """Intent ids restart at 1 in a new state dir; the journal's own salt keeps the same
    account's first order from reusing an old journal's client id."""
    from tests.engine.conftest import Harness

    ids = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        h = Harness(tmp_path / name)
        engine = await h.start()
        try:
            (placed,) = await engine.submit(bid())
            ids.append(placed.client_id)
            engine = await h.restart()  # the same journal keeps its salt: still derivable
            assert engine.state.client_id_salt and engine.journal.order(placed.client_id) is not None
            (again,) = await engine.submit(bid())
            assert again.client_id not in ids
        finally:
            await h.stop()
    assert ids[0] != ids[1]
