"""The daemon trading on the Extended emulator as on any venue: a target routed across
Extended and a sim venue and one on Extended alone, each reached in exactly its size, a
standing order kept live, and
the official SDK seeing the daemon's standing order on the emulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest
from extended_support import serve
from sdk_support import sdk_config
from x10.clients.rest.rest_api_client import RestApiClient
from x10.core.stark_account import StarkPerpetualAccount

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
from venues.extended.emulator import create_app
from venues.extended.emulator.app import DEMO_API_KEY, DEMO_STARK_KEY, DEMO_VAULT
from venues.extended.signing import public_key_of

pytestmark = pytest.mark.anyio


def config(url: str) -> str:
    ws = url.replace("http", "ws", 1)
    return DAEMON + f"""
[venues.ext]
kind = "extended"
network = "testnet"
rest_url = "{url}"
ws_url = "{ws}"
timeout_secs = 5.0
requests_per_min = 600000

[venues.sim]
kind = "sim"
seed = 7

[accounts.ext-main]
venue = "ext"
api_key = "env:PERPD_TEST_EXTENDED_API_KEY"
stark_private_key = "env:PERPD_TEST_EXTENDED_STARK_KEY"
vault = {DEMO_VAULT}
dead_mans_switch_secs = 60

[accounts.sim-main]
venue = "sim"
""" + best_price_target(["ext-main", "sim-main"]) + """
[[targets]]
account = "ext-main"
symbol = "SOL"
position = -2
max_slice = 1
limit_bps = 30
""" + standing_order("ext-btc-bid", "ext-main", price=60000, post_only=True)


async def test_the_daemon_holds_a_routed_target_and_a_standing_order_on_extended(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERPD_TEST_EXTENDED_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("PERPD_TEST_EXTENDED_STARK_KEY", DEMO_STARK_KEY)
    async with serve(create_app()) as url, running_daemon(tmp_path, config(url)) as engine:
        accounts = ("ext-main", "sim-main")
        await eventually(lambda: held(engine, "ETH-PERP", accounts) == D("0.5"),
                         what="the ETH target across Extended and sim")
        sol = engine.portfolio.accounts["ext-main"]
        await eventually(lambda: sol.position_size("SOL-PERP") == D(-2), what="the SOL target on Extended")
        rule = "standing:ext-btc-bid"
        await eventually(lambda: live_orders(engine, rule), what=f"{rule} live")
        assert await routed_between(engine) == set(accounts)

        # The official SDK, pointed at the emulator, sees the daemon's standing order.
        account = StarkPerpetualAccount(vault=DEMO_VAULT, private_key=DEMO_STARK_KEY,
                                        public_key=hex(public_key_of(int(DEMO_STARK_KEY, 16))), api_key=DEMO_API_KEY)
        async with RestApiClient(sdk_config(url), account) as client:
            seen = (await client.account.get_open_orders(market_names=["BTC-USD"])).data
        (bid,) = seen
        assert bid.price == D(60000) and bid.qty == D("0.001") and bid.post_only
        live = live_orders(engine, rule)
        assert bid.external_id == live[0].client_id

        # The target is held exactly: no slice beyond it, on either venue.
        await asyncio.sleep(0.5)
        assert held(engine, "ETH-PERP", accounts) == D("0.5") and sol.position_size("SOL-PERP") == D(-2)
