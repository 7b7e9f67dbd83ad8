"""The daemon trading on the Vest emulator as on any venue: a target routed across Vest and
a sim venue is reached in exactly its size, a standing order on Vest is kept live (off the
book, as Vest keeps limits), and Vest's asynchronous, whole fills count once."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest
from vest_support import PRIMARY_KEY, SIGNING_KEY, serve

from perpd.daemon import Daemon
from perpd.model import OrderStatus
from venues.vest.emulator import create_app

pytestmark = pytest.mark.anyio


def config(vest_url: str) -> str:
    ws = vest_url.replace("http", "ws", 1) + "/ws-api?version=1.0"
    return f"""
[daemon]
http = false
reconcile_interval_secs = 0.1
watchdog_secs = 0

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

[[routes]]
name = "eth-best"
symbols = ["ETH"]
accounts = ["vest-main", "paper"]
strategy = "best_price"

[[targets]]
route = "eth-best"
symbol = "ETH"
position = 0.5
max_slice = 0.25
limit_bps = 30

[[orders]]
name = "vest-btc-bid"
account = "vest-main"
symbol = "BTC"
side = "buy"
size = 0.001
price = 62500
"""


async def eventually(probe, timeout: float = 30.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_the_daemon_holds_a_routed_target_and_a_standing_order_on_vest(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERPD_TEST_VEST_SIGNING", SIGNING_KEY)
    monkeypatch.setenv("PERPD_TEST_VEST_PRIMARY", PRIMARY_KEY)
    app = create_app(seed=3)
    async with serve(app) as url:
        path = tmp_path / "perpd.toml"
        path.write_text(config(url))
        daemon = Daemon(path, state_dir=tmp_path / "state")
        engine = await daemon.start()
        try:
            def held() -> D:
                return sum((engine.portfolio.accounts[a].position_size("ETH-PERP") for a in ("vest-main", "paper")), D(0))

            await eventually(lambda: held() == D("0.5"), what="the ETH target across Vest and sim")
            await eventually(
                lambda: any(o.status is OrderStatus.OPEN for o in engine.observed().rules["standing:vest-btc-bid"].orders),
                what="the standing order live on Vest",
            )
            await engine.journal.flush()
            decisions = engine.journal.events(action="route")
            assert decisions and {q["account"] for q in decisions[0].details["quotes"]} == {"vest-main", "paper"}

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
            assert held() == D("0.5")
            assert len(await session.fetch_fills()) == len(vest_fills)
        finally:
            await daemon.stop()
