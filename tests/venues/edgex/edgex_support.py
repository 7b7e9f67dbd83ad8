"""Helpers of the EdgeX tests: recorded samples, a loopback server, a connected world."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import SecretStr

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "venues" / "edgex"
if not SAMPLES.is_dir():  # the repository's sibling, wherever the checkout lives
    SAMPLES = Path("/work/shared/venues/edgex")


def sample(name: str) -> Any:
    """A recorded payload from ../shared/venues/edgex/ (its README gives provenance)."""
    return json.loads((SAMPLES / name).read_text())


@asynccontextmanager
async def serve(app: Any, ws: str = "websockets-sansio") -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port; yields its base URL.

    `ws` pins uvicorn's WebSocket implementation: the default ("auto") is sansio, which
    echoes a subprotocol; wsproto never does (../shared/venues/sdk-wire-notes.md 2.6)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=1, ws=ws)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]  # bound by uvicorn itself: no race
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def secrets_of(mapping: dict[str, str]) -> Any:
    """A SecretResolver over a dict of reference -> value (test-only)."""

    def resolve(reference: str) -> SecretStr:
        return SecretStr(mapping[reference])

    return resolve


def account_config(credentials: Any, venue: str = "edgex") -> tuple[Any, Any]:
    """(EdgexAccountConfig, resolver) for emulator credentials."""
    from venues.edgex.config import EdgexAccountConfig

    config = EdgexAccountConfig(
        venue=venue, account_id=credentials.account_id, api_key="env:EDGEX_KEY", api_passphrase="env:EDGEX_PASS",
        api_secret="env:EDGEX_SECRET", trading_key="env:EDGEX_TRADING_KEY",
    )
    resolver = secrets_of({"env:EDGEX_KEY": credentials.api_key, "env:EDGEX_PASS": credentials.passphrase,
                           "env:EDGEX_SECRET": credentials.secret, "env:EDGEX_TRADING_KEY": credentials.trading_key})
    return config, resolver


@asynccontextmanager
async def edgex_world(*, clock: Any = None, timeout_secs: float = 5.0, **app_options: Any) -> AsyncIterator[tuple[Any, Any, Any]]:
    """(emulator, venue, session): an EdgeX emulator on loopback and a connected perpd
    venue and account session (a freshly provisioned account) pointed at it."""
    from venues.edgex.config import EdgexVenueConfig
    from venues.edgex.emulator import create_app
    from venues.edgex.venue import EdgexVenue

    app = create_app(clock=clock, **app_options)
    emulator = app.state.emulator
    async with serve(app) as url:
        venue = EdgexVenue("edgex", EdgexVenueConfig(rest_url=url, timeout_secs=timeout_secs,
                                                     requests_per_min=1_000_000), clock=clock)
        await venue.connect()
        config, resolver = account_config(emulator.provision())
        session = venue.session("main", config, resolver)
        await session.connect()
        try:
            yield emulator, venue, session
        finally:
            await session.close()
            await venue.close()
