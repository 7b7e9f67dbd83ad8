"""The daemon in process trading on the EdgeX emulator exactly as on the sim venue: a
target routed best-price across EdgeX and a sim venue reached in exactly its size, a
standing order kept live on EdgeX (and seen by the official SDK), a market order landing
on one venue once."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from edgex_sdk import Client, GetActiveOrderParams
from edgex_support import serve

from perpd.daemon import Daemon
from perpd.model import OrderSpec, OrderStatus, OrderType, Side
from venues.edgex.emulator import create_app

pytestmark = pytest.mark.anyio


def config(url: str, account_id: int) -> str:
    return f"""
[daemon]
http = false
reconcile_interval_secs = 0.1
watchdog_secs = 0

[venues.edgex]
kind = "edgex"
rest_url = "{url}"
ws_url = "{url.replace('http', 'ws', 1)}"
requests_per_min = 600000
timeout_secs = 5.0

[venues.sim]
kind = "sim"
seed = 9
persist = false

[accounts.edgex-main]
venue = "edgex"
account_id = {account_id}
api_key = "env:PERPD_TEST_EDGEX_KEY"
api_passphrase = "env:PERPD_TEST_EDGEX_PASSPHRASE"
api_secret = "env:PERPD_TEST_EDGEX_SECRET"
trading_key = "env:PERPD_TEST_EDGEX_TRADING_KEY"
leverage = {{ ETH = 5 }}

[accounts.paper]
venue = "sim"

[[routes]]
name = "eth-best"
symbols = ["ETH"]
accounts = ["edgex-main", "paper"]
strategy = "best_price"

[[targets]]
route = "eth-best"
symbol = "ETH"
position = 0.5
max_slice = 0.25
limit_bps = 30

[[orders]]
name = "edgex-btc-bid"
account = "edgex-main"
symbol = "BTC"
side = "buy"
size = 0.001
price = 60000
post_only = true
"""


async def eventually(probe: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_the_daemon_holds_a_routed_target_and_a_standing_order_on_edgex(tmp_path: Path, monkeypatch: Any) -> None:
    app = create_app(seed=19)
    emulator = app.state.emulator
    credentials = emulator.provision()
    for name, value in (("KEY", credentials.api_key), ("PASSPHRASE", credentials.passphrase),
                        ("SECRET", credentials.secret), ("TRADING_KEY", credentials.trading_key)):
        monkeypatch.setenv(f"PERPD_TEST_EDGEX_{name}", value)
    async with serve(app) as url:
        path = tmp_path / "perpd.toml"
        path.write_text(config(url, credentials.account_id))
        daemon = Daemon(path, state_dir=tmp_path / "state")
        engine = await daemon.start()
        try:
            def held() -> D:
                return sum((engine.portfolio.accounts[a].position_size("ETH-PERP") for a in ("edgex-main", "paper")), D(0))

            await eventually(lambda: held() == D("0.5"), what="the ETH target across EdgeX and sim")
            rule = "standing:edgex-btc-bid"
            await eventually(lambda: any(o.status is OrderStatus.OPEN for o in engine.observed().rules[rule].orders),
                             what="the standing order live")
            await engine.journal.flush()
            decisions = engine.journal.events(action="route")
            assert decisions and {q["account"] for q in decisions[0].details["quotes"]} == {"edgex-main", "paper"}

            # The official SDK, pointed at the emulator, sees the daemon's standing order.
            async with Client(base_url=url, account_id=credentials.account_id, api_key=credentials.api_key,
                              api_passphrase=credentials.passphrase, api_secret=credentials.secret) as client:
                answer = await client.get_active_orders(GetActiveOrderParams(size="100"))
            assert answer["code"] == "SUCCESS"
            (bid,) = [o for o in answer["data"]["dataList"] if o["contractId"] == "10000001"]
            live = [o for o in engine.observed().rules[rule].orders if o.status is OrderStatus.OPEN]
            assert (D(bid["price"]), D(bid["size"]), bid["clientOrderId"]) == (D(60000), D("0.001"), live[0].client_id)

            # A market order through the route lands on one venue, once.
            (order,) = await engine.submit(
                OrderSpec(symbol="ETH", side=Side.SELL, size=D("0.1"), type=OrderType.MARKET, route="eth-best")
            )
            assert order.account in ("edgex-main", "paper")
            await eventually(lambda: held() in (D("0.4"), D("0.5")), what="the sell filled or the target re-bought")
        finally:
            await daemon.stop()
