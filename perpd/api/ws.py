"""WebSocket endpoints: /ws/v1 (multiplexed) and one per channel.

Protocol (JSON text frames):

    client -> {"op": "subscribe", "channel": "markets", "symbols": ["BTC"], "id": 1}
              {"op": "unsubscribe", "channel": "markets"}      {"op": "ping"}
    server -> {"type": "snapshot", "channel": C, "seq": 0, "data": ...}
              {"type": "update", "channel": C, "topic": T, "seq": n, "data": ...}
              {"type": "unsubscribed" | "pong", "channel": C, "id": ...}
              {"type": "error", "id": ..., "error": {"type", "message", "details"}}

Every subscription starts with a snapshot (seq 0); each update after it has seq + 1,
counted per channel on this connection, so a missing number means a gap: resubscribe for a
fresh snapshot. A client that falls too far behind on a non-conflated topic is closed with
code 1013 (try again later); books and tickers are conflated (latest wins) instead.
Each channel is an inbox on the hub (`perpd.api.hub`), which routes by symbol and
account so that a publish visits only the clients that asked for it, and every update
frame spends a token of the daemon-wide frame budget (`perpd.api.budget`). The
per-channel endpoints (/ws/v1/orders?account=X, /ws/v1/markets?symbols=BTC,ETH) start
subscribed to their channel; they accept subscribe ops for that channel only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from perpd.api.auth import LOCAL_KEY, SUBPROTOCOL, Principal
from perpd.api.budget import FrameBudget
from perpd.api.channels import KINDS, Channel, Filters, Op, Ping, Subscribe, dumps
from perpd.api.errors import MalformedRequest, error_body, invalid, status_of
from perpd.api.hub import Inbox
from perpd.bus import SlowConsumer
from perpd.errors import InvalidRequest, PerpdError

log = logging.getLogger("perpd.api.ws")


class StreamSource(Protocol):
    """Where a connection's channels come from: the daemon itself (`ApiContext`), or,
    in a fan-out worker process, the daemon's feed (`perpd.api.fanout.WorkerContext`)."""

    auth: Any  # authenticate(headers, *, local, subprotocols) -> Principal
    frames: Any  # data(message, depth) -> the encoded `data` of an update
    frame_budget: FrameBudget | None  # None: each client's socket is its only limit
    ws_clients: dict[str, int]

    def check_ready(self) -> None:
        """Raise (Unavailable) if no channel can be served now."""

    async def open_channel(self, channel: Channel, *, maxlen: int) -> tuple[Inbox, bytes]:
        """A hub inbox for `channel` and its snapshot frame, taken at one point of the bus."""
        ...

PREFIX = "/ws/v1"
MAX_BEHIND = 2_000  # buffered non-conflated messages before a client is dropped
_OPS: TypeAdapter[Any] = TypeAdapter(Op)


