"""The emulators' WebSocket connections: queues that never block the exchange, and one socket served."""

from __future__ import annotations

import orjson
import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from tests.loopback import serve
from venues.simex import wshub


def test_a_connection_that_falls_too_far_behind_is_closed() -> None:
    conn = wshub.Connection()
    for _ in range(wshub.QUEUE_MAX):
        conn.push("x")
    assert not conn.closed
    conn.push("one too many")
    assert conn.closed and conn.close_code == wshub.SERVICE_RESTART
    conn.push("after close")
    assert conn.queue.qsize() == wshub.QUEUE_MAX + 1  # the messages, then CLOSE


def test_broadcast_reaches_the_listeners_of_a_channel_only() -> None:
    hub: wshub.ConnectionHub[wshub.Connection] = wshub.ConnectionHub()
    listening, other = hub.register(wshub.Connection()), hub.register(wshub.Connection())
    listening.channels.add("trades")
    hub.subs["trades"].add(listening)
    hub.broadcast("trades", {"px": "1"})
    hub.broadcast("nobody", {"px": "2"})
    assert listening.queue.get_nowait() == '{"px":"1"}' and other.queue.empty()
    hub.detach(listening)
    assert hub.subs["trades"] == set() and listening.closed and hub.connections == {other}
    assert hub.drop_all() == 1 and other.closed


@pytest.mark.anyio
async def test_serve_sends_what_is_queued_and_closes_with_the_connections_code() -> None:
    hub: wshub.ConnectionHub[wshub.Connection] = wshub.ConnectionHub()

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        conn = hub.register(wshub.Connection())

        async def receive() -> None:
            async for text in wshub.frames(websocket):
                if text == "bye":
                    conn.close(4005)
                else:
                    conn.send({"echo": text})

        try:
            await wshub.serve(websocket, conn, receive)
        finally:
            hub.detach(conn)

    async with serve(Starlette(routes=[WebSocketRoute("/ws", echo)])) as url:
        async with websockets.connect(url.replace("http", "ws") + "/ws") as ws:
            await ws.send("hi")
            assert orjson.loads(await ws.recv()) == {"echo": "hi"}
            await ws.send("bye")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4005
    assert hub.connections == set()
