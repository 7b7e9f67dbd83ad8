"""Walk every recorded or documented Hyperliquid sample: its endpoint, info type, action or
WS channel must be served by the emulator, in the sample's shape.

tests/fixtures/hyperliquid holds every file of ../shared/venues/hyperliquid (checked here
when that folder is beside the repo). For each sample the emulator is asked the same
thing (user addresses replaced by one that has traded; coins it does not list replaced by
BTC) and its answer must have the sample's shape: the same JSON types, every key the
sample has, recursively (lists by their first element when both have one).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import eth_account
import httpx
import orjson
import pytest
from hl_support import serve
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from websockets.asyncio.client import connect

from perpd.clock import ManualClock
from tests import samples
from tests.samples import ShapeRules
from venues.hyperliquid.emulator import create_app
from venues.hyperliquid.signing import Signer

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning:eth_account.*")]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hyperliquid"
SHARED = Path(__file__).resolve().parents[4] / "shared" / "venues" / "hyperliquid"
TRADER_KEY = "0x" + "7e" * 32
TRADER = Signer(TRADER_KEY).address.lower()
SDK_TEST_KEY = "0x" + "0123" * 16
NOT_ENDPOINTS = {"README.md", "errors_catalog.observed.json", "signing_vectors.json"}
# Variants of a type the emulator has no markets for (spot pairs, builder-deployed dexes):
# the type is served and checked on the other samples; these fields exist only there.
SPOT_OR_HIP3 = {"info_l2Book--spot-@107.jkorf.response.json", "info_candleSnapshot--spot-1d.jkorf.response.json",
                "info_metaAndAssetCtxs--hip3.docs.response.json", "info_orderStatus--open-hip3.ccxt.response.json",
                "info_spotClearinghouseState.docs.response.json", "info_spotClearinghouseState.jkorf.response.json",
                "info_spotMeta.docs.response.json", "info_spotMetaAndAssetCtxs.response.json",
                "ws_allMids--with-spot.nautilus.message.json"}
OTHER_COINS = ("HYPE", "DYDX", "kPEPE", "AVAX", "PURR/USDC", "@107")


RULES = ShapeRules(
    optional=frozenset({"builderFee", "maxTradeSzs"}),  # only some rows carry them (a builder's fill, an old schema)
    discriminators=("type", "role", "status"),  # objects of one union that differ here are other variants
)


def shape_gaps(sample: Any, answer: Any, *, stringified: bool = False) -> list[str]:
    """Where `answer` lacks the shape of `sample` (tests/samples.py, with Hyperliquid's rules)."""
    return samples.shape_gaps(sample, answer, stringified=stringified, rules=RULES)


def localise(text: str) -> str:
    """A sample request asked of the emulator: its users -> TRADER, its coins -> BTC."""
    text = re.sub(r'"(user|vaultAddress)": ?"0x[0-9a-fA-F]{40}"', rf'"\1": "{TRADER}"', text)
    text = re.sub(r'"users": ?\[[^\]]*\]', f'"users": ["{TRADER}"]', text)
    for coin in OTHER_COINS:
        text = text.replace(f'"{coin}"', '"BTC"')
    return text


def request_for(name: str, open_oid: int) -> dict[str, Any]:
    """The /info request of a response sample: its own recording, the type's, or the type.
    orderStatus asks about TRADER's open order (unknownOid about none)."""
    stem = name.split(".")[0]
    kind = stem.split("_", 1)[1].split("--")[0]
    if kind == "orderStatus":
        return {"type": "orderStatus", "user": TRADER, "oid": 1 if "unknownOid" in name else open_oid}
    for candidate in (f"{stem}.request.json", f"info_{kind}.request.json", *sorted(
            p.name for p in FIXTURES.glob(f"info_{kind}--*.request.json"))):
        if (FIXTURES / candidate).exists():
            return json.loads(localise((FIXTURES / candidate).read_text()))
    body: dict[str, Any] = {"type": kind}
    if kind in ("subAccounts", "extraAgents", "maxBuilderFee", "userFees"):
        body["user"] = TRADER
    if kind == "maxBuilderFee":
        body["builder"] = "0x" + "be" * 20
    return body


def test_the_fixtures_hold_every_shared_sample() -> None:
    if SHARED.is_dir():
        assert sorted(p.name for p in SHARED.iterdir()) == sorted(p.name for p in FIXTURES.iterdir())


@pytest.fixture
async def url() -> AsyncIterator[str]:
    """An emulator where TRADER has traded: a fill, an open order, a TWAP slice, an agent."""
    app = create_app(takers=False)
    async with serve(app) as base:
        def trade() -> None:
            wallet = eth_account.Account.from_key(TRADER_KEY)
            Info(base, skip_ws=True).user_state(TRADER)
            exchange = Exchange(wallet, base)
            assert exchange.market_open("BTC", True, 0.01)["status"] == "ok"
            assert exchange.order("BTC", True, 0.01, 50000, {"limit": {"tif": "Gtc"}})["status"] == "ok"
            assert exchange.approve_agent("bot")[0]["status"] == "ok"

        await anyio.to_thread.run_sync(trade)
        yield base


async def test_every_info_sample_is_served_in_its_shape(url: str) -> None:
    gaps: dict[str, list[str]] = {}
    async with httpx.AsyncClient(base_url=url) as http:
        (open_order,) = (await http.post("/info", json={"type": "openOrders", "user": TRADER})).json()
        for path in sorted(FIXTURES.glob("info_*.json")):
            if path.name.endswith(".request.json"):
                answer = await http.post("/info", content=localise(path.read_text()))
                if "http500" in path.name:  # the one recording of this type is the venue's 500
                    assert (answer.status_code, answer.text) == (500, "null")
                    continue
                assert answer.status_code == 200, (path.name, answer.text)
                continue
            if "http500" in path.name:
                continue
            answer = await http.post("/info", json=request_for(path.name, open_order["oid"]))
            assert answer.status_code == 200, (path.name, answer.text)
            sample = json.loads(path.read_text())
            if path.name.startswith("info_allMids"):  # a map of coin -> mid: its values have the shape
                sample = {"BTC": next(iter(sample.values()))}
            if path.name in SPOT_OR_HIP3:
                continue
            if found := shape_gaps(sample, answer.json(), stringified=".ccxt." in path.name):
                gaps[path.name] = found
    assert not gaps, json.dumps(gaps, indent=1)


async def test_every_exchange_sample_action_is_served_in_its_shape() -> None:
    """The SDK-generated requests (signed for mainnet in November 2023) verify and get the
    response envelope the docs samples of their action show."""
    clock = ManualClock(1_700_000_000_000)
    answers: dict[str, dict[str, Any]] = {}
    async with serve(create_app(clock=clock, mainnet=True)) as base, httpx.AsyncClient(base_url=base) as http:
        await http.post("/info", json={"type": "clearinghouseState", "user": Signer(SDK_TEST_KEY).address})
        for path in sorted(FIXTURES.glob("exchange_*.request.json")):
            if "testnet" in path.name:
                continue
            answer = await http.post("/exchange", content=path.read_bytes())
            assert answer.status_code == 200, path.name
            body = answer.json()
            assert body["status"] in ("ok", "err") and "not supported" not in str(body), (path.name, body)
            answers.setdefault(json.loads(path.read_text())["action"]["type"], body)
    for path in sorted(FIXTURES.glob("exchange_*.response.json")):
        sample = json.loads(path.read_text())
        if sample["status"] != "ok":
            continue
        kind = sample["response"]["type"]
        produced = [a for a in answers.values() if a["status"] == "ok" and a["response"]["type"] == kind]
        assert produced, f"{path.name}: no action answered with a {kind!r} response"


async def _until(ws: Any, channel: str, secs: float = 5.0) -> dict[str, Any] | None:
    """The next message on `channel` (others are skipped), or None after `secs`."""
    with anyio.move_on_after(secs):
        while True:
            message = await ws.recv()
            if message.startswith("{") and (decoded := orjson.loads(message))["channel"] == channel:
                return decoded
    return None


ON_ACTIVITY = {"user", "orderUpdates", "trades"}  # pushed when something happens, no snapshot


async def _subscribed(ws: Any, subscription: dict[str, Any], channel: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    await ws.send(json.dumps({"method": "subscribe", "subscription": subscription}))
    ack = await _until(ws, "subscriptionResponse")
    assert ack is not None, subscription
    first = None if channel in ON_ACTIVITY | {"none"} else await _until(ws, channel)
    await ws.send(json.dumps({"method": "unsubscribe", "subscription": subscription}))
    assert await _until(ws, "subscriptionResponse") is not None
    return ack, first


async def test_every_ws_sample_channel_is_served_in_its_shape(url: str) -> None:
    gaps: dict[str, list[str]] = {}
    channels = {"allMids": {"type": "allMids"}, "bbo": {"type": "bbo", "coin": "BTC"},
                "candle": {"type": "candle", "coin": "BTC", "interval": "1m"}, "l2Book": {"type": "l2Book", "coin": "BTC"},
                "trades": {"type": "trades", "coin": "BTC"}, "orderUpdates": {"type": "orderUpdates", "user": TRADER},
                "userEvents": {"type": "userEvents", "user": TRADER}, "user": {"type": "userEvents", "user": TRADER},
                "userTwapSliceFills": {"type": "userTwapSliceFills", "user": TRADER}}
    async with connect(url.replace("http", "ws", 1) + "/ws") as ws:
        assert await ws.recv() == "Websocket connection established."
        for path in sorted(FIXTURES.glob("ws_*.json")):
            sample = json.loads(path.read_text())
            if ".subscribe." in path.name or path.name.startswith(("ws_ping", "ws_post")):
                continue
            if path.name.startswith("ws_pong"):
                await ws.send(json.dumps(json.loads((FIXTURES / "ws_ping.docs.request.json").read_text())))
                assert await _until(ws, "pong") == sample
                continue
            if ".subscriptionResponse." in path.name:
                kind = sample["data"]["subscription"]["type"]
                ack, _ = await _subscribed(ws, channels[kind], "none")
                found = shape_gaps(sample, ack)
            else:
                channel = sample["channel"]
                _, first = await _subscribed(ws, channels[channel], channel)
                if channel in ON_ACTIVITY:
                    continue  # served (acknowledged); their pushes are checked in test_hl_emulator
                assert first is not None, path.name
                if channel == "allMids":  # a map of coin -> mid: its values have the shape
                    sample["data"]["mids"] = {"BTC": next(iter(sample["data"]["mids"].values()))}
                found = [] if path.name in SPOT_OR_HIP3 else shape_gaps(sample, first)
            if found:
                gaps[path.name] = found
        for kind in ("info_l2Book", "action_order"):
            request = json.loads((FIXTURES / f"ws_post_{kind}.docs.request.json").read_text())
            recorded = json.loads((FIXTURES / f"ws_post_{kind}.docs.response.json").read_text())
            await ws.send(localise(json.dumps(request)))
            answer = await _until(ws, "post")
            assert answer is not None and answer["data"]["id"] == request["id"]
            if kind == "info_l2Book" and (found := shape_gaps(recorded, answer)):
                gaps[f"ws_post_{kind}"] = found  # the action's docs signature is a placeholder: refused
    assert not gaps, json.dumps(gaps, indent=1)
