"""The Vest venue passes the venue contract suite against its emulator over loopback.

One test is Vest's own: on a venue that is not a CLOB, a resting limit order never shows
on the book (it waits off the book for the index price), so the book-stream test checks
the stream's shape and that our resting bid is *not* on it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import ClassVar

import pytest
from vest_support import secrets_of, serve, venue_config

from perpd.clock import ManualClock, SystemClock
from perpd.model import BookUpdate, Market, StreamGap
from tests.contract import VenueContract, next_matching
from venues.base import AccountSession, Channel
from venues.vest.config import VestAccountConfig
from venues.vest.emulator import create_app
from venues.vest.session import VestSession
from venues.vest.venue import VestVenue


class TestVestContract(VenueContract):
    symbol: ClassVar[str] = "BTC-PERP"
    timeout_secs: ClassVar[float] = 10.0
    # Vest prints USDC with 6 decimals: each fee and balance is rounded once.
    balance_tolerance: ClassVar[Decimal] = Decimal("0.000005")

    @pytest.fixture
    async def venue(self) -> AsyncIterator[VestVenue]:
        # One manual clock for the emulator and the venue: the market stands still while
        # a test looks at it, and no funding settles in the middle of a test.
        clock = ManualClock(start_ms=SystemClock().now_ms())
        app = create_app(seed=5, clock=clock)
        async with serve(app) as url:
            venue = VestVenue("vest", venue_config(url), clock=clock)
            await venue.connect()
            yield venue
            await venue.close()

    @pytest.fixture
    async def session(self, venue: VestVenue) -> AsyncIterator[VestSession]:
        # A fresh primary wallet per test: registering it opens a new, funded account.
        keys = {"env:P": "0x" + secrets.token_hex(32), "env:S": "0x" + secrets.token_hex(32)}
        config = VestAccountConfig(venue="vest", signing_key="env:S", primary_key="env:P", register_on_connect=True)
        session = venue.session("contract", config, secrets_of(keys))
        await session.connect()
        yield session  # type: ignore[misc]
        await session.close()

    async def test_book_stream_starts_with_a_snapshot_then_deltas_in_sequence(
        self, venue: VestVenue, session: AccountSession, market: Market  # type: ignore[override]
    ) -> None:
        stream = venue.watch([Channel("book", self.symbol)])
        try:
            first = await next_matching(stream, lambda e: isinstance(e, BookUpdate), self.timeout_secs, "a snapshot")
            assert isinstance(first, BookUpdate) and first.snapshot and first.symbol == self.symbol
            request = await self.place_resting(venue, session, market)
            seq = first.seq
            book = {lvl.price: lvl.size for lvl in first.bids}

            def in_sequence(event: object) -> bool:
                nonlocal seq
                if isinstance(event, StreamGap):
                    raise AssertionError(f"unexpected stream gap: {event.reason}")
                if not isinstance(event, BookUpdate):
                    return False
                assert not event.snapshot and event.seq == seq + 1, f"delta seq {event.seq} does not follow {seq}"
                seq = event.seq
                for level in event.bids:
                    if level.size:
                        book[level.price] = level.size
                    else:
                        book.pop(level.price, None)
                return True

            clock = venue.clock
            assert isinstance(clock, ManualClock)
            for _ in range(3):  # the quotes move only when time passes
                clock.advance(1000)
                await next_matching(stream, in_sequence, self.timeout_secs, "a delta in sequence")
            # Vest is not a CLOB: the resting bid waits for the index, off the book.
            assert book.get(request.price, Decimal(0)) < request.size  # type: ignore[arg-type]
            assert (await session.fetch_order(request.client_id)).status.is_live  # type: ignore[union-attr]
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
