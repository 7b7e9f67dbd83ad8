"""Random faults an emulator injects on its wire, at rates a tester sets on the command line.

Not exchange logic: the engine never fails. An emulator asks `FaultRates` what to do with
each request before (refuse it: 429 or a 5xx, nothing happens) and after it acts (answer
late, or drop the answer after the action stood), and sleeps `latency_ms` before each
answer. Draws come from their own seeded generator, so a run with the same seed and the
same requests fails the same way.

    perpd emulate lighter -o latency_ms=50 -o rate_limit_rate=0.05 -o error_rate=0.01 -o drop_rate=0.01
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

OPTIONS: dict[str, str] = {
    "latency_ms": "every answer (REST, and WS replies to requests) waits this many ms",
    "rate_limit_rate": "fraction 0..1 of requests answered 429, doing nothing",
    "error_rate": "fraction 0..1 of requests answered with a 5xx (error_status), doing nothing",
    "error_status": "the 5xx status error_rate answers with (default 503)",
    "drop_rate": "fraction 0..1 of writes applied whose answer never comes (held drop_secs, then the "
                 "connection is closed): an unknown outcome for the client",
    "drop_secs": "how long a dropped answer is held before the connection closes (default 30)",
}


@dataclass
class FaultRates:
    """Rates of random faults (all 0: none). `roll_*` draw for one request."""

    latency_ms: float = 0.0
    rate_limit_rate: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    drop_rate: float = 0.0
    drop_secs: float = 30.0
    seed: int = 7
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("rate_limit_rate", "error_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be a fraction between 0 and 1 (got {value})")
        if self.latency_ms < 0 or self.drop_secs < 0:
            raise ValueError("latency_ms and drop_secs must not be negative")
        if not 500 <= self.error_status <= 599:
            raise ValueError(f"error_status must be a 5xx status (got {self.error_status})")
        self._rng = random.Random(self.seed)

    @classmethod
    def pop_from(cls, options: dict[str, Any], seed: int) -> FaultRates:
        """Take this helper's options (command-line strings or numbers) out of `options`."""
        kwargs: dict[str, Any] = {}
        for name, kind in (("latency_ms", float), ("rate_limit_rate", float), ("error_rate", float),
                           ("error_status", int), ("drop_rate", float), ("drop_secs", float)):
            if name in options:
                raw = options.pop(name)
                try:
                    kwargs[name] = kind(raw)
                except (TypeError, ValueError):
                    raise ValueError(f"{name} must be a number (got {raw!r})") from None
        return cls(seed=seed, **kwargs)

    @property
    def latency_secs(self) -> float:
        return self.latency_ms / 1000

    def roll_refusal(self) -> int | None:
        """The status to refuse this request with (429 or the 5xx), or None to serve it."""
        if self.rate_limit_rate and self._rng.random() < self.rate_limit_rate:
            return 429
        if self.error_rate and self._rng.random() < self.error_rate:
            return self.error_status
        return None

    def roll_drop(self) -> bool:
        """Should the answer to this (applied) write be dropped?"""
        return bool(self.drop_rate) and self._rng.random() < self.drop_rate


class CutOffAnswer:
    """An ASGI answer cut off after its headers: the server closes the connection mid-body,
    so the client sees the write's answer lost (an emulator returns it for a dropped write)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")]})
        await send({"type": "http.response.body", "body": b'{"status":', "more_body": True})
