"""The Lighter venue passes the venue contract suite against its emulator over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from lighter_support import registered, secrets_of, serve

from perpd.clock import ManualClock, SystemClock
from tests.contract import VenueContract
from venues.base import Venue
from venues.lighter.config import LighterAccountConfig, LighterVenueConfig
from venues.lighter.emulator import create_app
from venues.lighter.session import LighterSession
from venues.lighter.venue import LighterVenue


class TestLighterContract(VenueContract):
    symbol: ClassVar[str] = "BTC-PERP"
    timeout_secs: ClassVar[float] = 10.0
    # Lighter reports USDC amounts with 6 decimals: each fee and balance is rounded once.
    balance_tolerance: ClassVar[Decimal] = Decimal("0.000005")

    @pytest.fixture
    async def venue(self, api_key: str) -> AsyncIterator[LighterVenue]:
        # One manual clock for the emulator and the venue, so the market stands still
        # while a test looks at it (a live market moves its best ask away from a
        # post-only order priced at it). It starts at the wall clock because the native
        # signer stamps ExpiredAt from the wall clock.
        clock = ManualClock(start_ms=SystemClock().now_ms())
        app = create_app(seed=5, clock=clock, api_keys=registered(api_key, 2002, 3))
        self.emulator: Any = app.state.lighter
        async with serve(app) as url:
            config = LighterVenueConfig(rest_url=url, tier="premium", timeout_secs=5.0, signer_threads=2,
                                        requests_per_min=1_000_000, tx_per_min=1_000_000)
            venue = LighterVenue("lighter", config, clock=clock)
            await venue.connect()
            yield venue
            await venue.close()

    @pytest.fixture
    async def session(self, venue: LighterVenue, api_key: str) -> AsyncIterator[LighterSession]:
        config = LighterAccountConfig(venue="lighter", account_index=2002,
                                      api_keys=({"index": 3, "secret": "env:KEY"},))  # type: ignore[arg-type]
        session = venue.session("contract", config, secrets_of({"env:KEY": api_key}))
        await session.connect()
        yield session  # type: ignore[misc]
        await session.close()

    async def pass_time(self, venue: Venue, seconds: float) -> None:
        # Lighter's dead man's switch is at least 5 minutes away. Move the emulator's
        # engine ahead, not the clock: tx expiries are stamped from the wall clock.
        engine = self.emulator.engine
        engine.step(engine.now_ms + int(seconds * 1000))
