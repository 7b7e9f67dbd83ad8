"""The audit trail: every action journaled (in order, without waiting), logged as one
structured line, and published on the bus for API clients."""

from __future__ import annotations

import logging
from typing import Any

from perpd.bus import Bus
from perpd.engine.state import EngineState
from perpd.journal import Journal

log = logging.getLogger("perpd.engine")


class Audit:
    def __init__(self, state: EngineState, journal: Journal, bus: Bus) -> None:
        self._state = state
        self._journal = journal
        self._bus = bus

    def __call__(self, action: str, *, actor: str, result: str = "ok", **fields: Any) -> None:
        """Audit an action with the config revision it happened under."""
        details = fields.pop("details", None)
        revision = self._state.revision
        self._journal.record_event_soon(action, actor=actor, result=result, config_revision=revision, details=details, **fields)
        if log.isEnabledFor(logging.INFO):  # the line's fields are built only if it is written
            context = {k: v for k, v in fields.items() if v is not None}
            log.info("%s %s", action, result, extra={"actor": actor, "revision": revision, **context})
        self._bus.publish("events", {"action": action, "actor": actor, "result": result, **fields, "details": details})
