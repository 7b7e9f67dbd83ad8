"""I/O with EdgeX: REST over httpx (HMAC-signed when private), WebSockets over websockets.

Moves bytes and JSON only (meaning is parse.py's). Every REST request waits on the
venue's one `TokenBucket` first. Every answer passes through `_check`: HTTP 429 is
RateLimited, 401/403 AuthError, 5xx Unavailable, and a body whose `code` is not
`SUCCESS` is an error even with HTTP 200 (errors.py decides which). A write that may
have reached EdgeX and got no answer is OutcomeUnknown, never a rejection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from perpd.clock import Clock
from perpd.errors import PerpdError
from perpd.ratelimit import TokenBucket
from venues.common.transport import NEVER_SENT, HelloSocket, http_client, json_or_none, may_have_sent, retry_after_secs
from venues.edgex.errors import SUCCESS, map_code, map_transport
from venues.edgex.signing import RequestSigner, canonical, canonical_query

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def query_text(value: Any) -> str:
    """A query value as EdgeX reads it: lists comma-joined, booleans `true`/`false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(query_text(v) for v in value)
    return str(value)


class EdgexTransport:
    """REST for one venue (shared by its accounts) with its request budget; sockets."""

    def __init__(self, *, rest_url: str, ws_url: str, timeout_secs: float, requests_per_min: int, clock: Clock) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.ws_url = ws_url.rstrip("/")
        self.timeout_secs = timeout_secs
        self.clock = clock
        self.requests = TokenBucket.per_window(requests_per_min, 60.0, clock)
        self._http = http_client(self.rest_url, timeout_secs=timeout_secs, headers=JSON_HEADERS)

    async def close(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ REST

    async def public(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET a public path; returns `data`."""
        query = {k: query_text(v) for k, v in (params or {}).items() if v is not None}
        await self.requests.acquire()
        try:
            response = await self._http.get(path, params=query)
        except httpx.HTTPError as exc:
            raise map_transport(exc, sent=False) from exc
        return _check(response)

    async def private_get(self, signer: RequestSigner, path: str, params: Mapping[str, Any]) -> Any:
        """GET a private path, HMAC-signed over the sorted raw query; returns `data`."""
        query = {k: query_text(v) for k, v in params.items() if v is not None}
        await self.requests.acquire()
        headers = signer.headers(self.clock.now_ms(), "GET", path, canonical_query(query))
        try:
            response = await self._http.get(path, params=query, headers=headers)
        except httpx.HTTPError as exc:
            raise map_transport(exc, sent=False) from exc  # a read: safe to ask again
        return _check(response)

    async def private_post(self, signer: RequestSigner, path: str, body: Mapping[str, Any]) -> Any:
        """POST a private path, HMAC-signed over the canonical body; returns `data`."""
        await self.requests.acquire()
        return await self.send(path, self.signed_post(signer, path, orjson.dumps(body), canonical(body)))

    async def private_post_raw(self, signer: RequestSigner, path: str, content: bytes, signed_text: str) -> Any:
        """POST JSON bytes whose canonical text the caller already has (createOrder)."""
        await self.requests.acquire()
        return await self.send(path, self.signed_post(signer, path, content, signed_text))

    def signed_post(self, signer: RequestSigner, path: str, content: bytes,
                    signed_text: str) -> tuple[bytes, dict[str, str]]:
        """(JSON bytes, headers) of a signed POST: built apart from sending, so a
        benchmark can count the whole signed request."""
        return content, signer.headers(self.clock.now_ms(), "POST", path, signed_text)

    async def send(self, path: str, request: tuple[bytes, dict[str, str]]) -> Any:
        content, headers = request
        try:
            response = await self._http.post(path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            # Connect failures never reached EdgeX; anything later may have.
            sent = may_have_sent(exc, never_sent=(*NEVER_SENT, httpx.PoolTimeout))
            raise map_transport(exc, sent=sent) from exc
        return _check(response)

    # ------------------------------------------------------------------ WebSocket

    def socket(self, path: str, query: Mapping[str, Any], *, headers: Mapping[str, str] | None = None,
               subprotocol: str | None = None) -> EdgexSocket:
        url = f"{self.ws_url}{path}?{urlencode({k: query_text(v) for k, v in query.items()})}"
        return EdgexSocket(url, headers=dict(headers or {}), subprotocol=subprotocol, open_timeout_secs=self.timeout_secs)



def _check(response: httpx.Response) -> Any:
    status = response.status_code
    body = json_or_none(response)
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("msg") if isinstance(body, dict) else None
    if status != 200:
        raise map_code(code if code != SUCCESS else None, message, http_status=status,
                       retry_after_secs=retry_after_secs(response) if status == 429 else None)
    if not isinstance(body, dict):
        raise map_transport(ValueError("not a JSON object"), sent=True)
    if code != SUCCESS:
        raise map_code(code or "NO_CODE", message, http_status=status)
    return body.get("data")


class EdgexSocket(HelloSocket):
    """One EdgeX WebSocket: the `connected` hello, JSON frames, application ping/pong.

    The server's `{"type":"ping","time":T}` is answered `{"type":"pong","time":T}`
    here; websockets' own ping frames keep the connection alive in between. A hello that
    is not JSON is mapped too, and an error frame is raised by `recv`.
    """

    hello_id = "sid"
    hello_errors = (orjson.JSONDecodeError,)

    def __init__(self, url: str, *, headers: dict[str, str], subprotocol: str | None,
                 open_timeout_secs: float = 10.0) -> None:
        super().__init__(url, map_transport=map_transport, open_timeout_secs=open_timeout_secs, headers=headers,
                         subprotocol=subprotocol)

    def __repr__(self) -> str:
        return f"<EdgexSocket {self.url.partition('?')[0]}>"

    async def subscribe(self, channel: str) -> None:
        await self.send({"type": "subscribe", "channel": channel})

    async def unsubscribe(self, channel: str) -> None:
        await self.send({"type": "unsubscribe", "channel": channel})

    def pong(self, ping: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "pong", "time": ping.get("time")}

    def frame(self, message: Mapping[str, Any]) -> bool:
        if message.get("type") == "pong":
            return False
        error = error_of(message)
        if error is not None:
            raise error
        return True


def error_of(message: Mapping[str, Any]) -> PerpdError | None:
    """A WS error frame `{"type":"error","content":{"code","msg"}}` as a perpd error."""
    if message.get("type") != "error":
        return None
    content = message.get("content") or {}
    return map_code(str(content.get("code") or "WS_ERROR"), content.get("msg"))
