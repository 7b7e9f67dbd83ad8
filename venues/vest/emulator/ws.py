"""The emulator's WebSocket (`/ws-api`, and the newer `/ws`): Vest's protocol.

The URL carries `version=1.0` (else close 4000 WRONG_VERSION) and the account group as
`xwebsocketserver=restserver{g}` or, as the docs' private example spells it,
`websocketserver=...` (both accepted). A private connection adds `listenKey`: unknown
closes 4004, expired 4005, a group other than the account's 4002, none at all 4001.
Frames: `{"method": "PING", ...}` -> `{"data": "PONG"}`; SUBSCRIBE / UNSUBSCRIBE ->
`{"result": null, "id"}` (hub.py has the channels); anything else -> `{"code", "msg"}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.websockets import WebSocket

from venues.simex import wshub
from venues.vest.constants import GROUP_QUERY, GROUP_QUERY_ALT, WS_VERSION, group_name
from venues.vest.emulator.hub import Connection
from venues.vest.errors import (
    ACCOUNT_GROUP_INVALID,
    ACCOUNT_GROUP_NOT_FOUND,
    INVALID_PARAMETER,
    LISTEN_KEY_EXPIRED,
    LISTEN_KEY_NOT_FOUND,
    WRONG_VERSION,
)

if TYPE_CHECKING:
    from venues.vest.emulator.app import VestEmulator


def _admit(emu: VestEmulator, query: Any) -> tuple[str | None, int | None]:
    """(account, None) for a connection Vest admits, else (None, close code)."""
    if query.get("version") != WS_VERSION:
        return None, WRONG_VERSION
    group = query.get(GROUP_QUERY) or query.get(GROUP_QUERY_ALT)
    listen_key = query.get("listenKey")
    if not listen_key:
        if group is not None and not (group.startswith("restserver") and group[len("restserver"):].isdigit()):
            return None, ACCOUNT_GROUP_INVALID
        return None, None
    account, expired = emu.exchange.registry.listener(listen_key)
    if account is None:
        return None, LISTEN_KEY_NOT_FOUND
    if expired:
        return None, LISTEN_KEY_EXPIRED
    if group is None:
        return None, ACCOUNT_GROUP_NOT_FOUND
    if group != group_name(account.group):
        return None, ACCOUNT_GROUP_INVALID
    return account.primary, None


async def stream(websocket: WebSocket) -> None:
    emu: VestEmulator = websocket.app.state.vest
    emu.exchange.step()
    account, refusal = _admit(emu, websocket.query_params)
    await websocket.accept()
    if refusal is not None:
        await websocket.close(code=refusal)
        return
    conn = emu.hub.attach(account)
    try:
        await wshub.serve(websocket, conn, lambda: _receiver(websocket, conn, emu))
    finally:
        emu.hub.detach(conn)


async def _receiver(websocket: WebSocket, conn: Connection, emu: VestEmulator) -> None:
    async for text in wshub.frames(websocket):
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.send({"code": INVALID_PARAMETER, "msg": "invalid JSON"})
            continue
        method = frame.get("method") if isinstance(frame, dict) else None
        request_id = frame.get("id") if isinstance(frame, dict) else None
        if method == "PING":
            conn.send({"data": "PONG"})
        elif method == "SUBSCRIBE":
            emu.exchange.step()
            emu.hub.subscribe(conn, frame.get("params"), request_id)
        elif method == "UNSUBSCRIBE":
            emu.hub.unsubscribe(conn, frame.get("params"), request_id)
        else:
            conn.send({"code": INVALID_PARAMETER, "msg": f"unknown method {method!r}", "id": request_id})
