"""Helpers of the Lighter tests: recorded fixtures, a loopback server, a throwaway key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.loopback import secrets_of, serve  # noqa: F401 - the venue tests import them from here
from tests.polling import eventually  # noqa: F401 - the venue tests import it from here

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lighter"


def fixture(name: str) -> Any:
    """A recorded payload from tests/fixtures/lighter/ (see its README for provenance)."""
    return json.loads((FIXTURES / name).read_text())


def registered(api_key: str, account: int, *indices: int) -> str:
    """The emulator's `api_keys` option registering `api_key`'s public key at `indices` of
    `account` (as a ChangePubKey would have)."""
    from venues.lighter.emulator.schnorr import public_key_of

    public = public_key_of(bytes.fromhex(api_key.removeprefix("0x"))).hex()
    return ",".join(f"{account}:{i}=0x{public}" for i in indices)


@asynccontextmanager
async def lighter_world(
    api_key: str,
    *,
    account_index: int = 1001,
    key_indices: tuple[int, ...] = (3,),
    timeout_secs: float = 5.0,
    **app_options: Any,
) -> AsyncIterator[tuple[Any, Any, Any]]:
    """(emulator, venue, session): a Lighter emulator on loopback and a connected perpd
    venue and account session pointed at it (one throwaway key for every key index)."""
    from venues.lighter.config import LighterAccountConfig, LighterVenueConfig
    from venues.lighter.emulator import create_app
    from venues.lighter.venue import LighterVenue

    app = create_app(api_keys=registered(api_key, account_index, *key_indices), **app_options)
    async with serve(app) as url:
        config = LighterVenueConfig(rest_url=url, tier="premium", timeout_secs=timeout_secs, signer_threads=2)
        venue = LighterVenue("lighter", config)
        account = LighterAccountConfig(
            venue="lighter",
            account_index=account_index,
            api_keys=tuple({"index": i, "secret": "env:LIGHTER_TEST_KEY"} for i in key_indices),  # type: ignore[misc]
        )
        session = venue.session("acct", account, secrets_of({"env:LIGHTER_TEST_KEY": api_key}))
        try:
            await venue.connect()
            await session.connect()
            yield app.state.lighter, venue, session
        finally:
            await session.close()
            await venue.close()
