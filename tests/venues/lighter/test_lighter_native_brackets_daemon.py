"""The daemon's brackets on the Lighter emulator go out as one OTOCO grouped-orders tx:
the venue holds the exits while the entry rests (perpd neither judges them lost nor
places its own), places them sized by the fill, and perpd follows them by the client ids
it journaled before the send. Judged by the emulator's own books."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from perpd.model import Bracket, OrderSpec, OrderStatus, OrderType, Side, TimeInForce
from tests.daemon_support import DAEMON, lighter_account, running_daemon
from tests.polling import eventually
from tests.venues.hyperliquid.hl_support import serve
from venues.lighter.emulator import create_app
from venues.lighter.emulator.seeding import DEMO_ACCOUNT, DEMO_API_PRIVATE_KEY

pytestmark = pytest.mark.anyio
OTHER = "4242"


def config(url: str) -> str:
    return DAEMON + "unknown_grace_secs = 0.3\n" + lighter_account(url, DEMO_ACCOUNT)


async def test_the_venue_holds_the_exits_and_places_them_for_the_fill(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERPD_TEST_LIGHTER_KEY", DEMO_API_PRIVATE_KEY)
    app = create_app(makers=False, takers=False)
    emulator = app.state.lighter
    emulator.exchange.ensure_account(int(OTHER))

    def ours() -> dict[str, object]:
        return {o.client_id: o for o in emulator.engine.open_orders(str(DEMO_ACCOUNT))}

    async with serve(app) as url, running_daemon(tmp_path, config(url)) as engine:
        await eventually(lambda: engine.portfolio.mark("lt", "ETH-PERP") is not None, what="a mark", timeout_secs=10)
        mark = engine.portfolio.mark("lt", "ETH-PERP")
        price, tp, sl = (mark * D("0.98")).quantize(D("0.01")), (mark * D("1.05")).quantize(D("0.01")), (mark * D("0.95")).quantize(D("0.01"))
        (order,) = await engine.submit(OrderSpec(symbol="ETH", side=Side.BUY, size=D("0.05"), price=price, account="main",
                                                 take_profit=Bracket(tp, tp), stop_loss=Bracket(sl)))
        parent = engine.journal.intent_id_of(order.client_id)
        exits = {k: engine.journal.orders(intent_id=engine.journal.latest_intent(f"bracket:{parent}:{k}").id, limit=10)[0]
                 for k in ("tp", "sl")}
        await eventually(lambda: set(ours()) == {order.client_id}, what="the entry resting", timeout_secs=10)
        for _ in range(3):
            await engine.sync.resync("main")
            await asyncio.sleep(0.35)
        assert set(ours()) == {order.client_id}  # the venue holds the exits; perpd placed none
        assert {engine.order(c.client_id).status for c in exits.values()} == {OrderStatus.PENDING}

        emulator.engine.place(OTHER, "ETH-PERP", Side.SELL, D("0.05"), type=OrderType.LIMIT, price=price, tif=TimeInForce.GTC)
        emulator.exchange.step()
        wanted = {exits["tp"].client_id, exits["sl"].client_id}
        await eventually(lambda: set(ours()) == wanted, what="the venue's exits", timeout_secs=10)
        await eventually(lambda: all(engine.order(c.client_id).status is OrderStatus.OPEN for c in exits.values()), what="perpd sees them", timeout_secs=10)
        for _ in range(5):
            await engine.reconcile_once()
        assert set(ours()) == wanted  # none of perpd's own
        assert all(o.reduce_only and o.size == D("0.05") for o in ours().values())


async def test_a_group_lighter_cannot_form_sends_the_entry_alone(tmp_path: Path, monkeypatch):
    """Lighter groups start with a limit or market order: a stop entry with a take profit
    goes alone, its exit not sent (perpd places it when the entry fills), nothing refused."""
    monkeypatch.setenv("PERPD_TEST_LIGHTER_KEY", DEMO_API_PRIVATE_KEY)
    app = create_app(makers=False, takers=False)
    emulator = app.state.lighter
    async with serve(app) as url, running_daemon(tmp_path, config(url)) as engine:
        await eventually(lambda: engine.portfolio.mark("lt", "ETH-PERP") is not None, what="a mark", timeout_secs=10)
        mark = engine.portfolio.mark("lt", "ETH-PERP")
        trigger, tp = (mark * D("1.02")).quantize(D("0.01")), (mark * D("1.10")).quantize(D("0.01"))
        (order,) = await engine.submit(OrderSpec(symbol="ETH", side=Side.BUY, size=D("0.05"), type=OrderType.STOP_LIMIT,
                                                 price=trigger + 1, trigger_price=trigger, account="main",
                                                 take_profit=Bracket(tp)))
        parent = engine.journal.intent_id_of(order.client_id)
        (journaled,) = engine.journal.orders(intent_id=engine.journal.latest_intent(f"bracket:{parent}:tp").id, limit=10)
        exit_order = engine.order(journaled.client_id)
        assert exit_order.status is OrderStatus.EXPIRED and exit_order.reason.startswith("perpd: not sent with the entry")
        await eventually(lambda: order.client_id in {o.client_id for o in emulator.engine.open_orders(str(DEMO_ACCOUNT))},
                         what="the entry alone on the venue", timeout_secs=10)
        assert engine.order(order.client_id).status is not OrderStatus.REJECTED
