"""Crash points: where the crash harness kills the daemon (tests/crash/).

`crash_point("after_commit")` does nothing unless the process was started with
`PERPD_CRASH_AT` naming that point (`after_commit`, or `after_accept:2` for its second
hit); then the process SIGKILLs itself there — no cleanup, no flush, no on_exit — as a
power cut or an OOM kill would. Unset (always, outside the harness) it costs one set
lookup.
"""

from __future__ import annotations

import os
import signal

_ARMED: dict[str, int] = {}
for _item in filter(None, os.environ.get("PERPD_CRASH_AT", "").split(",")):
    _name, _, _count = _item.partition(":")
    _ARMED[_name] = int(_count or 1)


def crash_point(name: str) -> None:
    """Die here if the harness armed this point (on its Nth hit)."""
    if name not in _ARMED:
        return
    _ARMED[name] -= 1
    if _ARMED[name] <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
