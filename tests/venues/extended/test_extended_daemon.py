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

from perpd.daemon import Daemon
from perpd.model import OrderStatus
from venues.extended.emulator import create_app
from venues.extended.emulator.app import DEMO_API_KEY, DEMO_STARK_KEY, DEMO_VAULT
from venues.extended.signing import public_key_of

pytestmark = pytest.mark.anyio


def config(url: str) -> str:
    ws = url.replace("http", "ws", 1)
    return f"""
[daemon]
http = false
reconcile_interval_secs = 0.1
watchdog_secs = 0

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

[[routes]]
name = "eth-best"
symbols = ["ETH"]
accounts = ["ext-main", "sim-main"]
strategy = "best_price"

[[targets]]
route = "eth-best"
symbol = "ETH"
position = 0.5
max_slice = 0.25
limit_bps = 30

[[targets]]
account = "ext-main"
symbol = "SOL"
position = -2
max_slice = 1
limit_bps = 30

[[orders]]
name = "ext-btc-bid"
account = "ext-main"
symbol = "BTC"
side = "buy"
size = 0.001
price = 60000
post_only = true
"""


async def eventually(probe, timeout: float = 30.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_the_daemon_holds_a_routed_target_and_a_standing_order_on_extended(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERPD_TEST_EXTENDED_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("PERPD_TEST_EXTENDED_STARK_KEY", DEMO_STARK_KEY)
    async with serve(create_app()) as url:
        path = tmp_path / "perpd.toml"
        path.write_text(config(url))
        daemon = Daemon(path, state_dir=tmp_path / "state")
        engine = await daemon.start()
        try:
            def held() -> D:
                return sum((engine.portfolio.accounts[a].position_size("ETH-PERP") for a in ("ext-main", "sim-main")), D(0))

            await eventually(lambda: held() == D("0.5"), what="the ETH target across Extended and sim")
            sol = engine.portfolio.accounts["ext-main"]
            await eventually(lambda: sol.position_size("SOL-PERP") == D(-2), what="the SOL target on Extended")
            rule = "standing:ext-btc-bid"
            await eventually(lambda: any(o.status is OrderStatus.OPEN for o in engine.observed().rules[rule].orders),
                             what=f"{rule} live")
            await engine.journal.flush()
            decisions = engine.journal.events(action="route")
            assert decisions and {q["account"] for q in decisions[0].details["quotes"]} == {"ext-main", "sim-main"}

            # The official SDK, pointed at the emulator, sees the daemon's standing order.
            account = StarkPerpetualAccount(vault=DEMO_VAULT, private_key=DEMO_STARK_KEY,
                                            public_key=hex(public_key_of(int(DEMO_STARK_KEY, 16))), api_key=DEMO_API_KEY)
            async with RestApiClient(sdk_config(url), account) as client:
                seen = (await client.account.get_open_orders(market_names=["BTC-USD"])).data
            (bid,) = seen
            assert bid.price == D(60000) and bid.qty == D("0.001") and bid.post_only
            live = [o for o in engine.observed().rules[rule].orders if o.status is OrderStatus.OPEN]
            assert bid.external_id == live[0].client_id

            # The target is held exactly: no slice beyond it, on either venue.
            await asyncio.sleep(0.5)
            assert held() == D("0.5") and sol.position_size("SOL-PERP") == D(-2)
        finally:
            await daemon.stop()
