"""An emulator app's lifespan: background jobs while it is served (stepping the exchange,
a venue's order processor), and what to do as it stops (drop its WebSockets, so clients
see the sockets end instead of hanging). Every emulator's `create_app` passes its own jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

Job = Callable[[], Awaitable[None]]


def running(*jobs: Job, on_start: Callable[[], Any] | None = None,
            on_stop: Callable[[], Any] | None = None) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A Starlette lifespan: `on_start`, then `jobs` as tasks while served; on stop,
    `on_stop`, then the jobs cancelled and awaited."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if on_start is not None:
            on_start()
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(job()) for job in jobs]
        try:
            yield
        finally:
            if on_stop is not None:
                on_stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return lifespan


async def step_forever(step: Callable[[], Any], interval_secs: float) -> None:
    """Call `step` every `interval_secs` (market data keeps moving while served)."""
    while True:
        await asyncio.sleep(interval_secs)
        step()
