"""Hyperliquid trading verbs against the emulator, over loopback HTTP and WS: orders of
every type, batches, cancels, edits, leverage, the dead man's switch, attached TP/SL."""

from __future__ import annotations

from decimal import Decimal

import anyio
import pytest
from hl_support import cid, limit, rig

from perpd.clock import ManualClock
from perpd.errors import InvalidRequest, NotSupported, VenueRejected
from perpd.model import MarginMode, OrderRequest, OrderStatus, OrderType, Side, TimeInForce, now_ms

pytestmark = pytest.mark.anyio
D = Decimal


async def test_a_limit_order_rests_and_is_found_by_its_cloid() -> None:
    async with rig() as r:
        s = r.session()
        order = await s.create_order(limit(1, Side.BUY, "0.001", "60000.4"))
        assert order.status is OrderStatus.OPEN and order.price == D("60000")  # rounded down, never up
        found = await s.fetch_order(cid(1))
        assert found is not None and found.venue_order_id == order.venue_order_id and found.client_id == cid(1)
        assert [o.client_id for o in await s.fetch_open_orders("BTC")] == [cid(1)]
        assert await s.fetch_open_orders("ETH") == []
        assert await s.fetch_order(cid(99)) is None


async def test_a_market_order_fills_within_the_slippage_cap_and_moves_the_position() -> None:
    async with rig() as r:
        s = r.session()
        mark = await r.venue.mark_price("ETH")
        order = await s.create_order(OrderRequest(cid(2), "ETH-PERP", Side.BUY, OrderType.MARKET, D("0.5")))
        assert order.status is OrderStatus.FILLED and order.filled_size == D("0.5")
        assert order.avg_fill_price is not None and order.avg_fill_price <= mark * D("1.05")
        positions = await s.fetch_positions()
        assert [(p.symbol, p.size) for p in positions] == [("ETH-PERP", D("0.5"))]
        fills = await s.fetch_fills(0)
        assert [f.client_id for f in fills] == [cid(2)] and fills[0].size == D("0.5")
        assert fills[0].fee > 0 and fills[0].liquidity.value == "taker"
        balance = await s.fetch_balance()
        assert balance.margin_used > 0 and balance.available < balance.equity
        closing = await s.create_order(OrderRequest(cid(3), "ETH-PERP", Side.SELL, OrderType.MARKET, D("0.5"), reduce_only=True))
        assert closing.status is OrderStatus.FILLED and await s.fetch_positions() == []


async def test_definitive_refusals_map_to_venue_rejected_with_a_code() -> None:
    async with rig() as r:
        s = r.session()
        best_ask = (await r.venue.fetch_order_book("BTC")).best_ask
        with pytest.raises(VenueRejected) as post_only:
            await s.create_order(limit(4, Side.BUY, "0.001", str(best_ask + 100), tif=TimeInForce.POST_ONLY))
        assert post_only.value.code == "post_only_would_match"
        with pytest.raises(VenueRejected) as ioc:
            await s.create_order(limit(5, Side.BUY, "0.001", "50000", tif=TimeInForce.IOC))
        assert ioc.value.code == "ioc_no_match"
        with pytest.raises(VenueRejected) as reduce:
            await s.create_order(limit(6, Side.SELL, "0.001", "70000", reduce_only=True))
        assert reduce.value.code == "reduce_only"
        with pytest.raises(VenueRejected) as margin:
            await s.create_order(limit(7, Side.BUY, "100", "60000"))
        assert margin.value.code == "insufficient_margin"
        assert await s.fetch_open_orders() == []


async def test_what_the_venue_would_refuse_is_refused_locally_and_never_sent() -> None:
    async with rig() as r:
        s = r.session()
        before = len(r.emulator.received)
        with pytest.raises(InvalidRequest, match="multiple of lot"):
            await s.create_order(limit(8, Side.BUY, "0.000001", "60000"))
        with pytest.raises(InvalidRequest, match="below the minimum"):
            await s.create_order(limit(9, Side.BUY, "0.0001", "60000"))
        with pytest.raises(NotSupported):
            await s.create_order(limit(10, Side.BUY, "0.001", "60000", tif=TimeInForce.FOK))
        with pytest.raises(InvalidRequest):
            await s.create_order(OrderRequest("not-a-cloid", "BTC-PERP", Side.BUY, OrderType.LIMIT, D("0.001"), D(60000)))
        assert len(r.emulator.received) == before


