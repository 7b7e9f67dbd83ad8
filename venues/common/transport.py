"""What every venue's transport.py shares: the venue's HTTP client, reading an answer's JSON
and Retry-After, telling "never sent" from "may have been sent", and closing a socket.

The venue keeps its URLs, headers, signatures, answer checks and socket protocol; these
are the mechanisms under them, written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import httpx
import orjson

# Failures before a byte of the request left: nothing reached the venue.
NEVER_SENT: tuple[type[httpx.HTTPError], ...] = (httpx.ConnectError, httpx.ConnectTimeout)


def http_client(base_url: str, *, timeout_secs: float, headers: Mapping[str, str]) -> httpx.AsyncClient:
    """One venue's connection pool (shared by its accounts)."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_secs),
        headers=dict(headers),
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
    )


def may_have_sent(exc: BaseException, *, write: bool = True,
                  never_sent: tuple[type[BaseException], ...] = NEVER_SENT) -> bool:
    """Whether a request that failed with `exc` may have reached the venue. A read never
    acted, so it counts as not sent; `never_sent` names the failures that stop before
    sending (a venue adds its own, e.g. a pool timeout)."""
    return write and not isinstance(exc, never_sent)


def json_or_none(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def retry_after_secs(response: httpx.Response) -> float | None:
    """The answer's Retry-After in seconds, when it has a readable one."""
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def close_quietly(ws: Any) -> None:
    """Close a WebSocket that may already be broken (best effort)."""
    if ws is None:
        return
    try:
        await ws.close()
    except Exception:  # noqa: BLE001 - closing a broken socket is best effort
        pass


class JsonSocket:
    """A venue's WebSocket used as `async with`: `open()` on entry, `close()` on exit.

    A venue's socket subclasses it and writes `open` (its URL, headers, hello) and its
    frames; closing (quietly, once) is the same everywhere.
    """

    _ws: Any = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        ws, self._ws = self._ws, None
        await close_quietly(ws)
