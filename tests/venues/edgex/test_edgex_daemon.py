"""The daemon in process trading on the EdgeX emulator exactly as on the sim venue: a
target routed best-price across EdgeX and a sim venue reached in exactly its size, a
standing order kept live on EdgeX (and seen by the official SDK), a market order landing
on one venue once."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from edgex_sdk import Client, GetActiveOrderParams
from edgex_support import serve

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
from venues.edgex.emulator import create_app

pytestmark = pytest.mark.anyio


def config(url: str, account_id: int) -> str:
    return DAEMON + f"""
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
""" + best_price_target(["edgex-main", "paper"]) + standing_order(
        "edgex-btc-bid", "edgex-main", price=60000, post_only=True)


async def test_the_daemon_holds_a_routed_target_and_a_standing_order_on_edgex(tmp_path: Path, monkeypatch: Any) -> None:
    app = create_app(seed=19)
    emulator = app.state.emulator
    credentials = emulator.provision()
    for name, value in (("KEY", credentials.api_key), ("PASSPHRASE", credentials.passphrase),
                        ("SECRET", credentials.secret), ("TRADING_KEY", credentials.trading_key)):
        monkeypatch.setenv(f"PERPD_TEST_EDGEX_{name}", value)
    async with serve(app) as url, running_daemon(tmp_path, config(url, credentials.account_id)) as engine:
        accounts = ("edgex-main", "paper")
        await eventually(lambda: held(engine, "ETH-PERP", accounts) == D("0.5"),
                         what="the ETH target across EdgeX and sim")
        rule = "standing:edgex-btc-bid"
        await eventually(lambda: live_orders(engine, rule), what="the standing order live")
        assert await routed_between(engine) == set(accounts)

        # The official SDK, pointed at the emulator, sees the daemon's standing order.
        async with Client(base_url=url, account_id=credentials.account_id, api_key=credentials.api_key,
                          api_passphrase=credentials.passphrase, api_secret=credentials.secret) as client:
            answer = await client.get_active_orders(GetActiveOrderParams(size="100"))
        assert answer["code"] == "SUCCESS"
        (bid,) = [o for o in answer["data"]["dataList"] if o["contractId"] == "10000001"]
        live = live_orders(engine, rule)
        assert (D(bid["price"]), D(bid["size"]), bid["clientOrderId"]) == (D(60000), D("0.001"), live[0].client_id)

        # A market order through the route lands on one venue, once.
        (order,) = await engine.submit(
            OrderSpec(symbol="ETH", side=Side.SELL, size=D("0.1"), type=OrderType.MARKET, route="eth-best")
        )
        assert order.account in ("edgex-main", "paper")
        await eventually(lambda: held(engine, "ETH-PERP", accounts) in (D("0.4"), D("0.5")),
                         what="the sell filled or the target re-bought")
