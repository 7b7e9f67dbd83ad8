"""`perpd onboard` against each emulator: the key it makes and stores is the one the daemon
then trades with, and the master key lands nowhere (config, output, logs, keystore, journal)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import anyio
import eth_account
import pytest

from perpd.cli import main
from perpd.daemon import Daemon
from perpd.model import OrderStatus
from perpd.secrets import PASSPHRASE_ENV
from tests.venues.hyperliquid.hl_support import serve
from venues.hyperliquid.emulator import create_app as hyperliquid_app
from venues.lighter.emulator import create_app as lighter_app

pytestmark = pytest.mark.anyio
MASTER = "0x" + "6f" * 32  # the account owner's Ethereum key (throwaway)
OWNER = eth_account.Account.from_key(MASTER).address


def daemon_config(tmp_path: Path, venue: str) -> Path:
    path = tmp_path / "perpd.toml"
    path.write_text(f'[daemon]\nstate_dir = "{tmp_path / "state"}"\nhttp = false\nreconcile_interval_secs = 0.1\n'
                    f"watchdog_secs = 0\n\n{venue}\n")
    return path


def standing_bid(account: str) -> str:
    return (f'\n[[orders]]\nname = "bid"\naccount = "{account}"\nsymbol = "BTC"\nside = "buy"\nsize = 0.001\n'
            "price = 60000\npost_only = true\n")


async def run_onboard(argv: list[str]) -> str:
    """`perpd ARGV` on a worker thread (the emulator serves on this loop); its stdout."""
    out = io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out):
            return main(argv)

    status = await anyio.to_thread.run_sync(call)
    assert status == 0, out.getvalue()
    return out.getvalue()


async def trades_with_the_onboarded_key(path: Path, tmp_path: Path, output: str, account: str) -> Any:
    """Add what onboard printed, start the daemon, wait for its standing order to be live."""
    toml = output.split(":\n\n", 1)[1]
    path.write_text(path.read_text() + "\n" + toml + "\n" + standing_bid(account))
    daemon = Daemon(path, state_dir=tmp_path / "state")
    engine = await daemon.start()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not ((rule := engine.observed().rules.get("standing:bid")) and any(
                o.status is OrderStatus.OPEN for o in rule.orders)):
            assert asyncio.get_running_loop().time() < deadline, "the standing order did not go live"
            await asyncio.sleep(0.1)
        await engine.journal.flush()
    finally:
        await daemon.stop()
    return toml


def assert_nowhere(tmp_path: Path, *texts: str) -> None:
    secret = MASTER.removeprefix("0x")
    for text in texts:
        assert secret not in text
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert secret.encode() not in file.read_bytes(), file
            assert bytes.fromhex(secret) not in file.read_bytes(), file


async def test_onboard_approves_an_agent_on_the_hyperliquid_emulator_that_the_daemon_trades_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(PASSPHRASE_ENV, "onboard test passphrase")
    monkeypatch.setenv("ONBOARD_MASTER", MASTER)
    app = hyperliquid_app(takers=False)
    async with serve(app) as url:
        path = daemon_config(tmp_path, f'[venues.hl]\nkind = "hyperliquid"\nnetwork = "testnet"\nrest_url = "{url}"\n'
                                       f'ws_url = "{url.replace("http", "ws", 1)}/ws"')
        output = await run_onboard(["onboard", "hl-main", "-c", str(path), "--venue", "hl", "--master", "env:ONBOARD_MASTER"])
        emulator = app.state.emulator
        (agent,) = [a for a, user in emulator.agents.items() if user == OWNER.lower()]
        assert f"approved agent {eth_account.Account.from_key(MASTER).address}" not in output
        assert agent in output.lower() and 'signer = "keystore:hl-main-agent"' in output
        toml = await trades_with_the_onboarded_key(path, tmp_path, output, "hl-main")
        (order,) = emulator.engine.open_orders(OWNER.lower())
        assert order.price == D(60000)
    assert f'account_address = "{OWNER}"' in toml
    assert_nowhere(tmp_path, output, caplog.text)


async def test_onboard_registers_a_lighter_api_key_that_the_daemon_trades_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(PASSPHRASE_ENV, "onboard test passphrase")
    monkeypatch.setenv("ONBOARD_MASTER", MASTER)
    app = lighter_app(takers=False)
    async with serve(app) as url:
        path = daemon_config(tmp_path, f'[venues.lt]\nkind = "lighter"\nnetwork = "testnet"\nrest_url = "{url}"\n'
                                       f'ws_url = "{url.replace("http", "ws", 1)}/stream"\nchain_id = 300\n'
                                       'tier = "premium"\nrequests_per_min = 600000\ntx_per_min = 40000')
        output = await run_onboard(["onboard", "lt-main", "-c", str(path), "--venue", "lt", "--master",
                                    "env:ONBOARD_MASTER", "--key-index", "5"])
        exchange = app.state.lighter.exchange
        (account,) = exchange.keyring.accounts_of(OWNER)  # a fresh account, opened for the owner
        assert [k.index for k in exchange.keyring.keys_of(account)] == [5]
        assert f"account_index = {account}" in output and 'secret = "keystore:lt-main-key-5"' in output
        await trades_with_the_onboarded_key(path, tmp_path, output, "lt-main")
        (order,) = exchange.engine.open_orders(str(account))
        assert order.price == D(60000)
    assert_nowhere(tmp_path, output, caplog.text)


async def test_a_wrong_master_key_registers_nothing_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "onboard test passphrase")
    monkeypatch.setenv("ONBOARD_MASTER", "0x" + "77" * 32)  # not the owner of account 1001
    app = lighter_app(takers=False)
    async with serve(app) as url:
        path = daemon_config(tmp_path, f'[venues.lt]\nkind = "lighter"\nnetwork = "testnet"\nrest_url = "{url}"')
        err = io.StringIO()

        def call() -> int:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                return main(["onboard", "lt-demo", "-c", str(path), "--venue", "lt", "--master", "env:ONBOARD_MASTER",
                             "--account-index", "1001", "--key-index", "6"])

        assert await anyio.to_thread.run_sync(call) == 1
        assert "21504" in err.getvalue() or "l1 signature" in err.getvalue()
        assert [k.index for k in app.state.lighter.exchange.keyring.keys_of(1001)] == [3, 4]
    assert not list((tmp_path / "state").rglob("*.key"))
