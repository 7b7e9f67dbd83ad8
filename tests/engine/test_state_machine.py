"""Random submit / cancel / fill / disconnect / fault / restart sequences against a real
daemon on the sim venue; after each settled step the journal must agree with the venue:
no order lost, none duplicated, positions equal to journaled fills."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from decimal import Decimal as D
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from perpd import sync
from perpd.errors import PerpdError
from perpd.model import ZERO, OrderSpec, OrderStatus, OrderType, Side, TimeInForce
from tests.engine.conftest import Harness
from tests.engine.faults import Killed

GRACE_SECS = 0.1


class DaemonMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        self.h = Harness(Path(self.tmp.name), daemon=f"unknown_grace_secs = {GRACE_SECS}")
        self.h.path.write_text(self.h.path.read_text().replace("unknown_grace_secs = 0.3\n", ""))
        self.sent: list[str] = []  # every client id the venue received, across restarts

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    @initialize()
    def start(self) -> None:
        self.run(self.h.start())

    def teardown(self) -> None:
        try:
            if self.h.daemon is not None:
                self.run(self._settle())
                self.check_agreement()
        finally:
            try:
                self.run(self.h.stop())
            finally:
                self.loop.close()
                self.tmp.cleanup()

    @property
    def engine(self):
        return self.h.engine

    def _collect_sent(self) -> None:
        session = self.h.sessions["paper"]
        self.sent.extend(session.sent)
        session.sent.clear()

    # ------------------------------------------------------------------ rules

    @rule(ticks=st.integers(min_value=5, max_value=200), size=st.sampled_from(["0.001", "0.002", "0.005"]))
    def submit_resting_bid(self, ticks: int, size: str) -> None:
        mark = self.engine.portfolio.mark("sim", "BTC-PERP") or D(65000)
        spec = OrderSpec(symbol="BTC", side=Side.BUY, size=D(size), price=mark - ticks * 10, account="paper")
        self._submit(spec)

    @rule(side=st.sampled_from([Side.BUY, Side.SELL]))
    def submit_marketable(self, side: Side) -> None:
        spec = OrderSpec(symbol="BTC", side=side, size=D("0.001"), type=OrderType.MARKET, account="paper")
        self._submit(spec)

    def _submit(self, spec: OrderSpec) -> None:
        try:
            self.run(self.engine.submit(spec))
        except Killed:
            self._collect_sent()
            self.run(self.h.restart())
        except PerpdError:
            pass  # denials and local refusals are fine; they change nothing
        self._collect_sent()

    @rule(data=st.data())
    def cancel_one(self, data) -> None:
        live = sorted(o.client_id for o in self.engine.orders.values() if o.status is OrderStatus.OPEN)
        if live:
            try:
                self.run(self.engine.cancel(data.draw(st.sampled_from(live))))
            except PerpdError:
                pass

    @rule()
    def someone_hits_our_best_bid(self) -> None:
        ours = [o for o in self.h.exchange.open_orders("paper") if o.side is Side.BUY]
        if ours:
            best = max(ours, key=lambda o: o.price)
            self.h.exchange.place("other", "BTC-PERP", Side.SELL, best.size - best.filled, type=OrderType.LIMIT,
                                  price=best.price, tif=TimeInForce.IOC)

    @rule()
    def drop_the_account_stream(self) -> None:
        self.h.sessions["paper"].drop_stream()

    @rule(fault=st.sampled_from(["429", "503", "timeout-after-accept", "kill-before-send", "kill-after-accept"]))
    def next_send_fails(self, fault: str) -> None:
        self.h.sessions["paper"].faults.append(fault)

    @rule()
    def restart(self) -> None:
        self._collect_sent()
        self.run(self.h.restart())

    @precondition(lambda self: self.h.daemon is not None)
    @rule()
    def settle_and_compare(self) -> None:
        self.run(self._settle())
        self.check_agreement()

    # ------------------------------------------------------------------ checks

    async def _settle(self) -> None:
        self.h.sessions["paper"].faults.clear()
        await asyncio.sleep(GRACE_SECS + 0.05)
        for _ in range(3):
            await self.engine.reconcile_once()
        await sync.resync(self.engine, "paper")
        await self.h.quiesce()

    @invariant()
    def no_client_id_is_ever_sent_twice(self) -> None:
        counts = Counter(self.sent + self.h.sessions["paper"].sent)
        assert all(n == 1 for n in counts.values()), counts

    @invariant()
    def every_venue_order_of_ours_is_journaled(self) -> None:
        if self.h.daemon is None:
            return
        for order in self.h.exchange.open_orders("paper"):
            assert self.engine.journal.order(order.client_id) is not None, order.client_id

    def check_agreement(self) -> None:
        engine, exchange = self.engine, self.h.exchange
        venue_live = {o.client_id for o in exchange.open_orders("paper")}
        journal_live = {o.client_id for o in engine.journal.orders(account="paper", live=True, limit=10_000)}
        assert venue_live == journal_live, (venue_live, journal_live)
        fills = engine.journal.fills(account="paper", limit=100_000)
        assert len({f.trade_id for f in fills}) == len(fills)
        journaled = sum((f.signed_size for f in fills if f.symbol == "BTC-PERP"), ZERO)
        assert journaled == exchange.position("paper", "BTC-PERP").size
        assert engine.portfolio.accounts["paper"].position_size("BTC-PERP") == journaled


DaemonMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDaemonMachine = DaemonMachine.TestCase