class Connection:
    """One client: a hub inbox and a sender task per channel, one frame at a time."""

    def __init__(self, websocket: WebSocket, ctx: StreamSource, only: str | None) -> None:
        self.ws = websocket
        self.ctx = ctx
        self.only = only
        self.channels: dict[str, tuple[Channel, Inbox, asyncio.Task[None] | None]] = {}
        self.lock = asyncio.Lock()
        self.cache = ctx.frames
        self.budget = ctx.frame_budget

    async def send(self, frame: bytes) -> None:
        await self.ws.send({"type": "websocket.send", "text": frame.decode()})

    async def pump(self, channel: Channel, inbox: Inbox) -> None:
        """Hub -> client for one channel, until unsubscribed, gone or too far behind."""
        try:
            while True:
                if inbox.failure is not None:
                    raise inbox.failure
                if inbox.closed:
                    return
                batch = inbox.take()
                if not batch:
                    await inbox.wait()
                    continue
                for message in batch:
                    if self.budget is not None:
                        await self.budget.take()
                    frame = channel.update_frame(message, self.cache)
                    async with self.lock:
                        await self.send(frame)
        except SlowConsumer as exc:
            log.info("dropping slow websocket client: %s", exc)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(code=1013, reason="slow consumer: resubscribe"), 5)
        except (OSError, RuntimeError, WebSocketDisconnect) as exc:
            log.debug("websocket send failed (client gone): %r", exc)
        except Exception:  # noqa: BLE001 - a bug: say so, and end this client cleanly
            log.exception("websocket %s stream failed", channel.name)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(code=1011, reason="internal error"), 5)

    async def subscribe(self, op: Subscribe | Filters, name: str) -> None:
        if self.only is not None and name != self.only:
            raise InvalidRequest(f"this endpoint serves the {self.only!r} channel; use {PREFIX} for others")
        filters = Filters(**{k: getattr(op, k) for k in Filters.model_fields})
        channel = KINDS[name](filters)
        # The inbox and the snapshot come from one point of the bus's order: whatever
        # the inbox gets is newer than the snapshot, and the pump starts after it is sent.
        # Refused filters (an unknown account, topic) leave the old subscription as it was.
        inbox, frame = await self.ctx.open_channel(channel, maxlen=MAX_BEHIND)
        self.unsubscribe(name)
        self.channels[name] = (channel, inbox, None)
        async with self.lock:
            await self.send(frame)
        if self.channels.get(name, (None,))[0] is channel:  # not replaced meanwhile
            task = asyncio.get_running_loop().create_task(self.pump(channel, inbox))
            self.channels[name] = (channel, inbox, task)

    def unsubscribe(self, name: str) -> None:
        entry = self.channels.pop(name, None)
        if entry is not None:
            _, inbox, task = entry
            inbox.close()
            if task is not None:
                task.cancel()

    def close(self) -> None:
        for name in list(self.channels):
            self.unsubscribe(name)

    async def handle(self, text: str | bytes) -> None:
        request_id = None
        try:
            try:
                raw = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise MalformedRequest("malformed JSON") from None
            if isinstance(raw, dict):
                request_id = raw.get("id") if isinstance(raw.get("id"), (int, str)) else None
            try:
                op = _OPS.validate_python(raw)
            except ValidationError as exc:
                raise invalid(exc) from None
            if isinstance(op, Subscribe):
                await self.subscribe(op, op.channel)
            elif isinstance(op, Ping):
                await self._reply({"type": "pong", "id": op.id})
            else:
                self.unsubscribe(op.channel)
                await self._reply({"type": "unsubscribed", "channel": op.channel, "id": op.id})
        except PerpdError as exc:
            await self._reply({"type": "error", "id": request_id, **exc.to_dict()})

    async def _reply(self, payload: dict[str, Any]) -> None:
        async with self.lock:
            await self.send(dumps(payload))


async def _deny(websocket: WebSocket, exc: PerpdError) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(Response(error_body(exc), status_code=status_of(exc), media_type="application/json"))
    else:
        await websocket.close(code=1008, reason=exc.type_name)


def _admit(websocket: WebSocket, ctx: StreamSource) -> Principal:
    scope = websocket.scope
    local = bool(scope.get(LOCAL_KEY))
    # Host and Origin were checked before the app (perpd.api.BrowserGuard).
    principal = ctx.auth.authenticate(scope["headers"], local=local, subprotocols=scope.get("subprotocols", ()))
    principal.require("read")
    return principal


def _initial_filters(websocket: WebSocket) -> Filters:
    params: dict[str, Any] = {}
    for key, value in websocket.query_params.multi_items():
        params[key] = tuple(v for v in value.split(",") if v) if key in ("symbols", "venues", "topics") else value
    try:
        return Filters.model_validate(params)
    except ValidationError as exc:
        raise invalid(exc) from None


async def serve_socket(websocket: WebSocket, only: str | None) -> None:
    ctx: StreamSource = websocket.app.state.ctx
    try:
        _admit(websocket, ctx)
        filters = _initial_filters(websocket) if only else None
        ctx.check_ready()  # 503 before accepting if the daemon is not running
    except PerpdError as exc:
        await _deny(websocket, exc)
        return
    offered = websocket.scope.get("subprotocols", ())
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    conn = Connection(websocket, ctx, only)
    endpoint = only or "mux"
    ctx.ws_clients[endpoint] += 1
    try:
        if only is not None and filters is not None:
            try:
                await conn.subscribe(filters, only)
            except PerpdError as exc:
                await conn._reply({"type": "error", "id": None, **exc.to_dict()})
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            await conn.handle(text if text is not None else message.get("bytes") or b"")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away (or a pump closed a slow one)
    finally:
        ctx.ws_clients[endpoint] -= 1
        conn.close()


def _endpoint(only: str | None) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        await serve_socket(websocket, only)

    return endpoint


ROUTES = [WebSocketRoute(PREFIX, _endpoint(None), name="ws")] + [
    WebSocketRoute(f"{PREFIX}/{name}", _endpoint(name), name=f"ws-{name}") for name in KINDS
]
