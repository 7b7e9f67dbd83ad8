"""`perpd plan` shows where a config converges, not only the next pass, and previews from
the journal when no daemon runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import Harness

pytestmark = pytest.mark.anyio

STANDING = """
[[orders]]
name = "bid"
account = "paper"
symbol = "BTC"
side = "buy"
size = 0.01
price = {price}
"""


async def test_moving_a_standing_order_previews_the_replacement_not_only_the_cancel(rig):
    h = rig(STANDING.format(price=1000))
    engine = await h.start()
    await h.until(lambda: len(h.exchange.open_orders("paper")) == 1, what="standing order live")
    (live,) = h.exchange.open_orders("paper")
    preview = h.daemon.plan(text=h.path.read_text().replace("price = 1000", "price = 1100"))
    (line,) = preview["actions"]  # sim edits natively: one line
    assert line.startswith(f"replace {live.client_id} with: place buy 0.01 BTC-PERP @ 1100")
    assert engine.plan() == []  # the running config still wants nothing


async def test_plan_with_no_daemon_running_previews_against_the_journal(tmp_path: Path):
    h = Harness(tmp_path, STANDING.format(price=1000))
    await h.start()
    await h.until(lambda: len(h.exchange.open_orders("paper")) == 1, what="standing order live")
    (live,) = h.exchange.open_orders("paper")
    await h.stop()
    moved = tmp_path / "moved.toml"
    moved.write_text(h.path.read_text().replace("price = 1000", "price = 1100"))
    perpd = Path(sys.executable).parent / "perpd"
    result = subprocess.run([str(perpd), "plan", "-c", str(h.path), "--state-dir", str(h.state_dir), str(moved)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "no daemon is running: previewing" in out
    assert "orders changed: bid" in out
    assert f"cancel {live.client_id} on paper [standing:bid: standing order changed in config]" in out
    assert "then place buy 0.01 BTC-PERP @ 1100" in out
