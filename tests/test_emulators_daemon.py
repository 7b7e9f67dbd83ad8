"""The daemon trading on the Hyperliquid and Lighter emulators exactly as on the sim venue:
targets held, standing orders kept live, a best-price route across both, and the official
Hyperliquid SDK seeing the daemon's orders on the emulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from perpd.daemon import Daemon
from perpd.model import OrderSpec, OrderStatus, OrderType, Side
from tests.venues.hyperliquid.hl_support import serve
from venues.hyperliquid.emulator import create_app as hyperliquid_app
from venues.hyperliquid.signing import Signer
from venues.lighter.emulator import create_app as lighter_app
from venues.lighter.emulator.seeding import DEMO_API_PRIVATE_KEY

pytestmark = pytest.mark.anyio

HL_KEY = "0x" + "e1" * 32
HL_ADDRESS = Signer(HL_KEY).address


def config(hl_url: str, lighter_url: str) -> str:
    hl_ws = hl_url.replace("http", "ws", 1) + "/ws"
    lighter_ws = lighter_url.replace("http", "ws", 1) + "/stream"
    return f"""
[daemon]
http = false
reconcile_interval_secs = 0.1
watchdog_secs = 0

[venues.hl]
kind = "hyperliquid"
network = "testnet"
rest_url = "{hl_url}"
ws_url = "{hl_ws}"
timeout_secs = 5.0

[venues.lt]
kind = "lighter"
network = "testnet"
rest_url = "{lighter_url}"
ws_url = "{lighter_ws}"
chain_id = 300
tier = "premium"
requests_per_min = 600000
tx_per_min = 40000

[accounts.hl-main]
venue = "hl"
account_address = "{HL_ADDRESS}"
signer = "env:PERPD_TEST_HL_KEY"
allow_master_key = true

[accounts.lt-main]
venue = "lt"
account_index = 1001
api_keys = [{{ index = 3, secret = "env:PERPD_TEST_LIGHTER_KEY" }}]

[[routes]]
name = "eth-best"
symbols = ["ETH"]
accounts = ["hl-main", "lt-main"]
strategy = "best_price"

[[targets]]
route = "eth-best"
symbol = "ETH"
position = 0.5
max_slice = 0.25
limit_bps = 30

[[orders]]
name = "hl-btc-bid"
account = "hl-main"
symbol = "BTC"
side = "buy"
size = 0.001
price = 60000
post_only = true

[[orders]]
name = "lt-btc-bid"
account = "lt-main"
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
        await asyncio.sleep(0.1)


async def test_the_daemon_holds_targets_and_standing_orders_on_both_emulators(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERPD_TEST_HL_KEY", HL_KEY)
    monkeypatch.setenv("PERPD_TEST_LIGHTER_KEY", DEMO_API_PRIVATE_KEY)  # registered at 1001:3 by the emulator
    async with serve(hyperliquid_app()) as hl_url, serve(lighter_app()) as lighter_url:
        path = tmp_path / "perpd.toml"
        path.write_text(config(hl_url, lighter_url))
        daemon = Daemon(path, state_dir=tmp_path / "state")
        engine = await daemon.start()
        try:
            def held() -> D:
                return sum((engine.portfolio.accounts[a].position_size("ETH-PERP") for a in ("hl-main", "lt-main")), D(0))

            await eventually(lambda: held() == D("0.5"), what="the ETH target across both venues")
            for rule in ("standing:hl-btc-bid", "standing:lt-btc-bid"):
                await eventually(
                    lambda rule=rule: any(o.status is OrderStatus.OPEN for o in engine.observed().rules[rule].orders),
                    what=f"{rule} live",
                )
            await engine.journal.flush()
            decisions = engine.journal.events(action="route")
            assert decisions and {q["account"] for q in decisions[0].details["quotes"]} == {"hl-main", "lt-main"}

            # The official SDK, pointed at the emulator, sees the daemon's standing order.
            from hyperliquid.info import Info

            def sdk_open_orders():
                info = Info(hl_url, skip_ws=True)
                return info.frontend_open_orders(HL_ADDRESS)

            seen = await asyncio.to_thread(sdk_open_orders)
            (bid,) = [o for o in seen if o["coin"] == "BTC"]
            assert D(bid["limitPx"]) == D(60000) and D(bid["sz"]) == D("0.001")
            live = [o for o in engine.observed().rules["standing:hl-btc-bid"].orders if o.status is OrderStatus.OPEN]
            assert bid["cloid"] == live[0].client_id

            # A market order through the route lands on one venue, once.
            (order,) = await engine.submit(
                OrderSpec(symbol="ETH", side=Side.SELL, size=D("0.1"), type=OrderType.MARKET, route="eth-best")
            )
            assert order.account in ("hl-main", "lt-main")
            await eventually(lambda: held() in (D("0.4"), D("0.5")), what="the sell filled or the target re-bought")
        finally:
            await daemon.stop()
