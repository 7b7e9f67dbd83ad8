"""Orders through real HTTP: place, idempotent retries (also across a restart), list,
get, modify, cancel; malformed and invalid requests change nothing."""

from __future__ import annotations

import pytest

from decimal import Decimal

from api_support import Api, same, start_api, stop_api

pytestmark = pytest.mark.anyio

RESTING = {"account": "paper", "symbol": "BTC", "side": "buy", "type": "limit", "size": "0.001", "price": "50000"}


async def test_placing_an_order_returns_it_journaled_and_resting(api: Api) -> None:
    async with api.client() as http:
        r = await http.post("/api/v1/orders", json=RESTING)
    assert r.status_code == 201, r.text
    [order] = r.json()["orders"]
    assert order["status"] == "open"
    assert order["symbol"] == "BTC-PERP" and Decimal(order["size"]) == Decimal("0.001") and Decimal(order["price"]) == 50000
    await api.daemon.journal.flush()
    assert api.daemon.journal.order(order["client_id"]).status.value == "open"


async def test_the_same_idempotency_key_returns_the_same_order_without_placing_another(api: Api) -> None:
    async with api.client(**{"Idempotency-Key": "k-1"}) as http:
        first = await http.post("/api/v1/orders", json=RESTING)
        before = (await api.counts())
        again = await http.post("/api/v1/orders", json=RESTING)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [same(o) for o in again.json()["orders"]] == [same(o) for o in first.json()["orders"]]
    assert (await api.counts())["orders"] == before["orders"] and (await api.counts())["intents"] == before["intents"]


async def test_concurrent_retries_with_one_key_place_one_order(api: Api) -> None:
    import asyncio

    async with api.client(**{"Idempotency-Key": "k-race"}) as http:
        replies = await asyncio.gather(*(http.post("/api/v1/orders", json=RESTING) for _ in range(5)))
    ids = {r.json()["orders"][0]["client_id"] for r in replies}
    assert len(ids) == 1
    assert sorted(r.status_code for r in replies) == [200, 200, 200, 200, 201]
    await api.daemon.journal.flush()
    assert len(api.daemon.journal.orders(limit=100)) == 1


async def test_an_idempotency_key_reused_for_another_order_is_refused(api: Api) -> None:
    async with api.client(**{"Idempotency-Key": "k-2"}) as http:
        await http.post("/api/v1/orders", json=RESTING)
        before = (await api.counts())
        r = await http.post("/api/v1/orders", json={**RESTING, "price": "49000"})
    assert r.status_code == 422
    assert r.json()["error"]["type"] == "invalid_request"
    assert (await api.counts()) == before


async def test_the_idempotency_key_is_honoured_across_a_restart(api: Api) -> None:
    async with api.client(**{"Idempotency-Key": "k-restart"}) as http:
        first = (await http.post("/api/v1/orders", json=RESTING)).json()["orders"]
    await stop_api(api)
    again_api = await start_api(api.config_path)
    try:
        async with again_api.client(**{"Idempotency-Key": "k-restart"}) as http:
            r = await http.post("/api/v1/orders", json=RESTING)
        assert r.status_code == 200
        assert [o["client_id"] for o in r.json()["orders"]] == [o["client_id"] for o in first]
        await again_api.daemon.journal.flush()
        assert len(again_api.daemon.journal.orders(limit=100)) == 1
    finally:
        await stop_api(again_api)


async def test_orders_are_listed_newest_first_with_filters_and_pages(api: Api) -> None:
    async with api.client() as http:
        for price in ("50000", "50001", "50002"):
            assert (await http.post("/api/v1/orders", json={**RESTING, "price": price})).status_code == 201
        await http.post("/api/v1/orders", json={**RESTING, "account": "spare", "symbol": "ETH", "size": "0.01", "price": "3000"})
        page = (await http.get("/api/v1/orders", params={"account": "paper", "limit": 2})).json()
        rest = (await http.get("/api/v1/orders", params={"account": "paper", "limit": 2, "offset": page["next_offset"]})).json()
        eth = (await http.get("/api/v1/orders", params={"symbol": "ETH-PERP"})).json()
        filled = (await http.get("/api/v1/orders", params={"status": "filled"})).json()
    assert [Decimal(o["price"]) for o in page["orders"]] == [50002, 50001] and page["next_offset"] == 2
    assert [Decimal(o["price"]) for o in rest["orders"]] == [50000] and rest["next_offset"] is None
    assert [o["account"] for o in eth["orders"]] == ["spare"]
    assert filled["orders"] == []


