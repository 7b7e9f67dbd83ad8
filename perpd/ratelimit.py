"""The one token bucket: `rate` tokens a second up to `capacity`, refilled from a clock.

Every rate limit in perpd is this bucket: API tokens (`api.requests_per_sec`), the risk
gate's `max_orders_per_second`, and the venue transports' request and transaction
budgets. Two ways to spend:

- non-blocking, for callers that refuse instead of waiting (the API answers 429, the
  risk gate denies): `try_take(cost)`, or `take(cost)` which also says how long until
  there would be room, and `wait_ms(cost)` to ask without spending;
- awaitable, for venue transports that pace instead of earning 429s: `await
  acquire(cost)` sleeps on the injected clock until `cost` fits (first come, first
  served), so a `ManualClock` makes pacing instant and deterministic in tests.

Time is integer milliseconds from `clock.now_ms()`, or the `now_ms` a caller passes (the
risk gate judges an order at the time it carries). A clock that steps back refills
nothing rather than draining the bucket. Tokens are Decimal, so waits are exact.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import anyio

from perpd.clock import Clock

Number = Decimal | int | float

_ONE = Decimal(1)
_MS_PER_SEC = Decimal(1000)


def _decimal(value: Number) -> Decimal:
    # A float rate (the API's requests_per_sec) means what it prints as, not its binary value.
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)


class TokenBucket:
    """`rate` tokens every `per_secs` (a second unless said), at most `capacity` banked;
    starts full.

    `rate` keeps the value it was given, so owners can tell whether a new setting changed
    it (`bucket.rate == config.rate`). A cost above `capacity` is charged as `capacity`:
    a heavy request waits for a full bucket instead of forever.
    """

    __slots__ = ("rate", "per_secs", "capacity", "clock", "tokens", "stamp_ms", "_amount", "_window_ms", "_lock")

    def __init__(self, rate: Number, capacity: Number, clock: Clock | None = None, *, per_secs: Number = 1) -> None:
        if rate <= 0 or capacity <= 0 or per_secs <= 0:
            raise ValueError(f"a token bucket needs a positive rate, capacity and period (got {rate}, {capacity}, {per_secs})")
        self.rate = rate
        self.per_secs = per_secs
        self.capacity = _decimal(capacity)
        self.clock = clock
        self.tokens = self.capacity
        self.stamp_ms: int | None = None  # set on first use: a full bucket stays full until then
        # Kept as a ratio so waits are exact: 20 per minute waits 3,000 ms, not 3,000.0000001.
        self._amount = _decimal(rate)
        self._window_ms = _decimal(per_secs) * _MS_PER_SEC
        self._lock: anyio.Lock | None = None

    @classmethod
    def per_window(cls, limit: int, per_secs: Number, clock: Clock | None = None) -> TokenBucket:
        """`limit` tokens per `per_secs`, with a burst of the whole window (venue budgets)."""
        return cls(limit, limit, clock, per_secs=per_secs)

    # ------------------------------------------------------------------ reading

    def _refill(self, now_ms: int | None) -> None:
        if now_ms is None:
            if self.clock is None:
                raise TypeError("this bucket has no clock: pass now_ms")
            now_ms = self.clock.now_ms()
        if self.stamp_ms is None:
            self.stamp_ms = now_ms
        elif now_ms > self.stamp_ms:
            self.tokens = min(self.capacity, self.tokens + (now_ms - self.stamp_ms) * self._amount / self._window_ms)
            self.stamp_ms = now_ms

    def available(self, *, now_ms: int | None = None) -> Decimal:
        """Tokens in the bucket now."""
        self._refill(now_ms)
        return self.tokens

    def headroom(self, *, now_ms: int | None = None) -> float:
        """Fraction of the burst left now (1.0 = idle, 0.0 = throttling)."""
        return float(self.available(now_ms=now_ms) / self.capacity)

    def _cost(self, cost: Number) -> Decimal:
        return min(_decimal(cost), self.capacity)

    def _missing(self, cost: Decimal, now_ms: int | None) -> Decimal:
        self._refill(now_ms)
        return cost - self.tokens

    def _ms_for(self, missing: Decimal) -> Decimal:
        return missing * self._window_ms / self._amount

    def wait_ms(self, cost: Number = 1, *, now_ms: int | None = None) -> int:
        """Milliseconds until `cost` tokens are banked (0 if they are); spends nothing."""
        missing = self._missing(self._cost(cost), now_ms)
        return 0 if missing <= 0 else int(self._ms_for(missing).to_integral_value(ROUND_CEILING))

    # ------------------------------------------------------------------ spending

    def try_take(self, cost: Number = 1, *, now_ms: int | None = None) -> bool:
        """Spend `cost` if it is banked now; False (nothing spent) if not."""
        needed = self._cost(cost)
        if self._missing(needed, now_ms) > 0:
            return False
        self.tokens -= needed
        return True

    def take(self, cost: Number = 1, *, now_ms: int | None = None) -> float:
        """Spend `cost` if it is banked: 0.0; else nothing is spent and the answer is the
        seconds until it would be (what a Retry-After says)."""
        needed = self._cost(cost)
        missing = self._missing(needed, now_ms)
        if missing <= 0:
            self.tokens -= needed
            return 0.0
        return float(self._ms_for(missing) / _MS_PER_SEC)

    async def acquire(self, cost: Number = 1) -> None:
        """Wait on the clock until `cost` fits, then spend it; never refuses."""
        if self.clock is None:
            raise TypeError("acquire needs a bucket with a clock")
        needed = self._cost(cost)
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:  # first come, first served
            while True:
                missing = self._missing(needed, None)
                if missing <= 0:
                    self.tokens -= needed
                    return
                # Whole milliseconds, at least one: a ManualClock sleeps in whole ms.
                wait_ms = max(1, int(self._ms_for(missing).to_integral_value(ROUND_CEILING)))
                await self.clock.sleep(wait_ms / 1000)
