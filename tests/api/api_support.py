"""Test support for the API: a real daemon (sim venue, SQLite journal in tmp_path) served by
real uvicorn servers on loopback TCP (port 0) and on a Unix socket; real httpx clients."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from perpd.api import create_app
from perpd.api.server import ApiServer
from perpd.daemon import Daemon

TOKENS = {"reader": "read-token-0123456789", "trader": "trade-token-0123456789", "admin": "admin-token-0123456789"}

CONFIG = """
[daemon]
state_dir = "{state}"
socket = "{socket}"
durability = "fast"

[api]
requests_per_sec = {rps}
{api}

[[api.tokens]]
name = "reader"
secret = "env:PERPD_TEST_READER"
scopes = ["read"]

[[api.tokens]]
name = "trader"
secret = "env:PERPD_TEST_TRADER"
scopes = ["trade"]

[[api.tokens]]
name = "admin"
secret = "env:PERPD_TEST_ADMIN"
scopes = ["admin"]

[venues.sim]
kind = "sim"
seed = 7

[accounts.paper]
venue = "sim"

[accounts.spare]
venue = "sim"

[[routes]]
name = "both"
accounts = ["paper", "spare"]
strategy = "fixed"
"""


@dataclass
class Api:
    """A running daemon and clients for it."""

    daemon: Daemon
    server: ApiServer
    base_url: str
    socket: Path
    config_path: Path
    stopped: bool = False
    ws_base: str | None = None  # where /ws/v1 is served, if not on base_url (the fan-out's port)

    def client(self, token: str | None = "trader", **headers: str) -> httpx.AsyncClient:
        if token is not None:
            headers["Authorization"] = f"Bearer {TOKENS.get(token, token)}"
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10)

    def local(self) -> httpx.AsyncClient:
        """A client on the Unix socket: no token."""
        return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(self.socket)), base_url="http://localhost", timeout=10)

    @property
    def ws_url(self) -> str:
        return (self.ws_base or self.base_url.replace("http://", "ws://")) + "/ws/v1"

    async def serve_fanout(self, workers: int = 2) -> None:
        """Serve /ws/v1 from fan-out worker processes on a port of their own, as the
        daemon does with [api.fanout]; `ws_url` then points there."""
        from perpd.api.fanout import Fanout
        from perpd.config import FanoutConfig

        fanout = Fanout(self.daemon, FanoutConfig(workers=workers, http="127.0.0.1:0"))
        await fanout.start()
        self.daemon.fanout = fanout
        self.ws_base = f"ws://127.0.0.1:{fanout.port}"

    async def counts(self) -> dict[str, int]:
        """Rows per journal table once every queued write has committed, read through a
        separate connection to the SQLite file."""
        assert self.daemon.journal is not None
        await self.daemon.journal.flush()
        conn = sqlite3.connect(self.daemon.journal.path)
        try:
            return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("intents", "orders", "events", "fills")}
        finally:
            conn.close()


def write_config(directory: Path, socket: Path, *, rps: float = 10_000, api: str = "", extra: str = "") -> Path:
    """The test config; `api`: more keys of its [api] table, `extra`: more tables."""
    path = directory / "perpd.toml"
    path.write_text(CONFIG.format(state=directory / "state", socket=socket, rps=rps, api=api) + extra, encoding="utf-8")
    return path


async def start_api(config_path: Path) -> Api:
    daemon = Daemon(config_path)
    await daemon.start()
    socket = daemon.config.daemon.socket_path
    server = ApiServer(create_app(daemon), daemon.config.daemon, tcp=("127.0.0.1", 0), unix=socket)
    try:
        await server.start()
    except BaseException:
        await daemon.stop()
        raise
    return Api(daemon, server, f"http://127.0.0.1:{server.port}", socket, config_path)


async def stop_api(api: Api) -> None:
    if not api.stopped:
        api.stopped = True
        if api.daemon.fanout is not None:
            await api.daemon.fanout.stop()
        await api.server.stop()
        await api.daemon.stop()



def same(order: dict[str, Any]) -> dict[str, Any]:
    """An order's JSON with decimal strings as Decimals ("0.00100" == "0.001") and without
    `updated_ms`, for comparing what two reads say about the same order."""
    out: dict[str, Any] = {}
    for key, value in order.items():
        if key == "updated_ms":
            continue
        if isinstance(value, str) and key in ("size", "price", "trigger_price", "filled_size", "avg_fill_price"):
            out[key] = Decimal(value)
        else:
            out[key] = value
    return out
