"""Waiting in tests for what settles asynchronously (a stream's update, a venue's ack, the
daemon's reconcile loop): poll instead of sleeping a guessed time."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(probe: Callable[[], Any | Awaitable[Any]], *, what: str = "a condition",
                     timeout_secs: float = 30.0, interval_secs: float = 0.05) -> Any:
    """Call `probe` (plain or async) until it returns something truthy, and return that;
    AssertionError naming `what` (and the last value) after `timeout_secs`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_secs
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_secs} s waiting for {what} (last value {value!r})")
        await asyncio.sleep(interval_secs)
