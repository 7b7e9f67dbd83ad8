"""Nonces per API key: fetched once, counted locally, given back or re-fetched on failure;
and the tier's token buckets."""

from __future__ import annotations

import pytest

from perpd.clock import ManualClock
from venues.lighter.nonces import NonceManager
from venues.lighter.ratelimit import tier_of
from venues.lighter.transport import LighterTransport

pytestmark = pytest.mark.anyio


class Venue:
    """The venue's nextNonce as a counter per key (a fake at the network edge)."""

    def __init__(self) -> None:
        self.next = {3: 10, 4: 70}
        self.fetches = 0

    async def fetch(self, key: int) -> int:
        self.fetches += 1
        return self.next[key]


async def test_keys_rotate_and_each_counts_its_own_nonces_after_one_fetch() -> None:
    venue = Venue()
    nonces = NonceManager([3, 4], venue.fetch)
    taken = []
    for _ in range(4):
        async with nonces.hold() as lease:
            taken.append((lease.key, await lease.take()))
    assert taken == [(3, 10), (4, 70), (3, 11), (4, 71)]
    assert venue.fetches == 2


async def test_a_refused_send_gives_its_nonce_back() -> None:
    nonces = NonceManager([3], Venue().fetch)
    async with nonces.hold() as lease:
        assert await lease.take() == 10
        lease.release()
    async with nonces.hold() as lease:
        assert await lease.take() == 10


async def test_an_unknown_outcome_forgets_the_key_so_the_next_use_refetches() -> None:
    venue = Venue()
    nonces = NonceManager([3], venue.fetch)
    async with nonces.hold() as lease:
        await lease.take()
        lease.forget()
    venue.next[3] = 11  # the venue did consume it
    async with nonces.hold() as lease:
        assert await lease.take() == 11
    assert venue.fetches == 2


async def test_a_batch_takes_consecutive_nonces() -> None:
    nonces = NonceManager([3], Venue().fetch)
    async with nonces.hold() as lease:
        assert await lease.take(15) == 10
    assert nonces.peek(3) == 25


async def test_the_transport_paces_on_the_tier_budgets_with_the_injected_clock() -> None:
    clock = ManualClock()
    transport = LighterTransport(rest_url="http://127.0.0.1:1", ws_url="ws://127.0.0.1:1/stream", timeout_secs=1.0,
                                 tier=tier_of("premium", tx_per_min=8000), clock=clock)
    try:
        assert transport.requests.capacity == 24_000 and transport.transactions.capacity == 8000
        assert transport.transactions.clock is clock
    finally:
        await transport.close()


def test_premium_weights_requests_and_standard_counts_them() -> None:
    standard, premium = tier_of("standard"), tier_of("premium", tx_per_min=8000)
    assert standard.weight("/api/v1/trades") == 1
    assert premium.weight("/api/v1/trades") == 600 and premium.weight("/api/v1/sendTx") == 6
    assert premium.weight("/api/v1/account") == 300
    assert [r.limit for r in premium.rate_limits()] == [24_000, 8000]
