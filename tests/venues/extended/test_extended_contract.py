"""The Extended venue passes the venue contract suite against its emulator over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from extended_support import fresh_account, serve, session_of

from perpd.clock import ManualClock, SystemClock
from tests.contract import VenueContract
from venues.base import Venue
from venues.extended.config import ExtendedVenueConfig
from venues.extended.emulator import create_app
from venues.extended.session import ExtendedSession
from venues.extended.venue import ExtendedVenue


class TestExtendedContract(VenueContract):
    symbol: ClassVar[str] = "BTC-PERP"
    timeout_secs: ClassVar[float] = 10.0
    # Extended reports USD amounts with 6 decimals: each fee and balance is rounded once.
    balance_tolerance: ClassVar[Decimal] = Decimal("0.000005")

    @pytest.fixture
    async def venue(self) -> AsyncIterator[ExtendedVenue]:
        # One manual clock for the emulator and the venue: the market stands still while a
        # test looks at it. It starts at the wall clock, like the expiries orders carry.
        self.clock = ManualClock(start_ms=SystemClock().now_ms())
        app = create_app(seed=5, clock=self.clock)
        self.emulator: Any = app.state.emulator
        async with serve(app) as url:
            config = ExtendedVenueConfig(network="testnet", rest_url=url, ws_url=url.replace("http", "ws", 1),
                                         timeout_secs=5.0, requests_per_min=1_000_000)
            venue = ExtendedVenue("extended", config, clock=self.clock)
            await venue.connect()
            yield venue
            await venue.close()

    @pytest.fixture
    async def session(self, venue: ExtendedVenue) -> AsyncIterator[ExtendedSession]:
        api_key, stark_key, _ = fresh_account(self.emulator)
        session = session_of(venue, api_key, stark_key, name="contract")
        await session.connect()
        yield session
        await session.close()

    async def pass_time(self, venue: Venue, seconds: float) -> None:
        self.clock.advance(int(seconds * 1000))
        self.emulator.exchange.step()
