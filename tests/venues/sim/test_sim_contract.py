"""The sim venue passes the contract suite, with all its capabilities and with fewer."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest

from perpd.clock import ManualClock
from perpd.model import OrderType, TimeInForce
from tests.contract import VenueContract
from venues.base import Capabilities, EditMode, Venue
from venues.sim.config import SimAccountConfig, SimVenueConfig
from venues.sim.venue import SimSession, SimVenue


def no_secrets(reference: str) -> object:
    raise AssertionError("the sim venue needs no secrets")


class TestSimContract(VenueContract):
    venue_class: ClassVar[type[SimVenue]] = SimVenue

    @pytest.fixture
    async def venue(self, tmp_path: Path) -> AsyncIterator[SimVenue]:
        venue = self.venue_class("sim", SimVenueConfig(), clock=ManualClock(), state_dir=tmp_path)
        await venue.connect()
        yield venue
        await venue.close()

    @pytest.fixture
    async def session(self, venue: SimVenue) -> AsyncIterator[SimSession]:
        session = venue.session("paper", SimAccountConfig(venue="sim"), no_secrets)
        await session.connect()
        yield session
        await session.close()

    async def pass_time(self, venue: Venue, seconds: float) -> None:
        assert isinstance(venue, SimVenue) and isinstance(venue.clock, ManualClock)
        venue.clock.advance(int(seconds * 1000))
        venue.step()


class LimitedSimVenue(SimVenue):
    """The sim with the capabilities of a plainer venue, so the suite's NotSupported
    branches run: no FOK, no stops or take-profits, no edits, no dead man's switch."""

    capabilities: ClassVar[Capabilities] = dataclasses.replace(
        SimVenue.capabilities,
        order_types=frozenset({OrderType.LIMIT, OrderType.MARKET}),
        tifs=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY}),
        edit=EditMode.NONE,
        dead_mans_switch=False,
    )


class TestLimitedSimContract(TestSimContract):
    venue_class = LimitedSimVenue
