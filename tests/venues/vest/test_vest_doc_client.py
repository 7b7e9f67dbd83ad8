"""The emulator as a client written from Vest's docs sees it (doc_client.py: no perpd code):
registration, trading, cancelling and both streams; a foreign key refused with Vest's
code and no order; and every form that real clients are known to send accepted."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from decimal import Decimal

import anyio
import pytest
import websockets
from doc_client import DocClient, now_ms, sign_args
from eth_account import Account
from eth_account.messages import encode_typed_data
from vest_support import OTHER_KEY, serve

from venues.vest.emulator import create_app

pytestmark = pytest.mark.anyio
TIMEOUT = 10


@pytest.fixture
async def world() -> AsyncIterator[tuple[str, object]]:
    app = create_app(seed=9)
    async with serve(app) as url:
        yield url, app.state.vest


def fresh_client(url: str) -> DocClient:
    return DocClient(f"{url}/v2", url.replace("http", "ws", 1) + "/ws-api?version=1.0",
                     "0x" + secrets.token_hex(32), "0x" + secrets.token_hex(32))


@pytest.fixture
async def client(world: tuple[str, object]) -> AsyncIterator[DocClient]:
    client = fresh_client(world[0])
    response = await client.register()
    assert response.status_code == 200, response.text
    yield client
    await client.close()


def is_order(status: str, nonce: int):
    def match(message: dict) -> bool:
        data = message.get("data") or {}
        return (message.get("channel") == "account_private" and data.get("event") == "ORDER"
                and data["args"].get("nonce") == nonce and data["args"].get("status") == status)
    return match


async def test_a_client_from_the_docs_registers_trades_cancels_and_streams(client: DocClient) -> None:
    assert (await client.http.get("/exchangeInfo")).json()["symbols"][0]["sizeDecimals"] == 4
    account = (await client.get("/account")).json()
    assert account["address"] == client.primary.address.lower() and account["balances"][0]["asset"] == "USDC"
    key = (await client.listen_key()).json()["listenKey"]
    with anyio.fail_after(TIMEOUT):
        async with await client.connect(client.private_url(key)) as private, \
                await client.connect(client.public_url()) as public:
            assert await client.subscribe(private, ["account_private"], 1) == {"result": None, "id": 1}
            ack = await client.subscribe(public, ["BTC-PERP@depth", "BTC-PERP@trades", "tickers"], 2)
            assert ack == {"result": None, "id": 2}
            depth = await client.until(public, lambda m: m.get("channel") == "BTC-PERP@depth")
            best_ask = Decimal(depth["data"]["asks"][0][0])
            await public.send(json.dumps({"method": "PING", "params": [], "id": 0}))
            await client.until(public, lambda m: m == {"data": "PONG"})

            # A market buy with its slippage bound, nonce = time, signature as the docs print it.
            body = client.order_body(symbol="BTC-PERP", is_buy=True, size="0.0100", order_type="MARKET",
                                     limit_price=f"{best_ask * Decimal('1.01'):.2f}", prefix=False)
            placed = await client.place(body)
            assert placed.status_code == 200, placed.text
            order_id = placed.json()["id"]
            nonce = body["order"]["nonce"]
            new = await client.until(private, is_order("NEW", nonce))
            assert new["data"]["args"]["id"] == order_id and new["data"]["args"]["orderType"] == "MARKET"
            filled = (await client.until(private, is_order("FILLED", nonce)))["data"]["args"]
            assert filled["lastFilledSize"] == "0.0100" and Decimal(filled["avgFilledPrice"]) <= best_ask * Decimal("1.01")
            trade = await client.until(public, lambda m: m.get("channel") == "BTC-PERP@trades")
            assert trade["data"]["id"].startswith("0x") and Decimal(trade["data"]["qty"]) > 0

            # A limit far under the market waits (NEW), then is cancelled.
            bid = client.order_body(symbol="BTC-PERP", is_buy=True, size="0.0100", order_type="LIMIT",
                                    limit_price="40000.00", timeInForce="GTC")
            bid_id = (await client.place(bid)).json()["id"]
            await client.until(private, is_order("NEW", bid["order"]["nonce"]))
            cancelled = await client.cancel(bid_id)
            assert cancelled.json() == {"id": bid_id}
            args = (await client.until(private, is_order("CANCELLED", bid["order"]["nonce"])))["data"]["args"]
            assert set(args) == {"id", "status", "postTime", "nonce"}  # the docs' cancellation payload

    rows = {row["id"]: row for row in (await client.get("/orders")).json()}
    assert rows[order_id]["status"] == "FILLED" and rows[order_id]["lastFilledSize"] == "0.0100"
    assert rows[bid_id]["status"] == "CANCELLED" and rows[bid_id]["lastFilledSize"] is None
    assert [r["id"] for r in (await client.get("/orders", nonce=nonce)).json()] == [order_id]
    position = (await client.get("/account")).json()["positions"][0]
    assert (position["symbol"], position["isLong"], position["size"]) == ("BTC-PERP", True, "0.0100")
    assert (await client.cancel(bid_id)).json()["code"] == 3017  # ORDER_NOT_FOUND


async def test_a_key_other_than_the_registered_signer_is_refused_and_no_order_exists(
    client: DocClient, world: tuple[str, object]
) -> None:
    before = (await client.get("/account")).json()
    body = client.order_body(symbol="ETH-PERP", is_buy=True, size="0.100", order_type="MARKET",
                             limit_price="4000.00", key=OTHER_KEY)
    refused = await client.place(body)
    assert refused.status_code == 400 and refused.json()["code"] == 1022  # INVALID_SIGNATURE
    assert set(refused.json()) == {"code", "msg"}
    assert (await client.get("/orders")).json() == []
    assert (await client.get("/orders", nonce=body["order"]["nonce"])).json() == []
    after = (await client.get("/account")).json()
    assert after["positions"] == [] and after["totalAccountValue"] == before["totalAccountValue"]
    # Another account's registered signing key is a foreign key here too.
    other = fresh_client(world[0])
    assert (await other.register()).status_code == 200
    stolen = client.order_body(symbol="ETH-PERP", is_buy=True, size="0.100", order_type="MARKET",
                               limit_price="4000.00", key=other.signing_key)
    assert (await client.place(stolen)).json()["code"] == 1022
    assert (await client.get("/orders")).json() == []
    await other.close()


async def test_every_form_a_known_client_sends_is_accepted(client: DocClient, world: tuple[str, object]) -> None:
    # The docs' header spelling and one client's (`X-API-Key`) are the same header.
    headers = {"X-API-Key": client.api_key, "xrestservermm": f"restserver{client.group}"}
    assert (await client.http.get("/account", params={"time": now_ms()}, headers=headers)).status_code == 200

    # Leverage unsigned, and with a signature some clients add (ignored).
    assert (await client.leverage("ETH-PERP", 5)).json() == {"symbol": "ETH-PERP", "value": 5}
    t = now_ms()
    signed = sign_args(["uint256", "uint256", "string", "uint256"], [t, t, "ETH-PERP", 4], client.signing_key)
    assert (await client.leverage("ETH-PERP", 4, nonce=t, signature=signed)).json()["value"] == 4

    # TP/SL children signed over the parent's nonce, or nonce+1 (TP) / nonce+2 (SL);
    # `timeInForce` and TP/SL on a MARKET order, as in the docs' own request example.
    for tp_nonce, sl_nonce in ((0, 0), (1, 2)):
        body = client.order_body(symbol="ETH-PERP", is_buy=True, size="0.100", order_type="LIMIT",
                                 limit_price="3000.00", nonce=now_ms() * 10 + tp_nonce)
        n = body["order"]["nonce"]
        body["order"].update({"tpPrice": "3100.00", "slPrice": "2900.00",
                              "tpSignature": client.child_signature(body, "TAKE_PROFIT", "3100.00", n + tp_nonce),
                              "slSignature": client.child_signature(body, "STOP_LOSS", "2900.00", n + sl_nonce)})
        answer = await client.place(body)
        assert answer.status_code == 200, answer.text
    market = client.order_body(symbol="ETH-PERP", is_buy=True, size="0.010", order_type="MARKET",
                               limit_price="4000.00", timeInForce="GTC")
    assert (await client.place(market)).status_code == 200

    # Cancels: the documented signed POST, the Rust client's EIP-712 CancelOrder, the
    # hummingbot derivative's unsigned DELETE.
    ids = [row["id"] for row in (await client.get("/orders", status="NEW", orderType="LIMIT")).json()]
    assert len(ids) == 2
    t = now_ms()
    typed = encode_typed_data(
        {"name": "VestRouterV2", "version": "0.0.1", "verifyingContract": "0x919386306C47b2Fe1036e3B4F7C40D22D2461a23"},
        {"CancelOrder": [{"name": "orderId", "type": "string"}, {"name": "nonce", "type": "uint256"}]},
        {"orderId": ids[0], "nonce": t},
    )
    signature = Account.sign_message(typed, client.signing_key).signature.hex()
    rust = await client.http.post("/orders/cancel", headers=client.headers(),
                                  json={"order": {"time": t, "nonce": t, "id": ids[0]}, "signature": signature})
    assert rust.json() == {"id": ids[0]}
    deleted = await client.http.delete("/orders", params={"id": ids[1], "time": now_ms()}, headers=client.headers())
    assert deleted.json() == {"id": ids[1]}


    # The private stream under either query name; the public one with or without the group.
    key = (await client.listen_key()).json()["listenKey"]
    with anyio.fail_after(TIMEOUT):
        url = client.ws_url + f"&xwebsocketserver=restserver{client.group}&listenKey={key}"
        async with await client.connect(url) as ws:
            assert (await client.subscribe(ws, ["account_private"], 7))["result"] is None
        async with await client.connect(client.ws_url) as ws:
            assert (await client.subscribe(ws, ["ETH-PERP@kline_1m"], 8))["result"] is None
        async with await client.connect(world[0].replace("http", "ws", 1) + "/ws?version=1.0") as ws:
            assert (await client.subscribe(ws, ["tickers"], 9))["result"] is None


async def test_refusals_carry_vests_codes(client: DocClient) -> None:
    async def code_of(**fields: object) -> int:
        overrides = fields.pop("order", {})
        base: dict = dict(symbol="BTC-PERP", is_buy=True, size="0.0100", order_type="LIMIT", limit_price="40000.00")
        base.update(fields)
        body = client.order_body(**base)
        body["order"].update(overrides)  # fields changed after signing
        response = await client.place(body)
        assert response.status_code == 400, response.text
        return int(response.json()["code"])

    assert await code_of(size="0.00001") == 1111  # BAD_DECIMALS: BTC has 4 size decimals
    assert await code_of(limit_price="40000.001") == 1111
    assert await code_of(symbol="DOGE-PERP") == 1121  # BAD_SYMBOL
    assert await code_of(order_type="ICEBERG") == 1116  # INVALID_ORDER_TYPE
    assert await code_of(timeInForce="IOC") == 1133  # INVALID_TIME_IN_FORCE
    assert await code_of(order={"size": "0.0200"}) == 1022  # a field changed after signing
    stale = client.order_body(symbol="BTC-PERP", is_buy=True, size="0.0100", order_type="LIMIT",
                              limit_price="40000.00")
    old = stale["order"]["time"] - 120_000
    stale["order"]["time"] = old
    stale["signature"] = sign_args(["uint256", "uint256", "string", "string", "bool", "string", "string", "bool"],
                                   [old, stale["order"]["nonce"], "LIMIT", "BTC-PERP", True, "0.0100", "40000.00", False],
                                   client.signing_key)
    assert (await client.place(stale)).json()["code"] == 1132  # ORDER_EXPIRED: older than recvWindow
    stale["recvWindow"] = 600_000
    assert (await client.place(stale)).json()["code"] == 1131  # BAD_RECV_WINDOW
    first = client.order_body(symbol="BTC-PERP", is_buy=True, size="0.0100", order_type="LIMIT",
                              limit_price="40000.00", nonce=42)
    assert (await client.place(first)).status_code == 200
    again = client.order_body(symbol="BTC-PERP", is_buy=True, size="0.0200", order_type="LIMIT",
                              limit_price="41000.00", nonce=42)
    assert (await client.place(again)).json()["code"] == 3015  # DUPLICATE nonce

    wrong_group = {"X-API-KEY": client.api_key, "xrestservermm": f"restserver{client.group + 1}"}
    answer = await client.http.get("/account", params={"time": now_ms()}, headers=wrong_group)
    assert answer.json()["code"] == 1146  # INVALID_ACCOUNT_GROUP
    answer = await client.http.get("/account", params={"time": now_ms()}, headers={"xrestservermm": "restserver0"})
    assert (answer.status_code, answer.json()["code"]) == (401, 1002)  # UNAUTHORIZED
    assert (await client.leverage("BTC-PERP", 500)).json()["code"] == 1130
    assert (await client.listen_key("DELETE")).json() == {}
    assert (await client.listen_key("PUT")).json() == {
        "code": 1125, "msg": "Listen key expired. Make a POST request to create a new key."}
    stranger = fresh_client(client.base_url.removesuffix("/v2"))
    assert (await stranger.register(network_type=1)).json()["code"] == 1024  # INVALID_NETWORK_TYPE
    assert (await stranger.register(expiry_ms=now_ms() - 1)).json()["code"] == 1130  # expired SignerProof
    await stranger.close()


async def test_the_socket_closes_with_vests_codes(client: DocClient) -> None:
    async def close_code(url: str) -> int:
        with anyio.fail_after(TIMEOUT):
            async with await client.connect(url) as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await ws.recv()
        return closed.value.rcvd.code  # type: ignore[union-attr]

    base = client.ws_url.split("?")[0]
    assert await close_code(base + "?version=2.0") == 4000  # WRONG_VERSION
    assert await close_code(client.private_url("not-a-key")) == 4004  # LISTEN_KEY_NOT_FOUND
    key = (await client.listen_key()).json()["listenKey"]
    assert await close_code(f"{client.ws_url}&websocketserver=restserver{client.group + 1}&listenKey={key}") == 4002
    assert await close_code(f"{client.ws_url}&listenKey={key}") == 4001  # ACCOUNT_GROUP_NOT_FOUND
