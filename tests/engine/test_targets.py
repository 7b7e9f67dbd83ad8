"""Targets reach their position exactly and then stay still, whatever order the venue's
channels report in: a slice counts from the moment it is sent until a position report
shows its fills (perpd/ledger.py). Judged by the sim exchange's own books."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from perpd.model import ZERO, OrderType, Side, TimeInForce, TradingState
from tests.engine.conftest import Harness

pytestmark = pytest.mark.anyio

TARGET = """
[[targets]]
account = "paper"
symbol = "ETH"
position = {position}
max_slice = 0.1
limit_bps = 30
"""

# What venues allow between their private channels (tests/engine/faults.py).
ORDERINGS = {
    "in order": {},
    "positions 1 s behind fills (Hyperliquid)": {"lag": 1.0},
    "positions first, orders and fills after": {"delays": {"orders": 0.3, "fills": 0.3}},
    "order updates first, fills late": {"delays": {"fills": 0.4}},
    "fills first, order updates late": {"delays": {"orders": 0.4}},
    "everything twice": {"duplicate": {"orders", "fills", "positions"}},
}


def apply(h: Harness, ordering: dict) -> None:
    session = h.sessions["paper"]
    if "lag" in ordering:
        session.lag_positions(ordering["lag"])
    session.delays.update(ordering.get("delays", {}))
    session.duplicate |= ordering.get("duplicate", set())


class Watch:
    """Samples the venue's position of paper ETH after every pass: the worst it ever was."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.peak = ZERO

    def venue_position(self) -> D:
        size = self.h.exchange.position("paper", "ETH-PERP").size
        self.peak = max(self.peak, abs(size))
        return size

    def traded(self) -> D:
        return sum((f.size for f in self.h.engine.journal.fills(account="paper", limit=10_000)), ZERO)


async def hold(h: Harness, watch: Watch, secs: float) -> None:
    """Let the daemon run for `secs` of real time, sampling the venue after each pass."""
    deadline = asyncio.get_running_loop().time() + secs
    while asyncio.get_running_loop().time() < deadline:
        await h.engine.reconcile_once()
        watch.venue_position()
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("ordering", list(ORDERINGS), ids=list(ORDERINGS))
async def test_a_target_trades_exactly_its_size_and_then_nothing(rig, ordering):
    h = rig(TARGET.format(position="0.5"))
    await h.start()
    apply(h, ORDERINGS[ordering])
    watch = Watch(h)
    await h.until(lambda: watch.venue_position() == D("0.5"), timeout=20, what="the target on the venue")
    await hold(h, watch, 2.5)  # longer than any delay: every report has landed
    await h.quiesce()
    assert watch.peak == D("0.5"), f"the venue position reached {watch.peak} for a 0.5 target"
    assert watch.venue_position() == D("0.5")
    assert watch.traded() == D("0.5"), "more was traded than the target asks"


async def test_a_target_under_report_lag_stays_exact_across_a_restart(rig):
    h = rig(TARGET.format(position="0.5"))
    await h.start()
    h.sessions["paper"].lag_positions(1.0)
    watch = Watch(h)
    await h.until(lambda: watch.venue_position() >= D("0.2"), timeout=20, what="the target underway")
    await h.restart()  # the lagging report has not caught up with the last slices
    h.sessions["paper"].lag_positions(1.0)
    await h.until(lambda: watch.venue_position() == D("0.5"), timeout=20, what="the target on the venue")
    await hold(h, watch, 2.5)
    await h.quiesce()
    assert watch.peak == D("0.5")
    assert watch.traded() == D("0.5")


async def test_a_target_that_flips_side_trades_exactly_the_difference(rig):
    h = rig(TARGET.format(position="0.3"))
    await h.start()
    h.sessions["paper"].lag_positions(0.7)
    watch = Watch(h)
    await h.until(lambda: watch.venue_position() == D("0.3"), timeout=20, what="long 0.3")
    h.write(TARGET.format(position="-0.2"))
    await h.daemon.reload(actor="test")
    await h.until(lambda: watch.venue_position() == D("-0.2"), timeout=20, what="short 0.2")
    await hold(h, watch, 2.0)
    await h.quiesce()
    assert watch.venue_position() == D("-0.2")
    assert watch.traded() == D("0.8")  # 0.3 up, 0.5 down: not a lot more


BREAKER = """
[[targets]]
name = "fight"
account = "paper"
symbol = "ETH"
position = 0.1
max_slice = 0.05
limit_bps = 30
max_turnover = 0.3
"""


async def test_the_turnover_breaker_stops_a_target_that_keeps_trading(rig):
    """Someone keeps selling the target's position away (a stand-in for any planner bug
    that trades without end): past max_turnover the target stops, says why, places
    nothing more, and trades again only when an operator resumes it."""
    h = rig(BREAKER)
    engine = await h.start()
    watch = Watch(h)
    for _ in range(3):  # 0.1 bought, sold away, bought again: 0.3 placed
        await h.until(lambda: watch.venue_position() == D("0.1"), timeout=20, what="the target")
        h.exchange.place("paper", "ETH-PERP", Side.SELL, D("0.1"), type=OrderType.MARKET, tif=TimeInForce.IOC)
    await h.until(lambda: engine.trading.get("target:fight", (TradingState.ACTIVE,))[0] is TradingState.HALTED,
                  timeout=20, what="the breaker")
    state, reason = engine.trading["target:fight"]
    assert reason.startswith("turnover: max_turnover 0.3")
    traded = watch.traded()
    await hold(h, watch, 1.0)
    assert watch.traded() == traded and watch.venue_position() == 0  # stopped: nothing placed
    await h.quiesce()
    assert [e.result for e in engine.journal.events(action="halted") if e.rule == "target:fight"]
    assert engine.status()["blocked"]["target:fight"].startswith("stopped: turnover")

    await engine.set_trading_state("target:fight", TradingState.ACTIVE, "checked", actor="test")
    await h.until(lambda: watch.venue_position() == D("0.1"), timeout=20, what="the target after resume")


async def test_a_stopped_target_stays_stopped_across_a_restart(rig):
    h = rig(BREAKER)
    engine = await h.start()
    await engine.set_trading_state("target:fight", TradingState.HALTED, "turnover: test", actor="turnover")
    engine = await h.restart()
    watch = Watch(h)
    await hold(h, watch, 1.0)
    assert watch.traded() == 0
    assert engine.trading["target:fight"][0] is TradingState.HALTED
