"""Helpers of the EdgeX tests: recorded samples, a loopback server, a connected world."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from tests.loopback import secrets_of
from tests.loopback import serve as _serve

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "edgex"  # ../shared/venues/edgex, copied verbatim


def sample(name: str) -> Any:
    """A recorded payload from tests/fixtures/edgex/ (its README gives provenance)."""
    return json.loads((SAMPLES / name).read_text())


def serve(app: Any, ws: str = "websockets-sansio") -> AbstractAsyncContextManager[str]:
    """The emulator on loopback. `ws` pins uvicorn's WebSocket implementation: sansio
    echoes a subprotocol; wsproto never does (../shared/venues/sdk-wire-notes.md 2.6)."""
    return _serve(app, ws=ws)


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
