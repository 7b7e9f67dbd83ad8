"""An emulator's WebSocket connections: one queue per client, a registry, and the loop that
serves one socket. Every venue's emulator speaks its own protocol over these.

The exchange calls in synchronously and must never block on a client: each message is
encoded once and queued per connection, and a connection whose queue overflows is closed,
as a venue closes a slow consumer. `serve` runs the socket: a sender that drains the queue
(closing the socket with the connection's close code on `close()`), any extra tasks (a
venue's pinger), and the venue's receiver until the client leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

import anyio
import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

QUEUE_MAX = 20_000  # messages queued per connection before it is closed as too slow
SERVICE_RESTART = 1012  # the close code of a connection the emulator drops
CLOSE = object()  # the queue's last item: close the socket


class Connection:
    """One WS client: its channels and its outgoing queue."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.channels: set[str] = set()
        self.closed = False
        self.close_code = SERVICE_RESTART

    def push(self, text: str) -> None:
        """Queue an encoded message; never blocks (an overflowing connection is closed)."""
        if self.closed:
            return
        if self.queue.qsize() >= QUEUE_MAX:
            self.close()
            return
        self.queue.put_nowait(text)

    def send(self, message: Any) -> None:
        self.push(orjson.dumps(message).decode())

    def close(self, code: int = SERVICE_RESTART) -> None:
        if not self.closed:
            self.closed = True
            self.close_code = code
            self.queue.put_nowait(CLOSE)


C = TypeVar("C", bound=Connection)


class ConnectionHub(Generic[C]):
    """Every connection of one emulator socket and who listens to each channel.

    A venue's hub subclasses it and adds its channels and feeds; `attach` (which builds the
    venue's connection) stays the venue's, and calls `register`.
    """

    def __init__(self) -> None:
        self.connections: set[C] = set()
        self.subs: dict[str, set[C]] = defaultdict(set)

    def register(self, conn: C) -> C:
        self.connections.add(conn)
        return conn

    def listen(self, conn: C, channel: str) -> None:
        """`conn` receives what is broadcast on `channel` (both indexes kept together)."""
        conn.channels.add(channel)
        self.subs[channel].add(conn)

    def unlisten(self, conn: C, channel: str) -> None:
        conn.channels.discard(channel)
        self.subs[channel].discard(conn)

    def detach(self, conn: C) -> None:
        self.connections.discard(conn)
        for channel in conn.channels:
            self.subs[channel].discard(conn)
        conn.channels.clear()
        conn.close()

    def drop_all(self) -> int:
        """Fault: close every connection (clients see the socket end)."""
        conns = list(self.connections)
        for conn in conns:
            conn.close()
        return len(conns)

    def broadcast(self, channel: str, message: Any) -> None:
        """Queue `message` to every connection on `channel`, encoded once (not at all when
        nobody listens)."""
        subs = self.subs.get(channel)
        if not subs:
            return
        text = orjson.dumps(message).decode()
        for conn in list(subs):
            conn.push(text)


async def serve(websocket: WebSocket, conn: Connection, receive: Callable[[], Awaitable[None]], *,
                idle_ping: str | None = None, idle_secs: float = 0.0,
                also: tuple[Callable[[], Awaitable[None]], ...] = ()) -> None:
    """Run one accepted socket until the client leaves or the connection is closed.

    `receive` reads the client's frames (see `frames`); `idle_ping`: a text the server
    sends after `idle_secs` without a message (the venue's own ping); `also`: more tasks
    for the socket's life. The caller detaches `conn` afterwards.
    """
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_sender, websocket, conn, tg.cancel_scope, idle_ping, idle_secs)
            for task in also:
                tg.start_soon(task)
            await receive()
            tg.cancel_scope.cancel()
    except WebSocketDisconnect:
        pass


async def _sender(websocket: WebSocket, conn: Connection, scope: anyio.CancelScope, idle_ping: str | None,
                  idle_secs: float) -> None:
    while True:
        if idle_ping is None:
            item = await conn.queue.get()
        else:
            item = idle_ping
            with anyio.move_on_after(idle_secs):  # quiet for that long: the server pings
                item = await conn.queue.get()
        if item is CLOSE:
            with contextlib.suppress(Exception):
                await websocket.close(code=conn.close_code)
            scope.cancel()
            return
        try:
            await websocket.send_text(item)
        except Exception:  # noqa: BLE001 - the peer is gone; the receiver ends the session
            scope.cancel()
            return


async def frames(websocket: WebSocket) -> AsyncIterator[str]:
    """The text of each frame the client sends (bytes decoded), until it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        yield message.get("text") or (message.get("bytes") or b"").decode()
