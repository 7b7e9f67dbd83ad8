"""The journal's record types, and how rows become them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from perpd.journal import codec
from perpd.model import IntentState, OrderSpec


@dataclass(frozen=True, slots=True)
class Intent:
    """A client's request, journaled before anything reaches a venue."""

    id: int
    spec: OrderSpec
    source: str
    idempotency_key: str | None
    config_revision: int | None
    state: IntentState
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True)
class ConfigRevision:
    revision: int
    hash: str
    source: str
    ts_ms: int
    diff: Any
    config: Any


def intent_of(row: sqlite3.Row) -> Intent:
    return Intent(
        id=row["id"],
        spec=codec.from_row(OrderSpec, codec.loads(row["spec"])),
        source=row["source"],
        idempotency_key=row["idempotency_key"],
        config_revision=row["config_revision"],
        state=IntentState(row["state"]),
        created_ms=row["created_ms"],
        updated_ms=row["updated_ms"],
    )


def revision_of(row: sqlite3.Row) -> ConfigRevision:
    return ConfigRevision(
        revision=row["revision"], hash=row["hash"], source=row["source"], ts_ms=row["ts_ms"],
        diff=codec.loads(row["diff"]), config=codec.loads(row["config"]),
    )
