"""The daemon on the Hyperliquid emulator whose clearinghouseState trails its fills by a
second, as the venue's does: a 0.5 ETH target in 0.1 slices trades exactly 0.5 and then
nothing. Judged by the emulator's own engine, sampled throughout."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from perpd.daemon import Daemon
from perpd.model import ZERO
from tests.daemon_support import DAEMON, hyperliquid_account
from tests.venues.hyperliquid.hl_support import serve
from venues.hyperliquid.emulator import create_app
from venues.hyperliquid.signing import Signer

pytestmark = pytest.mark.anyio

KEY = "0x" + "e1" * 32
ADDRESS = Signer(KEY).address


def config(url: str) -> str:
    return DAEMON + hyperliquid_account(url, ADDRESS) + """
[[targets]]
account = "main"
symbol = "ETH"
position = 0.5
max_slice = 0.1
limit_bps = 30
"""


async def test_a_target_does_not_trade_past_itself_when_positions_lag_fills(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERPD_TEST_HL_KEY", KEY)
    app = create_app()
    emu = app.state.emulator
    emu.faults.position_lag_secs = 1.0
    async with serve(app) as url:
        path = tmp_path / "perpd.toml"
        path.write_text(config(url))
        daemon = Daemon(path, state_dir=tmp_path / "state")
        await daemon.start()
        try:
            peak, user = ZERO, ADDRESS.lower()

            def held() -> D:
                nonlocal peak
                size = emu.engine.position(user, "ETH-PERP").size
                peak = max(peak, size)
                return size

            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while held() != D("0.5"):
                assert loop.time() < deadline, f"the target was not reached (venue holds {held()})"
                await asyncio.sleep(0.02)
            hold_until = loop.time() + 3.0  # three report lags: every stale report has landed
            while loop.time() < hold_until:
                held()
                await asyncio.sleep(0.02)
            assert peak == D("0.5"), f"the venue position reached {peak} for a 0.5 target"
            assert held() == D("0.5")
            await daemon.engine.journal.flush()
            traded = sum((f.size for f in daemon.engine.journal.fills(account="main")), ZERO)
            assert traded == D("0.5"), f"traded {traded} for a 0.5 target"
        finally:
            await daemon.stop()
