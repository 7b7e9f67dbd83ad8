"""Rate-limit budgets shared by everything on one venue."""

from __future__ import annotations

import anyio
import pytest

from perpd.clock import ManualClock
from perpd.errors import RateLimited
from venues.hyperliquid.config import HyperliquidVenueConfig
from venues.hyperliquid.transport import AddressBudgets, HyperliquidTransport, exchange_weight, ws_url_of
from venues.hyperliquid.venue import CAPABILITIES, HyperliquidVenue


def test_the_exchange_weight_grows_with_the_batch() -> None:
    assert [exchange_weight(n) for n in (1, 39, 40, 79, 80)] == [1, 1, 2, 2, 3]


def test_ws_urls_follow_the_sdk_rule() -> None:
    assert ws_url_of("https://api.hyperliquid.xyz") == "wss://api.hyperliquid.xyz/ws"
    assert ws_url_of("http://127.0.0.1:8781/") == "ws://127.0.0.1:8781/ws"


@pytest.mark.anyio
async def test_the_ip_budget_paces_on_the_clock_instead_of_failing() -> None:
    clock = ManualClock()
    transport = HyperliquidTransport("http://127.0.0.1:1", ip_weight_per_min=20, clock=clock)
    budget = transport.ip_budget
    start = clock.now_ms()
    await budget.acquire(20)
    assert budget.available() < 1
    with anyio.fail_after(5):
        await budget.acquire(10)  # waits for the refill, then goes through
    assert budget.available() < 1
    assert clock.now_ms() - start == 30_000  # 10 of 20 a minute


def test_the_address_budget_refuses_past_its_cap_then_allows_one_per_ten_seconds() -> None:
    clock = ManualClock()
    budgets = AddressBudgets(clock)
    address = "0x" + "ab" * 20
    budgets.update(address, used=9_990, cap=10_000)
    budgets.spend(address, 10)
    budgets.spend(address, 1)  # past the cap: the venue still takes one per 10 s
    clock.advance(4000)
    with pytest.raises(RateLimited) as refused:
        budgets.spend(address, 1)
    assert refused.value.retry_after_secs == 6
    clock.advance(6000)
    budgets.spend(address, 1)
    budgets.spend(address.upper().replace("0X", "0x"), 1, cancel=True)  # cancels have more room
    budgets.update(address, used=0, cap=10_000)
    budgets.spend(address, 40)


def test_accounts_on_one_venue_share_its_budgets() -> None:
    venue = HyperliquidVenue("hl", HyperliquidVenueConfig(network="testnet", rest_url="http://127.0.0.1:1"))
    assert venue.transport.ip_budget.capacity == 1200
    assert venue.is_mainnet is False
    assert {r.name: (r.limit, r.scope) for r in CAPABILITIES.rate_limits} == {
        "ip_weight": (1200, "ip"), "address_actions": (10_000, "account")}
    assert HyperliquidVenue("m", HyperliquidVenueConfig()).is_mainnet is True
