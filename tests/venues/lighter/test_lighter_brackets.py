"""create_bracket on Lighter: the entry and its exits as one CreateGroupedOrders tx (type 28),
signed by lighter-sdk's native signer and sent to the emulator over loopback. The venue
holds the exits and places them, reduce-only and sized by the fill, once the entry fills."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D
from typing import Any

import pytest
from lighter_support import lighter_world

from perpd.clock import ManualClock, SystemClock
from perpd.errors import InvalidRequest
from perpd.model import Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce

pytestmark = pytest.mark.anyio
ACCOUNT, KEY = 1001, 3
OTHER = "4242"  # another account, trading on the emulator's engine directly
SYMBOL = "ETH-PERP"
CENT = D("0.01")


@asynccontextmanager
async def world(api_key: str) -> AsyncIterator[tuple[Any, Any, D]]:
    """(emulator, session, mark): no makers or takers, so the book holds only what a test
    puts there, and a manual clock, so the mark stands still until a test moves it (it
    starts at the wall clock: the signer stamps expiries from the wall clock)."""
    clock = ManualClock(start_ms=SystemClock().now_ms())
    async with lighter_world(api_key, clock=clock, seed=21, makers=False, takers=False) as (emulator, _venue, session):
        emulator.exchange.ensure_account(int(OTHER))
        yield emulator, session, emulator.engine.market(SYMBOL).mark_price.quantize(CENT)


def entry(client_id: str, price: D | None, size: D = D("0.05"), **changes: Any) -> OrderRequest:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    tif = TimeInForce.GTC if price is not None else TimeInForce.IOC
    return OrderRequest(client_id, SYMBOL, Side.BUY, kind, size, price, tif=tif, **changes)


def take_profit(client_id: str, at: D, size: D = D("0.05"), **changes: Any) -> OrderRequest:
    fields: dict[str, Any] = {"reduce_only": True, **changes}
    return OrderRequest(client_id, SYMBOL, fields.pop("side", Side.SELL), OrderType.TAKE_PROFIT_LIMIT, size,
                        price=at, trigger_price=at, **fields)


def stop_loss(client_id: str, at: D, size: D = D("0.05"), **changes: Any) -> OrderRequest:
    fields: dict[str, Any] = {"reduce_only": True, **changes}
    return OrderRequest(client_id, SYMBOL, fields.pop("side", Side.SELL), OrderType.STOP_MARKET, size,
                        trigger_price=at, tif=TimeInForce.IOC, **fields)


def trade(emulator: Any, side: Side, size: D, price: D) -> None:
    """The other account takes (or offers) `size` at `price`, then the exchange runs what
    that triggers (a group's exits are placed after the call that filled their entry)."""
    emulator.engine.place(OTHER, SYMBOL, side, size, type=OrderType.LIMIT, price=price, tif=TimeInForce.GTC)
    emulator.exchange.step()


def position(emulator: Any) -> str:
    rows = emulator.exchange.positions_json(ACCOUNT)
    return next((r["position"] for r in rows if r["symbol"] == "ETH"), "0")


def pending(results: list[Order | Exception]) -> list[str]:
    assert all(isinstance(r, Order) and r.status is OrderStatus.PENDING for r in results), results
    return [r.client_id for r in results if isinstance(r, Order)]


async def test_otoco_holds_the_exits_until_the_entry_fills_then_places_them_reduce_only(api_key: str) -> None:
    async with world(api_key) as (emulator, session, mark):
        tp, sl = mark + 300, mark - 300
        results = await session.create_bracket(entry("101", mark - 10), take_profit("102", tp), stop_loss("103", sl))
        assert pending(results) == ["101", "102", "103"]
        assert [o.client_id for o in await session.fetch_open_orders(SYMBOL)] == ["101"]  # the venue holds the exits
        assert await session.fetch_order("102") is None and await session.fetch_order("103") is None

        trade(emulator, Side.SELL, D("0.05"), mark - 10)  # a taker fills the entry

        assert position(emulator) == "0.0500"
        live = {o.client_id: o for o in await session.fetch_open_orders(SYMBOL)}
        assert sorted(live) == ["102", "103"]
        for client_id, kind, trigger in (("102", OrderType.TAKE_PROFIT_LIMIT, tp), ("103", OrderType.STOP_MARKET, sl)):
            order = await session.fetch_order(client_id)
            assert order is not None and order.status.is_live
            assert (order.type, order.side, order.reduce_only, order.size, order.trigger_price) == (
                kind, Side.SELL, True, D("0.05"), trigger
            )
        # Placed by the venue, they are ours by client id: a cancel by client id reaches them.
        assert await session.cancel_order("102") is True
        assert [o.client_id for o in await session.fetch_open_orders(SYMBOL)] == ["103"]


async def test_the_exits_take_the_size_the_entry_filled(api_key: str) -> None:
    async with world(api_key) as (emulator, session, mark):
        pending(await session.create_bracket(entry("201", mark - 10), take_profit("202", mark + 300),
                                             stop_loss("203", mark - 300)))
        trade(emulator, Side.SELL, D("0.02"), mark - 10)  # part of the entry fills: it still rests
        assert [o.client_id for o in await session.fetch_open_orders(SYMBOL)] == ["201"]
        assert await session.cancel_order("201") is True  # the rest is cancelled: the entry ends
        emulator.exchange.step()
        sizes = {o.client_id: o.size for o in await session.fetch_open_orders(SYMBOL)}
        assert sizes == {"202": D("0.02"), "203": D("0.02")}


async def test_when_one_exit_fills_the_venue_cancels_the_other(api_key: str) -> None:
    async with world(api_key) as (emulator, session, mark):
        sl = mark - 300
        # A position beyond the bracket's: when the stop fills, the account is still long,
        # so only the OCO rule (not the sweep of reduce-only orders at flat) ends the other.
        await session.create_order(entry("300", mark - 10))
        pending(await session.create_bracket(entry("301", mark - 10), take_profit("302", mark + 300), stop_loss("303", sl)))
        trade(emulator, Side.SELL, D("0.10"), mark - 10)
        assert position(emulator) == "0.1000"
        assert sorted(o.client_id for o in await session.fetch_open_orders(SYMBOL)) == ["302", "303"]

        trade(emulator, Side.BUY, D("0.05"), sl - 1)  # a bid for the stop to sell into
        emulator.engine.set_mark(SYMBOL, sl - 5)  # the mark falls through the stop
        emulator.exchange.step()

        assert position(emulator) == "0.0500"
        stop = await session.fetch_order("303")
        assert stop is not None and stop.status is OrderStatus.FILLED and stop.filled_size == D("0.05")
        other = await session.fetch_order("302")
        assert other is not None and other.status is OrderStatus.CANCELLED, other  # one cancels the other
        assert emulator.exchange.order_by_client(ACCOUNT, 302)["status"] == "canceled-oco"  # as Lighter says it
        assert await session.fetch_open_orders(SYMBOL) == []


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda at: take_profit("402", at, reduce_only=False), id="not-reduce-only"),
        pytest.param(lambda at: take_profit("402", at, side=Side.BUY), id="same-side-as-the-entry"),
        pytest.param(lambda at: take_profit("402", at, size=D("0.04")), id="not-the-entry-size"),
        pytest.param(lambda at: stop_loss("402", at), id="a-stop-as-take-profit"),
    ],
)
async def test_a_bad_exit_is_refused_before_anything_is_sent(api_key: str, bad: Any) -> None:
    async with world(api_key) as (emulator, session, mark):
        with pytest.raises(InvalidRequest):
            await session.create_bracket(entry("401", mark - 10), take_profit=bad(mark + 300))
        with pytest.raises(InvalidRequest):
            await session.create_bracket(entry("401", mark - 10))  # no exit at all
        assert emulator.exchange.nonces.get((ACCOUNT, KEY), 0) == 0  # nothing was signed and sent
        assert emulator.exchange.active_orders(ACCOUNT) == []


async def test_oto_with_only_a_stop_loss_on_a_market_entry(api_key: str) -> None:
    async with world(api_key) as (emulator, session, mark):
        trade(emulator, Side.SELL, D("0.05"), mark + 1)  # an offer for the market entry to take
        sl = mark - 300
        results = await session.create_bracket(entry("501", None), stop_loss=stop_loss("503", sl))
        assert pending(results) == ["501", "503"]
        emulator.exchange.step()

        assert position(emulator) == "0.0500"
        stop = await session.fetch_order("503")
        assert stop is not None and stop.status.is_live
        assert (stop.type, stop.side, stop.reduce_only, stop.size, stop.trigger_price) == (
            OrderType.STOP_MARKET, Side.SELL, True, D("0.05"), sl
        )
        assert [o.client_id for o in await session.fetch_open_orders(SYMBOL)] == ["503"]

        trade(emulator, Side.BUY, D("0.05"), sl - 1)
        emulator.engine.set_mark(SYMBOL, sl - 5)
        emulator.exchange.step()
        assert position(emulator) == "0.0000"
        assert await session.fetch_open_orders(SYMBOL) == []
