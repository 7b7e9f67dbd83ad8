"""What every venue's transport.py shares: the venue's HTTP client, reading an answer's JSON
and Retry-After, telling "never sent" from "may have been sent", and closing a socket.

The venue keeps its URLs, headers, signatures, answer checks and socket protocol; these
are the mechanisms under them, written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

import httpx
import orjson
import websockets
from websockets.exceptions import WebSocketException

from perpd.errors import PerpdError

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


class HelloSocket(JsonSocket):
    """A WebSocket whose server says hello first (`{"type": "connected", <id>: ...}`) and pings
    at the application level (`{"type": "ping"}`), as Lighter's and EdgeX's do.

    The hello's id is kept as `session_id`; a first frame that is not the hello is handed
    out by the first `recv`. Pings are answered here (`pong`); a venue says how it answers
    and what else it reads itself in `frame`. Failures are mapped by the venue's
    `map_transport`: before the hello, as never sent.
    """

    hello_id: ClassVar[str] = "session_id"  # the hello's field naming the connection
    hello_errors: ClassVar[tuple[type[Exception], ...]] = ()  # what else a failed hello raises, mapped too

    def __init__(self, url: str, *, map_transport: Callable[..., PerpdError], open_timeout_secs: float = 10.0,
                 headers: Mapping[str, str] | None = None, subprotocol: str | None = None) -> None:
        self.url = url
        self.map_transport = map_transport
        self.open_timeout_secs = open_timeout_secs
        self.headers = dict(headers or {})
        self.subprotocol = subprotocol
        self.session_id: str | None = None
        self._ws: Any = None
        self._early: list[dict[str, Any]] = []

    async def open(self) -> None:
        try:
            self._ws = await websockets.connect(
                self.url,
                additional_headers=self.headers or None,
                subprotocols=[self.subprotocol] if self.subprotocol else None,  # type: ignore[list-item]
                open_timeout=self.open_timeout_secs,
                ping_interval=20,
                ping_timeout=20,
                max_size=None,
            )
            first = orjson.loads(await self._ws.recv())
        except (OSError, WebSocketException, TimeoutError, *self.hello_errors) as exc:
            await self.close()
            raise self.map_transport(exc, sent=False) from exc
        if first.get("type") == "connected":
            self.session_id = first.get(self.hello_id)
        else:
            self._early.append(first)

    async def send(self, message: Mapping[str, Any]) -> None:
        try:
            await self._ws.send(orjson.dumps(message).decode())
        except WebSocketException as exc:
            raise self.map_transport(exc, sent=True) from exc

    async def recv(self) -> dict[str, Any]:
        """The next frame the venue's code reads (not a ping); raises a mapped error when
        the socket ends."""
        if self._early:
            return self._early.pop(0)
        while True:
            try:
                raw = await self._ws.recv()
            except WebSocketException as exc:
                raise self.map_transport(exc, sent=True) from exc
            message = orjson.loads(raw)
            if message.get("type") == "ping":
                await self.send(self.pong(message))
                continue
            if self.frame(message):
                return message  # type: ignore[no-any-return]

    def pong(self, ping: Mapping[str, Any]) -> dict[str, Any]:
        """The answer to the server's ping."""
        return {"type": "pong"}

    def frame(self, message: Mapping[str, Any]) -> bool:
        """Whether `recv` hands `message` out (False: the socket consumed it); may raise."""
        return True
