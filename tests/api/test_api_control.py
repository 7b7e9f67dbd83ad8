"""Control endpoints: status, plan, reload, halt/resume, the audit log, the config,
OpenAPI, docs and metrics."""

from __future__ import annotations

import pytest

from perpd.api.routes import ENDPOINTS
from api_support import TOKENS, Api

pytestmark = pytest.mark.anyio

ORDER = {"account": "paper", "symbol": "BTC", "side": "buy", "size": "0.001", "price": "50000"}


async def test_status_reports_venues_accounts_revision_and_trading_states(api: Api) -> None:
    async with api.client("reader") as http:
        status = (await http.get("/api/v1/status")).json()
    assert status["config_revision"] >= 1
    assert status["venues"]["sim"]["connected"] is True
    assert status["accounts"]["paper"]["synced"] is True
    assert status["accounts"]["paper"]["trading_state"] == "active"


async def test_halt_cancels_and_blocks_orders_until_resume(api: Api) -> None:
    async with api.client("trader") as trader, api.client("admin") as admin:
        resting = (await trader.post("/api/v1/orders", json=ORDER)).json()["orders"][0]
        halted = await trader.post("/api/v1/halt", json={"reason": "drill"})
        refused = await trader.post("/api/v1/orders", json=ORDER)
        status = (await trader.get("/api/v1/status")).json()
        resumed = await admin.post("/api/v1/resume", json={"reason": "drill over"})
        placed = await trader.post("/api/v1/orders", json=ORDER)
        cancelled = (await trader.get(f"/api/v1/orders/{resting['client_id']}")).json()
    assert halted.status_code == 200 and halted.json() == {"scope": "global", "state": "halted", "reason": "drill", "cancelled": 1}
    assert cancelled["status"] == "cancelled"
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "denied"
    assert status["trading_states"]["global"]["state"] == "halted"
    assert resumed.json()["state"] == "active"
    assert placed.status_code == 201


async def test_halting_an_unknown_scope_is_404_and_changes_nothing(api: Api) -> None:
    before = (await api.counts())
    async with api.client("trader") as http:
        r = await http.post("/api/v1/halt", json={"scope": "account:nobody"})
        wrong_type = await http.post("/api/v1/halt", json={"scope": "global", "cancel": "no"})
    assert r.status_code == 404
    assert wrong_type.status_code == 400 and "cancel" in wrong_type.json()["error"]["message"]
    assert (await api.counts()) == before
    assert api.daemon.engine.trading == {}


async def test_events_are_filterable_and_tail_by_id(api: Api) -> None:
    async with api.client("trader") as http:
        await http.post("/api/v1/orders", json=ORDER)
        await http.post("/api/v1/orders", json={**ORDER, "account": "spare"})
        places = (await http.get("/api/v1/events", params={"action": "place"})).json()["events"]
        spare = (await http.get("/api/v1/events", params={"action": "place", "account": "spare"})).json()["events"]
        after = (await http.get("/api/v1/events", params={"since_id": places[0]["id"], "action": "place"})).json()["events"]
    assert [e["account"] for e in places] == ["paper", "spare"]
    assert [e["account"] for e in spare] == ["spare"]
    assert [e["id"] for e in after] == [places[1]["id"]]
    assert places[0]["actor"] == "api:trader" and places[0]["result"] == "open"


async def test_config_shows_secret_references_never_secrets(api: Api) -> None:
    async with api.client("reader") as http:
        r = await http.get("/api/v1/config")
    assert r.status_code == 200
    body = r.json()
    assert [t["secret"] for t in body["config"]["api"]["tokens"]] == ["env:PERPD_TEST_READER", "env:PERPD_TEST_TRADER", "env:PERPD_TEST_ADMIN"]
    assert all(secret not in r.text for secret in TOKENS.values())
    assert body["path"] == str(api.config_path.resolve())


