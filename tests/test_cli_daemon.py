"""`perpd run` as a real process on configs/sim.toml, driven by `perpd status/plan/reload`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PERPD = [sys.executable, "-m", "perpd.cli"]


def perpd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PERPD, *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def running(tmp_path):
    config = tmp_path / "perpd.toml"
    text = (ROOT / "configs" / "sim.toml").read_text()
    config.write_text(text.replace('http = "127.0.0.1:8700"', "http = false"))
    env = {**os.environ, "PERPD_CONFIG": str(config), "PERPD_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen([*PERPD, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    socket = tmp_path / "state" / "run" / "perpd.sock"
    deadline = time.monotonic() + 30
    while not socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            output = proc.stdout.read()
            proc.stdout.close()
            raise AssertionError(f"daemon did not start:\n{output}")
        time.sleep(0.1)
    yield config, env, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    proc.stdout.close()


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_run_holds_the_target_and_standing_order_then_plan_and_reload_move_it(running):
    config, env, proc = running
    assert (Path(env["PERPD_STATE_DIR"]) / "run").stat().st_mode & 0o777 == 0o700
    assert (Path(env["PERPD_STATE_DIR"]) / "run" / "perpd.sock").stat().st_mode & 0o777 == 0o600

    status = perpd("status", env=env)
    assert status.returncode == 0, status.stderr
    assert "account paper" in status.stdout and "synced" in status.stdout

    from perpd.journal import Journal  # read the journal the daemon writes, as an operator would

    def journal_positions():
        import asyncio

        async def read():
            async with Journal.open(Path(env["PERPD_STATE_DIR"]) / "journal.sqlite") as journal:
                fills = journal.fills(account="paper", limit=10_000)
                live = journal.orders(account="paper", live=True)
            return sum(f.signed_size for f in fills if f.symbol == "BTC-PERP"), live

        return asyncio.run(read())

    wait_for(lambda: journal_positions()[0] >= Decimal("0.05"))
    wait_for(lambda: any(o.symbol == "ETH-PERP" and o.price == 3200 for o in journal_positions()[1]))  # it rests

    config.write_text(config.read_text().replace("position = 0.05", "position = 0.02"))
    plan = perpd("plan", str(config), env=env)
    assert plan.returncode == 0, plan.stderr
    assert "targets changed: paper:BTC-PERP" in plan.stdout
    assert "place sell" in plan.stdout and "reduce-only" in plan.stdout

    reload = perpd("reload", env=env)
    assert reload.returncode == 0, reload.stderr
    assert "reloaded targets" in reload.stdout
    wait_for(lambda: journal_positions()[0] == Decimal("0.02"))

    config.write_text(config.read_text() + "\n[accounts.bad]\nvenue = \"missing\"\n")
    refused = perpd("reload", env=env)
    assert refused.returncode == 1
    assert "accounts.bad.venue" in refused.stderr
    assert perpd("status", env=env).returncode == 0  # the old config keeps running

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_status_without_a_daemon_says_so(tmp_path):
    env = {**os.environ, "PERPD_STATE_DIR": str(tmp_path), "PERPD_CONFIG": str(ROOT / "configs" / "sim.toml")}
    result = perpd("status", env=env)
    assert result.returncode == 1
    assert "no daemon is listening" in result.stderr
