"""I/O with the venue: REST over httpx, streams over websockets, rate limits, reconnects.

Must: move bytes and JSON only (meaning is parse.py's); pace every request on perpd's
one `TokenBucket` (perpd/ratelimit.py) with the injected clock, so bursts wait instead
of earning 429s; map every failure through errors.py at this boundary (`raise ... from
exc`), telling "never sent" from "sent, no answer"; reconnect streams and report each
reconnect so the venue emits a StreamGap. One transport per venue, shared by its
accounts (one connection pool, one budget).

The mechanisms are shared, not written again: venues/common/transport.py (`http_client`,
`may_have_sent`, `json_or_none`, `retry_after_secs`, `JsonSocket` for a socket used as
`async with`, `HelloSocket` for one whose server says hello and pings, as Lighter's and
EdgeX's do) and, for the stream loops, venues/common/streams.py (`Backoff`,
`UNREADABLE`, `lost`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx
import orjson

from perpd.clock import Clock
from perpd.ratelimit import TokenBucket
from venues._template.errors import map_code, map_transport
from venues.common.transport import http_client, may_have_sent


class TemplateTransport:
    """REST for one venue with its request budget; streams through `stream()`."""

    def __init__(self, rest_url: str, ws_url: str, *, timeout_secs: float, requests_per_min: int, clock: Clock) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.ws_url = ws_url
        self.timeout_secs = timeout_secs
        self.requests = TokenBucket.per_window(requests_per_min, 60.0, clock)
        self._http: httpx.AsyncClient | None = None

    async def open(self) -> None:
        if self._http is None:
            self._http = http_client(self.rest_url, timeout_secs=self.timeout_secs, headers={"Accept": "application/json"})

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """A read: safe to retry, so any failure is mapped as never sent."""
        await self.requests.acquire()
        await self.open()
        assert self._http is not None
        try:
            response = await self._http.get(path, params=dict(params or {}))
        except httpx.HTTPError as exc:
            raise map_transport(exc, sent=False) from exc
        return _check(response)

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """A write: once it may have reached the venue, a failure is an unknown outcome."""
        await self.requests.acquire()
        await self.open()
        assert self._http is not None
        try:
            response = await self._http.post(path, content=orjson.dumps(body))
        except httpx.HTTPError as exc:
            sent = may_have_sent(exc)
            raise map_transport(exc, sent=sent) from exc
        return _check(response)

    def stream(self, subscriptions: Sequence[Mapping[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        """Decoded WS messages for `subscriptions`, resubscribing after each reconnect."""
        raise NotImplementedError


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise map_code(response.status_code, response.text[:200])
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise map_transport(exc, sent=True) from exc
