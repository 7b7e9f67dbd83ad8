"""A real daemon for the client tests: `perpd run` as a subprocess on a sim config, its
state (journal, socket) in a short /tmp directory (AF_UNIX paths are limited to ~108 bytes)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from perpd.client import Client
from perpd.errors import PerpdError

ROOT = Path(__file__).resolve().parents[2]

# Two paper accounts on one sim venue, a route over both, and a house policy that refuses
# orders over 50,000 notional: enough for a trade, a denial and a route. No targets, so
# nothing trades behind a test's back.
CONFIG = """
[daemon]
state_dir = "{state}"
http = {http}
durability = "fast"

[api]
requests_per_sec = 1000

[[api.tokens]]
name = "reader"
secret = "env:PERPD_TEST_READER"
scopes = ["read"]

[[api.tokens]]
name = "trader"
secret = "env:PERPD_TEST_TRADER"
scopes = ["trade"]

[venues.sim]
kind = "sim"
seed = 7

[accounts.paper]
venue = "sim"
leverage = {{ BTC = 5 }}

[accounts.spare]
venue = "sim"

[[routes]]
name = "btc-best"
symbols = ["BTC"]
accounts = ["paper", "spare"]
strategy = "best_price"

[[policies]]
name = "house"
max_order_notional = 50000
price_band_bps = 1000
"""

TOKENS = {"PERPD_TEST_READER": "reader-token-0123456789", "PERPD_TEST_TRADER": "trader-token-0123456789"}


def wait_until(predicate: Callable[[], object], timeout_secs: float = 30.0, what: str = "a condition") -> None:
    """Poll `predicate` until it is true; AssertionError naming `what` after the deadline."""
    deadline = time.monotonic() + timeout_secs
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class RunningDaemon:
    """`perpd run -c CONFIG` in a subprocess; `stop()` sends SIGTERM and waits."""

    def __init__(self, config_text: str | None = None, *, config_file: Path | None = None, http: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pdc-", dir="/tmp"))
        self.state_dir = self.dir / "state"
        # Port 0: the daemon binds a free port itself and logs it (no bind race).
        self.port: int | None = 0 if http else None
        self.url: str | None = None
        if config_file is not None:
            # A shipped config (configs/*.toml): its own state dir and port are overridden.
            text = config_file.read_text(encoding="utf-8")
        else:
            text = (config_text or CONFIG).format(state=self.state_dir, http=f'"127.0.0.1:{self.port}"' if http else "false")
        self.config = self.dir / "perpd.toml"
        self.config.write_text(text, encoding="utf-8")
        self.socket = self.state_dir / "run" / "perpd.sock"
        self.env = {**os.environ, **TOKENS, "PERPD_STATE_DIR": str(self.state_dir),
                    "PERPD_HTTP": f"127.0.0.1:{self.port}" if http else "false"}
        self.env.pop("PERPD_SOCKET", None)
        self.env.pop("PERPD_CONFIG", None)
        self.log = open(self.dir / "daemon.log", "w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "perpd.cli", "run", "-c", str(self.config)],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"perpd run exited {self.proc.returncode}:\n{self.output()}")
            if self.port == 0:
                bound = re.search(r'"http":\s*"127\.0\.0\.1:(\d+)"', self.output())
                if bound is None:
                    time.sleep(0.05)
                    continue
                self.port = int(bound.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
            if self.socket.exists():
                try:
                    with Client(socket=self.socket) as client:
                        status = client.status()
                    if status.accounts and all(a["synced"] for a in status.accounts.values()):
                        return
                except PerpdError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"perpd run did not become ready:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return (self.dir / "daemon.log").read_text(encoding="utf-8", errors="replace")

    def client(self) -> Client:
        return Client(socket=self.socket)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
