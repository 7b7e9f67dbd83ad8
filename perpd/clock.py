"""The time seam: production reads the wall clock; tests and the sim drive a manual one."""

from __future__ import annotations

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    def now_ms(self) -> int: ...

    async def sleep(self, secs: float) -> None: ...


class SystemClock:
    """Wall-clock milliseconds and real sleeps."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, secs: float) -> None:
        await anyio.sleep(secs)


class ManualClock:
    """A clock that moves only when told: `advance(ms)`. Sleeps return at once."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError("time does not go backwards")
        self._now += ms
        return self._now

    def set(self, now_ms: int) -> None:
        if now_ms < self._now:
            raise ValueError("time does not go backwards")
        self._now = now_ms

    async def sleep(self, secs: float) -> None:
        self._now += int(secs * 1000)
        await anyio.sleep(0)
