"""The money verbs: fills, payments (funding payments) and pnl.

    fills [SYMBOL] [on ACCOUNT] [limit N] [since TIME] [until TIME] [csv]
    payments [SYMBOL] [on ACCOUNT] [limit N] [since TIME] [until TIME] [csv]
    pnl [ACCOUNT] [today|inception] [since TIME] [until TIME] [curve]

TIME is milliseconds since the epoch, a UTC date or time (`2026-12-03`,
`2026-12-03T09:30`), or an age (`90m`, `12h`, `7d`: that long ago). Without `limit`,
the newest 20 rows show (newest last); `csv` prints every row of the window, oldest
first, as the daemon's CSV (`perpctl fills --csv > fills.csv`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from perpd.client.calls import Surface
from perpd.perpctl import tables
from perpd.perpctl.grammar import Kind, Slot, Syntax, UsageError
from perpd.perpctl.tables import Result


class Session(Protocol):
    """What these verbs need of perpctl's session: its client."""

    client: Surface

SHOWN = 20  # rows a table shows without `limit`
_AGE = re.compile(r"^(\d+)([smhd])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

TIME_OPTIONS = {"since": Slot("since", Kind.WORD, metavar="TIME"), "until": Slot("until", Kind.WORD, metavar="TIME")}
LEDGER_SYNTAX = Syntax(
    (Slot("symbol", Kind.SYMBOL, optional=True),),
    {"on": Slot("account", Kind.ACCOUNT), "limit": Slot("limit", Kind.INT, metavar="N"), **TIME_OPTIONS},
    {"csv": ("csv", True)},
)
PNL_SYNTAX = Syntax(
    (Slot("account", Kind.ACCOUNT, optional=True),),
    {"on": Slot("on", Kind.ACCOUNT, metavar="ACCOUNT"), **TIME_OPTIONS},
    {"today": ("period", "today"), "inception": ("period", "inception"), "curve": ("curve", True)},
)


def time_ms(word: str, now_ms: int | None = None) -> int:
    """A TIME word as milliseconds since the epoch (UsageError if it is none)."""
    if word.isdigit():
        return int(word)
    age = _AGE.fullmatch(word.lower())
    if age is not None:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return now - int(age.group(1)) * _UNIT_MS[age.group(2)]
    try:
        moment = datetime.fromisoformat(word)
    except ValueError:
        raise UsageError(f"time: expected ms since the epoch, a UTC date/time or an age like 12h (got {word!r})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _window(a: dict[str, Any]) -> dict[str, int]:
    return {k: time_ms(a[k]) for k in ("since", "until") if k in a}


def _ledger(s: Session, a: dict[str, Any], kind: str) -> Result:
    window = _window(a)
    where = {"account": a.get("account"), "symbol": a.get("symbol"), **window}
    if a.get("csv"):
        text = _all_csv(s.client.fills_csv if kind == "fills" else s.client.funding_payments_csv, where, a.get("limit"))
        return Result(text, message=text)
    fetch = s.client.fills if kind == "fills" else s.client.funding_payments
    page = fetch(limit=a.get("limit", SHOWN), newest_first=True, **where)
    rows = list(reversed(page.fills if kind == "fills" else page.funding_payments))  # newest last
    table = tables.fills(rows) if kind == "fills" else tables.funding_payments(rows)
    return Result(rows, [table])


def _all_csv(fetch: Callable[..., Any], where: dict[str, Any], limit: int | None) -> str:
    """Every row of the window as the daemon's CSV (one page of `limit` if given)."""
    parts: list[str] = []
    cursor = None
    while True:
        page = fetch(cursor=cursor, limit=limit or 1000, **where)
        text = page.text if not parts else page.text.split("\n", 1)[1]  # one header line
        parts.append(text)
        cursor = page.next_cursor
        if cursor is None or limit is not None:
            return "".join(parts).rstrip("\n")


def fills(s: Session, a: dict[str, Any]) -> Result:
    return _ledger(s, a, "fills")


def payments(s: Session, a: dict[str, Any]) -> Result:
    return _ledger(s, a, "payments")


def pnl(s: Session, a: dict[str, Any]) -> Result:
    window = _window(a)
    period = a.get("period")
    if window and period is not None:
        raise UsageError(f"pnl: since/until give a window; leave out {period!r}")
    value = s.client.pnl(account=a.get("account") or a.get("on"), period=period, curve=bool(a.get("curve")), **window)
    if a.get("curve"):
        return Result(value, [tables.pnl_curve(value)])
    return Result(value, tables.pnl(value))