async def test_one_order_is_fetched_by_client_id_and_an_unknown_id_is_404(api: Api) -> None:
    async with api.client() as http:
        placed = (await http.post("/api/v1/orders", json=RESTING)).json()["orders"][0]
        got = await http.get(f"/api/v1/orders/{placed['client_id']}")
        missing = await http.get("/api/v1/orders/pd-nope")
    assert got.status_code == 200 and same(got.json()) == same(placed)
    assert missing.status_code == 404
    assert missing.json() == {"error": {"type": "not_found", "message": "no order with id 'pd-nope'", "details": None}}


async def test_an_order_is_modified_then_cancelled(api: Api) -> None:
    async with api.client() as http:
        placed = (await http.post("/api/v1/orders", json=RESTING)).json()["orders"][0]
        path = f"/api/v1/orders/{placed['client_id']}"
        patched = await http.patch(path, json={"price": "50500"})
        cancelled = await http.delete(path)
        again = await http.delete(path)
    assert patched.status_code == 200, patched.text
    assert Decimal(patched.json()["price"]) == 50500
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert again.json()["status"] == "cancelled"  # cancelling a cancelled order is a no-op


async def test_cancel_all_cancels_only_what_the_filter_selects(api: Api) -> None:
    async with api.client() as http:
        await http.post("/api/v1/orders", json=RESTING)
        await http.post("/api/v1/orders", json={**RESTING, "price": "50001"})
        spare = (await http.post("/api/v1/orders", json={**RESTING, "account": "spare"})).json()["orders"][0]
        r = await http.delete("/api/v1/orders", params={"account": "paper"})
        left = (await http.get("/api/v1/orders", params={"live": "true"})).json()["orders"]
    assert r.status_code == 200 and r.json() == {"cancelled": 2}
    assert [o["client_id"] for o in left] == [spare["client_id"]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**RESTING, "size": "-1"}, 400, "size"),
        ({**RESTING, "size": 0}, 400, "size"),
        ({**RESTING, "size": "1e400"}, 400, "size"),
        ({**RESTING, "price": 1e300}, 400, "price"),
        ({**RESTING, "size": True}, 400, "size"),
        ({**RESTING, "side": "long"}, 400, "side"),
        ({**RESTING, "reduce_only": "yes"}, 400, "reduce_only"),
        ({**RESTING, "leverage": 5}, 400, "leverage"),
        ({k: v for k, v in RESTING.items() if k != "side"}, 400, "side"),
        ({**RESTING, "symbol": "BTC/USD"}, 400, "symbol"),
        ({**RESTING, "account": "nobody"}, 404, "account"),
        ({**RESTING, "symbol": "DOGE"}, 404, "symbol"),
        ({**RESTING, "route": "nowhere", "account": None}, 404, "route"),
        ({**RESTING, "route": "both", "account": None, "symbol": "DOGE"}, 404, "symbol"),
    ],
)
async def test_invalid_orders_get_a_clear_4xx_naming_the_field_and_change_nothing(api: Api, body: dict, status: int, field: str) -> None:
    before = (await api.counts())
    async with api.client() as http:
        r = await http.post("/api/v1/orders", json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert field in error["message"] or (error["details"] or {}).get("field") == field
    assert (await api.counts()) == before
    assert not any(o.status.is_live for o in api.daemon.engine.orders.values())


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"size": NaN}', b"[1, 2", b'{"size": 1' + b"0" * 5000 + b"}", b"\xff\xfe"],
)
async def test_malformed_json_is_a_400_and_changes_nothing(api: Api, raw: bytes) -> None:
    before = (await api.counts())
    async with api.client() as http:
        r = await http.post("/api/v1/orders", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "malformed_json"
    assert (await api.counts()) == before


async def test_a_size_given_as_a_json_number_is_read_with_every_digit(api: Api) -> None:
    body = b'{"account":"paper","symbol":"BTC","side":"buy","price":50000,"size":0.00100000000000000000001}'
    async with api.client() as http:
        r = await http.post("/api/v1/orders", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    [intent] = [i for i in api.daemon.journal.open_intents() if i.spec.price == 50000]
    assert intent.spec.size == Decimal("0.00100000000000000000001")  # not the float 0.001


async def test_a_json_array_body_is_a_400_and_a_huge_integer_size_too(api: Api) -> None:
    async with api.client() as http:
        array = await http.post("/api/v1/orders", content=b"[]", headers={"Content-Type": "application/json"})
        huge = await http.post("/api/v1/orders", content=b'{"account":"paper","symbol":"BTC","side":"buy","price":"50000","size":' + b"9" * 60 + b"}")
    assert array.status_code == 400
    assert huge.status_code == 400 and "size" in huge.json()["error"]["message"]


async def test_modify_with_nothing_to_change_is_422_and_a_negative_price_400(api: Api) -> None:
    async with api.client() as http:
        placed = (await http.post("/api/v1/orders", json=RESTING)).json()["orders"][0]
        path = f"/api/v1/orders/{placed['client_id']}"
        empty = await http.patch(path, json={})
        negative = await http.patch(path, json={"price": "-5"})
        unknown = await http.patch("/api/v1/orders/pd-nope", json={"price": "50000"})
    assert empty.status_code == 422 and "price or a new size" in empty.json()["error"]["message"]
    assert negative.status_code == 400 and negative.json()["error"]["details"]["fields"][0]["field"] == "price"
    assert unknown.status_code == 404
    await api.daemon.journal.flush()
    assert api.daemon.journal.order(placed["client_id"]).price == 50000


async def test_list_filters_are_validated(api: Api) -> None:
    async with api.client() as http:
        bad_status = await http.get("/api/v1/orders", params={"status": "sleeping"})
        bad_limit = await http.get("/api/v1/orders", params={"limit": "100000"})
        typo = await http.get("/api/v1/orders", params={"acount": "paper"})
        unknown = await http.get("/api/v1/orders", params={"account": "nobody"})
    assert bad_status.status_code == 400 and "status" in bad_status.json()["error"]["message"]
    assert bad_limit.status_code == 400 and "limit" in bad_limit.json()["error"]["message"]
    assert typo.status_code == 400 and "acount: unknown query parameter" in typo.json()["error"]["message"]
    assert unknown.status_code == 404


async def test_an_order_through_a_route_lands_on_the_routes_account(api: Api) -> None:
    async with api.client() as http:
        r = await http.post("/api/v1/orders", json={**RESTING, "account": None, "route": "both"})
    assert r.status_code == 201, r.text
    assert [o["account"] for o in r.json()["orders"]] == ["paper"]  # fixed: the first account


def test_a_hot_body_refuses_a_json_float_in_every_decimal_field() -> None:
    # The hot endpoints read their body with pydantic's JSON parser, which holds a JSON
    # number as a float: only a field that refuses one keeps money exact there.
    import typing

    from pydantic import BaseModel, TypeAdapter, ValidationError

    from perpd.api.routes import ENDPOINTS

    def models_in(hint: object) -> list[type[BaseModel]]:
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            return [hint]
        return [m for arg in typing.get_args(hint) for m in models_in(arg)]

    def decimal_fields(model: type[BaseModel]) -> list[tuple[str, TypeAdapter[object]]]:
        found = []
        for name, info in model.model_fields.items():
            if "Decimal" in repr(info.annotation):
                hint = typing.Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
                found.append((f"{model.__name__}.{name}", TypeAdapter(hint)))
            for nested in models_in(info.annotation):
                found += decimal_fields(nested)
        return found

    hot = [ep.body for ep in ENDPOINTS if ep.hot and ep.body is not None]
    fields = [f for model in hot for f in decimal_fields(model)]
    assert len(fields) >= 8  # size, price, trigger_price, slippage_bps, the brackets' two prices each
    for name, adapter in fields:
        with pytest.raises(ValidationError):
            adapter.validate_json(b"0.5")
        assert adapter.validate_json(b'"0.5"') == Decimal("0.5"), name
