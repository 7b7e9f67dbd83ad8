"""The emulator's `/stream` socket: Lighter's WS protocol, one `Connection` per client.

A `connected` hello first; subscribe/unsubscribe in slash form, answered in colon form
(the subscriptions themselves and the exchange feed live in hub.py); application
ping/pong; and transactions sent as `jsonapi/sendtx` / `jsonapi/sendtxbatch`. Each
connection's messages are queued and never block the exchange: a connection whose
queue overflows is closed, as a slow consumer would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from venues.lighter.constants import MAX_BATCH_TXS
from venues.lighter.emulator.rest import PREDICTED_LATENCY_MS
from venues.lighter.emulator.txs import TxError, decode, decode_batch

if TYPE_CHECKING:
    from venues.lighter.emulator.app import LighterEmulator

QUEUE_MAX = 20_000
CLOSE = object()
DROP: dict[str, Any] = {}  # a reply that is never sent: the connection closes instead
PING = '{"type":"ping"}'


def error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class Connection:
    """One WS client: its subscriptions and its outgoing queue."""

    def __init__(self) -> None:
        self.session_id = str(uuid.uuid4())
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.channels: set[str] = set()
        self.closed = False

    def push(self, text: str) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= QUEUE_MAX:
            self.close()
            return
        self.queue.put_nowait(text)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(CLOSE)


async def stream(websocket: WebSocket) -> None:
    emu: LighterEmulator = websocket.app.state.lighter
    await websocket.accept()
    conn = emu.hub.attach()
    conn.push(orjson.dumps({"session_id": conn.session_id, "type": "connected"}).decode())
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_sender, websocket, conn, tg.cancel_scope, emu.ws_ping_secs)
            await _receiver(websocket, conn, emu)
            tg.cancel_scope.cancel()
    except WebSocketDisconnect:
        pass
    finally:
        emu.hub.detach(conn)


async def _sender(websocket: WebSocket, conn: Connection, scope: anyio.CancelScope, ping_secs: float) -> None:
    while True:
        item = PING
        with anyio.move_on_after(ping_secs):  # quiet for that long: the server pings (answer: pong)
            item = await conn.queue.get()
        if item is CLOSE:
            with contextlib.suppress(Exception):
                await websocket.close(code=1012)
            scope.cancel()
            return
        try:
            await websocket.send_text(item)
        except Exception:  # noqa: BLE001 - the peer is gone; the receiver ends the session
            scope.cancel()
            return


async def _receiver(websocket: WebSocket, conn: Connection, emu: LighterEmulator) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text") or (message.get("bytes") or b"").decode()
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.push(orjson.dumps(error(30001, "Invalid JSON")).decode())
            continue
        if emu.rates.latency_ms:
            await anyio.sleep(emu.rates.latency_secs)
        reply = _handle_frame(frame, conn, emu)
        if reply is DROP:
            conn.close()  # the tx stood; its answer (and the connection) are lost
        elif reply is not None:
            conn.push(orjson.dumps(reply).decode())


def _handle_frame(frame: Any, conn: Connection, emu: LighterEmulator) -> dict[str, Any] | None:
    kind = frame.get("type") if isinstance(frame, dict) else None
    if not isinstance(frame, dict):
        return error(30001, "Invalid message")
    if kind == "ping":
        return {"type": "pong"}
    if kind == "pong":
        return None
    emu.exchange.step()
    if kind == "subscribe":
        return emu.hub.subscribe(conn, str(frame.get("channel", "")), frame.get("auth"))
    if kind == "unsubscribe":
        return emu.hub.unsubscribe(conn, str(frame.get("channel", "")))
    if kind in ("jsonapi/sendtx", "jsonapi/sendtxbatch"):
        data = frame.get("data") or {}
        now = emu.clock.now_ms()
        status = emu.rates.roll_refusal()
        if status is not None:
            code, text = (23000, "Too Many Requests!") if status == 429 else (status, "Service Unavailable")
            return {"type": kind, "id": data.get("id"), **error(code, text)}
        try:
            if kind == "jsonapi/sendtx":
                hashes: Any = emu.exchange.submit(decode(data.get("tx_type"), data.get("tx_info"), now))
            else:
                txs = decode_batch(data.get("tx_types"), data.get("tx_infos"), now, MAX_BATCH_TXS)
                hashes = emu.exchange.submit_batch(txs)
        except TxError as exc:
            return {"type": kind, "id": data.get("id"), **error(exc.code, exc.message)}
        if emu.rates.roll_drop():
            return DROP
        return {"type": kind, "id": data.get("id"), "code": 200, "tx_hash": hashes,
                "predicted_execution_time_ms": now + PREDICTED_LATENCY_MS}
    return error(30001, f"Invalid message type {kind!r}")
