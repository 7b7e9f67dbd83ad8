"""I/O with Extended: REST over httpx, streams over websockets. No parsing into models.

Every answer passes through `_check`: 429 is RateLimited, 5xx Unavailable (an unknown
outcome on a write), 401 AuthError, and `{"status": "ERROR", "error": {code, ...}}` the
code's error even with HTTP 200. Every request waits on the venue's token bucket
first (perpd/ratelimit.py), so bursts queue instead of earning 429s. Writes that may
have reached Extended and got no answer are OutcomeUnknown (errors.map_transport).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson
import websockets
from websockets.exceptions import WebSocketException

from perpd.clock import Clock
from perpd.errors import PerpdError
from perpd.ratelimit import TokenBucket
from venues.common.transport import JsonSocket, http_client, json_or_none, may_have_sent, retry_after_secs
from venues.extended.errors import map_code, map_transport

USER_AGENT = "perpd/0.1"


class ExtendedTransport:
    """REST for one venue (shared by its accounts) with its request budget."""

    def __init__(self, *, api_url: str, stream_url: str, rpc_url: str, timeout_secs: float, requests_per_min: int,
                 clock: Clock) -> None:
        self.api_url = api_url.rstrip("/")
        self.stream_url = stream_url.rstrip("/")
        self.rpc_url = rpc_url
        self.timeout_secs = timeout_secs
        self.requests = TokenBucket.per_window(requests_per_min, 60.0, clock)
        self._http = http_client(self.api_url, timeout_secs=timeout_secs, headers={
            "Accept": "application/json", "Content-Type": "application/json", "User-Agent": USER_AGENT})

    async def close(self) -> None:
        await self._http.aclose()

    async def get(self, path: str, params: Mapping[str, Any] | None = None, *, api_key: str | None = None) -> dict[str, Any]:
        """A read: safe to repeat, so a failure is mapped as never having acted."""
        return await self._send("GET", path, params=params, api_key=api_key, write=False)

    async def write(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
                    api_key: str | None = None) -> dict[str, Any]:
        """A write: once it may have reached Extended, no answer is an unknown outcome."""
        return await self._send(method, path, params=params, body=body, api_key=api_key, write=True)

    async def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None, api_key: str | None,
                    write: bool, body: Any = None) -> dict[str, Any]:
        await self.requests.acquire()
        headers = {"X-Api-Key": api_key} if api_key else None
        clean = {k: _query(v) for k, v in (params or {}).items() if v is not None}
        content = orjson.dumps(body) if body is not None else None
        try:
            response = await self._http.request(method, path, params=clean, content=content, headers=headers)
        except httpx.HTTPError as exc:
            sent = may_have_sent(exc, write=write)
            raise map_transport(exc, sent=sent) from exc
        return _check(response)

    def socket(self, url: str, api_key: str | None = None) -> ExtendedSocket:
        return ExtendedSocket(url, api_key=api_key, open_timeout_secs=self.timeout_secs)


def _query(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [_query(v) for v in value]
    return value



def _check(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(code, int):
        code = None
    if status >= 300 or (isinstance(body, dict) and body.get("status") == "ERROR"):
        raise map_code(code, message or f"HTTP {status}", http_status=status,
                       retry_after_secs=retry_after_secs(response) if status == 429 else None)
    if body is None:
        if response.content:
            raise map_transport(ValueError("not JSON"), sent=True)
        return {}  # an empty answer (PATCH /user/leverage, POST /user/deadmanswitch)
    if not isinstance(body, dict):
        raise map_transport(ValueError("not a JSON object"), sent=True)
    return body


class ExtendedSocket(JsonSocket):
    """One stream connection (classic or RPC): JSON frames in and out."""

    def __init__(self, url: str, *, api_key: str | None = None, open_timeout_secs: float = 10.0) -> None:
        self.url = url
        self.api_key = api_key
        self.open_timeout_secs = open_timeout_secs
        self._ws: Any = None

    async def open(self) -> None:
        headers = {"User-Agent": USER_AGENT}
        if self.api_key:
            headers["X-Api-Key"] = self.api_key
        try:
            self._ws = await websockets.connect(self.url, additional_headers=headers, open_timeout=self.open_timeout_secs,
                                                ping_interval=15, ping_timeout=20, max_size=None)
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            raise map_code(None, f"stream refused with HTTP {status}",
                           http_status=401 if status in (401, 403) else status) from exc
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise map_transport(exc, sent=False) from exc

    async def send(self, message: Mapping[str, Any]) -> None:
        try:
            await self._ws.send(orjson.dumps(message).decode())
        except (WebSocketException, OSError) as exc:
            raise map_transport(exc, sent=True) from exc

    async def recv(self) -> dict[str, Any]:
        """The next frame; a mapped error when the connection ends."""
        try:
            raw = await self._ws.recv()
        except (WebSocketException, OSError) as exc:
            raise map_transport(exc, sent=True) from exc
        message = orjson.loads(raw)
        if not isinstance(message, dict):
            raise map_transport(ValueError("frame is not a JSON object"), sent=True)
        return message


def frame_error(message: Mapping[str, Any]) -> PerpdError | None:
    """A stream error frame (`{"status": "ERROR", "error": {...}}`, or an RPC error) as an error."""
    error = message.get("error")
    if isinstance(error, Mapping):
        code = error.get("code")
        return map_code(code if isinstance(code, int) and code > 0 else None, str(error.get("message") or ""),
                        http_status=401 if code == -32001 else 400)
    if isinstance(error, str) and error:
        return map_code(None, error, http_status=400)
    return None