async def test_plan_of_the_file_is_empty_and_plan_of_new_text_shows_the_diff(api: Api) -> None:
    text = api.config_path.read_text() + '\n[accounts.third]\nvenue = "sim"\n'
    async with api.client("admin") as http:
        same = await http.post("/api/v1/plan")
        other = await http.post("/api/v1/plan", content=text, headers={"Content-Type": "application/toml"})
        broken = await http.post("/api/v1/plan", content="[daemon\n")
    assert same.status_code == 200 and same.json()["diff"] == {}
    assert other.json()["diff"] == {"accounts": {"added": ["third"], "changed": [], "removed": []}}
    assert broken.status_code == 422 and broken.json()["error"]["type"] == "config_error"
    assert "third" not in api.daemon.config.accounts


async def test_reload_applies_the_file_and_a_bad_file_keeps_the_old_config(api: Api) -> None:
    good = api.config_path.read_text()
    async with api.client("admin") as http:
        api.config_path.write_text(good + '\n[accounts.third]\nvenue = "sim"\n')
        applied = await http.post("/api/v1/reload")
        api.config_path.write_text(good + '\n[accounts.fourth]\nvenue = "nowhere"\n')
        refused = await http.post("/api/v1/reload")
    assert applied.status_code == 200 and applied.json()["changed"]["accounts"]["added"] == ["third"]
    assert refused.status_code == 422
    assert "accounts.fourth.venue" in refused.json()["error"]["message"]
    assert set(api.daemon.config.accounts) == {"paper", "spare", "third"}


async def test_the_openapi_document_lists_every_endpoint_with_its_models(api: Api) -> None:
    async with api.client(token=None) as http:
        doc = (await http.get("/api/v1/openapi.json")).json()
        docs = await http.get("/api/v1/docs")
    assert doc["openapi"] == "3.1.0"
    for ep in ENDPOINTS:
        assert ep.method.lower() in doc["paths"][ep.full_path], ep.full_path
    place = doc["paths"]["/api/v1/orders"]["post"]
    assert place["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OrderIn"}
    assert "size" in doc["components"]["schemas"]["OrderIn"]["properties"]
    assert set(place["responses"]) == {"200", "201", "400", "401", "403", "404", "409", "422", "429", "502", "503", "504"}
    assert doc["components"]["schemas"]["Order"]["properties"]["size"]["type"] == "string"
    assert docs.status_code == 200 and "openapi.json" in docs.text and "<script>" in docs.text


async def test_metrics_are_prometheus_text_with_the_promised_series(api: Api) -> None:
    async with api.client("trader") as http:
        await http.post("/api/v1/orders", json=ORDER)
        await http.post("/api/v1/orders", json={**ORDER, "size": "1000"})  # denied by margin or accepted: either counts
        r = await http.get("/metrics")
        unauthenticated = await http.get("/metrics", headers={"Authorization": ""})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    for series in (
        'perpd_api_request_seconds_count{method="POST",route="/api/v1/orders",status="201"}',
        'perpd_orders{status="open"}',
        "perpd_reconcile_passes_total",
        "perpd_risk_denials_total",
        'perpd_api_rate_limit_headroom{token="trader"}',
        "perpd_ws_clients",
        "perpd_venue_request_seconds",
    ):
        assert series in text, series
    assert unauthenticated.status_code == 401


async def test_unknown_paths_and_methods_answer_in_the_one_error_shape(api: Api) -> None:
    async with api.client("reader") as http:
        missing = await http.get("/api/v1/nothing-here")
        method = await http.put("/api/v1/status")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    assert method.status_code == 405 and method.json()["error"]["type"] == "method_not_allowed"


async def test_every_read_endpoint_answers_alike_on_tcp_and_the_unix_socket(api: Api) -> None:
    async with api.client("trader") as tcp, api.local() as local:
        order = (await tcp.post("/api/v1/orders", json=ORDER)).json()["orders"][0]
        params = {"client_id": order["client_id"], "name": "paper", "symbol": "BTC"}
        paths = [ep.full_path.format(**params) for ep in ENDPOINTS if ep.method == "GET"]
        paths += ["/metrics", "/api/v1/openapi.json", "/api/v1/docs"]
        for path in paths:
            over_tcp, over_socket = await tcp.get(path), await local.get(path)
            assert over_tcp.status_code == over_socket.status_code == 200, (path, over_tcp.text, over_socket.text)
            if path.endswith(("/config", "/status", "/accounts", "/orders", "/positions")):
                assert over_tcp.headers["content-type"] == over_socket.headers["content-type"] == "application/json"
