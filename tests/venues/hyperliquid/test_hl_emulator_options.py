"""Emulator options a tester sets on the command line: seeded users and agents, faults at rates."""

from __future__ import annotations

import time

import httpx
import pytest
from hl_support import AGENT, MASTER, serve

from venues.hyperliquid.emulator import OPTIONS, create_app

pytestmark = pytest.mark.anyio


async def test_users_and_agents_are_seeded_from_command_line_strings() -> None:
    app = create_app(accounts=f"{MASTER}:2500,0x{'cd' * 20}", agents=f"{AGENT}={MASTER}")
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        state = (await http.post("/info", json={"type": "clearinghouseState", "user": MASTER})).json()
        assert state["marginSummary"]["accountValue"] == "2500.0"
        role = (await http.post("/info", json={"type": "userRole", "user": AGENT})).json()
        assert role == {"role": "agent", "data": {"user": MASTER.lower()}}
        assert (await http.post("/info", json={"type": "userRole", "user": "0x" + "cd" * 20})).json() == {"role": "user"}


@pytest.mark.parametrize(("options", "status"), [({"rate_limit_rate": "1"}, 429), ({"error_rate": "1"}, 503)])
async def test_requests_are_refused_at_the_rates_given(options: dict[str, str], status: int) -> None:
    async with serve(create_app(**options)) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.post("/info", json={"type": "meta"})).status_code == status


async def test_latency_delays_every_answer() -> None:
    async with serve(create_app(latency_ms="200")) as url, httpx.AsyncClient(base_url=url) as http:
        started = time.monotonic()
        await http.post("/info", json={"type": "meta"})
        assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("bad", [{"accounts": "alice"}, {"agents": "0x12"}, {"mainnet": "maybe"},
                                 {"drop_rate": "-1"}, {"error_status": "404"}])
def test_bad_option_values_are_refused_with_the_option_named(bad: dict[str, str]) -> None:
    (name,) = bad
    with pytest.raises(ValueError, match=name):
        create_app(**bad)


def test_every_option_is_documented_for_perpd_emulate_help() -> None:
    assert {"position_lag_secs", "accounts", "agents", "mainnet", "latency_ms", "rate_limit_rate", "error_rate",
            "error_status", "drop_rate", "drop_secs"} <= set(OPTIONS)
