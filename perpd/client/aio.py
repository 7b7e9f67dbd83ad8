"""The asyncio client: `AsyncClient` (httpx.AsyncClient) and `AsyncSubscription`.

    async with AsyncClient() as perp:
        await perp.buy("0.01", "BTC", 60000, account="paper")
        async with perp.subscribe("markets", symbols=["BTC"]) as stream:
            async for message in stream:
                ...
"""

from __future__ import annotations

import asyncio
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect, unix_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from perpd.client.calls import Call, Surface
from perpd.client.errors import DaemonUnreachable, from_body
from perpd.client.locate import Endpoint, locate
from perpd.client.results import StreamMessage
from perpd.client.stream import RESUBSCRIBE, StreamProtocol, filters_of, reconnectable
from perpd.client.sync import (
    DEFAULT_TIMEOUT_SECS,
    _json,
    answer,
    check_socket,
    transport_error,
)


class AsyncClient(Surface):
    """Every call of `Surface` as a coroutine; subscriptions as async iterators."""

    def __init__(self, endpoint: Endpoint | None = None, *, timeout_secs: float = DEFAULT_TIMEOUT_SECS,
                 **where: Any) -> None:
        self.endpoint = endpoint or locate(**where)
        transport = httpx.AsyncHTTPTransport(uds=str(self.endpoint.socket)) if self.endpoint.socket else None
        self._http = httpx.AsyncClient(base_url=self.endpoint.http_base, transport=transport,
                                       headers=self.endpoint.headers, timeout=timeout_secs)

    def __repr__(self) -> str:
        return f"AsyncClient({self.endpoint.describe()})"

    async def _run(self, call: Call) -> Any:
        check_socket(self.endpoint)
        try:
            response = await self._http.request(call.method, call.path, params=call.query(), json=call.json,
                                                content=call.content, headers=call.headers())
        except httpx.TransportError as exc:
            raise transport_error(self.endpoint, call, exc) from None
        return answer(call, response)

    def _send(self, call: Call) -> Any:
        return self._run(call)

    def subscribe(self, channel: str, *, account: str | None = None, symbols: Any = None, venues: Any = None,
                  depth: int | None = None) -> AsyncSubscription:
        """A live stream of one channel: orders, positions, account, markets or events."""
        return AsyncSubscription(self.endpoint, channel, filters_of(channel, account, symbols, venues, depth))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncSubscription:
    """`async for message in subscription`: a snapshot first, then numbered updates."""

    def __init__(self, endpoint: Endpoint, channel: str, filters: dict[str, Any], *, max_reconnects: int = 5) -> None:
        self.endpoint = endpoint
        self.protocol = StreamProtocol(channel, filters)
        self.max_reconnects = max_reconnects
        self._ws: ClientConnection | None = None
        self._closed = False

    async def _open(self) -> ClientConnection:
        try:
            if self.endpoint.socket is not None:
                ws = await unix_connect(str(self.endpoint.socket), self.endpoint.ws_base, open_timeout=10)
            else:
                ws = await connect(self.endpoint.ws_base, additional_headers=self.endpoint.headers, open_timeout=10)
        except InvalidStatus as exc:
            raise from_body(exc.response.status_code, _json(exc.response.body)) from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise DaemonUnreachable(f"no daemon is listening on {self.endpoint.describe()} ({exc})") from None
        await ws.send(self.protocol.subscribe_frame())
        return ws

    def __aiter__(self) -> AsyncSubscription:
        return self

    async def __anext__(self) -> StreamMessage:
        failures = 0
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._ws is None:
                self._ws = await self._open()
            try:
                text = await self._ws.recv()
            except ConnectionClosed as exc:
                self._ws = None
                if self._closed:
                    raise StopAsyncIteration from None
                failures += 1
                if not reconnectable(exc.rcvd.code if exc.rcvd else None) or failures > self.max_reconnects:
                    raise DaemonUnreachable(f"the daemon closed the {self.protocol.channel} stream ({exc})") from None
                await asyncio.sleep(0.1 * failures)
                self.protocol.reconnected()
                continue
            out = self.protocol.feed(text)
            if out == RESUBSCRIBE:
                await self._ws.send(self.protocol.subscribe_frame())
            elif isinstance(out, StreamMessage):
                return out

    async def aclose(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
