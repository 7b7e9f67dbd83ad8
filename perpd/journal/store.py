"""The journal: one SQLite file holding everything perpd did and must remember.

Writes go through one writer thread with group commit (`perpd.journal.writer`); every
`async` method below returns after the COMMIT that holds its rows. Reads are plain
synchronous queries on a separate reader connection: WAL lets them run while the writer
commits, and they see every write whose await has returned.

    journal = await Journal.open(state_dir / "journal.sqlite")
    intent_id = await journal.insert_intent(spec, source="api", idempotency_key=key)
    await journal.insert_order(order, intent_id=intent_id)   # before the venue is called
    ...
    await journal.close()
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable, Coroutine, Generator, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from perpd.clock import Clock, SystemClock
from perpd.errors import InvalidRequest, NotFound
from perpd.journal import codec, money, schema
from perpd.journal.query import Where, clamp_limit
from perpd.journal.records import ConfigRevision, Intent, intent_of, revision_of
from perpd.journal.writer import GroupCommitWriter, JournalClosed, WriteFn
from perpd.model import AuditEvent, Fill, FundingPayment, IntentState, Order, OrderSpec, OrderStatus, TradingState

T = TypeVar("T")
log = logging.getLogger("perpd.journal")
FILE_NAME = "journal.sqlite"
Durability = Literal["full", "fast"]
_SYNCHRONOUS = {"full": "FULL", "fast": "NORMAL"}


_ORDER_MUTABLE = (
    "venue_order_id", "size", "price", "trigger_price", "tif", "status",
    "filled_size", "avg_fill_price", "reason", "updated_ms",
)
_LIVE = tuple(s.value for s in OrderStatus if s.is_live)
_TERMINAL = tuple(s.value for s in OrderStatus if s.is_terminal)


class Journal:
    """The journal of one daemon. Open with `await Journal.open(path)` or `async with`."""

    def __init__(self, path: Path, writer: GroupCommitWriter, reader: sqlite3.Connection, clock: Clock) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._clock = clock
        self._closed = False
        # Writes nobody waits on (`write_soon`) and `when_committed` callbacks of this
        # loop turn: handed to the writer as ONE lazy write at the end of the turn, or
        # before any other write is queued, so the journal's order is the order of calls.
        self._soon: list[tuple[WriteFn[Any], str, bool]] = []
        self._after: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<Journal {self.path}>"

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "full",
        clock: Clock | None = None,
    ) -> _Opening:
        """Open (creating and migrating as needed) the journal at `path`:
        `journal = await Journal.open(p)`, or `async with Journal.open(p) as journal:`.

        `path` is the SQLite file (it has a suffix: `.sqlite`, `.db`), or a state
        directory (an existing directory, or a path without a suffix) that holds or will
        hold `journal.sqlite`. `durability="full"` fsyncs every commit
        (synchronous=FULL); `"fast"` uses NORMAL, which in WAL mode may lose the last
        commits on power loss, never on a crash of the process.
        """
        if durability not in _SYNCHRONOUS:
            raise ValueError(f"durability must be 'full' or 'fast' (got {durability!r})")
        return _Opening(cls._open(path, durability, clock))

    @classmethod
    async def _open(cls, path: str | os.PathLike[str], durability: Durability, clock: Clock | None) -> Journal:
        file = Path(path).expanduser()
        if file.is_dir() or not file.suffix:
            file = file / FILE_NAME
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(None, schema.connect, file, _SYNCHRONOUS[durability])
        writer = GroupCommitWriter()
        writer.start(conn)
        try:
            reader = sqlite3.connect(file, isolation_level=None, check_same_thread=False)
            reader.row_factory = sqlite3.Row
            reader.execute("PRAGMA busy_timeout = 5000")
            reader.execute("PRAGMA query_only = ON")
        except BaseException:
            await writer.close()
            raise
        return cls(file, writer, reader, clock or SystemClock())

    async def close(self) -> None:
        """Let every queued write commit, then close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._hand_over()
        await self._writer.close()
        self._reader.close()

    async def __aenter__(self) -> Journal:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def commits(self) -> int:
        """Transactions committed so far (fewer than writes when group commit batches)."""
        return self._writer.commits

    @property
    def writes(self) -> int:
        """Write functions run so far."""
        return self._writer.writes

    @property
    def schema_version(self) -> int:
        return schema.version(self._reader)

    async def write(self, fn: WriteFn[T]) -> T:
        """Run `fn(conn)` atomically in the writer's next transaction; return its result
        once committed. `fn` must not manage transactions itself."""
        self._hand_over()
        return await self._writer.submit(fn)

    async def flush(self) -> None:
        """Return once every write queued so far has committed (writes commit in order)."""
        self._hand_over()
        await self._writer.submit(_nothing)

    def when_committed(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on this loop) once every write queued so far has committed.
        Nobody waits on it, so it asks for no commit of its own: it rides with this loop
        turn's `write_soon` writes."""
        if self._closed:
            raise JournalClosed("the journal is closed")
        if not self._soon and not self._after:
            asyncio.get_running_loop().call_soon(self._hand_over)
        self._after.append(callback)

    def write_soon(self, fn: WriteFn[Any], what: str, *, single: bool = False) -> None:
        """Queue a write without waiting for its commit: for records whose loss in a crash
        the next resync repairs (order status updates, audit events). Writes still
        commit in the order queued, and `close()` drains them. A failure is logged.
        `single`: `fn` runs one statement (no SAVEPOINT needed; see the writer).

        The writes of one loop turn reach the writer as one lazy write (an order's final
        status, its audit record and its intent's state cost the loop one hand-over, not
        three); each still fails alone."""
        if self._closed:
            raise JournalClosed("the journal is closed")
        if not self._soon and not self._after:
            asyncio.get_running_loop().call_soon(self._hand_over)
        self._soon.append((fn, what, single))

    def _hand_over(self) -> None:
        """Queue this turn's `write_soon` writes and `when_committed` callbacks (if any)."""
        items, callbacks = self._soon, self._after
        if not items and not callbacks:
            return
        self._soon, self._after = [], []
        try:
            future = self._writer.enqueue(lambda conn: _run_soon(conn, items), lazy=True, single=True)
        except JournalClosed as exc:  # the writer stopped under us: nothing of these was written
            future = asyncio.get_running_loop().create_future()
            future.set_exception(exc)
        future.add_done_callback(lambda f: _after_soon(f, items, callbacks))

    def _now(self) -> int:
        return self._clock.now_ms()

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self._reader.execute(sql, tuple(params)).fetchall()

    def _row(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        return self._reader.execute(sql, tuple(params)).fetchone()

    # ------------------------------------------------------------------ intents

    async def insert_intent(
        self,
        spec: OrderSpec,
        *,
        source: str,
        idempotency_key: str | None = None,
        config_revision: int | None = None,
    ) -> int:
        """Journal an intent; with a known idempotency key, return the existing id."""
        intent_id, _ = await self.ensure_intent(
            spec, source=source, idempotency_key=idempotency_key, config_revision=config_revision
        )
        return intent_id

    async def ensure_intent(
        self,
        spec: OrderSpec,
        *,
        source: str,
        idempotency_key: str | None = None,
        config_revision: int | None = None,
    ) -> tuple[int, bool]:
        """Like `insert_intent`, and also say whether the intent is new (False: key seen)."""
        spec_json = codec.spec_json(spec)
        now = self._now()
        return await self.write(lambda conn: _insert_intent(conn, spec_json, source, idempotency_key, config_revision, now))

    async def insert_intent_with_orders(
        self,
        spec: OrderSpec,
        *,
        source: str,
        orders: Callable[[int], Sequence[tuple[Order, int]]],
        idempotency_key: str | None = None,
        config_revision: int | None = None,
    ) -> tuple[int, bool]:
        """Journal an intent and the write-ahead records of its first orders in ONE commit.

        `orders(intent_id)` returns (order, attempt) pairs; it runs on the writer thread
        inside the transaction, so it must be pure and quick (derive client ids, build
        records). With a known idempotency key nothing is written and (id, False) returns.
        """
        spec_json = codec.spec_json(spec)
        now = self._now()

        def insert(conn: sqlite3.Connection) -> tuple[int, bool]:
            intent_id, created = _insert_intent(conn, spec_json, source, idempotency_key, config_revision, now)
            if created:
                for order, attempt in orders(intent_id):
                    _insert_order(conn, order, intent_id, attempt, now)
            return intent_id, created

        return await self.write(insert)

    def intent(self, intent_id: int) -> Intent | None:
        row = self._row("SELECT * FROM intents WHERE id = ?", (intent_id,))
        return intent_of(row) if row is not None else None

    def intent_by_key(self, key: str) -> Intent | None:
        row = self._row("SELECT * FROM intents WHERE idempotency_key = ?", (key,))
        return intent_of(row) if row is not None else None

    def open_intents(self) -> list[Intent]:
        return [intent_of(r) for r in self._rows("SELECT * FROM intents WHERE state = 'open' ORDER BY id")]

    def intents_with_live_orders(self) -> list[Intent]:
        """Intents, whatever their state, with an order the journal last knew live (an
        operator's cancel that failed leaves a retired intent's order on the venue)."""
        marks = ", ".join("?" * len(_LIVE))
        return [intent_of(r) for r in self._rows(
            f"SELECT * FROM intents WHERE id IN (SELECT intent_id FROM orders WHERE status IN ({marks})) ORDER BY id",
            _LIVE,
        )]

    def latest_intent(self, source: str) -> Intent | None:
        """The newest intent from a source (a standing order rule), whatever its state."""
        row = self._row("SELECT * FROM intents WHERE source = ? ORDER BY id DESC LIMIT 1", (source,))
        return intent_of(row) if row is not None else None

    async def set_intent_state(self, intent_id: int, state: IntentState | str) -> None:
        value = IntentState(state).value
        now = self._now()

        def update(conn: sqlite3.Connection) -> None:
            cursor = conn.execute("UPDATE intents SET state = ?, updated_ms = ? WHERE id = ?", (value, now, intent_id))
            if cursor.rowcount == 0:
                raise NotFound(f"no intent {intent_id}")

        await self.write(update)

    def set_intent_state_soon(self, intent_id: int, state: IntentState | str) -> None:
        """`set_intent_state` without waiting for its commit (see `write_soon`): an intent
        whose orders all ended, marked done. Its orders' final records are queued before
        it, so the journal never holds it done with an order still pending."""
        value = IntentState(state).value
        values = (value, self._now(), intent_id)
        self.write_soon(lambda conn: conn.execute(_SET_INTENT_STATE, values), f"intent {intent_id}", single=True)

    # ------------------------------------------------------------------ orders

    async def insert_order(self, order: Order, *, intent_id: int | None, attempt: int = 0) -> bool:
        """Write-ahead record of an order about to be sent; False if the client id is
        already journaled (a replay after a crash), in which case nothing changes."""
        now = self._now()
        return await self.write(lambda conn: _insert_order(conn, order, intent_id, attempt, now))

    async def update_order(self, order: Order) -> None:
        """Record what is now known of an order (status, fills, venue id, edits).

        An order not journaled yet (adopted from the venue) is inserted with no intent.
        A known venue order id is never replaced by None.
        """
        await self.write(_update_order(order, self._now()))

    def update_order_soon(self, order: Order) -> None:
        """`update_order` without waiting for the commit (see `write_soon`)."""
        self.write_soon(_update_order(order, self._now()), f"order {order.client_id}", single=True)

    def order(self, client_id: str) -> Order | None:
        row = self._row("SELECT * FROM orders WHERE client_id = ?", (client_id,))
        return codec.from_row(Order, row) if row is not None else None

    def order_by_venue_id(self, venue: str, venue_order_id: str) -> Order | None:
        row = self._row("SELECT * FROM orders WHERE venue_order_id = ? AND venue = ?", (venue_order_id, venue))
        return codec.from_row(Order, row) if row is not None else None

    def orders(
        self,
        account: str | None = None,
        symbol: str | None = None,
        status: OrderStatus | str | Iterable[OrderStatus | str] | None = None,
        live: bool | None = None,
        since_ms: int | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        intent_id: int | None = None,
    ) -> list[Order]:
        """Orders, newest first. `live` picks non-terminal (True) or terminal (False)
        statuses; `since_ms` keeps orders updated at or after that time."""
        where = Where()
        where.eq("account", account).eq("symbol", symbol).eq("intent_id", intent_id)
        if status is not None:
            statuses = [status] if isinstance(status, (str, OrderStatus)) else list(status)
            where.any_of("status", [OrderStatus(s).value for s in statuses])
        if live is not None:
            where.any_of("status", _LIVE if live else _TERMINAL)
        if since_ms is not None:
            where.add("updated_ms >= ?", since_ms)
        rows = self._rows(
            f"SELECT * FROM orders {where} ORDER BY created_ms DESC, rowid DESC LIMIT ? OFFSET ?",
            [*where.params, clamp_limit(limit), max(0, offset)],
        )
        return [codec.from_row(Order, r) for r in rows]

    def rule_orders_since(self, source_prefix: str, since_ms: int) -> list[tuple[int, str, str, Decimal]]:
        """(created_ms, source, account, size) of orders placed for rules whose source
        starts with `source_prefix`, created at or after `since_ms`, oldest first."""
        rows = self._rows(
            "SELECT o.created_ms, i.source, o.account, o.size FROM orders o JOIN intents i ON o.intent_id = i.id"
            " WHERE i.source LIKE ? AND o.created_ms >= ? ORDER BY o.created_ms",
            (source_prefix.replace("%", "") + "%", since_ms),
        )
        return [(r[0], r[1], r[2], Decimal(r[3])) for r in rows]

    def intent_id_of(self, client_id: str) -> int | None:
        row = self._row("SELECT intent_id FROM orders WHERE client_id = ?", (client_id,))
        return row[0] if row is not None else None

    def attempts_of(self, intent_id: int) -> list[tuple[int, str]]:
        """(attempt, client_id) of every order sent for an intent, in attempt order."""
        rows = self._rows("SELECT attempt, client_id FROM orders WHERE intent_id = ? ORDER BY attempt", (intent_id,))
        return [(r[0], r[1]) for r in rows]

    # ------------------------------------------------------------------ fills

    async def insert_fill(self, fill: Fill) -> int | None:
        """Record a fill; its row id, or None if (account, venue, trade_id) is already
        journaled (so `if await insert_fill(f)` reads "if it is new")."""
        row = codec.row_of(fill)
        sql = (
            f"INSERT INTO fills ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
            " ON CONFLICT (account, venue, trade_id) DO NOTHING"
        )
        values = tuple(row.values())

        def insert(conn: sqlite3.Connection) -> int | None:
            cursor = conn.execute(sql, values)
            return cursor.lastrowid if cursor.rowcount == 1 else None

        return await self.write(insert)

    def fills_after_row(self, account: str, row: int) -> list[tuple[int, Fill]]:
        """(row id, fill) of an account's fills journaled after row `row`, in row order."""
        rows = self._rows("SELECT * FROM fills WHERE account = ? AND id > ? ORDER BY id", (account, row))
        return [(r["id"], codec.from_row(Fill, r)) for r in rows]

    def fills(
        self,
        account: str | None = None,
        since_ms: int | None = None,
        limit: int = 1000,
        *,
        symbol: str | None = None,
        client_id: str | None = None,
    ) -> list[Fill]:
        """Fills, oldest first (like `fetch_fills`), at or after `since_ms`."""
        where = Where().eq("account", account).eq("symbol", symbol).eq("client_id", client_id)
        if since_ms is not None:
            where.add("ts_ms >= ?", since_ms)
        rows = self._rows(f"SELECT * FROM fills {where} ORDER BY ts_ms, id LIMIT ?", [*where.params, clamp_limit(limit)])
        return [codec.from_row(Fill, r) for r in rows]

    def iter_fills(self, since_ms: int = 0, page: int = 10_000) -> Iterator[Fill]:
        """Every fill at or after `since_ms`, oldest first, read a page at a time."""
        after = (since_ms, -1)  # (ts_ms, id) of the last row read: keyset paging
        while True:
            rows = self._rows(
                "SELECT * FROM fills WHERE ts_ms >= ? AND (ts_ms, id) > (?, ?) ORDER BY ts_ms, id LIMIT ?",
                (since_ms, *after, page),
            )
            for row in rows:
                yield codec.from_row(Fill, row)
            if len(rows) < page:
                return
            after = (rows[-1]["ts_ms"], rows[-1]["id"])

    def last_fill_row(self, account: str) -> int:
        row = self._row("SELECT MAX(id) FROM fills WHERE account = ?", (account,))
        return row[0] or 0 if row is not None else 0

    def last_fill_ms(self, account: str) -> int | None:
        row = self._row("SELECT MAX(ts_ms) FROM fills WHERE account = ?", (account,))
        return row[0] if row is not None else None

    def fill_page(self, **filters: Any) -> tuple[list[money.JournaledFill], str | None]:
        """A page of fills with their intents, and the next page's cursor (`money.fill_page`)."""
        return money.fill_page(self._rows, **filters)

    # ------------------------------------------------------------------ funding payments

    async def insert_funding_payments(self, payments: Sequence[FundingPayment]) -> list[bool]:
        """Journal funding payments once per (account, venue, payment id), in one commit;
        for each, whether it was new."""
        return await self.write(money.insert_funding(payments))

    def funding_page(self, **filters: Any) -> tuple[list[FundingPayment], str | None]:
        """A page of funding payments and the next page's cursor (`money.funding_page`)."""
        return money.funding_page(self._rows, **filters)

    def iter_funding(self, since_ms: int = 0) -> Iterator[FundingPayment]:
        return money.iter_funding(self._rows, since_ms)

    def last_funding_ms(self, account: str) -> int | None:
        return money.last_funding_ms(self._rows, account)

    # ------------------------------------------------------------------ events (audit)

    async def record_event(
        self,
        action: str,
        *,
        actor: str,
        result: str = "ok",
        account: str | None = None,
        venue: str | None = None,
        symbol: str | None = None,
        client_id: str | None = None,
        config_revision: int | None = None,
        rule: str | None = None,
        details: Any = None,
        ts_ms: int | None = None,
    ) -> int:
        """Append an audit record; return its id. `details` is stored as JSON."""
        values = (
            self._now() if ts_ms is None else ts_ms, actor, action, account, venue, symbol,
            client_id, config_revision, rule, result, None if details is None else codec.dumps(details),
        )
        return await self.write(lambda conn: int(conn.execute(_EVENT_SQL, values).lastrowid or 0))

    def record_event_soon(
        self,
        action: str,
        *,
        actor: str,
        result: str = "ok",
        details: Any = None,
        config_revision: int | None = None,
        **where: str | None,
    ) -> None:
        """`record_event` without waiting for the commit (see `write_soon`)."""
        values = (
            self._now(), actor, action, where.get("account"), where.get("venue"), where.get("symbol"),
            where.get("client_id"), config_revision, where.get("rule"), result,
            None if details is None else codec.dumps(details),
        )
        self.write_soon(lambda conn: conn.execute(_EVENT_SQL, values), f"event {action}", single=True)

    def events(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        account: str | None = None,
        venue: str | None = None,
        symbol: str | None = None,
        client_id: str | None = None,
        result: str | None = None,
        rule: str | None = None,
        since_id: int | None = None,
        since_ms: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[AuditEvent]:
        """Audit records matching every given filter; `since_id` tails (id > since_id)."""
        where = Where().eq("action", action).eq("actor", actor).eq("account", account)
        where.eq("venue", venue).eq("symbol", symbol).eq("client_id", client_id).eq("result", result)
        where.eq("rule", rule)
        if since_id is not None:
            where.add("id > ?", since_id)
        if since_ms is not None:
            where.add("ts_ms >= ?", since_ms)
        order = "DESC" if newest_first else "ASC"
        rows = self._rows(f"SELECT * FROM events {where} ORDER BY id {order} LIMIT ?", [*where.params, clamp_limit(limit)])
        # from_row ignores columns a later migration may add.
        return [codec.from_row(AuditEvent, {**dict(r), "details": codec.loads(r["details"])}) for r in rows]

    # ------------------------------------------------------------------ trading state

    async def set_trading_state(self, scope: str, state: TradingState | str, reason: str | None = None) -> None:
        """Set the trading state of a scope: global, account:NAME, venue:NAME, policy:NAME."""
        kind, sep, name = scope.partition(":")
        if scope != "global" and not (sep and kind and name):
            raise InvalidRequest(f"trading state scope must be 'global' or KIND:NAME (got {scope!r})")
        values = (scope, TradingState(state).value, reason, self._now())
        sql = (
            "INSERT INTO trading_state (scope, state, reason, updated_ms) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET state = excluded.state, reason = excluded.reason,"
            " updated_ms = excluded.updated_ms"
        )
        await self.write(lambda conn: conn.execute(sql, values))

    def trading_states(self) -> dict[str, tuple[TradingState, str | None]]:
        rows = self._rows("SELECT scope, state, reason FROM trading_state ORDER BY scope")
        return {r["scope"]: (TradingState(r["state"]), r["reason"]) for r in rows}

    # ------------------------------------------------------------------ config revisions

    async def add_config_revision(
        self,
        config_hash: str,
        *,
        source: str,
        config: Any,
        diff: Mapping[str, Any] | None = None,
        ts_ms: int | None = None,
    ) -> int:
        """Record a config that took effect; return its revision number (1, 2, ...).

        `config` is a `perpd.config.Config` (stored via `dump()`: references only) or
        already-dumped plain data.
        """
        dumped = config.dump() if hasattr(config, "dump") else config
        values = (
            config_hash, source, self._now() if ts_ms is None else ts_ms,
            None if diff is None else codec.dumps(diff), codec.dumps(dumped),
        )
        sql = "INSERT INTO config_revisions (hash, source, ts_ms, diff, config) VALUES (?, ?, ?, ?, ?)"
        return await self.write(lambda conn: int(conn.execute(sql, values).lastrowid or 0))

    def latest_config_revision(self) -> ConfigRevision | None:
        row = self._row("SELECT * FROM config_revisions ORDER BY revision DESC LIMIT 1")
        return revision_of(row) if row is not None else None

    def config_revision(self, revision: int) -> ConfigRevision | None:
        row = self._row("SELECT * FROM config_revisions WHERE revision = ?", (revision,))
        return revision_of(row) if row is not None else None

    # ------------------------------------------------------------------ cursors

    async def set_cursor(self, name: str, value: str) -> None:
        """Remember a resume point (a stream sequence, a fill time) under `name`."""
        values = (name, value, self._now())
        await self.write(lambda conn: conn.execute(_SET_CURSOR, values))

    def set_cursor_soon(self, name: str, value: str) -> None:
        """`set_cursor` without waiting for the commit (see `write_soon`)."""
        values = (name, value, self._now())
        self.write_soon(lambda conn: conn.execute(_SET_CURSOR, values), f"cursor {name}", single=True)

    def cursor(self, name: str) -> str | None:
        row = self._row("SELECT value FROM cursors WHERE name = ?", (name,))
        return row[0] if row is not None else None


# --------------------------------------------------------------------------- helpers

_SET_CURSOR = (
    "INSERT INTO cursors (name, value, updated_ms) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms"
)


class _Opening:
    """What `Journal.open` returns: await it, or use it as `async with`."""

    def __init__(self, opening: Coroutine[Any, Any, Journal]) -> None:
        self._opening = opening
        self._journal: Journal | None = None

    def __await__(self) -> Generator[Any, None, Journal]:
        return self._opening.__await__()

    async def __aenter__(self) -> Journal:
        self._journal = await self._opening
        return self._journal

    async def __aexit__(self, *exc: object) -> None:
        if self._journal is not None:
            await self._journal.close()


_SET_INTENT_STATE = "UPDATE intents SET state = ?, updated_ms = ? WHERE id = ?"

_EVENT_SQL = (
    "INSERT INTO events (ts_ms, actor, action, account, venue, symbol, client_id,"
    " config_revision, rule, result, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _update_order(order: Order, now: int) -> WriteFn[Any]:
    values = _order_values(order, now)
    return lambda conn: conn.execute(_UPSERT_ORDER_SQL, values)


@cache
def _upsert_order_sql(columns: tuple[str, ...]) -> str:
    """The upsert for an order row with these columns (the same every time: built once)."""
    updates = ", ".join(
        "venue_order_id = COALESCE(excluded.venue_order_id, orders.venue_order_id)"
        if c == "venue_order_id"
        else f"{c} = excluded.{c}"
        for c in _ORDER_MUTABLE
    )
    return (
        f"INSERT INTO orders ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        f" ON CONFLICT (client_id) DO UPDATE SET {updates}"
    )


def _nothing(conn: sqlite3.Connection) -> None:
    return None


def _run_soon(conn: sqlite3.Connection, items: list[tuple[WriteFn[Any], str, bool]]) -> list[tuple[str, BaseException]]:
    """Run queued `write_soon` writes in the writer's transaction, each failing alone
    (its own SAVEPOINT unless it is one statement); the failures, to be logged."""
    failed: list[tuple[str, BaseException]] = []
    for fn, what, single in items:
        if single:
            try:
                fn(conn)
            except Exception as exc:  # its one statement undid itself
                if not conn.in_transaction:
                    raise  # an error that ended the whole transaction fails the batch
                failed.append((what, exc))
            continue
        conn.execute("SAVEPOINT soon")
        try:
            fn(conn)
        except Exception as exc:  # noqa: BLE001 - logged, the others stand
            conn.execute("ROLLBACK TO soon")
            conn.execute("RELEASE soon")
            failed.append((what, exc))
        else:
            conn.execute("RELEASE soon")
    return failed


def _after_soon(
    future: asyncio.Future[list[tuple[str, BaseException]]],
    items: list[tuple[WriteFn[Any], str, bool]],
    callbacks: list[Callable[[], None]],
) -> None:
    error = future.exception()
    for what, exc in [(what, error) for _, what, _ in items] if error is not None else future.result():
        log.error("journal write of %s failed: %r", what, exc)
    for callback in callbacks:
        try:
            callback()
        except Exception:  # one callback's bug must not skip the others
            log.exception("journal when_committed callback failed")


def _insert_intent(
    conn: sqlite3.Connection, spec_json: str, source: str, key: str | None, revision: int | None, now: int
) -> tuple[int, bool]:
    if key is not None:
        found = conn.execute("SELECT id FROM intents WHERE idempotency_key = ?", (key,)).fetchone()
        if found is not None:
            return int(found[0]), False
    cursor = conn.execute(
        "INSERT INTO intents (spec, source, idempotency_key, config_revision, state, created_ms, updated_ms)"
        " VALUES (?, ?, ?, ?, 'open', ?, ?)",
        (spec_json, source, key, revision, now, now),
    )
    return int(cursor.lastrowid or 0), True


def _insert_order(conn: sqlite3.Connection, order: Order, intent_id: int | None, attempt: int, now: int) -> bool:
    return conn.execute(_INSERT_ORDER_SQL, (*_order_values(order, now), intent_id, attempt)).rowcount == 1


_ORDER_COLUMNS = codec.columns_of(Order)
_CREATED, _UPDATED = _ORDER_COLUMNS.index("created_ms"), _ORDER_COLUMNS.index("updated_ms")
_UPSERT_ORDER_SQL = _upsert_order_sql(_ORDER_COLUMNS)
_INSERT_ORDER_SQL = (
    f"INSERT INTO orders ({', '.join(_ORDER_COLUMNS)}, intent_id, attempt) VALUES ({', '.join('?' * (len(_ORDER_COLUMNS) + 2))})"
    " ON CONFLICT (client_id) DO NOTHING"
)


def _order_values(order: Order, now: int) -> tuple[Any, ...]:
    """An order's row in `_ORDER_COLUMNS` order; times it lacks are `now`."""
    values = codec.values_of(order)
    if not (values[_CREATED] and values[_UPDATED]):
        patched = list(values)
        patched[_CREATED] = patched[_CREATED] or now
        patched[_UPDATED] = patched[_UPDATED] or now
        return tuple(patched)
    return values
