"""The emulator's order model is Vest's, not a CLOB's: limits wait off the book for the
index price and fill whole; FOK now or never; TP/SL fire on the index and pair up as
one-cancels-other; margin and reduce-only are checked; decisions are asynchronous."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from vest_support import vest_rig

from perpd.clock import ManualClock, SystemClock
from perpd.model import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from tests.contract import wait_for_status
from venues.base import ClientIdFormat
from venues.vest.emulator.markets import DEFAULT_MARKETS, MarketDef
from venues.vest.emulator.shapes import depth
from venues.vest.orders import to_wire

pytestmark = pytest.mark.anyio
TIMEOUT = 10.0
BTC: MarketDef = DEFAULT_MARKETS[0]


def cid(n: int) -> str:
    return ClientIdFormat.INT63.derive("main", f"emulator-{n}")


def request(n: int, side: Side, kind: OrderType, size: str, price: str | None = None, trigger: str | None = None,
            **kw: object) -> OrderRequest:
    return OrderRequest(cid(n), "BTC-PERP", side, kind, D(size), D(price) if price else None,
                        D(trigger) if trigger else None, **kw)  # type: ignore[arg-type]


def move(rig, price: str) -> None:
    """Move BTC's mark and index to `price` and let waiting orders see it."""
    rig.emulator.engine.set_mark("BTC-PERP", D(price))
    rig.emulator.exchange.desk.check_triggers()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start_ms=SystemClock().now_ms())


async def test_a_limit_waits_off_the_book_then_fills_whole_when_the_index_reaches_it(clock: ManualClock) -> None:
    async with vest_rig(clock=clock, seed=4) as rig:
        s = rig.session
        await s.create_order(request(1, Side.BUY, OrderType.LIMIT, "0.5000", "64000.00"))
        await wait_for_status(s, cid(1), {OrderStatus.OPEN}, TIMEOUT)
        book = depth(rig.emulator.engine, BTC, 100)
        assert ["64000.00", "0.5000"] not in book["bids"]
        assert all(D(p) != D(64000) for p, _ in book["bids"])
        move(rig, "64500.00")
        assert (await s.fetch_order(cid(1))).status is OrderStatus.OPEN  # type: ignore[union-attr]
        move(rig, "63990.00")  # under the limit, but 0.5 BTC of quotes within 64000 are not there yet
        assert (await s.fetch_order(cid(1))).status is OrderStatus.OPEN  # type: ignore[union-attr]
        move(rig, "63900.00")  # now they are: it fills, whole
        order = await wait_for_status(s, cid(1), {OrderStatus.FILLED}, TIMEOUT)
        assert order.filled_size == D("0.5") and order.avg_fill_price <= D(64000)  # type: ignore[operator]
        (fill,) = await s.fetch_fills()
        assert fill.size == D("0.5") and fill.client_id == cid(1)


async def test_fill_or_kill_is_now_or_rejected_and_market_orders_respect_their_bound(clock: ManualClock) -> None:
    async with vest_rig(clock=clock, seed=4) as rig:
        s = rig.session
        move(rig, "65000.00")
        await s.create_order(request(2, Side.BUY, OrderType.LIMIT, "0.0100", "60000.00", tif=TimeInForce.FOK))
        order = await wait_for_status(s, cid(2), {OrderStatus.REJECTED, OrderStatus.FILLED}, TIMEOUT)
        assert (order.status, order.reason, order.filled_size) == (OrderStatus.REJECTED, "PRICE_CHECK_FAILED", 0)
        # A market buy bounded under the best ask cannot fill: rejected, nothing traded.
        await s.create_order(request(3, Side.BUY, OrderType.MARKET, "0.0100", "64000.00", tif=TimeInForce.IOC))
        order = await wait_for_status(s, cid(3), {OrderStatus.REJECTED, OrderStatus.FILLED}, TIMEOUT)
        assert (order.status, order.reason) == (OrderStatus.REJECTED, "PRICE_CHECK_FAILED")
        assert await s.fetch_positions() == []


async def test_stops_and_take_profits_fire_on_the_index(clock: ManualClock) -> None:
    async with vest_rig(clock=clock, seed=4) as rig:
        s = rig.session
        move(rig, "65000.00")
        await s.create_order(request(4, Side.BUY, OrderType.STOP_MARKET, "0.0100", trigger="66000.00"))
        await s.create_order(request(5, Side.SELL, OrderType.TAKE_PROFIT_MARKET, "0.0100", trigger="66500.00"))
        for n in (4, 5):
            order = await wait_for_status(s, cid(n), {OrderStatus.OPEN}, TIMEOUT)
            assert order.trigger_price is not None and order.type.is_trigger
        move(rig, "66100.00")
        assert (await wait_for_status(s, cid(4), {OrderStatus.FILLED}, TIMEOUT)).filled_size == D("0.01")
        assert (await s.fetch_order(cid(5))).status is OrderStatus.OPEN  # type: ignore[union-attr]
        move(rig, "66600.00")
        await wait_for_status(s, cid(5), {OrderStatus.FILLED}, TIMEOUT)
        assert await s.fetch_positions() == []


