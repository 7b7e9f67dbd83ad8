"""The daemon trading on the Vest emulator as on any venue: a target routed across Vest and
a sim venue is reached in exactly its size, a standing order on Vest is kept live (off the
book, as Vest keeps limits), and Vest's asynchronous, whole fills count once."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest
from vest_support import PRIMARY_KEY, SIGNING_KEY, serve

from tests.daemon_support import (
    DAEMON,
    best_price_target,
    held,
    live_orders,
    routed_between,
    running_daemon,
    standing_order,
)
from tests.polling import eventually
from venues.vest.emulator import create_app

pytestmark = pytest.mark.anyio


def config(vest_url: str) -> str:
    ws = vest_url.replace("http", "ws", 1) + "/ws-api?version=1.0"
    return DAEMON + f"""
[venues.vest]
kind = "vest"
rest_url = "{vest_url}/v2"
ws_url = "{ws}"
requests_per_min = 600000
timeout_secs = 5.0

[venues.sim]
kind = "sim"
seed = 11
persist = false

[accounts.vest-main]
venue = "vest"
signing_key = "env:PERPD_TEST_VEST_SIGNING"
primary_key = "env:PERPD_TEST_VEST_PRIMARY"
register_on_connect = true
leverage = {{ ETH = 5 }}

[accounts.paper]
venue = "sim"
""" + best_price_target(["vest-main", "paper"]) + standing_order("vest-btc-bid", "vest-main", price=62500)


async def test_the_daemon_holds_a_routed_target_and_a_standing_order_on_vest(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERPD_TEST_VEST_SIGNING", SIGNING_KEY)
    monkeypatch.setenv("PERPD_TEST_VEST_PRIMARY", PRIMARY_KEY)
    app = create_app(seed=3)
    async with serve(app) as url, running_daemon(tmp_path, config(url)) as engine:
        accounts = ("vest-main", "paper")
        await eventually(lambda: held(engine, "ETH-PERP", accounts) == D("0.5"),
                         what="the ETH target across Vest and sim")
        await eventually(lambda: live_orders(engine, "standing:vest-btc-bid"), what="the standing order live on Vest")
        assert await routed_between(engine) == set(accounts)

        # What Vest itself says: the slices it filled, each whole, and the bid waiting.
        session = engine.sessions["vest-main"]
        vest_fills = await session.fetch_fills()
        eth = sum((f.signed_size for f in vest_fills if f.symbol == "ETH-PERP"), D(0))
        vest_position = next((p.size for p in await session.fetch_positions() if p.symbol == "ETH-PERP"), D(0))
        assert eth == vest_position and eth > 0  # Vest (the lower fee) won slices of the route
        (bid,) = [o for o in await session.fetch_open_orders("BTC") if o.price == D(62500)]
        assert bid.size == D("0.001") and bid.filled_size == 0

        # Held steady: nothing more trades once the target is reached.
        await asyncio.sleep(1.0)
        assert held(engine, "ETH-PERP", accounts) == D("0.5")
        assert len(await session.fetch_fills()) == len(vest_fills)
