"""Fills and funding payments as a trader reads them: pages in time order with a cursor.

A cursor is the (ts_ms, row id) of the last row of a page, as text (`1733220000000-42`):
the next page starts strictly after it in the page's order, so rows journaled meanwhile
(late fills carry the venue's time) are neither skipped past the cursor's time nor
repeated. Money stays TEXT (`str(Decimal)`), converted by the codec.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from perpd.errors import InvalidRequest
from perpd.journal import codec
from perpd.journal.query import Where, clamp_limit
from perpd.model import Fill, FundingPayment

Rows = Callable[[str, Iterable[Any]], list[sqlite3.Row]]
CURSOR_PATTERN = r"^[0-9]{1,15}-[0-9]{1,18}$"
_CURSOR = re.compile(CURSOR_PATTERN)

FUNDING_TABLE = """
CREATE TABLE funding_payments (
    id              INTEGER PRIMARY KEY,
    account         TEXT NOT NULL,
    venue           TEXT NOT NULL,
    payment_id      TEXT NOT NULL,              -- the venue's id, else time:symbol
    symbol          TEXT NOT NULL,
    amount          TEXT NOT NULL,              -- received, in quote; negative = paid
    ts_ms           INTEGER NOT NULL,
    rate            TEXT,
    position        TEXT,
    UNIQUE (account, venue, payment_id)
) STRICT;
CREATE INDEX funding_payments_account_ts ON funding_payments (account, ts_ms, id);
CREATE INDEX funding_payments_ts ON funding_payments (ts_ms, id);
CREATE INDEX fills_ts ON fills (ts_ms, id);
"""


@dataclass(frozen=True, slots=True)
class JournaledFill:
    """A fill with the order and intent it belongs to (None for fills of orders perpd
    did not place, and for positions booked at start-up)."""

    fill: Fill
    intent_id: int | None
    source: str | None  # the intent's source: api, local, standing:NAME, target:NAME, ...


def encode_cursor(ts_ms: int, row_id: int) -> str:
    return f"{ts_ms}-{row_id}"


def decode_cursor(text: str) -> tuple[int, int]:
    if not _CURSOR.fullmatch(text):
        raise InvalidRequest(f"cursor {text!r} is not one this API gave", details={"field": "cursor"})
    ts_ms, row_id = text.split("-")
    return int(ts_ms), int(row_id)


def _window(where: Where, table: str, *, since_ms: int | None, until_ms: int | None, cursor: str | None,
            newest_first: bool) -> str:
    if since_ms is not None:
        where.add(f"{table}.ts_ms >= ?", since_ms)
    if until_ms is not None:
        where.add(f"{table}.ts_ms < ?", until_ms)
    if cursor is not None:
        where.add(f"({table}.ts_ms, {table}.id) {'<' if newest_first else '>'} (?, ?)", *decode_cursor(cursor))
    order = "DESC" if newest_first else "ASC"
    return f"ORDER BY {table}.ts_ms {order}, {table}.id {order}"


def _next(rows: Sequence[sqlite3.Row], limit: int) -> str | None:
    return encode_cursor(rows[limit - 1]["ts_ms"], rows[limit - 1]["id"]) if len(rows) > limit else None


def fill_page(
    rows: Rows,
    *,
    account: str | None = None,
    symbol: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    cursor: str | None = None,
    limit: int = 100,
    newest_first: bool = False,
) -> tuple[list[JournaledFill], str | None]:
    """One page of fills (`since_ms` <= time < `until_ms`) and the cursor of the next
    page (None on the last)."""
    limit = max(1, clamp_limit(limit))
    where = Where().eq("f.account", account).eq("f.symbol", symbol)
    order = _window(where, "f", since_ms=since_ms, until_ms=until_ms, cursor=cursor, newest_first=newest_first)
    found = rows(
        "SELECT f.*, o.intent_id AS intent_id, i.source AS source FROM fills f"
        " LEFT JOIN orders o ON o.client_id = f.client_id LEFT JOIN intents i ON i.id = o.intent_id"
        f" {where} {order} LIMIT ?",
        [*where.params, limit + 1],
    )
    page = [JournaledFill(codec.from_row(Fill, r), r["intent_id"], r["source"]) for r in found[:limit]]
    return page, _next(found, limit)


def funding_page(
    rows: Rows,
    *,
    account: str | None = None,
    symbol: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    cursor: str | None = None,
    limit: int = 100,
    newest_first: bool = False,
) -> tuple[list[FundingPayment], str | None]:
    """One page of funding payments, like `fill_page`."""
    limit = max(1, clamp_limit(limit))
    where = Where().eq("p.account", account).eq("p.symbol", symbol)
    order = _window(where, "p", since_ms=since_ms, until_ms=until_ms, cursor=cursor, newest_first=newest_first)
    found = rows(f"SELECT p.* FROM funding_payments p {where} {order} LIMIT ?", [*where.params, limit + 1])
    return [codec.from_row(FundingPayment, r) for r in found[:limit]], _next(found, limit)


def iter_funding(rows: Rows, since_ms: int = 0, page: int = 10_000) -> Iterator[FundingPayment]:
    """Every funding payment at or after `since_ms`, oldest first, a page at a time."""
    cursor: str | None = None
    while True:
        found, cursor = funding_page(rows, since_ms=since_ms, cursor=cursor, limit=page)
        yield from found
        if cursor is None:
            return


def insert_funding(payments: Sequence[FundingPayment]) -> Callable[[sqlite3.Connection], list[bool]]:
    """A write that journals payments once per (account, venue, payment id), in one
    transaction: for each, True if it was new."""
    rows = [codec.row_of(p) for p in payments]
    if not rows:
        return lambda conn: []
    sql = (
        f"INSERT INTO funding_payments ({', '.join(rows[0])}) VALUES ({', '.join('?' * len(rows[0]))})"
        " ON CONFLICT (account, venue, payment_id) DO NOTHING"
    )
    values = [tuple(row.values()) for row in rows]
    return lambda conn: [conn.execute(sql, v).rowcount == 1 for v in values]


def last_funding_ms(rows: Rows, account: str) -> int | None:
    found = rows("SELECT MAX(ts_ms) FROM funding_payments WHERE account = ?", (account,))
    return found[0][0] if found else None
