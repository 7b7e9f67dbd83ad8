"""Money: fills, funding payments (JSON pages, or CSV for accounting) and PnL."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from starlette.responses import Response

from perpd.api.endpoint import Call
from perpd.api.models import In, Limit, Millis, Name, Symbol
from perpd.errors import InvalidRequest
from perpd.journal.money import CURSOR_PATTERN
from perpd.wire import FILL_COLUMNS, FUNDING_COLUMNS, FillPage, FundingPage, PnlReport, csv_text

CSV = "text/csv; charset=utf-8"
NEXT_CURSOR_HEADER = "Next-Cursor"  # a CSV page's next cursor (JSON pages carry it in the body)


class LedgerQuery(In):
    account: Name | None = None
    symbol: Symbol | None = None
    since: Millis | None = Field(None, description="at or after this time (ms since the epoch)")
    until: Millis | None = Field(None, description="before this time (ms since the epoch)")
    cursor: Annotated[str, Field(max_length=40, pattern=CURSOR_PATTERN)] | None = Field(
        None, description="the next_cursor of the previous page")
    limit: Limit = 100
    newest_first: bool = False
    format: Literal["json", "csv"] = Field("json", description="csv: text/csv, the next cursor in a Next-Cursor header")


class PnlQuery(In):
    account: Name | None = None
    period: Literal["today", "window", "inception"] | None = Field(
        None, description="today (since the daily loss-limit reset; the default), window (since/until) or inception")
    since: Millis | None = Field(None, description="a window's start (ms since the epoch)")
    until: Millis | None = Field(None, description="a window's end (ms since the epoch); default now")
    curve: bool = Field(False, description="also the cumulative booked PnL after each journaled event")


def _filters(q: LedgerQuery) -> dict[str, object]:
    return {"account": q.account, "symbol": q.symbol, "since_ms": q.since, "until_ms": q.until, "cursor": q.cursor,
            "limit": q.limit, "newest_first": q.newest_first}


def _csv(text: str, cursor: str | None, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    if cursor is not None:
        headers[NEXT_CURSOR_HEADER] = cursor
    return Response(text, media_type=CSV, headers=headers)


async def fills(call: Call) -> FillPage | Response:
    q: LedgerQuery = call.query
    page = await call.engine.accounting.fills(**_filters(q))
    if q.format == "csv":
        return _csv(csv_text(page.fills, FILL_COLUMNS), page.next_cursor, "fills")
    return page


async def funding_payments(call: Call) -> FundingPage | Response:
    q: LedgerQuery = call.query
    page = await call.engine.accounting.funding_payments(**_filters(q))
    if q.format == "csv":
        return _csv(csv_text(page.funding_payments, FUNDING_COLUMNS), page.next_cursor, "funding-payments")
    return page


async def pnl(call: Call) -> PnlReport:
    q: PnlQuery = call.query
    windowed = q.since is not None or q.until is not None
    period = q.period or ("window" if windowed else "today")
    if windowed and period != "window":
        raise InvalidRequest(f"since/until give a window: leave period out or say window (not {period})",
                             details={"fields": [{"field": "period", "message": "since/until need period=window"}]})
    if q.since is not None and q.until is not None and q.since > q.until:
        raise InvalidRequest("since is after until", details={"fields": [{"field": "since", "message": "after until"}]})
    return await call.engine.accounting.pnl(account=q.account, period=period, since_ms=q.since, until_ms=q.until,
                                            with_curve=q.curve)
