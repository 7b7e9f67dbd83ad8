"""The synchronous client: `Client` (httpx.Client) and `Subscription` (websockets.sync).

Safe in a Jupyter kernel, whose event loop is already running: nothing here starts one.
"""

from __future__ import annotations

import time
from typing import Any, Self

import httpx
import orjson
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect, unix_connect

from perpd.client.calls import Call, Surface
from perpd.client.errors import DaemonUnreachable, from_body, unknown_outcome
from perpd.client.locate import Endpoint, locate
from perpd.client.results import StreamMessage
from perpd.client.stream import RESUBSCRIBE, StreamProtocol, filters_of, reconnectable
from perpd.errors import PerpdError

DEFAULT_TIMEOUT_SECS = 30.0


def answer(call: Call, response: httpx.Response) -> Any:
    """Decode a response: the call's value, or its typed error raised."""
    if call.text and response.status_code < 400:
        return call.decode((response.text, response.headers))
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    if response.status_code >= 400:
        raise from_body(response.status_code, body, response.text)
    if body is None:
        raise PerpdError(f"the daemon answered {call.method} {call.path} with no JSON")
    return call.decode(body)


def transport_error(endpoint: Endpoint, call: Call, exc: httpx.TransportError) -> PerpdError:
    """Could not connect: nothing happened. Lost the answer to a write: maybe it did."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) or not call.is_write:
        return DaemonUnreachable(f"no daemon is listening on {endpoint.describe()} ({_reason(exc)}); start one with `perpd run`")
    return unknown_outcome(call.method, call.path, exc, call.idempotency_key)


def check_socket(endpoint: Endpoint) -> None:
    """DaemonUnreachable if the endpoint is a Unix socket that does not exist."""
    if endpoint.socket is not None and not endpoint.socket.exists():
        raise DaemonUnreachable(f"no daemon is listening on {endpoint.describe()} (no such socket); "
                                "start one with `perpd run`")


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    while cause is not None and (cause.__cause__ or cause.__context__) is not None:
        cause = cause.__cause__ or cause.__context__
    text = str(cause or exc) or type(exc).__name__
    return text.split("] ", 1)[-1]


class Client(Surface):
    """A client of the running daemon: every call of `Surface`, answered in place.

        with perpd.client.Client() as perp:          # the Unix socket from the config
            perp.buy("0.01", "BTC", 60000, account="paper")
            for message in perp.subscribe("orders", account="paper"): ...
    """

    def __init__(self, endpoint: Endpoint | None = None, *, timeout_secs: float = DEFAULT_TIMEOUT_SECS,
                 **where: Any) -> None:
        self.endpoint = endpoint or locate(**where)
        transport = httpx.HTTPTransport(uds=str(self.endpoint.socket)) if self.endpoint.socket else None
        self._http = httpx.Client(base_url=self.endpoint.http_base, transport=transport,
                                  headers=self.endpoint.headers, timeout=timeout_secs)

    def __repr__(self) -> str:
        return f"Client({self.endpoint.describe()})"

    def _send(self, call: Call) -> Any:
        self._check_socket()
        try:
            response = self._http.request(call.method, call.path, params=call.query(), json=call.json,
                                          content=call.content, headers=call.headers())
        except httpx.TransportError as exc:
            raise transport_error(self.endpoint, call, exc) from None
        return answer(call, response)

    def _check_socket(self) -> None:
        # Saying so before connecting is clearer, and httpcore leaks the socket object of a
        # failed Unix connect (a ResourceWarning at exit).
        check_socket(self.endpoint)

    def subscribe(self, channel: str, *, account: str | None = None, symbols: Any = None, venues: Any = None,
                  depth: int | None = None) -> Subscription:
        """A live stream of one channel: orders, positions, account, markets or events."""
        return Subscription(self.endpoint, channel, filters_of(channel, account, symbols, venues, depth))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscription:
    """Iterate `StreamMessage`s: a snapshot first, then updates; `close()` from any thread."""

    def __init__(self, endpoint: Endpoint, channel: str, filters: dict[str, Any], *, max_reconnects: int = 5) -> None:
        self.endpoint = endpoint
        self.protocol = StreamProtocol(channel, filters)
        self.max_reconnects = max_reconnects
        self._ws: ClientConnection | None = None
        self._closed = False

    def _open(self) -> ClientConnection:
        try:
            if self.endpoint.socket is not None:
                ws = unix_connect(str(self.endpoint.socket), self.endpoint.ws_base, open_timeout=10)
            else:
                ws = connect(self.endpoint.ws_base, additional_headers=self.endpoint.headers, open_timeout=10)
            # Entered by hand: the connection outlives this call (closed in close()), and
            # websockets >= 17.1 warns about a connection that never was entered.
            ws = ws.__enter__()
        except InvalidStatus as exc:
            raise from_body(exc.response.status_code, _json(exc.response.body)) from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise DaemonUnreachable(f"no daemon is listening on {self.endpoint.describe()} ({exc})") from None
        ws.send(self.protocol.subscribe_frame())
        return ws

    def __iter__(self) -> Subscription:
        return self

    def __next__(self) -> StreamMessage:
        return self.next()

    def next(self, timeout_secs: float | None = None) -> StreamMessage:
        """The next message; TimeoutError if none came within `timeout_secs`."""
        failures = 0
        while True:
            if self._closed:
                raise StopIteration
            if self._ws is None:
                self._ws = self._open()
            try:
                text = self._ws.recv(timeout=timeout_secs)
            except ConnectionClosed as exc:
                self._ws = None
                if self._closed:
                    raise StopIteration from None
                failures += 1
                if not reconnectable(exc.rcvd.code if exc.rcvd else None) or failures > self.max_reconnects:
                    raise DaemonUnreachable(f"the daemon closed the {self.protocol.channel} stream ({exc})") from None
                time.sleep(0.1 * failures)
                self.protocol.reconnected()
                continue
            out = self.protocol.feed(text)
            if out == RESUBSCRIBE:
                self._ws.send(self.protocol.subscribe_frame())
            elif isinstance(out, StreamMessage):
                return out

    def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            self._ws.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json(body: bytes | None) -> Any:
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None
