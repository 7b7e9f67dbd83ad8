"""Native brackets on Hyperliquid: an entry with a take profit and a stop loss goes out as
one `normalTpsl` order action, so the venue holds the exits and places them the moment
the entry fills, whether or not perpd is running. perpd journals each exit before the
send, leaves it alone while the venue holds it, and places its own only when the venue
did not (an entry cancelled part-filled). Judged by the emulator's own books."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from perpd.daemon import Daemon
from perpd.model import Bracket, OrderSpec, OrderStatus, OrderType, Side, TimeInForce
from tests.daemon_support import DAEMON, hyperliquid_account
from tests.polling import eventually
from tests.venues.hyperliquid.hl_support import serve
from venues.hyperliquid.emulator import create_app
from venues.hyperliquid.signing import Signer

pytestmark = pytest.mark.anyio

KEY = "0x" + "e2" * 32
ADDRESS = Signer(KEY).address
USER = ADDRESS.lower()
TAKER = "0x" + "ab" * 20


def config(url: str) -> str:
    return DAEMON + "unknown_grace_secs = 0.3\n" + hyperliquid_account(url, ADDRESS)


@pytest.fixture
async def rig(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERPD_TEST_HL_KEY", KEY)
    app = create_app(takers=False, makers=False)  # our entry is the only bid: the test fills it
    emu = app.state.emulator
    emu.ensure_user(TAKER)
    async with serve(app) as url:
        path = tmp_path / "perpd.toml"
        path.write_text(config(url))
        daemon = Daemon(path, state_dir=tmp_path / "state")
        await daemon.start()
        try:
            yield daemon, emu, path, tmp_path
        finally:
            await daemon.stop()


def venue_orders(emu) -> dict[str, object]:
    return {o.client_id: o for o in emu.engine.open_orders(USER)}


def take(emu, size: D, price: D) -> None:
    """Another trader sells `size` into our bid at `price`."""
    emu.engine.place(TAKER, "ETH-PERP", Side.SELL, size, type=OrderType.LIMIT, price=price, tif=TimeInForce.IOC)
    emu.settle()


async def entry(daemon, size: str = "0.1"):
    engine = daemon.engine
    await eventually(lambda: engine.portfolio.mark("hl", "ETH-PERP") is not None, what="a mark", timeout_secs=10)
    mark = engine.portfolio.mark("hl", "ETH-PERP")
    price, tp, sl = (mark * D("0.99")).quantize(D("0.1")), (mark * D("1.05")).quantize(D("0.1")), (mark * D("0.95")).quantize(D("0.1"))
    spec = OrderSpec(symbol="ETH", side=Side.BUY, size=D(size), price=price, account="main",
                     take_profit=Bracket(tp), stop_loss=Bracket(sl))
    (order,) = await engine.submit(spec)
    intent = engine.journal.intent_id_of(order.client_id)
    exits = {kind: engine.journal.orders(intent_id=engine.journal.latest_intent(f"bracket:{intent}:{kind}").id, limit=10)[0]
             for kind in ("tp", "sl")}
    return order, exits, price, tp, sl


async def test_the_venue_holds_the_exits_and_places_them_when_the_entry_fills(rig):
    daemon, emu, _, _ = rig
    engine = daemon.engine
    order, exits, price, tp, sl = await entry(daemon)
    action = next(body["action"] for body in reversed(emu.received) if body["action"]["type"] == "order")
    assert action["grouping"] == "normalTpsl" and len(action["orders"]) == 3
    assert [o["c"] for o in action["orders"]] == [order.client_id, exits["tp"].client_id, exits["sl"].client_id]
    for kind, child in exits.items():  # journaled before the send, tied to the entry
        assert child.parent_client_id == order.client_id and child.reduce_only and child.side is Side.SELL, kind
    # The venue holds them, invisibly: perpd neither looks them up as lost nor places its own.
    for _ in range(3):
        await engine.sync.resync("main")
        await asyncio.sleep(0.35)
    assert set(venue_orders(emu)) == {order.client_id}
    assert {engine.order(c.client_id).status for c in exits.values()} == {OrderStatus.PENDING}

    take(emu, D("0.1"), price)  # the entry fills: the venue places both exits at once
    await eventually(lambda: set(venue_orders(emu)) == {exits["tp"].client_id, exits["sl"].client_id}, what="the venue's exits", timeout_secs=10)
    await eventually(lambda: all(engine.order(c.client_id).status is OrderStatus.OPEN for c in exits.values()), what="perpd sees them", timeout_secs=10)
    for _ in range(5):
        await engine.reconcile_once()
    assert set(venue_orders(emu)) == {exits["tp"].client_id, exits["sl"].client_id}  # none of perpd's own

    emu.engine.place(TAKER, "ETH-PERP", Side.BUY, D("0.1"), type=OrderType.LIMIT, price=tp, tif=TimeInForce.GTC)
    emu.engine.set_mark("ETH-PERP", tp + 10)  # the take profit fires into that bid; the stop loss goes
    emu.step()
    await eventually(lambda: emu.engine.position(USER, "ETH-PERP").size == 0, what="the position closed", timeout_secs=10)
    await eventually(lambda: venue_orders(emu) == {}, what="the stop loss cancelled", timeout_secs=10)
    await eventually(lambda: not engine.state.bracket_parents, what="the bracket finished", timeout_secs=10)


async def test_an_entry_cancelled_unfilled_takes_its_held_exits_with_it(rig):
    daemon, emu, _, _ = rig
    engine = daemon.engine
    order, exits, _, _, _ = await entry(daemon)
    await engine.cancel(order.client_id, actor="operator", retire=True)
    await eventually(lambda: all(engine.order(c.client_id).status is OrderStatus.CANCELLED for c in exits.values()), what="the exits ended", timeout_secs=10)
    await eventually(lambda: not engine.state.bracket_parents, what="the bracket finished", timeout_secs=10)
    for _ in range(5):
        await engine.reconcile_once()
    assert venue_orders(emu) == {} and emu.engine.position(USER, "ETH-PERP").size == 0


async def test_exits_the_venue_dropped_are_placed_by_perpd(rig):
    """Hyperliquid places normalTpsl children only for a parent that filled whole: one
    cancelled part-filled drops them. perpd then protects what did fill."""
    daemon, emu, _, _ = rig
    engine = daemon.engine
    order, exits, price, tp, sl = await entry(daemon)
    take(emu, D("0.04"), price)
    await eventually(lambda: engine.order(order.client_id).filled_size == D("0.04"), what="the part fill", timeout_secs=10)
    await engine.cancel(order.client_id, actor="operator")
    await eventually(lambda: all(engine.order(c.client_id).status is OrderStatus.CANCELLED for c in exits.values()), what="the held exits ended", timeout_secs=10)
    await eventually(lambda: len(venue_orders(emu)) == 2, what="perpd's own exits", timeout_secs=10)
    placed = {o.type: o for o in venue_orders(emu).values()}
    assert placed[OrderType.TAKE_PROFIT_MARKET].size == D("0.04") and placed[OrderType.TAKE_PROFIT_MARKET].trigger_price == tp
    assert placed[OrderType.STOP_MARKET].size == D("0.04") and placed[OrderType.STOP_MARKET].trigger_price == sl
    assert all(o.reduce_only for o in placed.values())


async def test_after_a_restart_held_exits_are_neither_lost_nor_sent_alone(rig):
    daemon, emu, path, tmp = rig
    order, exits, price, _, _ = await entry(daemon)
    await daemon.stop()
    again = Daemon(path, state_dir=tmp / "state")
    await again.start()
    try:
        engine = again.engine
        for _ in range(3):
            await engine.sync.resync("main")
            await asyncio.sleep(0.35)
        assert set(venue_orders(emu)) == {order.client_id}  # no exit sent on its own
        take(emu, D("0.1"), price)
        await eventually(lambda: set(venue_orders(emu)) == {exits["tp"].client_id, exits["sl"].client_id}, what="the venue's exits", timeout_secs=10)
        await eventually(lambda: all(engine.order(c.client_id).status is OrderStatus.OPEN for c in exits.values()), what="perpd sees them", timeout_secs=10)
        for _ in range(5):
            await engine.reconcile_once()
        assert len(venue_orders(emu)) == 2
    finally:
        await again.stop()
