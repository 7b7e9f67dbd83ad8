"""The EdgeX venue passes the venue contract suite against its emulator over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from edgex_support import account_config, serve

from perpd.clock import ManualClock, SystemClock
from tests.contract import VenueContract
from venues.edgex.config import EdgexVenueConfig
from venues.edgex.emulator import create_app
from venues.edgex.session import EdgexSession
from venues.edgex.venue import EdgexVenue


class TestEdgexContract(VenueContract):
    symbol: ClassVar[str] = "BTC-PERP"
    timeout_secs: ClassVar[float] = 10.0
    # EdgeX prints collateral with 6 decimals: each fee and balance is rounded once.
    balance_tolerance: ClassVar[Decimal] = Decimal("0.000005")

    async def pass_time(self, venue: EdgexVenue, seconds: float) -> None:
        self.clock.advance(int(seconds * 1000))
        self.emulator.exchange.step()

    @pytest.fixture
    async def venue(self) -> AsyncIterator[EdgexVenue]:
        # One manual clock for the emulator and the venue, so the market stands still while
        # a test looks at it; it starts at the wall clock (order expiries are checked).
        clock = ManualClock(start_ms=SystemClock().now_ms())
        app = create_app(seed=5, clock=clock)
        self.emulator: Any = app.state.emulator
        self.clock = clock
        async with serve(app) as url:
            venue = EdgexVenue("edgex", EdgexVenueConfig(rest_url=url, timeout_secs=5.0, requests_per_min=1_000_000),
                               clock=clock)
            await venue.connect()
            yield venue
            await venue.close()

    @pytest.fixture
    async def session(self, venue: EdgexVenue) -> AsyncIterator[EdgexSession]:
        config, resolver = account_config(self.emulator.provision(Decimal(10_000)))
        session = venue.session("contract", config, resolver)
        await session.connect()
        yield session  # type: ignore[misc]
        await session.close()
