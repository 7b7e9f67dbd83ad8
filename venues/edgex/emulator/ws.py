"""The emulator's two WebSockets, on EdgeX's paths (V2 keeps them under /api/v1).

- `/api/v1/public/ws[?timestamp=ms]`: a `connected` hello, then subscribe /
  unsubscribe by channel (hub.py holds the channels and their feeds).
- `/api/v1/private/ws?accountId=..&timestamp=..`: authenticated in the handshake —
  the four X-edgeX-* headers, or the same JSON as a base64 `Sec-WebSocket-Protocol`
  (the browser form) — over `timestamp + "GET" + "/api/v1/private/ws" +
  "accountId={id}&timestamp={ts}"`. `accountId` may be repeated (the SDK sends it
  twice). A refused handshake is closed before it is accepted (HTTP 403); an accepted
  one echoes the client's subprotocol, which websocket-client requires. Then
  `connected`, a `Snapshot` trade-event, and the account's events; no subscribe.

Both send `{"type":"ping","time":T}` every `ping_interval_secs` and close a client
that leaves five unanswered; a client's ping is answered with a pong of the same time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.websockets import WebSocket

from venues.edgex.emulator.auth import EdgexError, subprotocol_headers
from venues.edgex.emulator.hub import Connection
from venues.edgex.signing import PRIVATE_WS_PATH
from venues.simex import wshub

if TYPE_CHECKING:
    from venues.edgex.emulator.app import EdgexEmulator

MAX_UNANSWERED_PINGS = 5


def _emulator(websocket: WebSocket) -> EdgexEmulator:
    return websocket.app.state.emulator  # type: ignore[no-any-return]


async def public_ws(websocket: WebSocket) -> None:
    emu = _emulator(websocket)
    await websocket.accept()
    conn = emu.hub.attach()
    await _serve(websocket, conn, emu)


async def private_ws(websocket: WebSocket) -> None:
    emu = _emulator(websocket)
    emu.step()
    offered = list(websocket.scope.get("subprotocols") or [])
    try:
        account_id = _authenticate(websocket, offered, emu)
    except EdgexError:
        await websocket.close(code=1008)  # before accept: the client sees HTTP 403
        return
    await websocket.accept(subprotocol=offered[0] if offered else None)
    conn = emu.hub.attach(account_id)
    await _serve(websocket, conn, emu, emu.hub.account_snapshot(account_id))


def _authenticate(websocket: WebSocket, offered: list[str], emu: EdgexEmulator) -> int:
    headers = {k.lower(): v for k, v in websocket.headers.items() if k.lower().startswith("x-edgex-")}
    if not headers and offered:
        headers = subprotocol_headers(offered[0])
    query = websocket.query_params
    account = query.getlist("accountId")
    if not account or not account[0].isdigit() or len(set(account)) != 1:
        raise EdgexError("INVALID_PARAMETER", "accountId is required")
    stamp = headers.get("x-edgex-timestamp") or headers.get("x-edgex-api-timestamp") or ""
    if query.get("timestamp") not in (None, stamp):
        raise EdgexError("INVALID_TIMESTAMP", "the query timestamp differs from the signed one")
    body = f"accountId={account[0]}&timestamp={stamp}"
    credentials = emu.keyring.verify(headers, "GET", PRIVATE_WS_PATH, body, emu.clock.now_ms())
    if credentials.account_id != int(account[0]):
        raise EdgexError("ACCOUNT_ID_WHITELIST_ERROR", f"accountId '{account[0]}' not in whitelist")
    return credentials.account_id


async def _serve(websocket: WebSocket, conn: Connection, emu: EdgexEmulator,
                 after_hello: dict[str, Any] | None = None) -> None:
    conn.send({"sid": conn.sid, "type": "connected", "time": str(emu.clock.now_ms())})
    if after_hello is not None:
        conn.send(after_hello)
    state = {"unanswered": 0}
    try:
        await wshub.serve(websocket, conn, lambda: _receiver(websocket, conn, emu, state),
                          also=(lambda: _pinger(conn, emu, state),))
    finally:
        emu.hub.detach(conn)


async def _pinger(conn: Connection, emu: EdgexEmulator, state: dict[str, int]) -> None:
    while True:
        await anyio.sleep(emu.ping_interval_secs)
        if state["unanswered"] >= MAX_UNANSWERED_PINGS:
            conn.close()
            return
        state["unanswered"] += 1
        conn.send({"type": "ping", "time": str(emu.clock.now_ms())})


async def _receiver(websocket: WebSocket, conn: Connection, emu: EdgexEmulator, state: dict[str, int]) -> None:
    async for text in wshub.frames(websocket):
        try:
            frame: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.send({"type": "error", "content": {"code": "INVALID_MESSAGE", "msg": "invalid JSON"}})
            continue
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            conn.send({"type": "pong", "time": frame.get("time")})
        elif kind == "pong":
            state["unanswered"] = 0
        elif kind in ("subscribe", "unsubscribe") and conn.account_id is None:
            emu.step()
            channel = str(frame.get("channel") or "")
            if kind == "subscribe":
                emu.hub.subscribe(conn, channel, text)
            else:
                emu.hub.unsubscribe(conn, channel, text)
        else:
            conn.send({"type": "error", "content": {"code": "INVALID_MESSAGE", "msg": f"unsupported message type {kind!r}"}})
