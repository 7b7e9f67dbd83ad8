"""What every venue's stream loop shares: reconnect backoff, the catch-up margin, what counts
as an unreadable message, and the reason a StreamGap gives.

A venue's `public_stream` / `account_stream` stays its own generator (its channels, its
frames, its resync); around its connection it runs the same loop: an AuthError ends the
stream, any other failure emits a StreamGap, waits `Backoff.wait()` and reconnects, and
every message received resets the backoff.
"""

from __future__ import annotations

from collections.abc import Sequence

from perpd.clock import Clock
from perpd.errors import PerpdError

BACKOFF_SECS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
CATCH_UP_MARGIN_MS = 2000  # replay from a little before the call: clocks and races
UNREADABLE = (KeyError, ValueError, TypeError, ArithmeticError)  # a malformed message


class Backoff:
    """Reconnect delays: one step longer for each failure in a row, the first again once a
    message arrives. Sleeps on the venue's clock (a ManualClock in tests)."""

    def __init__(self, clock: Clock, steps: Sequence[float] = BACKOFF_SECS) -> None:
        self.clock = clock
        self.steps = tuple(steps)
        self.failures = 0

    def reset(self) -> None:
        """A message arrived: the connection works."""
        self.failures = 0

    def failed(self) -> None:
        """Count a failure without waiting (the next one waits longer)."""
        self.failures += 1

    async def wait(self) -> None:
        """Wait before reconnecting after a failure."""
        await self.clock.sleep(self.steps[min(self.failures, len(self.steps) - 1)])
        self.failures += 1


def lost(exc: BaseException) -> str:
    """Why a stream was lost, for its StreamGap: a perpd error's message, or the type of a
    message that could not be read."""
    return exc.message if isinstance(exc, PerpdError) else f"unreadable message ({type(exc).__name__})"
