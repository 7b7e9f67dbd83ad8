"""Test support: the emulator on a real uvicorn server on 127.0.0.1, and a venue on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import anyio
from starlette.applications import Starlette

from perpd.clock import Clock
from perpd.model import OrderRequest, OrderType, Side
from tests.loopback import secrets_of
from tests.loopback import serve as _serve
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


def serve(app: Starlette) -> AbstractAsyncContextManager[str]:
    """The emulator on loopback, with the WebSocket implementation it is tested on."""
    return _serve(app, ws="websockets-sansio")


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
        return self.venue.session(name, config, secrets_of({"env:HL_TEST_KEY": key}))


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


async def subscribed(emulator: HyperliquidEmulator, channels: int) -> None:
    """Wait until the emulator holds `channels` subscriptions on its open connections
    (a condition, not a guess at how long subscribing takes)."""
    with anyio.fail_after(10):
        while sum(len(conn.keys) for conn in emulator.hub.connections) < channels:
            await anyio.sleep(0.005)
