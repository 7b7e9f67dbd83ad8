"""The emulator speaks Hyperliquid: URLs, shapes, signature and nonce rules, WS frames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hl_support import AGENT, AGENT_KEY, MASTER, serve
from websockets.asyncio.client import connect

from perpd.clock import ManualClock
from venues.hyperliquid import errors
from venues.hyperliquid.emulator import create_app
from venues.hyperliquid.signing import Signer
from venues.hyperliquid.transport import ws_url_of

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).parents[2] / "fixtures" / "hyperliquid"
SDK_TEST_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def signed(action: dict[str, Any], nonce: int, key: str = AGENT_KEY, vault: str | None = None) -> dict[str, Any]:
    signature = Signer(key).sign_l1(action, nonce, is_mainnet=False, vault_address=vault)
    return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": vault, "expiresAfter": None}


NOOP = {"type": "noop"}


async def test_a_tampered_signature_is_refused_with_the_venues_text() -> None:
    clock = ManualClock()
    async with serve(create_app(clock=clock, agents={AGENT: MASTER})) as url, httpx.AsyncClient(base_url=url) as http:
        nonce = clock.now_ms()
        good = signed(NOOP, nonce)
        bad = dict(good, signature=dict(good["signature"], s=hex(int(good["signature"]["s"], 16) ^ 1)))
        answer = (await http.post("/exchange", json=bad)).json()
        assert answer["status"] == "err"
        assert answer["response"].startswith("User or API Wallet 0x") and answer["response"].endswith(" does not exist.")
        replayed = dict(good, nonce=nonce + 1)  # the signature covers the nonce
        assert (await http.post("/exchange", json=replayed)).json()["status"] == "err"
        assert (await http.post("/exchange", json=good)).json() == {"status": "ok", "response": {"type": "default"}}


async def test_nonces_must_be_fresh_for_the_signer() -> None:
    clock = ManualClock()
    async with serve(create_app(clock=clock, agents={AGENT: MASTER})) as url, httpx.AsyncClient(base_url=url) as http:
        now = clock.now_ms()
        assert (await http.post("/exchange", json=signed(NOOP, now))).json()["status"] == "ok"
        assert (await http.post("/exchange", json=signed(NOOP, now))).json() == {
            "status": "err", "response": errors.DUPLICATE_NONCE.format(nonce=now)}
        assert (await http.post("/exchange", json=signed(NOOP, now - 1))).json()["status"] == "ok"  # not yet 100 kept
        for i in range(1, 101):
            await http.post("/exchange", json=signed(NOOP, now + i))
        too_low = (await http.post("/exchange", json=signed(NOOP, now + 0))).json()["response"]
        assert too_low.startswith("Invalid nonce")
        stale = (await http.post("/exchange", json=signed(NOOP, now - 3 * 86_400_000))).json()["response"]
        assert stale.startswith("Invalid nonce")


async def test_undecodable_bodies_and_unknown_info_types_get_a_422_text_as_on_the_venue() -> None:
    async with serve(create_app()) as url, httpx.AsyncClient(base_url=url) as http:
        for body in (b"{", b'{"action": {"type": "nope"}, "nonce": 1, "signature": {}}', b"[]"):
            response = await http.post("/exchange", content=body)
            assert (response.status_code, response.text) == (422, errors.DESERIALIZE)
            assert response.headers["content-type"].startswith("text/plain")
        for body in (b'{"type": "noSuchType"}', b"{", b'{"user": "0x"}'):
            response = await http.post("/info", content=body)
            assert (response.status_code, response.text) == (422, errors.DESERIALIZE)
        response = await http.post("/info", json={"type": "batchClearinghouseStates", "users": []})
        assert (response.status_code, response.text) == (500, (FIXTURES / "info_batchClearinghouseStates--http500.response.json").read_text().strip())


async def test_every_recorded_info_request_the_venue_uses_is_served() -> None:
    served, refused = [], []
    async with serve(create_app()) as url, httpx.AsyncClient(base_url=url) as http:
        for path in sorted(FIXTURES.glob("info_*.request.json")):
            response = await http.post("/info", content=path.read_bytes())
            text = path.read_text()
            for coin in ("DYDX", "kPEPE"):  # recorded on markets the emulator does not list
                if f'"{coin}"' in text:
                    assert (response.status_code, response.text) == (500, "null")  # as the venue answers
                    response = await http.post("/info", content=text.replace(f'"{coin}"', '"BTC"'))
            (served if response.status_code == 200 else refused).append(path.name.split(".")[0])
    uses = {"info_meta", "info_metaAndAssetCtxs", "info_allMids", "info_l2Book", "info_l2Book--nSigFigs", "info_candleSnapshot",
            "info_clearinghouseState", "info_openOrders", "info_frontendOpenOrders", "info_orderStatus--oid",
            "info_orderStatus--cloid", "info_userFills", "info_userFillsByTime", "info_fundingHistory",
            "info_fundingHistory--no-endTime", "info_userFunding", "info_userFunding--no-endTime", "info_recentTrades",
            "info_activeAssetData", "info_userRateLimit", "info_spotMeta", "info_perpDexs", "info_userRole",
            "info_spotClearinghouseState", "info_historicalOrders"}
    assert uses <= set(served), sorted(uses - set(served))
    assert refused == ["info_batchClearinghouseStates--http500"]  # recorded as the venue's 500 null


async def test_the_sdk_generated_requests_verify_and_get_well_formed_answers() -> None:
    # Those requests were signed for mainnet in November 2023 by the SDK's test key.
    clock = ManualClock(1_700_000_000_000)
    generated = sorted(FIXTURES.glob("exchange_*.generated.request.json"))
    async with serve(create_app(clock=clock, mainnet=True)) as url, httpx.AsyncClient(base_url=url) as http:
        address = Signer(SDK_TEST_KEY).address
        await http.post("/info", json={"type": "clearinghouseState", "user": address})
        answers = {}
        for path in generated:
            if "testnet" in path.name:
                continue
            response = await http.post("/exchange", content=path.read_bytes())
            assert response.status_code == 200, path.name
            answers[path.name.split(".")[0]] = response.json()
    for name, answer in answers.items():
        assert "does not exist" not in str(answer), name  # every signature recovered the SDK key
        assert answer["status"] in ("ok", "err"), name
    running = load("exchange_twapOrder--running.docs.response.json")
    running["response"]["data"]["status"]["running"]["twapId"] = 1
    assert answers["exchange_twapOrder"] == running
    assert answers["exchange_twapCancel"] == load("exchange_twapCancel--error.docs.response.json")  # no TWAP 77738308
    assert answers["exchange_updateIsolatedMargin"] == {"status": "err", "response": "no open isolated position on ETH-PERP"}
    assert answers["exchange_approveBuilderFee"]["status"] == "ok"
    assert answers["exchange_order--gtc"]["response"]["data"]["statuses"][0]["resting"]["oid"] > 0
    assert answers["exchange_approveAgent"] == {"status": "ok", "response": {"type": "default"}}
    assert answers["exchange_updateLeverage--cross"] == {"status": "ok", "response": {"type": "default"}}
    assert answers["exchange_order--normalTpsl"]["response"]["data"]["statuses"][1:] in (["waitingForFill"] * 2, ["waitingForTrigger"] * 2)


async def test_the_websocket_handshake_and_frames_match_the_recordings() -> None:
    async with serve(create_app()) as url, connect(ws_url_of(url)) as ws:
        assert await ws.recv() == "Websocket connection established."
        await ws.send(json.dumps(load("ws_l2Book.subscribe.jkorf.request.json") | {"subscription": {"type": "l2Book", "coin": "BTC"}}))
        ack = orjson.loads(await ws.recv())
        recorded = load("ws_l2Book.subscriptionResponse.jkorf.message.json")
        assert ack["channel"] == recorded["channel"] and list(ack["data"]["subscription"]) == list(recorded["data"]["subscription"])
        book = orjson.loads(await ws.recv())
        assert book["channel"] == "l2Book" and set(book["data"]) == set(load("ws_l2Book.jkorf.message.json")["data"])
        await ws.send(json.dumps(load("ws_ping.docs.request.json")))
        while (message := orjson.loads(await ws.recv()))["channel"] == "l2Book":
            pass
        assert message == load("ws_pong.docs.message.json")
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}}))
        while (message := orjson.loads(await ws.recv()))["channel"] == "l2Book":
            pass
        assert message["channel"] == "error" and message["data"].startswith("Already subscribed:")
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "l2Book", "coin": "NOPE"}}))
        while (message := orjson.loads(await ws.recv()))["channel"] == "l2Book":
            pass
        assert message["data"].startswith("Invalid subscription")


async def test_user_fills_start_with_a_snapshot_and_orders_stream_as_updates() -> None:
    clock = ManualClock()
    async with serve(create_app(clock=clock, agents={AGENT: MASTER}, takers=False)) as url, connect(ws_url_of(url)) as ws, \
            httpx.AsyncClient(base_url=url) as http:
        await ws.recv()
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "userFills", "user": MASTER}}))
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "orderUpdates", "user": MASTER}}))
        acks = [orjson.loads(await ws.recv()) for _ in range(3)]
        snapshot = next(m for m in acks if m["channel"] == "userFills")
        assert snapshot["data"] == {"isSnapshot": True, "user": MASTER, "fills": []}
        order = {"type": "order", "orders": [{"a": 2, "b": True, "p": "200", "s": "1", "r": False, "t": {"limit": {"tif": "Ioc"}}}], "grouping": "na"}
        assert "filled" in (await http.post("/exchange", json=signed(order, clock.now_ms()))).json()["response"]["data"]["statuses"][0]
        seen: dict[str, Any] = {}
        while len(seen) < 2:
            message = orjson.loads(await ws.recv())
            seen.setdefault(message["channel"], message["data"])
        assert seen["orderUpdates"][0]["status"] == "filled" and seen["orderUpdates"][0]["order"]["coin"] == "SOL"
        fill = seen["userFills"]["fills"][0]
        assert set(fill) >= set(load("ws_userEvents--fills.jkorf.message.json")["data"]["fills"][0])
        assert fill["dir"] == "Open Long" and fill["crossed"] is True and "isSnapshot" not in seen["userFills"]
