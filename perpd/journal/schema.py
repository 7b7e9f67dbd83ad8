"""The journal's schema, as numbered migrations.

`PRAGMA user_version` holds the number of the last migration applied. `migrate` runs the
missing ones in order, all inside one IMMEDIATE transaction, so a journal is always at
some whole version. A file written by a newer perpd (a higher version) is refused rather
than guessed at. Migrations are append-only: never edit one that has shipped; add the
next number.

Every table is STRICT. Money columns are TEXT holding `str(Decimal)`: exact, and never
compared or summed in SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from perpd.errors import PerpdError
from perpd.journal import money

_V1 = """
CREATE TABLE intents (
    id              INTEGER PRIMARY KEY,
    spec            TEXT NOT NULL,              -- OrderSpec as JSON, Decimals as strings
    source          TEXT NOT NULL,              -- api | repl | standing:NAME | target:NAME ...
    idempotency_key TEXT UNIQUE,
    config_revision INTEGER,
    state           TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'cancelled')),
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX intents_open ON intents (id) WHERE state = 'open';

CREATE TABLE orders (
    client_id       TEXT PRIMARY KEY,
    intent_id       INTEGER REFERENCES intents (id),  -- NULL for adopted orders
    attempt         INTEGER NOT NULL DEFAULT 0,
    account         TEXT NOT NULL,
    venue           TEXT NOT NULL,
    venue_order_id  TEXT,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    type            TEXT NOT NULL,
    size            TEXT NOT NULL,
    price           TEXT,
    trigger_price   TEXT,
    tif             TEXT NOT NULL,
    reduce_only     INTEGER NOT NULL CHECK (reduce_only IN (0, 1)),
    status          TEXT NOT NULL,
    filled_size     TEXT NOT NULL,
    avg_fill_price  TEXT,
    reason          TEXT,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX orders_account_status ON orders (account, status);
CREATE INDEX orders_venue_order_id ON orders (venue_order_id);
CREATE INDEX orders_intent_id ON orders (intent_id);

CREATE TABLE fills (
    id              INTEGER PRIMARY KEY,
    account         TEXT NOT NULL,
    venue           TEXT NOT NULL,
    trade_id        TEXT NOT NULL,
    client_id       TEXT,
    venue_order_id  TEXT,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    price           TEXT NOT NULL,
    size            TEXT NOT NULL,
    fee             TEXT NOT NULL,
    liquidity       TEXT NOT NULL,
    ts_ms           INTEGER NOT NULL,
    realized_pnl    TEXT,
    UNIQUE (account, venue, trade_id)
) STRICT;
CREATE INDEX fills_account_ts ON fills (account, ts_ms);
CREATE INDEX fills_client_id ON fills (client_id);

CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    ts_ms           INTEGER NOT NULL,
    actor           TEXT NOT NULL,              -- api:TOKEN | socket | daemon | reconciler
    action          TEXT NOT NULL,
    account         TEXT,
    venue           TEXT,
    symbol          TEXT,
    client_id       TEXT,
    config_revision INTEGER,
    rule            TEXT,
    result          TEXT NOT NULL,
    details         TEXT                        -- JSON
) STRICT;
CREATE INDEX events_account ON events (account, id);
CREATE INDEX events_client_id ON events (client_id);

CREATE TABLE trading_state (
    scope           TEXT PRIMARY KEY,           -- global | account:NAME | venue:NAME | policy:NAME
    state           TEXT NOT NULL CHECK (state IN ('active', 'reduce_only', 'halted')),
    reason          TEXT,
    updated_ms      INTEGER NOT NULL
) STRICT;

CREATE TABLE config_revisions (
    revision        INTEGER PRIMARY KEY,
    hash            TEXT NOT NULL,
    source          TEXT NOT NULL,
    ts_ms           INTEGER NOT NULL,
    diff            TEXT,                       -- JSON: {section: {added, changed, removed}}
    config          TEXT NOT NULL               -- JSON: the dumped config, references only
) STRICT;

CREATE TABLE cursors (
    name            TEXT PRIMARY KEY,
    value           TEXT NOT NULL,
    updated_ms      INTEGER NOT NULL
) STRICT;
"""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sqlite_utils.Database], None]


def _script(sql: str) -> Callable[[sqlite_utils.Database], None]:
    # sqlite-utils runs a script statement by statement inside the open transaction
    # (the stdlib executescript would COMMIT first and break atomic migrations).
    return lambda db: db.executescript(sql)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "intents, orders, fills, events, trading_state, config_revisions, cursors", _script(_V1)),
    Migration(2, "index intents by source (a standing rule's latest intent)", _script(
        "CREATE INDEX intents_source ON intents (source, id);"
    )),
    Migration(3, "funding payments (once per venue payment id); fills indexed by time", _script(money.FUNDING_TABLE)),
    Migration(4, "orders: the entry a native bracket's exit waits on", _script(
        "ALTER TABLE orders ADD COLUMN parent_client_id TEXT;"
    )),
)

LATEST = MIGRATIONS[-1].version


class JournalVersionError(PerpdError):
    """The journal file was written by a newer perpd."""


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database to the latest version atomically; return that version.

    `conn` must be in autocommit mode (isolation_level=None) and not in a transaction.
    """
    numbers = [m.version for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"migrations must be numbered 1..n without gaps (got {numbers})")
    db = sqlite_utils.Database(conn, execute_plugins=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = version(conn)
        latest = numbers[-1] if numbers else 0
        if current > latest:
            raise JournalVersionError(
                f"journal schema version {current} is newer than this perpd understands ({latest}); "
                "upgrade perpd or use another state dir"
            )
        for migration in migrations[current:]:
            migration.apply(db)
            # PRAGMA takes no bound parameters; the value is an int from our own table.
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return version(conn)


def connect(file: Path, synchronous: str) -> sqlite3.Connection:
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # check_same_thread=False: opened and migrated here, then owned by the writer thread alone.
    conn = sqlite3.connect(file, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot use WAL mode on {file} (got {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn
