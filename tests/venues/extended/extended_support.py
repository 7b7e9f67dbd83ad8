"""Helpers of the Extended tests: recorded samples, a loopback server, fresh accounts."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.loopback import secrets_of, serve  # noqa: F401 - the venue tests import them from here
from tests.polling import eventually  # noqa: F401 - the venue tests import it from here

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "extended"  # ../shared/venues/extended, copied verbatim
# Throwaway Stark keys (the SDK tests' key, and two more): valid on the emulator only.
SDK_TEST_KEY = "0x7a7ff6fd3cab02ccdcd4a572563f5976f8976899b03a39773795a3c486d4986"
STARK_KEYS = itertools.cycle([
    "0x3d1b6a1f0d2d3f1a3a91d38e9d0ad4a3c1f2b8e3a1c4d5e6f708192a3b4c5d6",
    "0x2c0a59e0fc1c2e093980c27d8c9fc3929b0e1a7d290b3c4d5e6f708192a3b4c",
    SDK_TEST_KEY,
])
_keys = itertools.count(1)


def sample(name: str) -> Any:
    """A recorded payload from tests/fixtures/extended/ (its README gives provenance)."""
    return json.loads((SAMPLES / name).read_text())


def fresh_account(emulator: Any, stark_key: str | None = None) -> tuple[str, str, Any]:
    """(API key, Stark private key, ExtAccount): a new funded account on the emulator."""
    from venues.extended.signing import public_key_of

    key = stark_key or next(STARK_KEYS)
    api_key = f"test-api-key-{next(_keys):06d}"
    account = emulator.exchange.register(public_key_of(int(key, 16)), api_key)
    return api_key, key, account


def session_of(venue: Any, api_key: str, stark_key: str, name: str = "acct", **keys: Any) -> Any:
    from venues.extended.config import ExtendedAccountConfig

    config = ExtendedAccountConfig(venue=venue.name, api_key="env:EXT_API_KEY", stark_private_key="env:EXT_STARK_KEY",
                                   **keys)
    return venue.session(name, config, secrets_of({"env:EXT_API_KEY": api_key, "env:EXT_STARK_KEY": stark_key}))


@asynccontextmanager
async def extended_world(*, timeout_secs: float = 5.0, clock: Any = None, **app_options: Any) -> AsyncIterator[tuple[Any, Any, Any]]:
    """(emulator, venue, session): an Extended emulator on loopback and a connected perpd
    venue and session on a fresh funded account."""
    from venues.extended.config import ExtendedVenueConfig
    from venues.extended.emulator import create_app
    from venues.extended.venue import ExtendedVenue

    app = create_app(clock=clock, **app_options)
    emulator = app.state.emulator
    async with serve(app) as url:
        config = ExtendedVenueConfig(network="testnet", rest_url=url, ws_url=url.replace("http", "ws", 1),
                                     timeout_secs=timeout_secs, requests_per_min=1_000_000)
        venue = ExtendedVenue("extended", config, clock=clock)
        api_key, stark_key, _ = fresh_account(emulator)
        session = session_of(venue, api_key, stark_key)
        try:
            await venue.connect()
            await session.connect()
            yield emulator, venue, session
        finally:
            await session.close()
            await venue.close()