async def test_trigger_orders_rest_with_their_type_and_trigger_price() -> None:
    async with rig() as r:
        s = r.session()
        await s.create_order(OrderRequest(cid(11), "ETH-PERP", Side.BUY, OrderType.MARKET, D("1")))
        mark = await r.venue.mark_price("ETH")
        stop = OrderRequest(cid(12), "ETH-PERP", Side.SELL, OrderType.STOP_MARKET, D("1"), trigger_price=(mark * D("0.9")).quantize(D("0.1")), reduce_only=True)
        take = OrderRequest(cid(13), "ETH-PERP", Side.SELL, OrderType.TAKE_PROFIT_LIMIT, D("1"), price=(mark * D("1.2")).quantize(D("0.1")),
                            trigger_price=(mark * D("1.2")).quantize(D("0.1")), reduce_only=True)
        placed = await s.create_orders([stop, take])
        assert [o.status for o in placed if not isinstance(o, Exception)] == [OrderStatus.OPEN, OrderStatus.OPEN]
        open_orders = {o.client_id: o for o in await s.fetch_open_orders()}
        assert open_orders[cid(12)].type is OrderType.STOP_MARKET and open_orders[cid(12)].trigger_price == stop.trigger_price
        assert open_orders[cid(13)].type is OrderType.TAKE_PROFIT_LIMIT and open_orders[cid(13)].price == take.price


async def test_a_batch_is_one_signed_action_with_one_result_per_slot() -> None:
    async with rig() as r:
        s = r.session()
        before = len(r.emulator.received)
        results = await s.create_orders([
            limit(20, Side.BUY, "0.001", "60000"),
            limit(21, Side.BUY, "0.000001", "60000"),  # refused locally: off the lot
            limit(22, Side.BUY, "0.001", "200000", tif=TimeInForce.POST_ONLY),  # refused by the venue
            limit(23, Side.SELL, "0.001", "70000"),
        ])
        assert len(r.emulator.received) == before + 1
        assert isinstance(results[0], type(results[3])) and results[0].status is OrderStatus.OPEN  # type: ignore[union-attr]
        assert isinstance(results[1], InvalidRequest)
        assert isinstance(results[2], VenueRejected) and results[2].code == "post_only_would_match"
        assert results[3].status is OrderStatus.OPEN  # type: ignore[union-attr]
        assert sorted(o.client_id for o in await s.fetch_open_orders()) == sorted([cid(20), cid(23)])


async def test_cancel_by_cloid_reports_whether_a_live_order_was_cancelled() -> None:
    async with rig() as r:
        s = r.session()
        await s.create_orders([limit(30, Side.BUY, "0.001", "60000"), limit(31, Side.BUY, "0.001", "60001"), limit(32, Side.BUY, "0.001", "60002")])
        assert await s.cancel_order(cid(30)) is True
        assert await s.cancel_order(cid(30)) is False  # not an error: nothing live has it
        assert await s.cancel_orders([cid(31), cid(99), cid(32)]) == [True, False, True]
        assert await s.fetch_open_orders() == []


async def test_cancel_all_cancels_every_open_order_or_one_market() -> None:
    async with rig() as r:
        s = r.session()
        await s.create_orders([limit(40, Side.BUY, "0.001", "60000"), limit(41, Side.BUY, "0.01", "3000", symbol="ETH-PERP"),
                               limit(42, Side.BUY, "1", "100", symbol="SOL-PERP")])
        assert await s.cancel_all_orders("ETH") == 1
        assert sorted(o.symbol for o in await s.fetch_open_orders()) == ["BTC-PERP", "SOL-PERP"]
        assert await s.cancel_all_orders() == 2
        assert await s.fetch_open_orders() == []


async def test_an_edit_keeps_the_client_id() -> None:
    async with rig() as r:
        s = r.session()
        await s.create_order(limit(50, Side.BUY, "0.001", "60000"))
        edited = await s.edit_order(cid(50), new_client_id=cid(51), price=D("60500"), size=D("0.002"))
        assert edited.client_id == cid(50) and edited.price == D("60500") and edited.size == D("0.002")
        (live,) = await s.fetch_open_orders()
        assert (live.client_id, live.price, live.size) == (cid(50), D("60500"), D("0.002"))
        assert await s.fetch_order(cid(51)) is None


async def test_leverage_and_margin_mode_are_set_per_asset() -> None:
    async with rig() as r:
        s = r.session()
        await s.set_leverage("SOL", 3, MarginMode.ISOLATED)
        setting = await s.fetch_leverage("SOL")
        assert (setting.leverage, setting.margin_mode) == (3, MarginMode.ISOLATED)
        with pytest.raises(InvalidRequest):
            await s.set_leverage("SOL", 500)


