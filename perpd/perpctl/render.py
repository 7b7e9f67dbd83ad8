"""Tables for people: aligned text with ANSI colours, HTML for notebooks, JSON for scripts.

Colours are data: `COLUMN_STYLES` names, per column, how a cell's value picks a style
(buy green / sell red, losses red, halted red, ...). Every renderer reads the same table.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from perpd.perpctl.tables import Result, Table
from perpd.wire import to_data

ANSI = {"header": "1;4", "title": "1;36", "good": "32", "bad": "31", "warn": "33", "muted": "90", "error": "1;31"}
HTML_STYLE = {"good": "color:#1a7f37", "bad": "color:#cf222e", "warn": "color:#9a6700", "muted": "color:#6e7781"}


def _sign(value: Any) -> str:
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return "good" if value > 0 else ("bad" if value < 0 else "")
    return ""


def _word(good: Iterable[str], bad: Iterable[str], warn: Iterable[str] = (), muted: Iterable[str] = ()) -> Callable[[Any], str]:
    good, bad, warn, muted = frozenset(good), frozenset(bad), frozenset(warn), frozenset(muted)

    def style(value: Any) -> str:
        text = str(value).split(" ")[0]
        if text in good:
            return "good"
        if text in bad:
            return "bad"
        if text in warn:
            return "warn"
        return "muted" if text in muted else ""

    return style


COLUMN_STYLES: dict[str, Callable[[Any], str]] = {
    "side": _word({"buy"}, {"sell"}),
    "status": _word({"filled", "open"}, {"rejected", "unknown"}, {"partially_filled", "pending"}, {"cancelled", "expired"}),
    "state": _word({"active"}, {"halted", "blocked"}, {"reduce_only"}),
    "health": _word({"synced", "up"}, {"down"}, {"connected"}, {"disabled"}),
    "result": _word({"ok", "filled", "open", "placed", "cancelled"}, {"denied", "rejected", "error", "failed"}, {"unknown"}),
    "size": _sign,
    "net size": _sign,
    "upnl": _sign,
    "rpnl": _sign,
    "realized": _sign,
    "funding": _sign,
    "unrealized": _sign,
    "net": _sign,
    "booked": _sign,
    "amount": _sign,
    "rate": _sign,
    "bps": _sign,
    "bid": lambda v: "good" if v is not None else "",
    "ask": lambda v: "bad" if v is not None else "",
}


def cell(value: Any) -> str:
    """A cell's text: Decimals exact and never in exponent form; None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(getattr(value, "value", value))


def _numeric(value: Any) -> bool:
    return isinstance(value, (Decimal, int, float)) and not isinstance(value, bool)


def _paint(text: str, style: str, color: bool) -> str:
    code = ANSI.get(style) if color else None
    return f"\x1b[{code}m{text}\x1b[0m" if code else text


def table_text(table: Table, *, color: bool = False) -> str:
    """Aligned columns (numbers right, text left); the title above, `(none)` when empty."""
    lines = [_paint(table.title, "title", color)] if table.title else []
    if not table.rows:
        return "\n".join([*lines, _paint("(none)", "muted", color)])
    texts = [[cell(v) for v in row] for row in table.rows]
    widths = [max(len(c), *(len(r[i]) for r in texts)) for i, c in enumerate(table.columns)]
    right = [any(_numeric(row[i]) for row in table.rows) for i in range(len(table.columns))]
    header = "  ".join(_paint(c.rjust(w) if r else c.ljust(w), "header", color)
                       for c, w, r in zip(table.columns, widths, right, strict=True))
    lines.append(header.rstrip() if not color else header)
    for row, text in zip(table.rows, texts, strict=True):
        parts = []
        for i, (value, shown) in enumerate(zip(row, text, strict=True)):
            padded = shown.rjust(widths[i]) if right[i] else shown.ljust(widths[i])
            style = COLUMN_STYLES.get(table.columns[i], lambda v: "")(value)
            parts.append(_paint(padded, style, color))
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def result_text(result: Result, *, color: bool = False) -> str:
    parts = [table_text(t, color=color) for t in result.tables]
    if result.message:
        parts.append(result.message)
    return "\n\n".join(parts)


def result_json(result: Result) -> str:
    """The typed value as JSON: Decimals as strings (exact), enums as their values."""
    return json.dumps(to_data(result.value), indent=2, sort_keys=False)


def error_text(exc: Exception, *, color: bool = False) -> str:
    """One line: `not_found: no order with id 'x'`, `denied by policy "house": max_order_notional ...`."""
    kind = getattr(exc, "type_name", None) or type(exc).__name__
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    # "denied by policy ..." says what it is already; "no order with id 'x'" needs "not_found: ".
    text = message if message.lower().startswith(kind.replace("_", " ")) else f"{kind}: {message}"
    return _paint(text.replace("\n", " "), "error", color)


def table_html(table: Table) -> str:
    """An HTML table (what a notebook shows when pandas is not installed)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for name, value in zip(table.columns, row, strict=True):
            css = ["text-align:right"] if _numeric(value) else ["text-align:left"]
            style = HTML_STYLE.get(COLUMN_STYLES.get(name, lambda v: "")(value))
            if style:
                css.append(style)
            cells.append(f'<td style="{";".join(css)}">{html.escape(cell(value))}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    caption = f"<caption style='text-align:left;font-weight:bold'>{html.escape(table.title)}</caption>" if table.title else ""
    return (f'<table class="perpd">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body) or f'<tr><td colspan={len(table.columns)}>(none)</td></tr>'}</tbody></table>")
