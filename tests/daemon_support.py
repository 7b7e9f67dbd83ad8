"""What the tests that run the daemon on an emulator share: the TOML they have in common
(the daemon section, a best-price route with its target, a standing order), the daemon
started on a config in a temporary directory, and what they read back from it.

Each test keeps its own venue sections and accounts (the venue's config keys and secrets);
these are the parts that are the same for every venue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from perpd.daemon import Daemon
from perpd.model import OrderStatus

DAEMON = """
[daemon]
http = false
reconcile_interval_secs = 0.1
watchdog_secs = 0
"""


def hyperliquid_account(url: str, address: str, *, venue: str = "hl", account: str = "main",
                        key_env: str = "PERPD_TEST_HL_KEY") -> str:
    """A Hyperliquid venue on the emulator at `url` and one account trading with the master
    key named by `key_env` (the emulators accept it; real configs use an agent)."""
    return f"""
[venues.{venue}]
kind = "hyperliquid"
network = "testnet"
rest_url = "{url}"
ws_url = "{url.replace('http', 'ws', 1)}/ws"

[accounts.{account}]
venue = "{venue}"
account_address = "{address}"
signer = "env:{key_env}"
allow_master_key = true
"""


def lighter_account(url: str, account_index: int, *, venue: str = "lt", account: str = "main",
                    key_env: str = "PERPD_TEST_LIGHTER_KEY") -> str:
    """A Lighter venue on the emulator at `url` and one account trading with API key 3."""
    return f"""
[venues.{venue}]
kind = "lighter"
network = "testnet"
rest_url = "{url}"
ws_url = "{url.replace('http', 'ws', 1)}/stream"
chain_id = 300
tier = "premium"
requests_per_min = 600000
tx_per_min = 40000

[accounts.{account}]
venue = "{venue}"
account_index = {account_index}
api_keys = [{{ index = 3, secret = "env:{key_env}" }}]
"""


def best_price_target(accounts: Iterable[str], *, route: str = "eth-best", symbol: str = "ETH",
                      position: str = "0.5", max_slice: str = "0.25", limit_bps: int = 30) -> str:
    """A best-price route over `accounts` and a target position on it."""
    names = ", ".join(f'"{a}"' for a in accounts)
    return f"""
[[routes]]
name = "{route}"
symbols = ["{symbol}"]
accounts = [{names}]
strategy = "best_price"

[[targets]]
route = "{route}"
symbol = "{symbol}"
position = {position}
max_slice = {max_slice}
limit_bps = {limit_bps}
"""


def standing_order(name: str, account: str, *, price: int, symbol: str = "BTC", side: str = "buy",
                   size: str = "0.001", post_only: bool = False) -> str:
    """A standing order the daemon keeps live."""
    return f"""
[[orders]]
name = "{name}"
account = "{account}"
symbol = "{symbol}"
side = "{side}"
size = {size}
price = {price}
""" + ("post_only = true\n" if post_only else "")


@asynccontextmanager
async def running_daemon(tmp_path: Path, config: str) -> AsyncIterator[Any]:
    """The daemon on `config` (written to tmp_path/perpd.toml, state in tmp_path/state),
    started; yields its engine and stops it afterwards."""
    path = tmp_path / "perpd.toml"
    path.write_text(config)
    daemon = Daemon(path, state_dir=tmp_path / "state")
    engine = await daemon.start()
    try:
        yield engine
    finally:
        await daemon.stop()


def held(engine: Any, symbol: str, accounts: Iterable[str]) -> Decimal:
    """The position in `symbol` summed over `accounts`, as the daemon knows it."""
    return sum((engine.portfolio.accounts[a].position_size(symbol) for a in accounts), Decimal(0))


def live_orders(engine: Any, rule: str) -> list[Any]:
    """The open orders of a rule (`standing:NAME`)."""
    return [o for o in engine.observed().rules[rule].orders if o.status is OrderStatus.OPEN]


async def routed_between(engine: Any) -> set[str]:
    """The accounts the first route decision quoted (empty before any)."""
    await engine.journal.flush()
    decisions = engine.journal.events(action="route")
    return {q["account"] for q in decisions[0].details["quotes"]} if decisions else set()