async def test_the_dead_mans_switch_cancels_everything_and_fires_at_most_ten_times_a_day() -> None:
    clock = ManualClock(now_ms())
    async with rig(clock=clock, step_interval_secs=0.01) as r:
        s = r.session()
        for n in range(10):
            await s.create_order(limit(60 + n, Side.BUY, "0.001", "60000"))
            await s.cancel_all_after(5)
            clock.advance(6_000)
            with anyio.fail_after(5):
                while await s.fetch_open_orders():
                    await anyio.sleep(0.01)
            assert (await s.fetch_order(cid(60 + n))).reason == "scheduledCancel"  # type: ignore[union-attr]
        with pytest.raises(VenueRejected) as limit_hit:
            await s.cancel_all_after(5)
        assert limit_hit.value.code == "schedule_cancel_limit"
        with pytest.raises(InvalidRequest):
            await s.cancel_all_after(2)  # under the venue's 5 s minimum: refused locally
        await s.cancel_all_after(0)  # disarming is always allowed


async def test_attached_take_profit_and_stop_loss_are_placed_once_the_parent_fills() -> None:
    async with rig() as r:
        s = r.session()
        mark = await r.venue.mark_price("SOL")
        tp = OrderRequest(cid(110), "SOL-PERP", Side.SELL, OrderType.TAKE_PROFIT_MARKET, D("1"),
                          trigger_price=(mark * D("1.2")).quantize(D("0.01")), reduce_only=True)
        sl = OrderRequest(cid(111), "SOL-PERP", Side.SELL, OrderType.STOP_MARKET, D("1"),
                          trigger_price=(mark * D("0.8")).quantize(D("0.01")), reduce_only=True)
        resting_parent = limit(112, Side.BUY, "1", str((mark * D("0.9")).quantize(D("0.01"))), symbol="SOL-PERP")
        parent, take, stop = await s.create_bracket(resting_parent, take_profit=tp, stop_loss=sl)
        assert parent.status is OrderStatus.OPEN and take.status is OrderStatus.PENDING and stop.status is OrderStatus.PENDING  # type: ignore[union-attr]
        assert {o.client_id for o in await s.fetch_open_orders()} == {cid(112)}  # children wait for the fill
        await s.cancel_order(cid(112))
        market_parent = OrderRequest(cid(113), "SOL-PERP", Side.BUY, OrderType.MARKET, D("1"))
        tp2 = OrderRequest(cid(114), tp.symbol, tp.side, tp.type, tp.size, trigger_price=tp.trigger_price, reduce_only=True)
        sl2 = OrderRequest(cid(115), sl.symbol, sl.side, sl.type, sl.size, trigger_price=sl.trigger_price, reduce_only=True)
        parent, take, stop = await s.create_bracket(market_parent, take_profit=tp2, stop_loss=sl2)
        assert parent.status is OrderStatus.FILLED and take.status is OrderStatus.OPEN  # type: ignore[union-attr]
        live = {o.client_id: o.type for o in await s.fetch_open_orders()}
        assert live == {cid(114): OrderType.TAKE_PROFIT_MARKET, cid(115): OrderType.STOP_MARKET}
        with pytest.raises(InvalidRequest):
            await s.create_bracket(market_parent, stop_loss=limit(116, Side.SELL, "1", "100", symbol="SOL-PERP"))


async def test_a_modify_of_a_partly_filled_order_sends_what_is_left_and_keeps_the_totals() -> None:
    """Hyperliquid's modify replaces the order (same cloid, new oid) with `s` = what the
    replacement has left to trade; perpd's sizes stay totals across it."""
    async with rig(makers=False) as r:
        s = r.session()
        engine = r.emulator.engine
        placed = await s.create_order(limit(60, Side.BUY, "0.01", "60000"))
        engine.place("someone", "BTC-PERP", Side.SELL, D("0.004"), type=OrderType.LIMIT, price=D("60000"), tif=TimeInForce.IOC)
        partly = await s.fetch_order(cid(60))
        assert (partly.size, partly.filled_size) == (D("0.01"), D("0.004"))

        moved = await s.edit_order(cid(60), new_client_id=cid(61), price=D("59990"))  # price only
        assert (moved.size, moved.filled_size, moved.price) == (D("0.01"), D("0.004"), D("59990"))
        assert moved.venue_order_id != placed.venue_order_id  # a new oid, as the venue gives
        (live,) = engine.open_orders(s.user)
        assert live.size == D("0.006") and live.client_id == cid(60)  # s = the remaining 0.006

        grown = await s.edit_order(cid(60), new_client_id=cid(62), size=D("0.02"))  # a new total
        assert (grown.size, grown.filled_size) == (D("0.02"), D("0.004"))
        (live,) = engine.open_orders(s.user)
        assert live.size == D("0.016")

        engine.place("someone", "BTC-PERP", Side.SELL, D("0.016"), type=OrderType.LIMIT, price=D("59990"), tif=TimeInForce.IOC)
        done = await s.fetch_order(cid(60))
        assert (done.status, done.size, done.filled_size) == (OrderStatus.FILLED, D("0.02"), D("0.02"))
        assert [o.client_id for o in await s.fetch_open_orders()] == []
