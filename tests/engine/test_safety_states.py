"""Halt, reduce-only, the kill switch and the adopt boundary hold on the venue, not only in
perpd's memory: judged by the sim exchange's own orders."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpd.errors import AuthError, Denied, Unavailable
from perpd.model import OrderSpec, OrderStatus, OrderType, Side, TimeInForce, TradingState
from tests.engine.conftest import Harness

pytestmark = pytest.mark.anyio

STANDING = """
[[orders]]
name = "bid"
account = "paper"
symbol = "BTC"
side = "buy"
size = 0.01
price = 1000
"""


def order(side: Side, size: str = "0.01", price: str | None = None, account: str = "paper", **kw) -> OrderSpec:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    tif = TimeInForce.GTC if price else TimeInForce.IOC
    return OrderSpec(symbol="BTC", side=side, size=D(size), type=kind, tif=tif, price=D(price) if price else None, account=account, **kw)


def live(h: Harness, account: str = "paper"):
    return h.exchange.open_orders(account)


async def long_position(h: Harness, size: str = "0.01") -> None:
    engine = h.engine
    await h.until(lambda: engine.portfolio.mark("sim", "BTC-PERP") is not None, what="a mark")
    await engine.submit(order(Side.BUY, size))
    await h.until(lambda: h.exchange.position("paper", "BTC-PERP").size == D(size), what="long")
    await h.until(lambda: engine.portfolio.accounts["paper"].position_size("BTC-PERP") == D(size), what="seen long")


async def test_reduce_only_counts_live_orders_and_sends_reduce_only(harness):
    engine = await harness.start()
    await long_position(harness)
    await engine.set_trading_state("account:paper", TradingState.REDUCE_ONLY, "test", actor="test")
    high = str(engine.portfolio.mark("sim", "BTC-PERP") * 2)
    (first,) = await engine.submit(order(Side.SELL, price=high))  # reduces: admitted
    for _ in range(2):  # the live sell already closes the whole long
        with pytest.raises(Denied, match="does not reduce"):
            await engine.submit(order(Side.SELL, price=high))
    (resting,) = live(harness)
    assert resting.client_id == first.client_id and resting.reduce_only  # sent reduce-only


async def test_entering_reduce_only_cancels_what_would_grow_the_position(harness):
    engine = await harness.start()
    await long_position(harness)
    (grow,) = await engine.submit(order(Side.BUY, price="1000"))
    high = str(engine.portfolio.mark("sim", "BTC-PERP") * 2)
    (shrink,) = await engine.submit(order(Side.SELL, price=high))
    await engine.set_trading_state("account:paper", TradingState.REDUCE_ONLY, "test", actor="test")
    assert [o.client_id for o in live(harness)] == [shrink.client_id]
    assert harness.exchange.order("paper", client_id=grow.client_id).status is OrderStatus.CANCELLED


@pytest.mark.parametrize("scope,actor", [("global", "operator"), ("account:paper", "risk"), ("venue:sim", "operator")])
async def test_a_standing_order_paused_by_a_halt_comes_back_on_resume_also_across_restart(rig, scope, actor):
    h = rig(STANDING)
    engine = await h.start()
    await h.until(lambda: len(live(h)) == 1, what="standing order live")
    await engine.set_trading_state(scope, TradingState.HALTED, "test", actor=actor)
    assert live(h) == []
    for _ in range(5):
        await engine.reconcile_once()
    assert live(h) == []  # halted: not re-placed
    engine = await h.restart()
    for _ in range(5):
        await engine.reconcile_once()
    assert live(h) == []
    await engine.set_trading_state(scope, TradingState.ACTIVE, "resumed", actor="operator")
    await h.until(lambda: len(live(h)) == 1, what="standing order back after resume")
    for _ in range(5):
        await engine.reconcile_once()
    assert len(live(h)) == 1


async def test_the_watchdog_pauses_standing_orders_it_does_not_retire_them(rig):
    h = rig(STANDING)
    engine = await h.start()
    await h.until(lambda: len(live(h)) == 1, what="standing order live")
    (first,) = live(h)
    await engine.cancel_all(account="paper", actor="watchdog")
    await h.until(lambda: len(live(h)) == 1 and live(h)[0].client_id != first.client_id, what="re-placed")


async def test_modify_leaves_foreign_orders_alone_without_adopt(harness):
    engine = await harness.start()
    harness.exchange.place("paper", "BTC-PERP", Side.BUY, D("0.01"), type=OrderType.LIMIT, price=D(1000), client_id="manual-1")
    await harness.until(lambda: "manual-1" in engine.foreign["paper"], what="foreign order seen")
    with pytest.raises(Denied, match="not created by perpd"):
        await engine.modify("manual-1", price=D(1001))
    assert harness.exchange.order("paper", client_id="manual-1").price == D(1000)


async def test_a_modify_is_not_counted_against_the_order_it_replaces(rig):
    # One 0.01 bid (~650 at the mark) fits under the limit; counted twice it would not.
    h = rig('\n[[policies]]\nname = "one-bid"\nmax_position_notional = 1000\n')
    engine = await h.start()
    await h.until(lambda: engine.portfolio.mark("sim", "BTC-PERP") is not None, what="a mark")
    (placed,) = await engine.submit(order(Side.BUY, price="1000"))
    modified = await engine.modify(placed.client_id, price=D("1001"))
    assert modified.price == D("1001")


async def test_one_failing_cancel_of_an_adopted_order_does_not_stop_the_halt(rig):
    h = rig()
    h.path.write_text(h.path.read_text().replace('[accounts.paper]\nvenue = "sim"\n', '[accounts.paper]\nvenue = "sim"\nadopt = true\n'))
    engine = await h.start()
    for n in (1, 2):
        h.exchange.place("paper", "BTC-PERP", Side.BUY, D("0.01"), type=OrderType.LIMIT, price=D(1100 + n), client_id=f"manual-{n}")
    (ours,) = await engine.submit(order(Side.BUY, price="1100"))
    await h.until(lambda: len(engine.foreign["paper"]) == 2, what="foreign orders seen")
    h.sessions["paper"].fail_cancel.add("manual-1")
    await engine.set_trading_state("account:paper", TradingState.HALTED, "test", actor="operator")
    assert [o.client_id for o in live(h)] == ["manual-1"]  # everything else cancelled
    assert h.exchange.order("paper", client_id=ours.client_id).status is OrderStatus.CANCELLED


async def test_a_failing_lookup_on_one_account_does_not_stop_another_accounts_halt(rig):
    h = rig()
    engine = await h.start()
    h.sessions["other"].faults.append("503")  # never reached the venue: only a lookup can tell
    (unknown,) = await engine.submit(order(Side.BUY, price="1000", account="other"))
    assert unknown.status is OrderStatus.UNKNOWN
    h.sessions["other"].fail_lookups = AuthError("401 Unauthorized", venue="sim")
    (resting,) = await engine.submit(order(Side.BUY, price="1000"))
    await engine.set_trading_state("account:paper", TradingState.HALTED, "test", actor="operator", cancel=False)
    await h.until(lambda: live(h) == [], what="the halt enforced by the reconciler")
    assert h.exchange.order("paper", client_id=resting.client_id).status is OrderStatus.CANCELLED
    status = engine.status()["accounts"]["other"]
    assert "401" in status["last_error"], engine.order(unknown.client_id).status


async def test_a_halt_left_by_a_removed_policy_halts_nothing_and_can_be_cleared(rig):
    h = rig('\n[[policies]]\nname = "gone"\nscope = { accounts = ["other"] }\nmax_order_notional = 100000\n')
    engine = await h.start()
    await engine.set_trading_state("policy:gone", TradingState.HALTED, "test", actor="risk")
    assert engine.trading_state("other") is TradingState.HALTED and engine.trading_state("paper") is TradingState.ACTIVE
    h.write("")  # the policy is removed from the config
    await h.daemon.reload(actor="test")
    assert engine.trading_state("other") is TradingState.ACTIVE and engine.trading_state("paper") is TradingState.ACTIVE
    await engine.set_trading_state("policy:gone", TradingState.ACTIVE, "cleared", actor="operator")
    assert engine.trading["policy:gone"][0] is TradingState.ACTIVE


async def test_orders_restored_after_a_restart_are_cancelled_by_a_later_halt_or_reduce_only(rig):
    h = rig()
    engine = await h.start()
    (bid,) = await engine.submit(order(Side.BUY, price="1000"))
    engine = await h.restart()  # the bid is known again from the journal, not from a new report
    await engine.set_trading_state("global", TradingState.REDUCE_ONLY, "test", actor="operator")
    assert h.exchange.order("paper", client_id=bid.client_id).status is OrderStatus.CANCELLED


async def retired_but_live(h: Harness):
    """A resting bid the operator cancels while the venue answers 503: retired, still live."""
    engine = await h.start()
    (bid,) = await engine.submit(order(Side.BUY, price="1000"))
    h.sessions["paper"].fail_cancel.add(bid.client_id)
    with pytest.raises(Unavailable):
        await engine.cancel(bid.client_id, actor="operator", retire=True)
    return engine, bid


async def test_an_order_whose_operator_cancel_failed_is_cancelled_once_the_venue_answers(rig):
    """The operator's cancel meets a 503: the order is retired but the venue still holds it.
    The planner keeps cancelling it; it never stays live and forgotten."""
    h = rig()
    engine, bid = await retired_but_live(h)
    assert [o.client_id for o in live(h)] == [bid.client_id]
    await engine.reconcile_once()
    assert [o.client_id for o in live(h)] == [bid.client_id]  # the venue still refuses
    h.sessions["paper"].fail_cancel.clear()
    await engine.reconcile_once()
    await h.quiesce()
    assert live(h) == []
    assert engine.journal.order(bid.client_id).status is OrderStatus.CANCELLED


async def test_a_retired_order_still_on_the_venue_is_known_after_a_restart_and_a_halt_cancels_it(rig):
    """Found by the state machine's soak search: after a restart such an order was nobody's
    (only open intents were restored), so a later halt left it live."""
    h = rig()
    engine, bid = await retired_but_live(h)
    engine = await h.restart()
    async with h.paused():
        await engine.set_trading_state("global", TradingState.HALTED, "test", actor="operator")
    assert live(h) == [], "a halted account with a live order"
