"""The emulator's `/stream` socket: Lighter's WS protocol, one `Connection` per client.

A `connected` hello first; subscribe/unsubscribe in slash form, answered in colon form
(the subscriptions themselves and the exchange feed live in hub.py); application
ping/pong; and transactions sent as `jsonapi/sendtx` / `jsonapi/sendtxbatch`. Each
connection's messages are queued and never block the exchange: a connection whose
queue overflows is closed, as a slow consumer would be.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.websockets import WebSocket

from venues.lighter.constants import MAX_BATCH_TXS
from venues.lighter.emulator.rest import PREDICTED_LATENCY_MS
from venues.lighter.emulator.txs import TxError, decode, decode_batch
from venues.simex import wshub

if TYPE_CHECKING:
    from venues.lighter.emulator.app import LighterEmulator

DROP: dict[str, Any] = {}  # a reply that is never sent: the connection closes instead
PING = '{"type":"ping"}'


def error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class Connection(wshub.Connection):
    """One WS client: its session id (sent in the hello), subscriptions and outgoing queue."""

    def __init__(self) -> None:
        super().__init__()
        self.session_id = str(uuid.uuid4())


async def stream(websocket: WebSocket) -> None:
    emu: LighterEmulator = websocket.app.state.lighter
    await websocket.accept()
    conn = emu.hub.attach()
    conn.send({"session_id": conn.session_id, "type": "connected"})
    try:
        # Quiet for ws_ping_secs: the server pings (the client answers pong).
        await wshub.serve(websocket, conn, lambda: _receiver(websocket, conn, emu), idle_ping=PING,
                          idle_secs=emu.ws_ping_secs)
    finally:
        emu.hub.detach(conn)


async def _receiver(websocket: WebSocket, conn: Connection, emu: LighterEmulator) -> None:
    async for text in wshub.frames(websocket):
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.send(error(30001, "Invalid JSON"))
            continue
        if emu.rates.latency_ms:
            await anyio.sleep(emu.rates.latency_secs)
        reply = _handle_frame(frame, conn, emu)
        if reply is DROP:
            conn.close()  # the tx stood; its answer (and the connection) are lost
        elif reply is not None:
            conn.send(reply)


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
