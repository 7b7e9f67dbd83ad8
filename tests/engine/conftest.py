"""A real daemon on the sim venue, with a fault-injecting session at the venue edge."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from perpd.daemon import Daemon
from perpd.engine import Engine
from tests.engine.faults import FaultySession

SIM = """
[daemon]
http = false
reconcile_interval_secs = 0.05
watchdog_secs = 0
unknown_grace_secs = 0.3
{daemon}
[venues.sim]
kind = "sim"
seed = 7
step_ms = 50
takers = false
{venue}

[accounts.paper]
venue = "sim"

[accounts.other]
venue = "sim"
"""


class Harness:
    """Start, kill and restart a daemon on one state dir; the sim exchange outlives it."""

    def __init__(self, tmp_path: Path, extra: str = "", *, venue: str = "", daemon: str = "") -> None:
        self.path = tmp_path / "perpd.toml"
        self.state_dir = tmp_path / "state"
        self.venue_keys, self.daemon_keys = venue, daemon
        self.write(extra)
        self.daemon: Daemon | None = None
        self.sessions: dict[str, FaultySession] = {}
        self.connect_errors: dict[str, Exception] = {}  # account -> what its connect raises

    def write(self, extra: str) -> None:
        self.path.write_text(SIM.format(venue=self.venue_keys, daemon=self.daemon_keys) + extra)

    @classmethod
    def with_config(cls, tmp_path: Path, text: str) -> Harness:
        """A harness on a whole config of the caller's (the daemon keys for tests are kept)."""
        harness = cls(tmp_path)
        harness.path.write_text(text)
        return harness

    @property
    def engine(self) -> Engine:
        assert self.daemon is not None and self.daemon.engine is not None
        return self.daemon.engine

    @property
    def exchange(self):
        """The sim exchange behind the venue (what 'the venue' really holds)."""
        return self.engine.venues["sim"].engine

    def _wrap(self, session):
        faulty = FaultySession(session)
        faulty.connect_error = self.connect_errors.get(session.account)
        self.sessions[session.account] = faulty
        return faulty

    async def start(self) -> Engine:
        self.daemon = Daemon(self.path, state_dir=self.state_dir, wrap_session=self._wrap)
        engine = await self.daemon.start()
        for session in self.sessions.values():
            session.journal = engine.journal
        return engine

    async def stop(self) -> None:
        if self.daemon is not None:
            await self.daemon.stop()
            self.daemon = None

    async def kill(self) -> None:
        """The daemon dies: nothing more is journaled; the venue keeps what it has."""
        await self.stop()

    async def restart(self) -> Engine:
        await self.kill()
        return await self.start()

    async def quiesce(self, timeout: float = 10.0) -> None:
        """Wait until no account lane has actions in flight (their journal writes landed)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while any(lane.busy for lane in self.engine.state.lanes.values()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("account lanes stayed busy")
            await asyncio.sleep(0.01)
        await self.engine.journal.flush()

    @contextlib.asynccontextmanager
    async def paused(self):
        """Stop the engine's own reconcile loop (the caller drives passes), then restart it."""
        engine = self.engine
        engine.lifecycle.cancel_task("reconciler")
        await self.quiesce()
        try:
            yield engine
        finally:
            if self.daemon is not None and self.daemon.engine is engine:
                engine.lifecycle.spawn("reconciler", engine.loop.run())

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        """Run reconcile passes until `predicate()` holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await self.engine.reconcile_once()
            await asyncio.sleep(0.05)


@pytest.fixture
async def harness(tmp_path):
    h = Harness(tmp_path)
    yield h
    await h.stop()


@pytest.fixture
async def rig(tmp_path):
    """Make harnesses (same arguments as Harness, minus the path); all stopped at teardown."""
    made: list[Harness] = []

    def make(extra: str = "", **keys: str) -> Harness:
        made.append(Harness(tmp_path, extra, **keys))
        return made[-1]

    yield make
    for harness in made:
        await harness.stop()
