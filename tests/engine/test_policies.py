"""Risk policies and routes on a running daemon: two sim venues, three accounts."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from perpd.errors import Denied
from perpd.model import OrderSpec, OrderStatus, OrderType, Side, TradingState
from tests.engine.conftest import Harness

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
TEST_DAEMON = """[daemon]
http = false
reconcile_interval_secs = 0.05
watchdog_secs = 0
unknown_grace_secs = 0.3
"""


def multi_sim(tmp_path: Path, **replacements: str) -> Harness:
    text = (ROOT / "configs" / "multi-sim.toml").read_text()
    head, _, rest = text.partition("[venues.sim-a]")
    text = TEST_DAEMON + "\n[venues.sim-a]" + rest
    text = text.replace("[[targets]]", "[[targets]]\nenabled = false")  # tests drive orders themselves
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return Harness.with_config(tmp_path, text)


def market(symbol: str, side: Side, size: str, **where) -> OrderSpec:
    return OrderSpec(symbol=symbol, side=side, size=D(size), type=OrderType.MARKET, **where)


async def test_the_multi_sim_config_trades_the_target_through_its_route(tmp_path):
    h = multi_sim(tmp_path, **{"[[targets]]\nenabled = false": "[[targets]]"})
    engine = await h.start()
    try:
        rule = "target:btc-best:BTC-PERP"
        await h.until(lambda: engine.journal.events(action="place", rule=rule) != [], what="a routed slice")
        await engine.journal.flush()
        (first, *_) = engine.journal.events(action="place", rule=rule)
        assert first.account in ("alpha", "gamma")
        decisions = engine.journal.events(action="route")
        assert decisions and decisions[0].details["legs"][0][0] == first.account
    finally:
        await h.stop()


async def test_best_price_routes_to_the_better_book_and_journals_the_quotes(tmp_path):
    h = multi_sim(tmp_path)
    engine = await h.start()
    try:
        await h.until(lambda: all(engine.portfolio.market_data.book(v, "BTC-PERP").best_ask for v in ("sim-a", "sim-b")), what="books")
        (order,) = await engine.submit(market("BTC", Side.BUY, "0.01", route="btc-best"))
        (decision,) = engine.journal.events(action="route")
        quotes = {q["account"]: D(q["effective_price"]) for q in decision.details["quotes"] if q["effective_price"]}
        assert set(quotes) == {"alpha", "gamma"}
        assert order.account == min(quotes, key=quotes.get)  # the cheaper ask after fees
        assert decision.details["legs"] == [[order.account, "0.01"]]
    finally:
        await h.stop()


async def test_split_sends_legs_by_weight_that_sum_to_the_request(tmp_path):
    h = multi_sim(tmp_path)
    engine = await h.start()
    try:
        await h.until(lambda: all(engine.portfolio.mark(v, "ETH-PERP") for v in ("sim-a", "sim-b")), what="marks")
        orders = await engine.submit(market("ETH", Side.BUY, "0.4", route="eth-split"))
        sizes = {o.account: o.size for o in orders}
        assert sum(sizes.values()) == D("0.4")
        assert sizes == {"alpha": D("0.1"), "beta": D("0.1"), "gamma": D("0.2")}
        assert len({o.client_id for o in orders}) == 3
    finally:
        await h.stop()


async def test_aggregate_limit_counts_positions_on_both_venues(tmp_path):
    h = multi_sim(tmp_path)
    engine = await h.start()
    try:
        await h.until(lambda: all(engine.portfolio.mark(v, "BTC-PERP") for v in ("sim-a", "sim-b")), what="marks")
        await engine.submit(market("BTC", Side.BUY, "0.2", account="alpha"))  # ~13,000 on sim-a
        await h.until(lambda: engine.portfolio.accounts["alpha"].position_size("BTC-PERP") == D("0.2"), what="alpha long")
        with pytest.raises(Denied) as denied:
            await engine.submit(market("BTC", Side.BUY, "0.15", account="gamma"))  # +~9,750 on sim-b
        assert denied.value.policy == "btc-aggregate"
        assert str(denied.value.message).startswith('denied by policy "btc-aggregate": max_position_notional 20000 <')
        (order,) = await engine.submit(market("BTC", Side.BUY, "0.05", account="gamma"))  # within the sum
        assert order.status is not OrderStatus.REJECTED
    finally:
        await h.stop()


async def test_a_loss_trips_the_kill_switch_which_holds_across_restart_until_resume(tmp_path):
    h = multi_sim(tmp_path, **{"daily_loss_limit = 2000": "daily_loss_limit = 5"})
    engine = await h.start()
    try:
        await h.until(lambda: engine.portfolio.mark("sim-a", "BTC-PERP") is not None, what="mark")
        # A round trip pays the spread and two taker fees: a loss over 5 USDC.
        await engine.submit(market("BTC", Side.BUY, "0.1", account="alpha"))
        await h.until(lambda: engine.portfolio.accounts["alpha"].position_size("BTC-PERP") == D("0.1"), what="long")
        await engine.submit(market("BTC", Side.SELL, "0.1", account="alpha", reduce_only=True))  # reducing passes
        await h.until(lambda: engine.trading_state("alpha") is TradingState.HALTED, what="kill switch")
        await h.until(lambda: engine.portfolio.accounts["alpha"].position_size("BTC-PERP") == 0, what="flat")
        state, reason = engine.trading["policy:desk-loss"]
        assert "daily_loss_limit" in reason
        with pytest.raises(Denied, match="halted"):
            await engine.submit(market("BTC", Side.BUY, "0.01", account="gamma"))  # the whole scope halts
        await h.until(lambda: engine.journal.events(action="halted", actor="risk") != [], what="journaled trip")
        (event,) = engine.journal.events(action="halted", actor="risk")
        assert event.rule == "policy:desk-loss"

        engine = await h.restart()
        assert engine.trading_state("alpha") is TradingState.HALTED  # still tripped after restart
        await h.until(lambda: engine.portfolio.mark("sim-b", "BTC-PERP") is not None, what="mark")
        await engine.set_trading_state("policy:desk-loss", TradingState.ACTIVE, "operator reviewed", actor="test")
        (order,) = await engine.submit(OrderSpec(symbol="BTC", side=Side.BUY, size=D("0.01"), price=D(60000), account="gamma"))
        assert order.status is OrderStatus.OPEN
        for _ in range(5):
            await engine.reconcile_once()  # the loss resumed over does not re-trip at once
        assert engine.trading_state("alpha") is TradingState.ACTIVE
    finally:
        await h.stop()


async def test_reload_applies_new_policies_at_once(tmp_path):
    h = multi_sim(tmp_path)
    engine = await h.start()
    try:
        await h.until(lambda: engine.portfolio.mark("sim-a", "BTC-PERP") is not None, what="mark")
        spec = OrderSpec(symbol="BTC", side=Side.BUY, size=D("0.1"), price=D(60000), account="beta")
        await engine.submit(spec)
        h.path.write_text(h.path.read_text().replace("max_order_notional = 50000", "max_order_notional = 5000"))
        change = await h.daemon.reload(actor="test")
        assert change["policies"]["changed"] == ["house"]
        with pytest.raises(Denied, match='policy "house": max_order_notional 5000 < 6000'):
            await engine.submit(spec)
    finally:
        await h.stop()
