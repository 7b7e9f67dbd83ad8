"""What every handler reaches: the daemon, its engine, auth, metrics and WS bookkeeping."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING

from perpd.api.auth import Auth
from perpd.api.channels import ALL_TOPICS, FrameCache
from perpd.api.budget import FrameBudget
from perpd.api.hub import Hub
from perpd.api.metrics import Metrics
from perpd.errors import Unavailable

if TYPE_CHECKING:
    from perpd.daemon import Daemon
    from perpd.engine import Engine


# WebSocket update frames per second across all clients. A frame costs ~40 us of the
# daemon's loop (wake, encode, send): 5,000/s is a fifth of a core, leaving the rest to
# the engine, so that fan-out never delays orders.
WS_FRAMES_PER_SEC = 5_000


class ApiContext:
    """One per app (`app.state.ctx`)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.auth = Auth(daemon)
        self.ws_clients: dict[str, int] = defaultdict(int)
        self.metrics = Metrics(self)
        self.frames = FrameCache()  # encoded WS frames shared by every connection
        self._hub = Hub()
        self.frame_budget = FrameBudget(WS_FRAMES_PER_SEC)
        # Requests carrying the same Idempotency-Key run one at a time, so a retry that
        # races the original waits for it and then replays its result.
        self.idempotency_locks: dict[str, asyncio.Lock] = {}

    def hub(self, engine: Engine) -> Hub:
        """The WebSocket hub, relaying `engine`'s bus (started on first use)."""
        self._hub.attach(engine, ALL_TOPICS)
        return self._hub

    @property
    def engine(self) -> Engine:
        engine = self.daemon.engine
        if engine is None:
            raise Unavailable("the daemon is not running yet")
        return engine
