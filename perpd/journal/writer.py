"""One writer thread with group commit.

A dedicated thread owns the only write connection. Callers `await writer.submit(fn)`;
`fn(conn)` runs on the writer thread inside the current transaction, in its own
SAVEPOINT, so a failing `fn` rolls back only its own changes and fails only its own
caller. A `fn` that runs one statement (`single=True`) needs no SAVEPOINT: SQLite undoes
a failed statement by itself. The sqlite3 module lets go of the GIL around every
statement, and on a busy daemon the writer waits to get it back each time (a write
costs ~90 µs there against ~20 µs alone), so two statements fewer per write shorten
the commit cycle. Every `fn` queued while a COMMIT (and its fsync) is in progress goes into the
next single transaction, so concurrent writers share fsyncs instead of queueing for one
each. A caller's await returns only after the COMMIT that contains its rows.

`fn` must not commit, roll back or open transactions itself, and should be quick: it
holds the writer for everyone. Cancelling the awaiting task does not withdraw a write
that is already queued; it may still commit.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from perpd.errors import PerpdError

T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], T]

MAX_BATCH = 2048  # bound a transaction's size (and so the latency of its first caller)


class JournalClosed(PerpdError):
    """The journal is closed (or its writer stopped); nothing was written."""


class JournalWriteError(PerpdError):
    """The transaction holding this write failed to commit; nothing of it was written."""


# (fn, loop, future, lazy, single)
_Item = tuple[WriteFn[Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]", bool, bool]

LAZY_SECS = 0.01  # how long lazy writes wait for an urgent one to share its commit


class GroupCommitWriter:
    """The single writer of one SQLite file. Start with `start(conn)`, stop with `close()`."""

    def __init__(self, name: str = "perpd-journal-writer", max_batch: int = MAX_BATCH) -> None:
        self._queue: collections.deque[_Item] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._urgent = 0  # queued writes someone is waiting on
        self._stopped = threading.Event()
        self._max_batch = max_batch
        self._name = name
        self._thread: threading.Thread | None = None
        self.commits = 0  # transactions committed
        self.writes = 0  # fns that ran (committed or failed alone)

    def start(self, conn: sqlite3.Connection) -> None:
        """Run the writer on `conn` (autocommit mode, migrations done) until `close`."""
        self._thread = threading.Thread(target=self._run, args=(conn,), name=self._name, daemon=True)
        self._thread.start()

    async def submit(self, fn: WriteFn[T]) -> T:
        """Run `fn(conn)` in the next transaction; return its result once committed."""
        return await self.enqueue(fn)

    def enqueue(self, fn: WriteFn[T], *, lazy: bool = False, single: bool = False) -> asyncio.Future[T]:
        """Queue `fn` now (writes commit in the order queued); the future settles at commit.

        A `lazy` write nobody waits on may sit up to LAZY_SECS for an urgent write to share
        its commit (and fsync) instead of paying for one of its own. A `single` fn runs at
        most one statement, so it runs without a SAVEPOINT of its own."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._cond:
            if self._closing:
                raise JournalClosed("the journal is closed")
            self._queue.append((fn, loop, future, lazy, single))
            if not lazy:
                self._urgent += 1
            self._cond.notify()
        return future

    async def close(self) -> None:
        """Stop taking writes, let every queued write commit, stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._stopped.wait)

    # ------------------------------------------------------------------ the thread

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._closing:
                        self._cond.wait()
                    if not self._queue:
                        return
                    if not self._urgent and not self._closing:
                        deadline = time.monotonic() + LAZY_SECS
                        while not self._urgent and not self._closing and (left := deadline - time.monotonic()) > 0:
                            self._cond.wait(left)
                    batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
                    self._urgent -= sum(1 for item in batch if not item[3])
                self._deliver(self._commit(conn, batch))
        finally:
            # Whatever stopped the loop, nobody may wait forever on a write.
            with self._cond:
                self._closing = True
                orphans = list(self._queue)
                self._queue.clear()
            self._deliver([(item, None, JournalClosed("the journal writer stopped")) for item in orphans])
            conn.close()
            self._stopped.set()

    def _commit(self, conn: sqlite3.Connection, batch: list[_Item]) -> list[tuple[_Item, Any, BaseException | None]]:
        outcomes: list[tuple[_Item, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in batch:
                if item[4]:
                    try:
                        value = item[0](conn)
                    except Exception as exc:  # noqa: BLE001 - its one statement undid itself
                        if not conn.in_transaction:
                            raise  # an error that ended the whole transaction fails the batch
                        outcomes.append((item, None, exc))
                    else:
                        outcomes.append((item, value, None))
                    self.writes += 1
                    continue
                conn.execute("SAVEPOINT w")
                try:
                    value = item[0](conn)
                except Exception as exc:  # noqa: BLE001 - returned to its own caller
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    outcomes.append((item, None, exc))
                else:
                    conn.execute("RELEASE w")
                    outcomes.append((item, value, None))
                self.writes += 1
            conn.execute("COMMIT")
            self.commits += 1
            return outcomes
        except Exception as exc:  # noqa: BLE001 - the whole transaction is lost
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = JournalWriteError(f"journal transaction failed: {exc}")
            error.__cause__ = exc
            # A fn that failed on its own keeps its own error; every other fn lost its rows.
            own = {id(item): e for item, _, e in outcomes if e is not None}
            return [(item, None, own.get(id(item), error)) for item in batch]

    @staticmethod
    def _deliver(outcomes: list[tuple[_Item, Any, BaseException | None]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for (_, loop, future, _lazy, _single), value, error in outcomes:
            by_loop.setdefault(loop, []).append((future, value, error))
        # One wake-up per loop per transaction, not one per caller.
        for loop, results in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, results)
            except RuntimeError:
                pass  # that loop is closed: nobody is waiting any more


def _settle(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in results:
        if future.done():
            continue  # the caller was cancelled
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
