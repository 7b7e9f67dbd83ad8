"""Helpers of the Vest tests: the documented samples, a loopback server, throwaway keys,
and a perpd venue + session registered on an emulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from perpd.clock import Clock
from tests.loopback import secrets_of
from tests.loopback import serve as _serve
from venues.vest.config import VestAccountConfig, VestVenueConfig
from venues.vest.emulator import VestEmulator, create_app
from venues.vest.session import VestSession
from venues.vest.signing import VestSigner
from venues.vest.venue import VestVenue

SAMPLES = Path(__file__).resolve().parent / "fixtures"  # ../shared/venues/vest, copied verbatim

# Throwaway keys: never fund them anywhere.
PRIMARY_KEY = "0x" + "a7" * 32
SIGNING_KEY = "0x" + "5e" * 32
OTHER_KEY = "0x" + "0c" * 32
PRIMARY = VestSigner(PRIMARY_KEY).address
SIGNER = VestSigner(SIGNING_KEY).address


def sample(name: str) -> Any:
    """A documented Vest payload (fixtures/, copied from ../shared/venues/vest/; see its README)."""
    return json.loads((SAMPLES / name).read_text())


KEYS = secrets_of({"env:VEST_PRIMARY": PRIMARY_KEY, "env:VEST_SIGNING": SIGNING_KEY, "env:VEST_OTHER": OTHER_KEY})


def serve(app: Starlette) -> AbstractAsyncContextManager[str]:
    """The emulator on loopback, with the WebSocket implementation it is tested on."""
    return _serve(app, ws="websockets-sansio", ws_per_message_deflate=False)


def venue_config(url: str, **options: Any) -> VestVenueConfig:
    options.setdefault("requests_per_min", 1_000_000)
    options.setdefault("timeout_secs", 5.0)
    return VestVenueConfig(rest_url=f"{url}/v2", **options)


def registering_account(**options: Any) -> VestAccountConfig:
    return VestAccountConfig(venue="vest", signing_key="env:VEST_SIGNING", primary_key="env:VEST_PRIMARY",
                             register_on_connect=True, **options)


@dataclass
class Rig:
    url: str
    app: Starlette
    emulator: VestEmulator
    venue: VestVenue
    session: VestSession


@asynccontextmanager
async def vest_rig(*, clock: Clock | None = None, venue_options: dict[str, Any] | None = None,
                   account: VestAccountConfig | None = None, **app_options: Any) -> AsyncIterator[Rig]:
    """An emulator on loopback and a perpd venue + registered session connected to it."""
    app = create_app(clock=clock, **app_options)
    async with serve(app) as url:
        venue = VestVenue("vest", venue_config(url, **(venue_options or {})), clock=clock)
        session = venue.session("main", account or registering_account(), KEYS)
        await session.connect()
        try:
            yield Rig(url, app, app.state.vest, venue, session)  # type: ignore[arg-type]
        finally:
            await session.close()
            await venue.close()


def money(value: str) -> Decimal:
    return Decimal(value)
