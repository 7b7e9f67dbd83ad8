"""The emulator checks what EdgeX checks, over real loopback HTTP and WebSockets:
HMAC over the sorted decoded query and the canonical body within +/- 60 s, the API key's
account, EIP-712 signatures against the registered address, the private WebSocket's
handshake (headers or the base64 subprotocol, echoed); and it provisions credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
import websockets
from edgex_support import serve
from websockets.exceptions import InvalidStatus

from perpd.clock import ManualClock, SystemClock
from perpd.model import OrderRequest, OrderType, Side, TimeInForce
from venues.edgex.emulator import create_app, derive_credentials
from venues.edgex.emulator.markets import metadata_json
from venues.edgex.orders import create_order_body
from venues.edgex.parse import parse_metadata
from venues.edgex.signing import Eip712OrderSigner, RequestSigner, canonical

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world() -> AsyncIterator[tuple[Any, str, ManualClock]]:
    clock = ManualClock(start_ms=SystemClock().now_ms())
    app = create_app(seed=21, clock=clock, background=False)
    async with serve(app) as url:
        yield app.state.emulator, url, clock


def auth(credentials: Any, secret: str | None = None) -> RequestSigner:
    return RequestSigner(credentials.api_key, credentials.passphrase, secret or credentials.secret)


async def get(url: str, path: str, query: str, headers: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}{path}?{query}", headers=headers)
    return {"status": response.status_code, **response.json()}


async def post(url: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}{path}", content=orjson.dumps(body), headers=headers)
    return {"status": response.status_code, **response.json()}


ASSET = "/api/v2/private/account/getAccountAsset"
ACTIVE = "/api/v2/private/order/getActiveOrderPage"
CREATE = "/api/v2/private/order/createOrder"


async def test_a_get_is_signed_over_the_sorted_decoded_query(world: Any) -> None:
    emu, url, clock = world
    creds = emu.provision()
    now = clock.now_ms()
    signed = f"accountId={creds.account_id}&filterContractIdList=10000001,10000002&size=100"
    headers = auth(creds).headers(now, "GET", ACTIVE, signed)
    # The URL's order and percent-encoding differ from what was signed, as aiohttp sends it.
    query = f"size=100&filterContractIdList=10000001%2C10000002&accountId={creds.account_id}"
    assert (await get(url, ACTIVE, query, headers))["code"] == "SUCCESS"
    # The docs' header spelling is accepted too.
    legacy = {("X-edgeX-Api-Timestamp" if k == "X-edgeX-Timestamp" else k): v for k, v in headers.items()}
    assert (await get(url, ACTIVE, query, legacy))["code"] == "SUCCESS"
    tampered = query.replace("size=100", "size=99")
    answer = await get(url, ACTIVE, tampered, headers)
    assert (answer["status"], answer["code"]) == (401, "SIGNATURE_ERROR")


async def test_the_timestamp_window_is_sixty_seconds(world: Any) -> None:
    emu, url, clock = world
    creds = emu.provision()
    query = f"accountId={creds.account_id}"
    stale = auth(creds).headers(clock.now_ms() - 61_000, "GET", ASSET, query)
    assert (await get(url, ASSET, query, stale))["code"] == "INVALID_TIMESTAMP"
    fresh = auth(creds).headers(clock.now_ms() - 59_000, "GET", ASSET, query)
    assert (await get(url, ASSET, query, fresh))["code"] == "SUCCESS"


async def test_a_key_serves_only_its_own_account_and_a_wrong_secret_is_refused(world: Any) -> None:
    emu, url, clock = world
    mine, other = emu.provision(), emu.provision()
    query = f"accountId={other.account_id}"
    answer = await get(url, ASSET, query, auth(mine).headers(clock.now_ms(), "GET", ASSET, query))
    assert answer["code"] == "ACCOUNT_ID_WHITELIST_ERROR"
    query = f"accountId={mine.account_id}"
    answer = await get(url, ASSET, query, auth(mine, "wrong").headers(clock.now_ms(), "GET", ASSET, query))
    assert (answer["status"], answer["code"], answer["data"]) == (401, "SIGNATURE_ERROR", None)


def order_body(emu: Any, creds: Any, key: str, client_id: str, *, price: str = "50000.0",
               tif: TimeInForce = TimeInForce.GTC, now_ms: int) -> dict[str, Any]:
    meta = parse_metadata(metadata_json(tuple(emu.exchange.contracts.values())), venue="edgex")
    signer = Eip712OrderSigner(key, chain_id=meta.chain_id, verifying_contract=meta.contract_address)
    request = OrderRequest(client_id, "BTC-PERP", Side.BUY, OrderType.LIMIT, Decimal("0.001"), Decimal(price), tif=tif)
    return create_order_body(request, meta.by_symbol["BTC-PERP"], account_id=creds.account_id, signer=signer,
                             now_ms=now_ms)


async def test_orders_must_be_signed_by_the_registered_trading_key(world: Any) -> None:
    emu, url, clock = world
    creds = emu.provision()
    now = clock.now_ms()
    wrong = order_body(emu, creds, "0x" + "11" * 32, "101", now_ms=now)
    answer = await post(url, CREATE, wrong, auth(creds).headers(now, "POST", CREATE, canonical(wrong)))
    assert (answer["code"], answer["data"]) == ("INVALID_L2_SIGNATURE", None)
    right = order_body(emu, creds, creds.trading_key, "102", now_ms=now)
    answer = await post(url, CREATE, right, auth(creds).headers(now, "POST", CREATE, canonical(right)))
    assert answer["code"] == "SUCCESS"
    # clientOrderId is the idempotency key: the same one again is the same order.
    again = await post(url, CREATE, right, auth(creds).headers(now, "POST", CREATE, canonical(right)))
    assert again["data"]["orderId"] == answer["data"]["orderId"]
    # A body changed after signing is refused by the signature, not applied.
    changed = {**order_body(emu, creds, creds.trading_key, "103", now_ms=now), "l2Value": "60.0000"}
    answer = await post(url, CREATE, changed, auth(creds).headers(now, "POST", CREATE, canonical(changed)))
    assert answer["code"] in ("INVALID_PARAMETER", "INVALID_L2_SIGNATURE")


async def test_a_crossing_post_only_is_accepted_then_cancelled(world: Any) -> None:
    emu, url, clock = world
    creds = emu.provision()
    now = clock.now_ms()
    ask = emu.engine.book("BTC-PERP", 1).asks[0][0]
    body = order_body(emu, creds, creds.trading_key, "201", price=f"{ask:.1f}", tif=TimeInForce.POST_ONLY, now_ms=now)
    answer = await post(url, CREATE, body, auth(creds).headers(now, "POST", CREATE, canonical(body)))
    assert answer["code"] == "SUCCESS"
    query = f"accountId={creds.account_id}&clientOrderIdList=201"
    path = "/api/v2/private/order/getOrderByClientOrderId"
    (order,) = (await get(url, path, query, auth(creds).headers(now, "GET", path, query)))["data"]
    assert (order["status"], order["cancelReason"], order["cumFillSize"]) == ("CANCELED", "COULD_NOT_FILL", "0.000")


async def test_accounts_are_provisioned_over_http(world: Any) -> None:
    emu, url, clock = world
    async with httpx.AsyncClient() as client:
        made = (await client.post(f"{url}/_emulator/accounts", json={"balance": "2500"})).json()
        bound = (await client.post(f"{url}/_emulator/accounts",
                                   json={"address": "0x" + "ab" * 20, "apiKey": "fixedkey1"})).json()
        listed = (await client.get(f"{url}/_emulator/accounts")).json()
    assert {"accountId", "apiKey", "passphrase", "secret", "address", "tradingKey"} <= set(made)
    assert bound["apiKey"] == "fixedkey1" and bound["address"].lower() == "0x" + "ab" * 20 and bound["tradingKey"] is None
    assert {a["accountId"] for a in listed} >= {made["accountId"], bound["accountId"], str(emu.demo.account_id)}
    creds = emu.keyring.by_key[made["apiKey"]]
    query = f"accountId={creds.account_id}"
    asset = await get(url, ASSET, query, auth(creds).headers(clock.now_ms(), "GET", ASSET, query))
    assert asset["data"]["collateralAssetModelList"][0]["totalEquity"] == "2500.000000"


def test_the_demo_account_derives_from_the_seed() -> None:
    emu = create_app(seed=7).state.emulator
    assert emu.demo == derive_credentials(7, 0)
    assert derive_credentials(7, 0) != derive_credentials(8, 0)
    assert create_app(seed=7, accounts=["42:key:pass:secret:0x" + "cd" * 20]).state.emulator.keyring.by_account[42]
    # As a command line gives them: one string, accounts separated by commas; no demo account.
    given = create_app(accounts="42:key:pass:secret:0x" + "cd" * 20 + ",43:k2:p2:s2:0x" + "ab" * 20,
                       demo_account="false").state.emulator
    assert sorted(given.keyring.by_account) == [42, 43] and given.demo is None
    with pytest.raises(ValueError, match="five parts"):
        create_app(accounts="42:key:pass")


async def private_socket(url: str, creds: Any, now: int, *, subprotocol_only: bool = False,
                         secret: str | None = None) -> Any:
    headers, protocol = auth(creds, secret).websocket_auth(creds.account_id, now)
    ws_url = url.replace("http://", "ws://") + f"/api/v1/private/ws?accountId={creds.account_id}&accountId={creds.account_id}&timestamp={now}"
    return await websockets.connect(ws_url, additional_headers=None if subprotocol_only else headers,
                                    subprotocols=[protocol])  # type: ignore[list-item]


async def test_the_private_socket_authenticates_in_the_handshake_and_echoes_the_subprotocol(world: Any) -> None:
    emu, url, clock = world
    creds = emu.provision()
    now = clock.now_ms()
    for subprotocol_only in (False, True):  # the SDK's headers, or the browser's subprotocol alone
        ws = await private_socket(url, creds, now, subprotocol_only=subprotocol_only)
        try:
            assert ws.subprotocol is not None
            assert json.loads(base64.b64decode(ws.subprotocol + "=="))["X-edgeX-Api-Key"] == creds.api_key
            assert json.loads(await ws.recv())["type"] == "connected"
            snapshot = json.loads(await ws.recv())
            assert snapshot["type"] == "trade-event" and snapshot["content"]["event"] == "Snapshot"
        finally:
            await ws.close()
    with pytest.raises(InvalidStatus) as refused:
        await private_socket(url, creds, now, secret="wrong")
    assert refused.value.response.status_code == 403


async def test_the_public_socket_acks_and_snapshots_and_answers_pings(world: Any) -> None:
    emu, url, clock = world
    async with websockets.connect(url.replace("http://", "ws://") + "/api/v1/public/ws?timestamp=1") as ws:
        assert json.loads(await ws.recv())["type"] == "connected"
        await ws.send(json.dumps({"type": "ping", "time": "123"}))
        assert json.loads(await ws.recv()) == {"type": "pong", "time": "123"}
        request = json.dumps({"type": "subscribe", "channel": "depth.10000001.15"})
        await ws.send(request)
        assert json.loads(await ws.recv()) == {"type": "subscribed", "channel": "depth.10000001.15", "request": request}
        snapshot = json.loads(await ws.recv())
        assert snapshot["content"]["dataType"] == "Snapshot" and len(snapshot["content"]["data"][0]["bids"]) <= 15
        await ws.send(json.dumps({"type": "subscribe", "channel": "depth.99999999.15"}))
        error = json.loads(await ws.recv())
        assert error == {"type": "error", "content": {"code": "INVALID_CONTRACT_ID", "msg": "invalid contractId:99999999"}}
