"""Fills, funding payments and PnL over real HTTP: cursor pages, CSV, filters, errors, the
OpenAPI document, and today's PnL being the loss tracker's (the kill switch's) numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest

from api_support import Api

pytestmark = pytest.mark.anyio

MARKET = {"account": "paper", "symbol": "BTC", "side": "buy", "type": "market", "size": "0.001"}


async def _fills(api: Api, count: int) -> list[dict[str, Any]]:
    async with api.client() as http:
        for i in range(count):
            side = "buy" if i % 2 == 0 else "sell"
            r = await http.post("/api/v1/orders", json={**MARKET, "side": side})
            assert r.status_code == 201, r.text
        r = await http.get("/api/v1/fills", params={"account": "paper", "limit": 1000})
    assert r.status_code == 200, r.text
    return r.json()["fills"]


async def test_fills_come_in_pages_joined_by_the_cursor(api: Api) -> None:
    every = await _fills(api, 5)
    assert len(every) >= 5 and [f["ts_ms"] for f in every] == sorted(f["ts_ms"] for f in every)
    assert {f["source"] for f in every} == {"api"} and all(f["intent_id"] for f in every)
    assert {f["fee_currency"] for f in every} == {"USDC"}
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    async with api.client("reader") as http:
        while True:
            page = (await http.get("/api/v1/fills", params=params)).json()
            seen += page["fills"]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        newest = (await http.get("/api/v1/fills", params={"newest_first": "true", "limit": 1})).json()["fills"]
        spare = (await http.get("/api/v1/fills", params={"account": "spare"})).json()
    assert seen == every and newest == every[-1:]
    assert spare == {"fills": [], "next_cursor": None}


async def test_fills_as_csv_have_every_field_and_the_next_cursor_in_a_header(api: Api) -> None:
    every = await _fills(api, 3)
    async with api.client("reader") as http:
        r = await http.get("/api/v1/fills", params={"format": "csv", "limit": 2})
        rest = await http.get("/api/v1/fills", params={"format": "csv", "cursor": r.headers["next-cursor"]})
    assert r.headers["content-type"].startswith("text/csv")
    rows = [*csv.DictReader(io.StringIO(r.text)), *csv.DictReader(io.StringIO(rest.text))]
    assert [row["trade_id"] for row in rows] == [f["trade_id"] for f in every]
    assert rows[0]["price"] == every[0]["price"] and rows[0]["fee"] == every[0]["fee"]
    assert rows[0]["intent_id"] == str(every[0]["intent_id"]) and "next-cursor" not in rest.headers


async def test_unknown_accounts_are_404_and_a_period_with_a_window_is_422(api: Api) -> None:
    async with api.client("reader") as http:
        assert (await http.get("/api/v1/fills", params={"account": "nobody"})).status_code == 404
        assert (await http.get("/api/v1/funding-payments", params={"account": "nobody"})).status_code == 404
        assert (await http.get("/api/v1/pnl", params={"account": "nobody"})).status_code == 404
        refused = await http.get("/api/v1/pnl", params={"period": "today", "since": 1})
        backwards = await http.get("/api/v1/pnl", params={"since": 10, "until": 5})
        malformed = await http.get("/api/v1/fills", params={"cursor": "yesterday"})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["fields"][0]["field"] == "period"
    assert backwards.status_code == 422
    assert malformed.status_code == 400  # not as the document says: the cursor's pattern


async def test_todays_pnl_is_the_loss_trackers_own(api: Api) -> None:
    await _fills(api, 4)
    engine = api.daemon.engine
    assert engine is not None
    report = await engine.accounting.pnl()
    views = {name: engine.pnl.view(name, "00:00", engine.clock.now_ms()) for name in ("paper", "spare")}
    for line in report.by_account:
        view = views[line.account]
        assert line.net == view.pnl and line.realized - line.fees + line.funding == view.realized
        assert line.unrealized == view.unrealized_change
    assert report.total.fees == sum((Decimal(f.fee) for f in engine.journal.fills()), Decimal(0))
    async with api.client("reader") as http:
        over_http = (await http.get("/api/v1/pnl")).json()
        inception = (await http.get("/api/v1/pnl", params={"period": "inception", "curve": "true"})).json()
    assert over_http["period"] == "today" and over_http["by_account"][0]["fees"] == str(report.by_account[0].fees)
    assert inception["total"]["fees"] == str(report.total.fees)
    booked = Decimal(inception["total"]["realized"]) - Decimal(inception["total"]["fees"])
    assert Decimal(inception["curve"][-1]["booked"]) == booked  # the curve ends where the booked PnL is


async def test_the_openapi_document_lists_the_money_endpoints_with_csv(api: Api) -> None:
    async with api.client(None) as http:
        paths = (await http.get("/api/v1/openapi.json")).json()["paths"]
    for path in ("/api/v1/fills", "/api/v1/funding-payments"):
        assert set(paths[path]["get"]["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {p["name"] for p in paths["/api/v1/pnl"]["get"]["parameters"]} == {"account", "period", "since", "until", "curve"}