async def test_attached_take_profit_and_stop_loss_become_one_cancels_other(clock: ManualClock) -> None:
    async with vest_rig(clock=clock, seed=4) as rig:
        s, desk = rig.session, rig.emulator.exchange.desk
        move(rig, "65000.00")
        parent = request(6, Side.BUY, OrderType.LIMIT, "0.0100", "65100.00")
        spec = rig.venue.spec("BTC")
        wire = to_wire(parent, spec, time_ms=clock.now_ms())
        body = wire.body(s.signer.sign_order(*wire.signed()), 60_000)
        tp, sl = wire.child("TAKE_PROFIT", "66000.00", wire.nonce + 1), wire.child("STOP_LOSS", "64000.00", wire.nonce + 2)
        body["order"].update({"tpPrice": "66000.00", "tpSignature": s.signer.sign_order(*tp.signed()),
                              "slPrice": "64000.00", "slSignature": s.signer.sign_order(*sl.signed())})
        await s.send("POST", "/orders", body)
        await wait_for_status(s, cid(6), {OrderStatus.FILLED}, TIMEOUT)
        children = [o for o in desk.orders.values() if o.parent is not None]
        assert sorted((c.order_type, c.nonce - wire.nonce, c.reduce_only, c.is_buy) for c in children) == [
            ("STOP_LOSS", 2, True, False), ("TAKE_PROFIT", 1, True, False)]
        move(rig, "66100.00")
        assert sorted(c.status for c in children) == ["CANCELLED", "FILLED"]
        assert await s.fetch_positions() == []


async def test_margin_and_reduce_only_are_checked_when_vest_decides(clock: ManualClock) -> None:
    async with vest_rig(clock=clock, seed=4) as rig:
        s = rig.session
        await s.create_order(request(7, Side.BUY, OrderType.LIMIT, "100.0000", "60000.00"))  # 6M notional
        order = await wait_for_status(s, cid(7), {OrderStatus.REJECTED, OrderStatus.OPEN}, TIMEOUT)
        assert (order.status, order.reason) == (OrderStatus.REJECTED, "MARGIN_CHECK_FAILED")
        await s.create_order(request(8, Side.SELL, OrderType.MARKET, "0.0100", tif=TimeInForce.IOC, reduce_only=True))
        order = await wait_for_status(s, cid(8), {OrderStatus.REJECTED, OrderStatus.FILLED}, TIMEOUT)
        assert order.reason == "REDUCE_ONLY_INCREASES"
        await s.create_order(request(9, Side.BUY, OrderType.MARKET, "0.0100", tif=TimeInForce.IOC))
        await wait_for_status(s, cid(9), {OrderStatus.FILLED}, TIMEOUT)
        await s.create_order(request(10, Side.SELL, OrderType.MARKET, "0.0200", tif=TimeInForce.IOC, reduce_only=True))
        order = await wait_for_status(s, cid(10), {OrderStatus.REJECTED, OrderStatus.FILLED}, TIMEOUT)
        assert order.reason == "REDUCE_ONLY_EXCEEDS_SIZE"
        # Waiting limits reserve margin (openOrderMargin) and show as locked.
        await s.create_order(request(11, Side.BUY, OrderType.LIMIT, "1.0000", "60000.00"))
        await wait_for_status(s, cid(11), {OrderStatus.OPEN}, TIMEOUT)
        account = await s.account_state()
        assert D(account["openOrderMargin"]) == D(60000) * D("0.1") and account["balances"][0]["locked"] == account["openOrderMargin"]


async def test_accepted_orders_stay_undecided_until_vest_gets_to_them(clock: ManualClock) -> None:
    async with vest_rig(clock=clock, seed=4) as rig:
        s = rig.session
        rig.emulator.hold_orders()
        order = await s.create_order(request(12, Side.BUY, OrderType.MARKET, "0.0100", tif=TimeInForce.IOC))
        assert order.status is OrderStatus.PENDING
        listed = await s.fetch_order(cid(12))
        assert listed is not None and listed.status is OrderStatus.OPEN and listed.filled_size == 0  # NEW: accepted
        assert await s.fetch_positions() == []
        rig.emulator.hold_orders(False)
        assert (await wait_for_status(s, cid(12), {OrderStatus.FILLED}, TIMEOUT)).filled_size == D("0.01")
