"""A circuit breaker on what targets trade: defence in depth under the planner.

A target should trade about its own size and then nothing. Whatever a future planner bug
does, a target may not place more than `max_turnover` (size per rolling hour; default
four times the larger of its position and its slice) nor more than
`max_slices_per_minute` slices, and an account's targets together no more than the
account's `max_target_slices_per_minute`. The engine asks `refuse()` before each slice;
a refusal stops the target (trading state `target:KEY` halted, journaled, audited) until
an operator resumes it. Pure: the engine feeds it times and sizes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from decimal import Decimal

from perpd.config import Config, TargetConfig
from perpd.model import ZERO

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
TURNOVER_MULTIPLE = 4


def turnover_limit(target: TargetConfig) -> Decimal:
    """Size a target may place per rolling hour."""
    if target.max_turnover is not None:
        return target.max_turnover
    return TURNOVER_MULTIPLE * max(abs(target.position), target.max_slice)


class TurnoverGuard:
    """Slices placed per target and per account over the last hour."""

    def __init__(self) -> None:
        self._slices: deque[tuple[int, str, str, Decimal]] = deque()  # (ts_ms, rule, account, size)

    def record(self, rule: str, account: str, size: Decimal, now_ms: int) -> None:
        self._slices.append((now_ms, rule, account, size))

    def forget(self, rule: str) -> None:
        """A target the operator changed starts its count afresh (its account's stays)."""
        self._slices = deque((ts, r if r != rule else f"{r}@before", a, size) for ts, r, a, size in self._slices)

    def restore(self, slices: Iterable[tuple[int, str, str, Decimal]]) -> None:
        """Slices journaled before a restart (oldest first), so a restart resets nothing."""
        self._slices.extend(sorted(slices, key=lambda s: s[0]))

    def refuse(self, config: Config, target: TargetConfig, account: str, size: Decimal, now_ms: int) -> str | None:
        """Why this slice may not be placed, or None."""
        while self._slices and self._slices[0][0] <= now_ms - HOUR_MS:
            self._slices.popleft()
        rule = f"target:{target.key}"
        placed, per_minute, account_minute = ZERO, 0, 0
        for ts, slice_rule, slice_account, slice_size in self._slices:
            recent = ts > now_ms - MINUTE_MS
            if slice_rule == rule:
                placed += slice_size
                per_minute += recent
            if slice_account == account and slice_rule.startswith("target:"):
                account_minute += recent
        limit = turnover_limit(target)
        if placed + size > limit:
            return f"max_turnover {limit}: {placed} placed in the last hour, {size} more would pass it"
        if per_minute + 1 > target.max_slices_per_minute:
            return f"max_slices_per_minute {target.max_slices_per_minute}: {per_minute} slices in the last minute"
        account_limit = config.accounts[account].max_target_slices_per_minute
        if account_minute + 1 > account_limit:
            return f"account {account} max_target_slices_per_minute {account_limit}: {account_minute} in the last minute"
        return None
