"""The daemon trading on the Hyperliquid and Lighter emulators exactly as on the sim venue:
targets held, standing orders kept live, a best-price route across both, and the official
Hyperliquid SDK seeing the daemon's orders on the emulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from perpd.model import OrderSpec, OrderType, Side
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
    return DAEMON + f"""
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
""" + best_price_target(["hl-main", "lt-main"]) + "".join(
        standing_order(f"{short}-btc-bid", f"{short}-main", price=60000, post_only=True) for short in ("hl", "lt"))


async def test_the_daemon_holds_targets_and_standing_orders_on_both_emulators(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERPD_TEST_HL_KEY", HL_KEY)
    monkeypatch.setenv("PERPD_TEST_LIGHTER_KEY", DEMO_API_PRIVATE_KEY)  # registered at 1001:3 by the emulator
    async with (serve(hyperliquid_app()) as hl_url, serve(lighter_app()) as lighter_url,
                running_daemon(tmp_path, config(hl_url, lighter_url)) as engine):
        accounts = ("hl-main", "lt-main")
        await eventually(lambda: held(engine, "ETH-PERP", accounts) == D("0.5"),
                         what="the ETH target across both venues")
        for rule in ("standing:hl-btc-bid", "standing:lt-btc-bid"):
            await eventually(lambda rule=rule: live_orders(engine, rule), what=f"{rule} live")
        assert await routed_between(engine) == set(accounts)

        # The official SDK, pointed at the emulator, sees the daemon's standing order.
        from hyperliquid.info import Info

        def sdk_open_orders():
            info = Info(hl_url, skip_ws=True)
            return info.frontend_open_orders(HL_ADDRESS)

        seen = await asyncio.to_thread(sdk_open_orders)
        (bid,) = [o for o in seen if o["coin"] == "BTC"]
        assert D(bid["limitPx"]) == D(60000) and D(bid["sz"]) == D("0.001")
        live = live_orders(engine, "standing:hl-btc-bid")
        assert bid["cloid"] == live[0].client_id

        # A market order through the route lands on one venue, once.
        (order,) = await engine.submit(
            OrderSpec(symbol="ETH", side=Side.SELL, size=D("0.1"), type=OrderType.MARKET, route="eth-best")
        )
        assert order.account in ("hl-main", "lt-main")
        await eventually(lambda: held(engine, "ETH-PERP", accounts) in (D("0.4"), D("0.5")),
                         what="the sell filled or the target re-bought")
