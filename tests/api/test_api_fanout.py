"""The fan-out pieces on their own: the hub routes by symbol and account and keeps only
the latest book; the frame budget serves waiters in arrival order."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from perpd.api.budget import FrameBudget
from perpd.api.hub import Hub
from perpd.bus import Message, SlowConsumer
from perpd.model import Order, OrderStatus, OrderType, Side, Ticker

pytestmark = pytest.mark.anyio


def ticker(symbol: str, seq: int, mark: int) -> Message:
    return Message("ticker", seq, f"sim:{symbol}", Ticker("sim", symbol, Decimal(mark)))


def order(account: str, seq: int) -> Message:
    data = Order(account, "sim", f"pd-{seq}", "BTC-PERP", Side.BUY, OrderType.LIMIT, Decimal(1), OrderStatus.OPEN, price=Decimal(1))
    return Message("orders", seq, data.client_id, data)


async def test_the_hub_keeps_the_latest_ticker_per_symbol_and_routes_by_symbol() -> None:
    hub = Hub()
    btc = hub.inbox(["ticker|BTC-PERP"], maxlen=10, accept=None)
    every = hub.inbox(["ticker"], maxlen=10, accept=None)
    hub.route(ticker("BTC-PERP", 1, 100))
    hub.route(ticker("ETH-PERP", 2, 10))
    hub.route(ticker("BTC-PERP", 3, 101))
    assert [m.seq for m in btc.take()] == [3]  # the older BTC ticker was superseded
    assert sorted(m.seq for m in every.take()) == [2, 3]
    assert btc.take() == []  # nothing new since


async def test_an_idle_inbox_wakes_for_its_symbol_only() -> None:
    hub = Hub()
    btc = hub.inbox(["ticker|BTC-PERP"], maxlen=10, accept=None)
    waiting = asyncio.get_running_loop().create_task(btc.wait())
    await asyncio.sleep(0)
    hub.route(ticker("ETH-PERP", 1, 10))
    await asyncio.sleep(0)
    assert not waiting.done()
    hub.route(ticker("BTC-PERP", 2, 100))
    await waiting
    assert [m.seq for m in btc.take()] == [2]


async def test_queued_topics_arrive_in_order_per_account_and_overflow_drops_the_client() -> None:
    hub = Hub()
    paper = hub.inbox(["orders@paper"], maxlen=3, accept=None)
    hub.route(order("spare", 1))
    hub.route(order("paper", 2))
    hub.route(order("paper", 3))
    assert [m.seq for m in paper.take()] == [2, 3]
    for seq in range(4, 8):
        hub.route(order("paper", seq))
    with pytest.raises(SlowConsumer):
        await paper.wait()
    assert paper.closed


async def test_the_frame_budget_serves_waiters_in_arrival_order() -> None:
    budget = FrameBudget(200.0, burst_secs=0.01)  # capacity 2 frames
    served: list[int] = []

    async def frame(n: int) -> None:
        await budget.take()
        served.append(n)

    await asyncio.gather(*(frame(n) for n in range(6)))
    assert served == [0, 1, 2, 3, 4, 5]
    assert budget.waited == 4
