"""Tokens and scopes, rate limits, Host and Origin checks, and the token-free Unix socket."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from perpd.api.auth import api_bucket, host_allowed, origin_allowed
from perpd.clock import ManualClock
from api_support import TOKENS, Api, start_api, stop_api, write_config

pytestmark = pytest.mark.anyio

ORDER = {"account": "paper", "symbol": "BTC", "side": "buy", "size": "0.001", "price": "50000"}


async def test_a_request_without_a_token_is_401_in_the_one_error_shape(api: Api) -> None:
    async with api.client(token=None) as http:
        r = await http.get("/api/v1/status")
    assert r.status_code == 401
    assert r.json() == {"error": {"type": "unauthorized", "message": "missing bearer token (Authorization: Bearer TOKEN)", "details": None}}


async def test_a_wrong_token_is_401_and_never_echoed(api: Api) -> None:
    async with api.client(token="not-a-real-token-123") as http:
        r = await http.get("/api/v1/status")
    assert r.status_code == 401
    assert "not-a-real-token" not in r.text


async def test_a_read_token_reads_but_cannot_trade_or_administer(api: Api) -> None:
    before = (await api.counts())
    async with api.client("reader") as http:
        status = await http.get("/api/v1/status")
        trade = await http.post("/api/v1/orders", json=ORDER)
        reload = await http.post("/api/v1/reload")
    assert status.status_code == 200
    assert trade.status_code == 403 and trade.json()["error"]["type"] == "forbidden"
    assert "'trade' scope" in trade.json()["error"]["message"]
    assert reload.status_code == 403
    assert (await api.counts()) == before


async def test_a_trade_token_trades_and_reads_but_cannot_resume_or_edit_accounts(api: Api) -> None:
    async with api.client("trader") as http:
        placed = await http.post("/api/v1/orders", json=ORDER)
        listed = await http.get("/api/v1/orders")
        resume = await http.post("/api/v1/resume", json={})
        add = await http.post("/api/v1/accounts", json={"name": "x", "venue": "sim"})
    assert placed.status_code == 201 and listed.status_code == 200
    assert resume.status_code == 403 and add.status_code == 403


async def test_an_admin_token_can_do_everything(api: Api) -> None:
    async with api.client("admin") as http:
        assert (await http.post("/api/v1/orders", json=ORDER)).status_code == 201
        assert (await http.post("/api/v1/resume", json={})).status_code == 200
        assert (await http.get("/api/v1/config")).status_code == 200


async def test_the_unix_socket_needs_no_token_and_journals_the_local_actor(api: Api) -> None:
    async with api.local() as http:
        r = await http.post("/api/v1/orders", json=ORDER)
    assert r.status_code == 201
    await api.daemon.journal.flush()
    [event] = api.daemon.journal.events(action="place")
    assert event.actor == "local"


async def test_a_tcp_request_journals_the_token_name_as_actor(api: Api) -> None:
    async with api.client("trader") as http:
        await http.post("/api/v1/orders", json=ORDER)
    await api.daemon.journal.flush()
    [event] = api.daemon.journal.events(action="place")
    assert event.actor == "api:trader"


async def test_the_unix_socket_is_0600_in_a_0700_directory(api: Api) -> None:
    assert stat.S_ISSOCK(api.socket.stat().st_mode)
    assert stat.S_IMODE(api.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(api.socket.parent.stat().st_mode) == 0o700


async def test_a_host_not_on_the_allow_list_is_refused(api: Api) -> None:
    async with api.client(Host="evil.example") as http:
        r = await http.get("/api/v1/status")
    assert r.status_code == 403
    assert "Host" in r.json()["error"]["message"]


async def test_a_token_over_its_rate_limit_gets_429_with_retry_after(tmp_path: Path, socket_dir: Path, tokens_env: None) -> None:
    api = await start_api(write_config(tmp_path, socket_dir / "perpd.sock", rps=0.01))
    try:
        async with api.client("reader") as http:
            first = await http.get("/api/v1/status")
            second = await http.get("/api/v1/status")
        async with api.client("trader") as http:
            other_token = await http.get("/api/v1/status")
        async with api.local() as http:
            local = await http.get("/api/v1/status")
    finally:
        await stop_api(api)
    assert first.status_code == 200
    assert second.status_code == 429 and second.json()["error"]["type"] == "too_many_requests"
    assert int(second.headers["Retry-After"]) >= 1
    assert other_token.status_code == 200  # per token
    assert local.status_code == 200  # the socket is not rate limited


async def test_a_websocket_without_a_token_is_refused_with_401(api: Api) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(api.ws_url):
            pass
    assert refused.value.response.status_code == 401


async def test_a_websocket_from_a_foreign_origin_is_refused(api: Api) -> None:
    headers = {"Authorization": f"Bearer {TOKENS['reader']}"}
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(api.ws_url, additional_headers=headers, origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_a_browser_may_pass_its_token_as_a_websocket_subprotocol(api: Api) -> None:
    protocols = ["perpd.v1", f"perpd.bearer.{TOKENS['reader']}"]
    async with websockets.connect(api.ws_url, subprotocols=protocols) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "perpd.v1"


def test_the_token_bucket_allows_a_burst_then_refills_with_time() -> None:
    clock = ManualClock()
    bucket = api_bucket(2.0, clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.5]
    clock.advance(500)
    assert bucket.take() == 0.0
    assert bucket.headroom() == 0.0


def test_host_and_origin_checks_parse_ports_and_ipv6() -> None:
    allowed = ("127.0.0.1", "localhost", "[::1]")
    assert host_allowed([(b"host", b"127.0.0.1:8700")], allowed)
    assert host_allowed([(b"host", b"[::1]:8700")], allowed)
    assert host_allowed([(b"host", b"LOCALHOST")], allowed)
    assert not host_allowed([(b"host", b"127.0.0.1.evil.example:8700")], allowed)
    assert not host_allowed([], allowed)
    assert origin_allowed([], ())
    assert origin_allowed([(b"origin", b"http://terminal.local/")], ("http://terminal.local",))
    assert not origin_allowed([(b"origin", b"http://evil.example")], ("http://terminal.local",))


async def test_no_configured_tokens_means_tcp_is_closed_and_the_socket_open(tmp_path: Path, socket_dir: Path, tokens_env: None) -> None:
    path = write_config(tmp_path, socket_dir / "perpd.sock")
    text = path.read_text()
    path.write_text(text[: text.index("[[api.tokens]]")] + text[text.index("[venues.sim]"):])
    api = await start_api(path)
    try:
        async with api.client("admin") as http:
            tcp = await http.get("/api/v1/status")
        async with api.local() as http:
            local = await http.get("/api/v1/status")
    finally:
        await stop_api(api)
    assert tcp.status_code == 401 and "Unix socket" in tcp.json()["error"]["message"]
    assert local.status_code == 200


