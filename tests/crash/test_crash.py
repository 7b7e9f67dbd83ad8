"""The crash harness: the daemon in its own process, SIGKILLed at chosen points, restarted
on the same state dir, judged by the venue's own books.

The venue is `perpd emulate hyperliquid`, a process of its own that outlives every daemon
it serves. The daemon is `perpd run`, started with `PERPD_CRASH_AT=<point>` (see
perpd/crashpoints.py): it kills itself there with SIGKILL — nothing flushed, no on_exit,
lazy journal writes lost — exactly as a power cut would. A client places an order over
the daemon's Unix socket with an Idempotency-Key, loses the answer to the kill, and
retries after the restart. What must hold, judged on the emulator:

    before_commit   nothing was journaled, nothing sent; the retry places it once
    after_commit    journaled, never sent: sent after the restart (an obligation), once
    after_accept    on the venue, the answer lost: found again, never sent twice
    mid-batch       a route's first leg accepted, the second journaled: each once
    during_reload   killed between starting a reload's new pieces and the swap: the
                    file's config runs after the restart, the standing order live once

(The in-process harness in tests/engine/ is faster and injects faults at the session edge;
it stops the daemon cleanly. This one is the honest kill.)
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from venues.hyperliquid.signing import Signer

pytestmark = pytest.mark.slow

PERPD = [sys.executable, "-m", "perpd.cli"]
KEYS = {"alpha": "0x" + "e1" * 32, "beta": "0x" + "e2" * 32}
CONFIG = """
[daemon]
state_dir = "{state}"
socket = "{socket}"
http = false
reconcile_interval_secs = 0.1
unknown_grace_secs = 0.5
resume_pending_secs = 300
watchdog_secs = 0

[venues.hl]
kind = "hyperliquid"
network = "testnet"
rest_url = "{url}"
ws_url = "{ws}"

[accounts.alpha]
venue = "hl"
account_address = "{alpha}"
signer = "env:CRASH_KEY_ALPHA"
allow_master_key = true

[accounts.beta]
venue = "hl"
account_address = "{beta}"
signer = "env:CRASH_KEY_BETA"
allow_master_key = true

[[routes]]
name = "both"
accounts = ["alpha", "beta"]
strategy = "split"
weights = {{ alpha = 1, beta = 1 }}
{extra}
"""
STANDING = """
[[orders]]
name = "bid"
account = "alpha"
symbol = "BTC"
side = "buy"
size = 0.001
price = {price}
"""


def wait_until(probe, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling another process: there is nothing to await


@dataclass
class Rig:
    workdir: Path
    url: str
    emulator: subprocess.Popen
    daemon: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.workdir / "run" / "perpd.sock"

    @property
    def config(self) -> Path:
        return self.workdir / "perpd.toml"

    def write(self, extra: str = "") -> None:
        self.config.write_text(CONFIG.format(
            state=self.workdir / "state", socket=self.socket, url=self.url, ws=self.url.replace("http", "ws", 1) + "/ws",
            alpha=Signer(KEYS["alpha"]).address, beta=Signer(KEYS["beta"]).address, extra=extra,
        ))

    def start(self, crash_at: str | None = None) -> None:
        env = {**os.environ, "CRASH_KEY_ALPHA": KEYS["alpha"], "CRASH_KEY_BETA": KEYS["beta"]}
        env.pop("PERPD_CRASH_AT", None)
        if crash_at:
            env["PERPD_CRASH_AT"] = crash_at
        log = (self.workdir / "perpd.log").open("ab")
        self.daemon = subprocess.Popen([*PERPD, "run", "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        wait_until(lambda: self._answers() or self.daemon.poll() is not None, "the daemon to answer")
        assert self.daemon.poll() is None, (self.workdir / "perpd.log").read_text()[-3000:]
        wait_until(lambda: all(a["synced"] for a in self.api("GET", "/status").json()["accounts"].values()), "accounts synced")

    def _answers(self) -> bool:
        # A killed daemon leaves its socket file: probe it plainly before asking over HTTP.
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket))
            except OSError:
                return False
        try:
            return self.api("GET", "/status").status_code == 200
        except httpx.TransportError:
            return False

    def api(self, method: str, path: str, **kw) -> httpx.Response:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)), base_url="http://perpd", timeout=20) as http:
            return http.request(method, f"/api/v1{path}", **kw)

    def killed(self) -> int:
        """Wait for the daemon to have killed itself; its exit status."""
        assert self.daemon is not None
        return self.daemon.wait(timeout=30)

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()

    def venue_orders(self, account: str) -> list[dict]:
        """The emulator's own open orders of an account (the venue's word, not perpd's)."""
        user = Signer(KEYS[account]).address
        return httpx.post(f"{self.url}/info", json={"type": "frontendOpenOrders", "user": user}, timeout=10).json()

    def journal_status(self, client_id: str) -> str | None:
        import sqlite3

        with sqlite3.connect(f"file:{self.workdir / 'state' / 'journal.sqlite'}?mode=ro", uri=True) as db:
            row = db.execute("SELECT status FROM orders WHERE client_id = ?", (client_id,)).fetchone()
        return row[0] if row else None


