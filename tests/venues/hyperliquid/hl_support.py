"""Test support: the emulator on a real uvicorn server on 127.0.0.1, and a venue on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import anyio
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette

from perpd.clock import Clock
from perpd.model import OrderRequest, OrderType, Side
from venues.base import ClientIdFormat
from venues.hyperliquid.config import HyperliquidAccountConfig, HyperliquidVenueConfig
from venues.hyperliquid.emulator import HyperliquidEmulator, create_app
from venues.hyperliquid.session import HyperliquidSession
from venues.hyperliquid.signing import Signer
from venues.hyperliquid.venue import HyperliquidVenue

MASTER_KEY = "0x" + "a1" * 32
AGENT_KEY = "0x" + "b2" * 32
MASTER = Signer(MASTER_KEY).address
AGENT = Signer(AGENT_KEY).address


def cid(n: int) -> str:
    """The n-th client id of account "main", in Hyperliquid's cloid format."""
    return ClientIdFormat.HEX128.derive("main", n)


def limit(n: int, side: Side, size: str, price: str, **kw: object) -> OrderRequest:
    return OrderRequest(cid(n), kw.pop("symbol", "BTC-PERP"), side, OrderType.LIMIT, Decimal(size), Decimal(price), **kw)  # type: ignore[arg-type]


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws="websockets-sansio")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@dataclass
class Rig:
    url: str
    app: Starlette
    venue: HyperliquidVenue

    @property
    def emulator(self) -> HyperliquidEmulator:
        return self.app.state.emulator

    def session(self, name: str = "main", key: str = AGENT_KEY, account: str = MASTER, **extra: Any) -> HyperliquidSession:
        config = HyperliquidAccountConfig(venue="hl", account_address=account, signer="env:HL_TEST_KEY", **extra)
        return self.venue.session(name, config, _secrets({"env:HL_TEST_KEY": key}))


def _secrets(values: dict[str, str]) -> Callable[[str], SecretStr]:
    return lambda ref: SecretStr(values[ref])


@asynccontextmanager
async def rig(*, clock: Clock | None = None, timeout_secs: float = 5.0, **options: Any) -> AsyncIterator[Rig]:
    """The emulator (agent pre-approved for the master) served on loopback, and a
    connected venue pointed at it."""
    options.setdefault("agents", {AGENT: MASTER})
    options.setdefault("takers", False)  # no random fills of the orders a test rests
    app = create_app(clock=clock, **options)
    async with serve(app) as url:
        config = HyperliquidVenueConfig(network="testnet", rest_url=url, timeout_secs=timeout_secs)
        venue = HyperliquidVenue("hl", config, clock=clock)
        await venue.connect()
        try:
            yield Rig(url, app, venue)
        finally:
            await venue.close()
