"""What every handler reaches: the daemon, its engine, auth, metrics and WS bookkeeping."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING

from perpd.api.auth import Auth
from perpd.api.budget import FrameBudget
from perpd.api.channels import ALL_TOPICS, Channel, FrameCache, check_filters
from perpd.api.hub import Hub, Inbox
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
        self.frame_budget: FrameBudget | None = FrameBudget(WS_FRAMES_PER_SEC)
        # Requests carrying the same Idempotency-Key run one at a time, so a retry that
        # races the original waits for it and then replays its result.
        self.idempotency_locks: dict[str, asyncio.Lock] = {}

    def hub(self, engine: Engine) -> Hub:
        """The WebSocket hub, relaying `engine`'s bus (started on first use)."""
        self._hub.attach(engine, ALL_TOPICS)
        return self._hub

    def ws_client_total(self) -> int:
        """Clients on this app's sockets and on the fan-out workers' (as they last reported)."""
        fanout = self.daemon.fanout
        return sum(self.ws_clients.values()) + (sum(fanout.client_counts().values()) if fanout is not None else 0)

    def check_ready(self) -> None:
        self.engine  # noqa: B018 - raises Unavailable until the daemon runs

    async def open_channel(self, channel: Channel, *, maxlen: int) -> tuple[Inbox, bytes]:
        """The inbox and the snapshot in one synchronous step of the loop."""
        engine = self.engine
        check_filters(channel, engine)
        inbox = self.hub(engine).inbox(channel.refined_topics(), maxlen=maxlen, accept=None if channel.exact else channel.matches)
        inbox.mark_seen()
        return inbox, channel.snapshot_frame(engine)

    @property
    def engine(self) -> Engine:
        engine = self.daemon.engine
        if engine is None:
            raise Unavailable("the daemon is not running yet")
        return engine
