"""Fills, funding payments and PnL answer identically over REST, the Python client,
`perpctl` and `%perp`, through a real daemon (`perpd run`): on the sim venue and on the
Hyperliquid and Lighter emulators, each settling funding every 2 seconds so that real
payments are fetched, journaled and counted."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pandas
import pytest
import uvicorn
from clients_support import CONFIG, TOKENS, RunningDaemon, wait_until
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

from perpd.magics import Tables
from venues.hyperliquid.emulator import create_app as hyperliquid_app
from venues.hyperliquid.signing import Signer
from venues.lighter.emulator import create_app as lighter_app
from venues.lighter.emulator.seeding import DEMO_API_PRIVATE_KEY

PERPCTL = [sys.executable, "-m", "perpd.perpctl"]
FUNDING_SECS = 2
HL_KEY = "0x" + "e1" * 32
MONEY = ("realized", "fees", "funding", "unrealized", "net")

SIM_CONFIG = CONFIG.replace("seed = 7", f"seed = 7\nfunding_interval_secs = {FUNDING_SECS}").replace(
    'durability = "fast"', 'durability = "fast"\nresync_secs = 1')

EMULATOR_CONFIG = """
[daemon]
state_dir = "{{state}}"
http = {{http}}
durability = "fast"
resync_secs = 1
watchdog_secs = 0

[[api.tokens]]
name = "reader"
secret = "env:PERPD_TEST_READER"
scopes = ["read"]

[venues.hl]
kind = "hyperliquid"
network = "testnet"
rest_url = "{hl}"
ws_url = "{hl_ws}/ws"
timeout_secs = 5.0
market_slippage_bps = "300"

[venues.lt]
kind = "lighter"
network = "testnet"
rest_url = "{lt}"
ws_url = "{lt_ws}/stream"
chain_id = 300
tier = "premium"
requests_per_min = 600000
tx_per_min = 40000

[accounts.hl-main]
venue = "hl"
account_address = "{address}"
signer = "env:PERPD_TEST_HL_KEY"
allow_master_key = true

[accounts.lt-main]
venue = "lt"
account_index = 1001
api_keys = [{{{{ index = 3, secret = "env:PERPD_TEST_LIGHTER_KEY" }}}}]
"""


class ServedInThread:
    """An ASGI app (an emulator) on loopback, served by uvicorn on a thread of its own, so
    that this test's synchronous clients may block while it answers the daemon."""

    def __init__(self, app: Any) -> None:
        self.url = ""
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
                                                     timeout_graceful_shutdown=1))
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()), daemon=True)
        self._thread.start()
        wait_until(lambda: self._server.started or not self._thread.is_alive(), what="the emulator to start")
        assert self._server.started, "the emulator did not start"
        self.url = f"http://127.0.0.1:{self._server.servers[0].sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


# --------------------------------------------------------------------------- the four surfaces


class Surfaces:
    """One daemon read four ways: REST (httpx + token), the client, perpctl, %perp."""

    def __init__(self, daemon: RunningDaemon, shell: InteractiveShell) -> None:
        self.daemon = daemon
        self.shell = shell
        self.http = httpx.Client(base_url=f"{daemon.url}/api/v1", timeout=30,
                                 headers={"Authorization": f"Bearer {TOKENS['PERPD_TEST_READER']}"})
        self.client = daemon.client()

    def rest(self, path: str, **params: Any) -> Any:
        answer = self.http.get(path, params={k: str(v) for k, v in params.items()})
        assert answer.status_code == 200, answer.text
        return answer.json() if "json" in answer.headers["content-type"] else answer.text

    def perpctl(self, *words: str) -> Any:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PERPD_")} | {"NO_COLOR": "1"}
        done = subprocess.run([*PERPCTL, "--socket", str(self.daemon.socket), *words], capture_output=True, text=True,
                              env=env, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if words[0] == "--json" else done.stdout

    def magic(self, line: str) -> Any:
        with capture_output() as captured:
            result = self.shell.run_cell(f"%perp {line}")
        assert result.success and result.result is not None, captured.stderr
        return result.result

    def close(self) -> None:
        self.http.close()
        self.client.close()


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ipython = InteractiveShell.instance(config=config)
    ipython.run_line_magic("load_ext", "perpd")
    try:
        yield ipython
    finally:
        magics = ipython.magics_manager.registry["PerpMagics"]
        if magics._session is not None:
            magics._session.client.close()
        InteractiveShell.clear_instance()


def views_agree(s: Surfaces, account: str, until: int) -> None:
    """Fills, payments and a closed window's PnL of `account`, read four ways, agree."""
    s.shell.run_line_magic("perp", f"connect {s.daemon.socket}")
    window = {"account": account, "until": until}

    fills = s.rest("/fills", **window, limit=1000)["fills"]
    assert fills and fills == s.client.fills(**window, limit=1000).model_dump(mode="json")["fills"]
    assert s.perpctl("--json", "fills", "on", account, "until", str(until), "limit", "1000") == fills
    frame = s.magic(f"fills on {account} until {until} limit 1000")
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame["trade id"]) == [f["trade_id"] for f in fills]
    for column, key in (("price", "price"), ("size", "size"), ("fee", "fee"), ("ccy", "fee_currency")):
        assert [str(v) for v in frame[column]] == [f[key] for f in fills]
    exported = s.rest("/fills", **window, limit=1000, format="csv")
    assert exported == s.perpctl("fills", "--csv", "on", account, "until", str(until)).rstrip("\n") + "\n"
    assert [row["trade_id"] for row in csv.DictReader(io.StringIO(exported))] == [f["trade_id"] for f in fills]

    payments = s.rest("/funding-payments", **window, limit=1000)["funding_payments"]
    assert payments and payments == s.client.funding_payments(**window, limit=1000).model_dump(mode="json")["funding_payments"]
    assert s.perpctl("--json", "payments", "on", account, "until", str(until), "limit", "1000") == payments
    frame = s.magic(f"payments on {account} until {until} limit 1000")
    assert [str(v) for v in frame["amount"]] == [p["amount"] for p in payments]
    assert [str(v) for v in frame["payment id"]] == [p["payment_id"] for p in payments]

    since = min(f["ts_ms"] for f in fills)
    pnl = s.rest("/pnl", account=account, since=since, until=until)
    assert pnl == s.client.pnl(account=account, since=since, until=until).model_dump(mode="json")
    assert s.perpctl("--json", "pnl", account, "since", str(since), "until", str(until)) == pnl
    shown = s.magic(f"pnl {account} since {since} until {until}")
    first = shown.tables[0].records()[0] if isinstance(shown, Tables) else shown.iloc[0].to_dict()
    assert {k: str(first[k]) for k in MONEY} == {k: pnl["lines"][0][k] for k in MONEY}
    # Funding counts in PnL: what the payments add up to, fees as the fills add up.
    line = pnl["by_account"][0]
    assert Decimal(line["funding"]) == sum(Decimal(p["amount"]) for p in payments if p["ts_ms"] >= since)
    assert Decimal(line["fees"]) == sum(Decimal(f["fee"]) for f in fills)
    assert Decimal(line["net"]) == (Decimal(line["realized"]) - Decimal(line["fees"]) + Decimal(line["funding"])
                                    + Decimal(line["unrealized"]))


