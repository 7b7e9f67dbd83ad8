"""The one token bucket: refill from the clock, both ways to spend, and its edge rules."""

from __future__ import annotations

from decimal import Decimal

import anyio
import pytest

from perpd.clock import ManualClock
from perpd.ratelimit import TokenBucket


def test_a_bucket_starts_full_and_refills_at_its_rate() -> None:
    clock = ManualClock()
    bucket = TokenBucket(2, 2, clock)
    assert [bucket.try_take() for _ in range(3)] == [True, True, False]
    clock.advance(250)
    assert bucket.available() == Decimal("0.5")
    clock.advance(250)
    assert bucket.try_take() and not bucket.try_take()


def test_take_says_how_long_until_there_is_room_and_spends_nothing_when_refused() -> None:
    clock = ManualClock()
    bucket = TokenBucket(2.0, 2, clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.5]
    clock.advance(500)
    assert bucket.take() == 0.0
    assert bucket.headroom() == 0.0


def test_wait_ms_rounds_up_to_the_next_whole_millisecond() -> None:
    bucket = TokenBucket(Decimal(2), Decimal(2))
    assert bucket.try_take(now_ms=1000) and bucket.try_take(now_ms=1000)
    assert bucket.wait_ms(now_ms=1000) == 500
    assert bucket.wait_ms(now_ms=1499) == 1
    assert bucket.wait_ms(now_ms=1500) == 0


def test_a_bucket_without_a_clock_needs_the_time_from_its_caller() -> None:
    bucket = TokenBucket(1, 1)
    with pytest.raises(TypeError):
        bucket.try_take()
    assert bucket.try_take(now_ms=0)


def test_a_clock_that_steps_back_refills_nothing() -> None:
    bucket = TokenBucket(1, 1)
    assert bucket.try_take(now_ms=5000)
    assert not bucket.try_take(now_ms=1000)
    assert bucket.wait_ms(now_ms=5000) == 1000  # the step back did not drain it either


def test_a_cost_above_capacity_waits_for_a_full_bucket() -> None:
    bucket = TokenBucket(10, 10)
    assert bucket.try_take(25, now_ms=0)
    assert bucket.wait_ms(25, now_ms=0) == 1000


def test_per_window_banks_the_whole_window_and_waits_exactly() -> None:
    bucket = TokenBucket.per_window(20, 60.0)
    assert bucket.capacity == 20 and bucket.rate == 20 and bucket.per_secs == 60.0
    assert bucket.try_take(20, now_ms=0)
    assert bucket.wait_ms(10, now_ms=0) == 30_000  # a third of a token a second, no rounding up
    assert bucket.take(now_ms=0) == 3.0


def test_rate_keeps_the_value_it_was_given() -> None:
    # Owners compare it with the configured value to keep a bucket across reloads.
    assert TokenBucket(0.1, 1, ManualClock()).rate == 0.1
    assert TokenBucket(Decimal("0.5"), 1).rate == Decimal("0.5")


def test_a_bucket_refuses_a_rate_or_capacity_that_is_not_positive() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 1)
    with pytest.raises(ValueError):
        TokenBucket(1, 0)


@pytest.mark.anyio
async def test_acquire_waits_on_the_injected_clock() -> None:
    clock = ManualClock()
    bucket = TokenBucket.per_window(60, 60.0, clock)  # one per second
    start = clock.now_ms()
    for _ in range(60):
        await bucket.acquire()
    assert clock.now_ms() == start  # the first minute's worth is free
    await bucket.acquire()
    assert clock.now_ms() - start == 1000
    await bucket.acquire(3)
    assert clock.now_ms() - start == 4000


@pytest.mark.anyio
async def test_acquire_serves_waiters_in_arrival_order() -> None:
    clock = ManualClock()
    bucket = TokenBucket(1, 1, clock)
    await bucket.acquire()
    served: list[int] = []

    async def waiter(n: int) -> None:
        await bucket.acquire()
        served.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(waiter, n)
            await anyio.sleep(0)
    assert served == [0, 1, 2]


@pytest.mark.anyio
async def test_acquire_needs_a_clock() -> None:
    with pytest.raises(TypeError):
        await TokenBucket(1, 1).acquire()
