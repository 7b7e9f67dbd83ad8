"""The journal: perpd's one SQLite file (see `perpd.journal.store` for the tour).

    schema.py   numbered migrations; STRICT tables; PRAGMA user_version; connect()
    writer.py   the single writer thread with group commit
    codec.py    rows and JSON <-> domain dataclasses, Decimals exact
    records.py  Intent, ConfigRevision and their row decoders (AuditEvent is perpd.model's)
    query.py    WHERE-clause building for the readers
    store.py    `Journal`: typed reads and writes per table
"""

from perpd.journal.schema import LATEST as SCHEMA_VERSION
from perpd.journal.schema import JournalVersionError
from perpd.journal.records import ConfigRevision, Intent
from perpd.model import AuditEvent, IntentState
from perpd.journal.store import FILE_NAME, Durability, Journal
from perpd.journal.writer import JournalClosed, JournalWriteError

__all__ = [
    "FILE_NAME",
    "SCHEMA_VERSION",
    "AuditEvent",
    "ConfigRevision",
    "Durability",
    "Intent",
    "IntentState",
    "Journal",
    "JournalClosed",
    "JournalVersionError",
    "JournalWriteError",
]
