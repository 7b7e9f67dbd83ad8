"""I/O with Vest: REST over httpx, the `/ws-api` streams over websockets. No models here.

Every REST request carries `xrestservermm: restserver{group}` (public ones group 0, as
every known client sends) and, when private, `X-API-KEY`. Requests wait on perpd's one
TokenBucket first. Every answer passes `_check`: a body with an integer `code` (or
`{"detail": {code, msg}}`) is an error whatever the status; 429 is RateLimited; 5xx is
Unavailable on a read and OutcomeUnknown on a write; a timeout or lost connection after
sending a write is OutcomeUnknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import orjson
import websockets
from websockets.exceptions import ConnectionClosed, WebSocketException

from perpd.clock import Clock
from perpd.errors import OutcomeUnknown, PerpdError, Unavailable
from perpd.ratelimit import TokenBucket
from venues.common.transport import JsonSocket, http_client, json_or_none, may_have_sent, retry_after_secs
from venues.vest.constants import API_KEY_HEADER, GROUP_HEADER, GROUP_QUERY, WS_VERSION, group_name
from venues.vest.errors import VENUE, map_close, map_code, map_transport


class VestTransport:
    """REST for one venue (shared by its accounts, one budget) and its WebSocket factory."""

    def __init__(self, *, rest_url: str, ws_url: str, timeout_secs: float, requests_per_min: int, clock: Clock) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.ws_url = ws_url
        self.timeout_secs = timeout_secs
        self.requests = TokenBucket.per_window(requests_per_min, 60.0, clock)
        self._http = http_client(self.rest_url, timeout_secs=timeout_secs, headers={"Accept": "application/json"})

    async def close(self) -> None:
        await self._http.aclose()

    @staticmethod
    def headers(group: int = 0, api_key: str | None = None) -> dict[str, str]:
        headers = {GROUP_HEADER: group_name(group)}
        if api_key is not None:
            headers[API_KEY_HEADER] = api_key
        return headers

    async def get(self, path: str, params: Mapping[str, Any] | None = None, *, group: int = 0,
                  api_key: str | None = None) -> Any:
        """A read: safe to repeat, so a failure before an answer is Unavailable."""
        clean = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        return await self._send("GET", path, clean, None, self.headers(group, api_key), write=False)

    async def write(self, method: str, path: str, body: Mapping[str, Any] | None, *, group: int,
                    api_key: str | None = None) -> Any:
        """POST/PUT/DELETE: once it may have reached Vest, a failure is an unknown outcome."""
        return await self._send(method, path, None, body, self.headers(group, api_key), write=True)

    async def _send(self, method: str, path: str, params: Mapping[str, Any] | None, body: Mapping[str, Any] | None,
                    headers: dict[str, str], *, write: bool) -> Any:
        await self.requests.acquire()
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        try:
            response = await self._http.request(
                method, path, params=params, content=orjson.dumps(body) if body is not None else None, headers=headers
            )
        except httpx.HTTPError as exc:
            # A connect failure never reached Vest; anything later may have.
            sent = may_have_sent(exc, write=write)
            raise map_transport(exc, sent=sent) from exc
        return _check(response, write=write)

    # ------------------------------------------------------------------ WS

    def stream_url(self, group: int, listen_key: str | None = None) -> str:
        """The WS URL with `version`, `xwebsocketserver` and (private) `listenKey`."""
        parts = urlsplit(self.ws_url)
        query = dict(parse_qsl(parts.query))
        query.setdefault("version", WS_VERSION)
        query[GROUP_QUERY] = group_name(group)
        if listen_key is not None:
            query["listenKey"] = listen_key
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))

    def socket(self, group: int = 0, listen_key: str | None = None) -> VestSocket:
        return VestSocket(self.stream_url(group, listen_key), open_timeout_secs=self.timeout_secs)


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return value



def error_fields(body: Any) -> tuple[int | None, str | None]:
    """(code, msg) of an error body, `{"code","msg"}` or FastAPI's `{"detail": {...}}`."""
    if isinstance(body, dict) and isinstance(body.get("detail"), dict):
        body = body["detail"]
    if isinstance(body, dict) and "code" in body and "msg" in body:
        try:
            return int(body["code"]), str(body.get("msg") or "")
        except (TypeError, ValueError):
            return None, str(body.get("msg") or "")
    return None, None


def _check(response: httpx.Response, *, write: bool) -> Any:
    status = response.status_code
    body = json_or_none(response)
    code, message = error_fields(body)
    if status >= 500 and code is None:
        cls = OutcomeUnknown if write else Unavailable
        raise cls(f"vest: HTTP {status}", venue=VENUE, code=status)
    if code is not None or status >= 300:
        raise map_code(code, message, http_status=status, retry_after_secs=retry_after_secs(response))
    if body is None:
        raise map_transport(ValueError("not JSON"), sent=write)
    return body


class VestSocket(JsonSocket):
    """One `/ws-api` connection: SUBSCRIBE / UNSUBSCRIBE / PING frames and JSON messages."""

    def __init__(self, url: str, *, open_timeout_secs: float = 10.0) -> None:
        self.url = url
        self.open_timeout_secs = open_timeout_secs
        self._ws: Any = None
        self._ids = 0

    async def open(self) -> None:
        try:
            # Vest's keepalive is its PING frame; websockets' own pings stay on as well.
            self._ws = await websockets.connect(self.url, open_timeout=self.open_timeout_secs, ping_interval=20,
                                                ping_timeout=20, max_size=None, compression=None)
        except websockets.InvalidStatus as exc:
            raise map_code(None, "stream refused", http_status=exc.response.status_code) from exc
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise map_transport(exc, sent=False) from exc

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    async def send(self, frame: Mapping[str, Any]) -> None:
        try:
            await self._ws.send(orjson.dumps(frame).decode())
        except ConnectionClosed as exc:
            raise _closed(exc) from exc
        except WebSocketException as exc:
            raise map_transport(exc, sent=True) from exc

    async def subscribe(self, channels: Sequence[str]) -> int:
        """SUBSCRIBE; returns the request id the `{"result": null, "id"}` answer carries."""
        request_id = self._next_id()
        await self.send({"method": "SUBSCRIBE", "params": list(channels), "id": request_id})
        return request_id

    async def unsubscribe(self, channels: Sequence[str]) -> int:
        request_id = self._next_id()
        await self.send({"method": "UNSUBSCRIBE", "params": list(channels), "id": request_id})
        return request_id

    async def ping(self) -> None:
        await self.send({"method": "PING", "params": [], "id": 0})

    async def recv(self) -> dict[str, Any]:
        """The next message (PONGs dropped); raises the mapped error when the socket ends."""
        while True:
            try:
                raw = await self._ws.recv()
            except ConnectionClosed as exc:
                raise _closed(exc) from exc
            except WebSocketException as exc:
                raise map_transport(exc, sent=True) from exc
            message = orjson.loads(raw)
            if isinstance(message, dict) and message.get("data") == "PONG":
                continue
            if not isinstance(message, dict):
                raise map_transport(ValueError("not a JSON object"), sent=True)
            return message


def _closed(exc: ConnectionClosed) -> PerpdError:
    frame = exc.rcvd
    if frame is not None and frame.code >= 4000:
        return map_close(frame.code, frame.reason)
    return map_transport(exc, sent=True)
