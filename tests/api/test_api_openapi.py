"""The OpenAPI document says what the server does: every status an operation can answer is
in it with the one error shape, its schemas are JSON Schema that validation agrees with
both ways, a malformed request is a 400 naming the field, and /metrics documents the
token it needs only when it needs one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import Api, start_api, stop_api, write_config

pytestmark = pytest.mark.anyio

ERROR = {"$ref": "#/components/schemas/Error"}
# pydantic's names for bounds: in a document they would be ignored, allowing what is refused.
NOT_JSON_SCHEMA = {"gt", "ge", "lt", "le", "multiple_of", "max_digits", "decimal_places"}


async def document(api: Api) -> dict[str, Any]:
    async with api.client(token=None) as http:
        r = await http.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys(item)


async def test_every_operation_documents_a_success_and_every_error_it_can_answer(api: Api) -> None:
    doc = await document(api)
    for method, path, op in operations(doc):
        where = f"{method} {path}"
        responses = op["responses"]
        successes = [code for code in responses if code.startswith("2")]
        assert successes and all(responses[c].get("content") for c in successes), where
        assert {"400", "403"} <= set(responses), where  # not as documented; Host or Origin refused
        assert ("security" in op) == ({"401", "429"} <= set(responses)), where
        for code, response in responses.items():
            if code >= "400":
                assert response["content"] == {"application/json": {"schema": ERROR}}, (where, code)
    docs = doc["paths"]["/api/v1/docs"]["get"]["responses"]["200"]["content"]
    assert list(docs) == ["text/html"]


async def test_every_schema_uses_json_schema_keywords_only(api: Api) -> None:
    doc = await document(api)
    assert NOT_JSON_SCHEMA.isdisjoint(keys(doc)), sorted(NOT_JSON_SCHEMA & set(keys(doc)))
    leverage = doc["components"]["schemas"]["LeverageIn"]["properties"]["leverage"]
    assert (leverage["exclusiveMinimum"], leverage["maximum"]) == (0, 1000)


async def test_links_lead_from_a_placed_order_and_a_new_account_to_the_operations_on_them(api: Api) -> None:
    doc = await document(api)
    placed_links = doc["paths"]["/api/v1/orders"]["post"]["responses"]["201"]["links"]
    added_links = doc["paths"]["/api/v1/accounts"]["post"]["responses"]["201"]["links"]
    assert set(placed_links) == {"get_orders_client_id", "patch_orders_client_id", "delete_orders_client_id"}
    assert set(added_links) == {"get_accounts_name", "delete_accounts_name"}
    expression = placed_links["get_orders_client_id"]["parameters"]["client_id"]
    assert expression.startswith("$response.body#/")
    async with api.client("trader") as http:
        placed = (await http.post("/api/v1/orders", json={"account": "paper", "symbol": "BTC", "side": "buy",
                                                          "size": "0.001", "price": "50000"})).json()
        client_id = placed
        for part in expression.removeprefix("$response.body#/").split("/"):  # a JSON pointer
            client_id = client_id[int(part) if part.isdigit() else part]
        followed = await http.get(f"/api/v1/orders/{client_id}")
    assert followed.status_code == 200 and followed.json()["client_id"] == placed["orders"][0]["client_id"]


async def test_a_404_on_an_account_path_means_the_account_not_a_symbol_in_the_body(api: Api) -> None:
    # Found by the fuzzer (seeds 1618 and 4242): after POST /accounts, PUT .../leverage with an
    # unknown symbol answered 404, which reads as the new account missing.
    async with api.client("admin") as http:
        symbol = await http.put("/api/v1/accounts/paper/leverage", json={"symbol": "NOPE", "leverage": 2})
        account = await http.put("/api/v1/accounts/nobody/leverage", json={"symbol": "BTC", "leverage": 2})
    assert symbol.status_code == 422 and symbol.json()["error"]["details"]["fields"][0]["field"] == "symbol"
    assert "no market NOPE-PERP" in symbol.json()["error"]["message"]
    assert account.status_code == 404


async def test_a_malformed_query_string_is_a_documented_400_naming_the_parameter(api: Api) -> None:
    documented = (await document(api))["paths"]["/api/v1/orders"]["get"]["responses"]
    cases = [
        ("limit=1&limit=2", "limit", "given twice"),
        ("colour=red", "colour", "unknown query parameter"),
        ("live=yes", "live", "must be true or false"),
        ("limit=ten", "limit", "must be an integer"),
        ("limit=0", "limit", "must be >= 1"),
    ]
    async with api.client("reader") as http:
        for query, field, message in cases:
            r = await http.get(f"/api/v1/orders?{query}")
            assert r.status_code == 400 and str(r.status_code) in documented, (query, r.text)
            error = r.json()["error"]
            assert error["type"] == "invalid_request"
            assert error["details"]["fields"][0]["field"] == field and message in error["message"], (query, error)


async def test_an_id_past_what_the_journal_stores_is_a_400_not_a_500(api: Api) -> None:
    # Found by the fuzzer (seed 42, configs/multi-sim.toml): SQLite integers are 64-bit.
    async with api.client("reader") as http:
        past = await http.get("/api/v1/events", params={"since_id": str(2**63)})
        last = await http.get("/api/v1/events", params={"since_id": str(2**63 - 1)})
    assert past.status_code == 400 and past.json()["error"]["details"]["fields"][0]["field"] == "since_id"
    assert last.status_code == 200 and last.json()["events"] == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/halt", {"scope": "global", "colour": "red"}, "colour"),
        ("/api/v1/resume", {"reason": "done", "cancel": True}, "cancel"),
        ("/api/v1/positions/BTC/close", {"size": "1"}, "size"),
        ("/api/v1/halt", {"reduce_only": 1}, "reduce_only"),
    ],
)
async def test_a_body_its_schema_forbids_is_refused_with_a_400_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    async with api.client("admin") as http:
        r = await http.post(path, json=body)
        status = (await http.get("/api/v1/status")).json()
    assert r.status_code == 400, r.text
    assert [f["field"] for f in r.json()["error"]["details"]["fields"]] == [field]
    assert status["trading_states"] == {}  # nothing was halted


async def test_plan_takes_the_config_as_json_or_as_toml_text(api: Api) -> None:
    text = api.config_path.read_text() + '\n[accounts.third]\nvenue = "sim"\n'
    added = {"accounts": {"added": ["third"], "changed": [], "removed": []}}
    async with api.client("admin") as http:
        as_json = await http.post("/api/v1/plan", json={"toml": text})
        as_toml = await http.post("/api/v1/plan", content=text, headers={"Content-Type": "application/toml"})
        not_text = await http.post("/api/v1/plan", json={"toml": 5})
        unknown = await http.post("/api/v1/plan", json={"toml": text, "apply": True})
        broken = await http.post("/api/v1/plan", json={"toml": "[daemon\n"})
    assert as_json.status_code == as_toml.status_code == 200
    assert as_json.json()["diff"] == as_toml.json()["diff"] == added
    assert not_text.status_code == unknown.status_code == 400
    assert "toml" in not_text.json()["error"]["message"] and "apply" in unknown.json()["error"]["message"]
    assert broken.status_code == 422 and broken.json()["error"]["type"] == "config_error"
    assert "third" not in api.daemon.config.accounts  # planned, never applied
    body = (await document(api))["paths"]["/api/v1/plan"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PlanIn"}
    assert "application/toml" in body["content"] and body["required"] is False


# --------------------------------------------------------------------------- /metrics


@pytest.fixture
async def public_metrics(tmp_path: Path, socket_dir: Path, tokens_env: None) -> AsyncIterator[Api]:
    running = await start_api(write_config(tmp_path, socket_dir / "perpd.sock", api='metrics = "public"'))
    try:
        yield running
    finally:
        await stop_api(running)


async def test_metrics_token_mode_answers_401_without_a_token_and_documents_it(api: Api) -> None:
    async with api.client(token=None) as http:
        anonymous = await http.get("/metrics")
    async with api.client("reader") as http:
        scraped = await http.get("/metrics")
    metrics = (await document(api))["paths"]["/metrics"]["get"]
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "unauthorized"
    assert scraped.status_code == 200 and "perpd_orders" in scraped.text
    assert {"401", "429"} <= set(metrics["responses"]) and metrics["x-scope"] == "read"


async def test_public_metrics_on_a_loopback_bind_scrape_without_a_token(public_metrics: Api) -> None:
    async with public_metrics.client(token=None) as http:
        scraped = await http.get("/metrics")
        status = await http.get("/api/v1/status")
    metrics = (await document(public_metrics))["paths"]["/metrics"]["get"]
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    assert "perpd_api_request_seconds" in scraped.text
    assert status.status_code == 401  # only /metrics is public
    assert "401" not in metrics["responses"] and "security" not in metrics
    assert list(metrics["responses"]["200"]["content"]) == ["text/plain"]
