"""A browser terminal on another origin: CORS preflights and cross-origin calls from the
pages in `[api] allowed_origins` succeed (no credentials mode: the token travels in the
Authorization header), any other page is refused with 403, on REST and WebSockets alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from api_support import TOKENS, Api, start_api, stop_api, write_config
from websockets.exceptions import InvalidStatus

pytestmark = pytest.mark.anyio

TERMINAL = "http://terminal.example:5173"
OTHER = "http://other.example"
ORDER = {"account": "paper", "symbol": "BTC", "side": "buy", "size": "0.001", "price": "50000"}


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    """What a browser sends before a cross-origin call with a token and a JSON body."""
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
    }


@pytest.fixture
async def cors_api(tmp_path: Path, socket_dir: Path, tokens_env: None) -> AsyncIterator[Api]:
    config = write_config(tmp_path, socket_dir / "perpd.sock", api=f'allowed_origins = ["{TERMINAL}/"]')
    running = await start_api(config)
    try:
        yield running
    finally:
        await stop_api(running)


async def test_a_preflight_from_an_allowed_origin_allows_the_method_and_the_token_header(cors_api: Api) -> None:
    async with cors_api.client(token=None) as http:
        r = await http.options("/api/v1/orders", headers=preflight(TERMINAL))
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == TERMINAL
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert "access-control-allow-credentials" not in r.headers  # no cookies: the token is a header
    assert "Origin" in r.headers["vary"]


async def test_a_cross_origin_post_from_an_allowed_origin_places_the_order_and_is_readable(cors_api: Api) -> None:
    async with cors_api.client("trader", Origin=TERMINAL) as http:
        placed = await http.post("/api/v1/orders", json=ORDER, headers={"Idempotency-Key": "terminal-1"})
        replay = await http.post("/api/v1/orders", json=ORDER, headers={"Idempotency-Key": "terminal-1"})
    async with cors_api.client(token=None, Origin=TERMINAL) as http:
        refused = await http.get("/api/v1/orders")
    assert placed.status_code == 201 and placed.json()["orders"][0]["status"] == "open"
    assert placed.headers["access-control-allow-origin"] == TERMINAL
    assert "access-control-allow-credentials" not in placed.headers
    assert replay.status_code == 200
    assert "idempotent-replayed" in replay.headers["access-control-expose-headers"].lower()
    # An error answered to an allowed page is readable by it too.
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == TERMINAL


async def test_a_preflight_and_a_post_from_an_unlisted_origin_are_refused(cors_api: Api) -> None:
    before = await cors_api.counts()
    async with cors_api.client(token=None) as http:
        options = await http.options("/api/v1/orders", headers=preflight(OTHER))
    async with cors_api.client("trader", Origin=OTHER) as http:
        post = await http.post("/api/v1/orders", json=ORDER)
    for r in (options, post):
        assert r.status_code == 403, r.text
        assert r.json()["error"]["message"] == "Origin not allowed (api.allowed_origins)"
        assert "access-control-allow-origin" not in r.headers
    assert await cors_api.counts() == before  # nothing reached the engine


async def test_without_allowed_origins_every_cross_origin_call_is_refused(api: Api) -> None:
    async with api.client(token=None) as http:
        options = await http.options("/api/v1/orders", headers=preflight(TERMINAL))
    async with api.client("reader", Origin=TERMINAL) as http:
        get = await http.get("/api/v1/status")
    assert options.status_code == get.status_code == 403


async def test_a_websocket_opens_from_an_allowed_origin_and_not_from_another(cors_api: Api) -> None:
    protocols = ["perpd.v1", f"perpd.bearer.{TOKENS['reader']}"]  # what a browser can send
    async with websockets.connect(cors_api.ws_url, origin=TERMINAL, subprotocols=protocols) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "perpd.v1"
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(cors_api.ws_url, origin=OTHER, subprotocols=protocols):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403


async def test_a_reload_changes_which_origins_are_allowed(cors_api: Api) -> None:
    text = cors_api.config_path.read_text()
    cors_api.config_path.write_text(text.replace(f'["{TERMINAL}/"]', f'["{OTHER}"]'))
    async with cors_api.client("admin") as http:
        assert (await http.post("/api/v1/reload")).status_code == 200
        now_allowed = await http.options("/api/v1/orders", headers=preflight(OTHER))
        now_refused = await http.options("/api/v1/orders", headers=preflight(TERMINAL))
    assert now_allowed.status_code == 200 and now_allowed.headers["access-control-allow-origin"] == OTHER
    assert now_refused.status_code == 403
