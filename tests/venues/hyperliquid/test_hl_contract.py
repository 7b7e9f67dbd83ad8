"""The venue contract suite, run by the Hyperliquid venue against its emulator over
loopback HTTP and WebSocket. One emulator serves the module; every test trades a fresh
account (a new master address with its own approved agent)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from hl_support import serve
from pydantic import SecretStr

from perpd.clock import ManualClock
from perpd.model import now_ms
from tests.contract import VenueContract
from venues.hyperliquid.config import HyperliquidAccountConfig, HyperliquidVenueConfig
from venues.hyperliquid.emulator import HyperliquidEmulator, create_app
from venues.hyperliquid.session import HyperliquidSession
from venues.hyperliquid.signing import Signer
from venues.hyperliquid.venue import HyperliquidVenue

_keys = itertools.count(1)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(now_ms())


@pytest.fixture(scope="module")
async def emulator(clock: ManualClock) -> AsyncIterator[tuple[str, HyperliquidEmulator]]:
    app = create_app(clock=clock, takers=False, step_interval_secs=0.01)
    async with serve(app) as url:
        yield url, app.state.emulator


class TestHyperliquidContract(VenueContract):
    symbol = "ETH-PERP"
    timeout_secs = 10.0

    @pytest.fixture
    async def venue(self, emulator: tuple[str, HyperliquidEmulator], clock: ManualClock) -> AsyncIterator[HyperliquidVenue]:
        url, self.emulator = emulator
        venue = HyperliquidVenue("hl", HyperliquidVenueConfig(network="testnet", rest_url=url, timeout_secs=5), clock=clock)
        await venue.connect()
        yield venue
        await venue.close()

    @pytest.fixture
    async def session(self, venue: HyperliquidVenue, emulator: tuple[str, HyperliquidEmulator]) -> AsyncIterator[HyperliquidSession]:
        n = next(_keys)
        master = Signer("0x" + f"{n:064x}").address
        agent_key = "0x" + f"{n + 10_000:064x}"
        emulator[1].approve_agent(Signer(agent_key).address, master)
        config = HyperliquidAccountConfig(venue="hl", account_address=master, signer="env:HL_CONTRACT_KEY")
        session = venue.session(f"contract-{n}", config, lambda ref: SecretStr(agent_key))
        await session.connect()  # the emulator funds the account on this first look-up
        yield session
        await session.close()

    async def pass_time(self, venue: HyperliquidVenue, seconds: float) -> None:
        assert isinstance(venue.clock, ManualClock)
        venue.clock.advance(int(seconds * 1000))
        self.emulator.step()  # what the emulator's stepper would do next, done now