def trade_and_collect_funding(s: Surfaces, account: str, symbol: str, size: str) -> int:
    """Buy, sell part back, wait for two funding payments; the ms after which to read."""
    s.client.buy(size, symbol, account=account)
    s.client.sell(Decimal(size) / 2, symbol, account=account)
    wait_until(lambda: len(s.client.fills(account=account).fills) >= 2, what=f"{account}'s fills")
    wait_until(lambda: len(s.client.funding_payments(account=account).funding_payments) >= 2, timeout_secs=60,
               what=f"{account}'s funding payments")
    until = int(time.time() * 1000)
    time.sleep(0.01)  # `until` is strictly in the past for every surface
    return until


def test_sim_fills_funding_and_pnl_read_the_same_everywhere(shell: InteractiveShell) -> None:
    daemon = RunningDaemon(SIM_CONFIG, http=True)
    surfaces = Surfaces(daemon, shell)
    try:
        until = trade_and_collect_funding(surfaces, "paper", "BTC", "0.01")
        views_agree(surfaces, "paper", until)
        with capture_output() as shown:
            curve = shell.run_cell("%perp pnl paper inception curve").result
        points = surfaces.client.pnl(account="paper", period="inception", curve=True).curve
        assert list(curve["booked"])[: len(points)] == [p.booked for p in points][: len(curve)]
        assert any("Figure" in out.data.get("text/plain", "") for out in shown.outputs)  # matplotlib's plot
        # Today's PnL is the loss tracker's: funding fetched on resync reached it, each payment once.
        for _ in range(50):
            paid = surfaces.client.funding_payments(account="paper", limit=1000).funding_payments
            today = surfaces.client.pnl(account="paper")
            if len(surfaces.client.funding_payments(account="paper", limit=1000).funding_payments) == len(paid):
                break  # no payment came in between: the two reads are of one moment
        assert today.by_account[0].funding == sum((p.amount for p in paid if p.ts_ms >= today.since), Decimal(0))
        assert paid
        fill = surfaces.client.fills(account="paper").fills[0]
        assert (fill.source, fill.fee_currency, fill.liquidity.value) == ("api", "USDC", "taker")
        assert fill.intent_id is not None and fill.client_id is not None
    finally:
        surfaces.close()
        daemon.stop()


def test_hyperliquid_and_lighter_emulators_fills_funding_and_pnl_read_the_same_everywhere(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERPD_TEST_HL_KEY", HL_KEY)
    monkeypatch.setenv("PERPD_TEST_LIGHTER_KEY", DEMO_API_PRIVATE_KEY)  # registered at 1001:3 by the emulator
    hl = ServedInThread(hyperliquid_app(funding_interval_secs=FUNDING_SECS))
    lt = ServedInThread(lighter_app(funding_interval_secs=FUNDING_SECS))
    daemon = surfaces = None
    try:
        text = EMULATOR_CONFIG.format(hl=hl.url, hl_ws=hl.url.replace("http", "ws", 1), lt=lt.url,
                                      lt_ws=lt.url.replace("http", "ws", 1), address=Signer(HL_KEY).address)
        daemon = RunningDaemon(text, http=True)
        surfaces = Surfaces(daemon, shell)
        until = {account: trade_and_collect_funding(surfaces, account, "ETH", "0.5") for account in ("hl-main", "lt-main")}
        for account in ("hl-main", "lt-main"):
            views_agree(surfaces, account, until[account])
        venues = {p.venue for p in surfaces.client.funding_payments().funding_payments}
        assert venues == {"hl", "lt"}
    finally:
        if surfaces is not None:
            surfaces.close()
        if daemon is not None:
            daemon.stop()
        hl.stop()
        lt.stop()