@pytest.fixture
def rig() -> Iterator[Rig]:
    # AF_UNIX paths are short: keep the work dir under /tmp.
    workdir = Path(tempfile.mkdtemp(prefix="pd-crash-", dir="/tmp"))
    log = (workdir / "emulate.log").open("wb")
    emulator = subprocess.Popen([*PERPD, "emulate", "hyperliquid", "--port", "0", "-o", "position_lag_secs=0"],
                                stdout=log, stderr=subprocess.STDOUT)
    log.close()
    port = wait_until(lambda: re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", (workdir / "emulate.log").read_text()),
                      "the emulator").group(1)
    rig = Rig(workdir, f"http://127.0.0.1:{port}", emulator)
    rig.write()
    try:
        yield rig
    finally:
        rig.stop()
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=20)


def bid(price: str = "60000", **kw) -> dict:
    return {"account": "alpha", "symbol": "BTC", "side": "buy", "size": "0.001", "price": price, **kw}


def place_and_lose_the_answer(rig: Rig, body: dict, key: str) -> None:
    with pytest.raises(httpx.TransportError):  # the daemon died mid-request
        rig.api("POST", "/orders", json=body, headers={"Idempotency-Key": key})
    assert rig.killed() == -signal.SIGKILL


@pytest.mark.parametrize("point", ["before_commit", "after_commit", "after_accept"])
def test_an_api_order_killed_at_each_point_ends_live_once_and_the_retry_says_so(rig: Rig, point: str):
    rig.start(crash_at=point)
    place_and_lose_the_answer(rig, bid(), "k-1")
    assert len(rig.venue_orders("alpha")) == (1 if point == "after_accept" else 0)  # what reached the venue
    rig.start()
    retry = rig.api("POST", "/orders", json=bid(), headers={"Idempotency-Key": "k-1"})
    assert retry.status_code in (200, 201), retry.text
    (order,) = retry.json()["orders"]
    wait_until(lambda: [o for o in rig.venue_orders("alpha") if o.get("cloid") == order["client_id"]], "the order on the venue")
    live = rig.venue_orders("alpha")
    assert len(live) == 1, f"{point}: the venue holds {len(live)} orders for one Idempotency-Key"
    assert retry.status_code == (201 if point == "before_commit" else 200)  # a retry of what was journaled
    assert rig.journal_status(order["client_id"]) in ("open", "pending")


def test_a_route_killed_between_its_legs_ends_with_each_leg_live_once(rig: Rig):
    rig.start(crash_at="after_accept:1")  # the first leg accepted, the second not yet answered
    body = {"route": "both", "symbol": "BTC", "side": "buy", "size": "0.002", "price": "60000"}
    place_and_lose_the_answer(rig, body, "k-route")
    rig.start()
    retry = rig.api("POST", "/orders", json=body, headers={"Idempotency-Key": "k-route"})
    assert retry.status_code == 200, retry.text
    legs = {o["account"]: o["client_id"] for o in retry.json()["orders"]}
    assert set(legs) == {"alpha", "beta"}
    for account, client_id in legs.items():
        wait_until(lambda a=account, c=client_id: [o for o in rig.venue_orders(a) if o.get("cloid") == c], f"{account}'s leg")
        assert len(rig.venue_orders(account)) == 1, f"{account}: a leg is live {len(rig.venue_orders(account))} times"


def test_killed_during_a_reload_the_file_runs_after_restart_and_the_standing_order_is_live_once(rig: Rig):
    rig.write(STANDING.format(price=60000))
    rig.start(crash_at="during_reload")
    wait_until(lambda: len(rig.venue_orders("alpha")) == 1, "the standing order")
    rig.write(STANDING.format(price=60100))
    with pytest.raises(httpx.TransportError):
        rig.api("POST", "/reload")
    assert rig.killed() == -signal.SIGKILL
    rig.start()
    wait_until(lambda: [o for o in rig.venue_orders("alpha") if o["limitPx"] in ("60100", "60100.0")], "the moved standing order")
    time.sleep(1.0)  # an observation window: nothing more may appear
    live = rig.venue_orders("alpha")
    assert len(live) == 1, f"the standing order is live {len(live)} times: {live}"
