"""WebSockets from fan-out worker processes ([api.fanout], `perpd.api.fanout`): the same
checks at their door as at the daemon's, the config following reloads, workers restarted
when they die or fall behind, none outliving the daemon, and the feed's framing.

The channels themselves are tested on both ports by tests/api/test_api_ws.py."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from perpd.api import fanout as fanout_mod
from perpd.api.fanout import FrameReader, pack
from perpd.model import Order, OrderStatus, OrderType, Side
from tests.polling import eventually
from api_support import TOKENS, Api, start_api, stop_api, write_config

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {TOKENS['reader']}"}


@pytest.fixture
async def api(tmp_path: Path, socket_dir: Path, tokens_env: None) -> AsyncIterator[Api]:
    running = await start_api(write_config(tmp_path, socket_dir / "run" / "perpd.sock"))
    try:
        await running.serve_fanout()
        yield running
    finally:
        await stop_api(running)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def snapshot_of(url: str, **kwargs: Any) -> dict[str, Any]:
    async with websockets.connect(url, **kwargs) as ws:
        return json.loads(await ws.recv())


# --------------------------------------------------------------------------- the door


async def test_the_fanout_port_refuses_a_missing_or_wrong_token(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-real-token-123"}):
        with pytest.raises(InvalidStatus) as refused:
            await snapshot_of(f"{api.ws_url}/positions", additional_headers=headers)
        assert refused.value.response.status_code == 401
        assert b"not-a-real-token" not in refused.value.response.body
    assert (await snapshot_of(f"{api.ws_url}/positions", additional_headers=AUTH))["type"] == "snapshot"
    protocols = ["perpd.v1", f"perpd.bearer.{TOKENS['reader']}"]
    assert (await snapshot_of(f"{api.ws_url}/positions", subprotocols=protocols))["channel"] == "positions"  # type: ignore[arg-type]


async def test_the_fanout_port_refuses_a_foreign_origin_and_host(api: Api) -> None:
    with pytest.raises(InvalidStatus) as origin:
        await snapshot_of(f"{api.ws_url}/positions", additional_headers=AUTH, origin="http://evil.example")
    assert origin.value.response.status_code == 403
    assert json.loads(origin.value.response.body)["error"]["message"] == "Origin not allowed (api.allowed_origins)"
    # A DNS-rebinding page's request names its own host (written by hand: the client
    # library sets Host from the URL).
    assert api.ws_base is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", int(api.ws_base.rsplit(":", 1)[1]))
    writer.write(
        b"GET /ws/v1/positions HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Authorization: Bearer " + TOKENS["reader"].encode() + b"\r\n\r\n"
    )
    answer = await asyncio.wait_for(reader.read(4096), 10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 403")
    assert b"Host header not allowed (daemon.allowed_hosts)" in answer


async def test_the_fanout_port_serves_websockets_only(api: Api) -> None:
    assert api.ws_base is not None
    async with httpx.AsyncClient(base_url=api.ws_base.replace("ws://", "http://")) as http:
        r = await http.get("/api/v1/status", headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"


async def test_a_reload_reaches_the_workers(api: Api) -> None:
    """A token removed from the config is refused on the fan-out port after the reload;
    an account added to it can be subscribed to there."""
    text = api.config_path.read_text()
    reader_table = '[[api.tokens]]\nname = "reader"\nsecret = "env:PERPD_TEST_READER"\nscopes = ["read"]\n'
    assert reader_table in text
    api.config_path.write_text(text.replace(reader_table, "") + '\n[accounts.third]\nvenue = "sim"\n')
    await api.daemon.reload()

    async def refused() -> bool:
        try:
            await snapshot_of(f"{api.ws_url}/positions", additional_headers=AUTH)
        except InvalidStatus as exc:
            return exc.response.status_code == 401
        return False

    await eventually(refused, what="the removed token refused", timeout_secs=10)
    trader = {"Authorization": f"Bearer {TOKENS['trader']}"}
    snapshot = await snapshot_of(f"{api.ws_url}/orders?account=third", additional_headers=trader)
    assert snapshot["type"] == "snapshot" and snapshot["data"] == []


# --------------------------------------------------------------------------- what flows


async def test_a_worker_asks_only_for_the_topics_its_clients_read(api: Api) -> None:
    """Nothing is encoded for a topic, symbol or account no worker's client reads: one
    client on BTC books costs the daemon BTC's books, not every market's."""
    fanout = api.daemon.fanout
    engine = api.daemon.engine
    books = engine.portfolio.market_data.books
    assert all(not feed.want for feed in fanout.feeds)
    async with websockets.connect(f"{api.ws_url}/markets?symbols=BTC&topics=book", additional_headers=AUTH) as ws:
        await ws.recv()
        assert {"book|BTC-PERP"} in [feed.want for feed in fanout.feeds]
        before = fanout.relayed
        for _ in range(50):
            engine.bus.publish("book", books[("sim", "ETH-PERP")], key="sim:ETH-PERP")
            engine.bus.publish("orders", Order("paper", "sim", "pd-w", "ETH-PERP", Side.BUY, OrderType.LIMIT, Decimal(1),
                                               OrderStatus.OPEN, price=Decimal(1)), key="pd-w")
        assert fanout.relayed == before
        engine.bus.publish("book", books[("sim", "BTC-PERP")], key="sim:BTC-PERP")
        assert fanout.relayed == before + 1
    await eventually(lambda: all(not feed.want for feed in fanout.feeds), what="the topics let go", timeout_secs=10)
    async with websockets.connect(f"{api.ws_url}/orders?account=paper", additional_headers=AUTH) as ws:
        await ws.recv()
        assert {"orders@paper"} in [feed.want for feed in fanout.feeds]


async def test_an_order_update_reaches_every_worker_client_in_order(api: Api) -> None:
    """Clients spread over both workers each see the same numbered updates."""
    engine = api.daemon.engine
    clients = [await websockets.connect(f"{api.ws_url}/orders", additional_headers=AUTH) for _ in range(8)]
    try:
        for ws in clients:
            json.loads(await ws.recv())
        order = Order("paper", "sim", "pd-fan", "BTC-PERP", Side.BUY, OrderType.LIMIT, Decimal(1), OrderStatus.OPEN, price=Decimal(1))
        for n in range(50):
            engine.bus.publish("orders", dataclasses.replace(order, filled_size=Decimal(n) / 100), key=order.client_id)
        for ws in clients:
            frames = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(50)]
            assert [f["seq"] for f in frames] == list(range(1, 51))
            assert [Decimal(f["data"]["filled_size"]) for f in frames] == [Decimal(n) / 100 for n in range(50)]
    finally:
        for ws in clients:
            await ws.close()
    assert len({p.pid for p in api.daemon.fanout.processes.values()}) == 2


async def test_the_python_client_streams_from_the_fanout_port_and_calls_the_daemon(api: Api) -> None:
    """`stream_url` (or $PERPD_STREAM_URL): REST to the daemon, subscriptions to the fan-out."""
    from perpd.client import AsyncClient
    from perpd.client.locate import Endpoint

    endpoint = Endpoint(url=api.base_url, token=TOKENS["trader"], stream_url=api.ws_base)
    assert endpoint.ws_base == f"{api.ws_base}/ws/v1"
    async with AsyncClient(endpoint) as perp, perp.subscribe("orders", account="spare") as stream:
        snapshot = await anext(stream)
        placed = (await perp.buy("0.001", "BTC", 60000, account="spare"))[0]
        update = await anext(stream)
        while update.data.client_id != placed.client_id:
            update = await anext(stream)
    assert snapshot.type == "snapshot" and snapshot.data == []
    assert update.seq >= 1 and update.topic == "orders"
    with pytest.raises(ValueError, match="stream URL"):
        Endpoint(socket=api.socket, stream_url=api.ws_base)


# --------------------------------------------------------------------------- workers' lives


async def test_a_worker_that_dies_is_restarted(api: Api) -> None:
    fanout = api.daemon.fanout
    before = {i: p.pid for i, p in fanout.processes.items()}
    for pid in before.values():
        os.kill(pid, signal.SIGKILL)
    await eventually(lambda: fanout.restarts >= 2 and len(fanout.feeds) == 2, what="both workers restarted", timeout_secs=20)
    assert all(p.pid not in before.values() for p in fanout.processes.values())
    assert (await snapshot_of(f"{api.ws_url}/positions", additional_headers=AUTH))["type"] == "snapshot"


async def test_a_worker_that_stops_reading_its_feed_is_dropped_and_restarted(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout_mod, "MAX_BACKLOG", 1 << 20)
    fanout = api.daemon.fanout
    engine = api.daemon.engine
    clients = [await websockets.connect(f"{api.ws_url}/orders", additional_headers=AUTH, close_timeout=1) for _ in range(4)]
    try:
        for ws in clients:
            await ws.recv()
        stopped = [p.pid for p in fanout.processes.values()]
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)  # reads nothing from here on
        order = Order("paper", "sim", "pd-big", "BTC-PERP", Side.BUY, OrderType.LIMIT, Decimal(1), OrderStatus.OPEN, price=Decimal(1))
        for _ in range(5_000):  # ~2.5 MB of feed
            engine.bus.publish("orders", order, key=order.client_id)
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        await eventually(lambda: fanout.restarts >= 1, what="a backed-up worker restarted", timeout_secs=20)
    finally:
        for ws in clients:
            await ws.close()
    await eventually(lambda: len(fanout.feeds) == 2, what="two workers again", timeout_secs=20)
    assert engine.bus.seq("orders") >= 5_000  # the engine went on publishing meanwhile


async def test_a_worker_holds_no_secret_of_the_daemons_environment(api: Api) -> None:
    """The tokens reach workers as digests; the environment the references read stays
    with the daemon."""
    for process in api.daemon.fanout.processes.values():
        environ = Path(f"/proc/{process.pid}/environ").read_bytes()
        assert b"PERPD_TEST_READER" not in environ and TOKENS["reader"].encode() not in environ
    assert os.environ["PERPD_TEST_READER"] == TOKENS["reader"]  # the daemon's own has it


async def test_a_fanout_port_in_use_is_refused_naming_the_key(api: Api) -> None:
    from perpd.api.fanout import Fanout
    from perpd.config import FanoutConfig
    from perpd.errors import ConfigError

    taken = f"127.0.0.1:{api.daemon.fanout.port}"
    with pytest.raises(ConfigError, match=rf"api.fanout.http {taken}: cannot listen there"):
        await Fanout(api.daemon, FanoutConfig(workers=1, http=taken)).start()


async def test_workers_end_with_the_fanout(api: Api) -> None:
    pids = [p.pid for p in api.daemon.fanout.processes.values()]
    await api.daemon.fanout.stop()
    api.daemon.fanout = None
    assert not [pid for pid in pids if alive(pid)]


async def test_the_daemon_serves_the_fanout_from_its_config_and_its_workers_die_with_it(tmp_path: Path, tokens_env: None) -> None:
    """`perpd run` with [api.fanout]: clients on the logged port; a SIGKILLed daemon takes
    its workers with it (their feed closes), so no process is left holding the port."""
    config = write_config(tmp_path, tmp_path / "run" / "perpd.sock", extra='\n[api.fanout]\nworkers = 2\nhttp = "127.0.0.1:0"\n')
    log = tmp_path / "perpd.log"
    with log.open("wb") as stderr:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("perpd")), "run", "-c", str(config), "--http", "127.0.0.1:0"],
            stderr=stderr, stdout=subprocess.DEVNULL,
        )
    try:
        port = await eventually(lambda: _fanout_port(log, daemon), what="the fan-out's port in the log", timeout_secs=60)
        url = f"ws://127.0.0.1:{port}/ws/v1/positions"
        assert (await snapshot_of(url, additional_headers=AUTH))["channel"] == "positions"
        workers = _children(daemon.pid)
        assert len(workers) == 2
    finally:
        daemon.kill()
        daemon.wait(10)
    await eventually(lambda: not [pid for pid in workers if alive(pid)], what="the workers gone", timeout_secs=15)


def _fanout_port(log: Path, process: subprocess.Popen[bytes]) -> int | None:
    for line in log.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("msg") == "WebSocket fan-out listening":
            return int(record["http"].rsplit(":", 1)[1])
    assert process.poll() is None, f"the daemon exited ({process.returncode}) without serving the fan-out"
    return None


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


# --------------------------------------------------------------------------- the feed


def test_feed_frames_survive_any_cut_of_the_stream() -> None:
    frames = [(["m", "book", n, "sim:BTC-PERP", {"symbol": "BTC-PERP"}, 20], b'{"n":%d}' % n) for n in range(50)]
    frames.append((["snap", 7, None], b""))
    stream = b"".join(pack(header, data) for header, data in frames)
    for cut in (1, 7, 8, 9, 64, len(stream)):
        reader = FrameReader()
        got = []
        for at in range(0, len(stream), cut):
            got += list(reader.feed(stream[at : at + cut]))
        assert got == frames


def test_a_feed_frame_larger_than_the_bound_is_refused() -> None:
    reader = FrameReader()
    with pytest.raises(ValueError, match="feed frame"):
        list(reader.feed((fanout_mod.MAX_FRAME).to_bytes(4, "big") + (1).to_bytes(4, "big")))
