"""An emulator's lifespan: jobs run while served, stop hooks run and the jobs end on the way out."""

from __future__ import annotations

import asyncio

import pytest

from venues.simex.lifespan import running, step_forever

pytestmark = pytest.mark.anyio


async def test_jobs_run_while_served_and_end_after_the_stop_hook() -> None:
    seen: list[str] = []
    steps: list[int] = []
    lifespan = running(lambda: step_forever(lambda: steps.append(1), 0.001),
                       on_start=lambda: seen.append("start"), on_stop=lambda: seen.append("stop"))
    async with lifespan(None):
        while len(steps) < 3:
            await asyncio.sleep(0.001)
        assert seen == ["start"]
    count = len(steps)
    await asyncio.sleep(0.01)
    assert seen == ["start", "stop"] and len(steps) == count  # the stepper ended with the app
