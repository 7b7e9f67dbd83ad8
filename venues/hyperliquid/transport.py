"""Hyperliquid I/O: `/info` and `/exchange` over httpx, streams over websockets.

No parsing of meaning here, only bytes <-> JSON and failures -> perpd errors (through
`errors.py`). Rate limits are budgets shared by everything that uses one transport:
the per-IP request weight (1200/min) for every request, and the per-address action
budget (`AddressBudgets`) for `/exchange`, keyed by the address whose actions count.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from perpd.clock import Clock, SystemClock
from perpd.errors import RateLimited
from perpd.ratelimit import TokenBucket
from venues.hyperliquid import errors

log = logging.getLogger(__name__)

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
ESTABLISHED = "Websocket connection established."
_ESTABLISHED = ESTABLISHED.encode()
PING_INTERVAL_SECS = 50.0  # the venue drops a connection idle for 60 s

# /info weights (docs: rate limits). Everything else weighs 20.
INFO_WEIGHTS = {"l2Book": 2, "allMids": 2, "clearinghouseState": 2, "orderStatus": 2,
                "spotClearinghouseState": 2, "exchangeStatus": 2, "userRole": 60}


def ws_url_of(rest_url: str) -> str:
    """The SDK's rule: http(s)://host -> ws(s)://host/ws."""
    return "ws" + rest_url[len("http"):].rstrip("/") + "/ws"


def exchange_weight(batch_length: int) -> int:
    return 1 + batch_length // 40


@dataclass
class _Allowance:
    used: int = 0
    cap: int = 10_000  # the venue's initial buffer; refreshed from userRateLimit
    last_over_ms: int | None = None  # when the last action past the cap was let through


class AddressBudgets:
    """The per-address action budget (1 request per USDC traded, 10,000 to start),
    shared by every session of a venue: accounts trading one address share it.

    Past the cap the venue still takes one action per 10 s; so does this budget, and
    refuses the rest locally as RateLimited (nothing is sent). The venue's own counters
    (`userRateLimit`) overwrite ours whenever fetched.
    """

    EXHAUSTED_INTERVAL_MS = 10_000

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._by_address: dict[str, _Allowance] = {}

    def allowance(self, address: str) -> _Allowance:
        return self._by_address.setdefault(address.lower(), _Allowance())

    def update(self, address: str, used: int, cap: int) -> None:
        allowance = self.allowance(address)
        allowance.used, allowance.cap = used, cap

    def spend(self, address: str, count: int, *, cancel: bool = False) -> None:
        allowance = self.allowance(address)
        # Cancels get extra room: min(cap + 100000, 2 * cap) (docs).
        cap = min(allowance.cap + 100_000, allowance.cap * 2) if cancel else allowance.cap
        if allowance.used + count > cap:
            now = self.clock.now_ms()
            last = allowance.last_over_ms
            wait_ms = 0 if last is None else last + self.EXHAUSTED_INTERVAL_MS - now
            if wait_ms > 0:
                raise RateLimited(
                    f"hyperliquid: address {address} has used {allowance.used} of {cap} actions",
                    venue=errors.VENUE, code="address_budget", retry_after_secs=wait_ms / 1000,
                )
            allowance.last_over_ms = now
        allowance.used += count


class HyperliquidTransport:
    """REST for one venue: one connection pool, one IP weight budget (a token bucket of
    request weight on the venue's clock)."""

    def __init__(
        self,
        rest_url: str,
        *,
        timeout_secs: float = 10.0,
        ip_weight_per_min: int = 1200,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.timeout_secs = timeout_secs
        clock = clock or SystemClock()
        # Waits (never fails) so a burst slows down instead of earning 429s.
        self.ip_budget = TokenBucket.per_window(ip_weight_per_min, 60.0, clock)
        self.address_budgets = AddressBudgets(clock)
        self._client = client
        self._own_client = client is None

    async def open(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.rest_url,
                timeout=httpx.Timeout(self.timeout_secs),
                headers={"Content-Type": "application/json"},
                # Headers and body go out as two writes: without TCP_NODELAY, Nagle holds
                # the body until the peer's delayed ACK (~40 ms on every request).
                transport=httpx.AsyncHTTPTransport(
                    socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                    # Plain http (the emulator) uses no TLS: skip loading a CA bundle.
                    verify=self.rest_url.startswith("https://"),
                    limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
                ),
            )

    async def close(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    async def info(self, body: Mapping[str, Any], *, weight: int | None = None) -> Any:
        """POST /info; any failure is mapped (a read is always safe to retry)."""
        cost = weight if weight is not None else INFO_WEIGHTS.get(str(body.get("type")), 20)
        return await self._post("/info", body, cost)

    async def exchange(self, body: Mapping[str, Any], *, batch_length: int = 1) -> Any:
        """POST /exchange with a signed action; returns the decoded body (status ok/err).

        A timeout, a transport failure, a 429 or a 5xx raise OutcomeUnknown (or a
        subclass): the action may have been applied.
        """
        return await self._post("/exchange", body, exchange_weight(batch_length))

    async def _post(self, path: str, body: Mapping[str, Any], weight: int) -> Any:
        if self._client is None:
            await self.open()
        assert self._client is not None
        await self.ip_budget.acquire(weight)
        content = orjson.dumps(body)
        try:
            response = await self._client.post(path, content=content)
        except Exception as exc:  # mapped: timeouts and transport failures
            raise errors.transport_error(exc) from exc
        if response.status_code >= 300:
            raise errors.http_error(
                response.status_code, response.text, retry_after=response.headers.get("retry-after")
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise errors.bad_payload(response.text[:100]) from exc


# --------------------------------------------------------------------------- streams


@dataclass(frozen=True, slots=True)
class Reconnected:
    """Yielded by `subscribe_stream` after the connection dropped and came back:
    Hyperliquid does not replay what was missed, so consumers must resync."""

    reason: str


@dataclass(frozen=True, slots=True)
class Subscribed:
    """Yielded by `subscribe_stream` once the venue has acknowledged every subscription
    of a (re)connection: from here on nothing is missed, so a REST catch-up taken now
    closes the gap before it."""


async def subscribe_stream(
    ws_url: str,
    subscriptions: Sequence[Mapping[str, Any]],
    *,
    open_timeout_secs: float = 10.0,
    max_backoff_secs: float = 5.0,
    ping_interval_secs: float = PING_INTERVAL_SECS,
) -> AsyncIterator[dict[str, Any] | Reconnected | Subscribed]:
    """Yield every JSON message of the subscriptions, forever, reconnecting on loss.

    Each connection yields `Subscribed` once all subscriptions are acknowledged, after
    a `Reconnected` marker on every connection but the first. A subscription the venue
    answers with an error raises Unavailable (the caller resyncs and retries).
    """
    backoff = 0.05
    first = True
    while True:
        try:
            async with connect(ws_url, open_timeout=open_timeout_secs, ping_interval=None,
                               max_size=16 * 2**20, compression=None) as socket:
                for subscription in subscriptions:
                    await socket.send(orjson.dumps({"method": "subscribe", "subscription": subscription}).decode())
                with anyio.fail_after(open_timeout_secs):
                    held = await _acknowledged(socket, len(subscriptions))
                if not first:
                    yield Reconnected("websocket reconnected")
                first = False
                backoff = 0.05
                yield Subscribed()
                for message in held:
                    yield message
                async for message in _messages(socket, ping_interval_secs):
                    yield message
                reason = "websocket closed"
        except ConnectionClosed:
            reason = "websocket closed by the venue"
        except (OSError, WebSocketException, TimeoutError) as exc:
            reason = f"websocket lost: {type(exc).__name__}"
        log.info("hyperliquid %s; reconnecting", reason)
        first = False
        await anyio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff_secs)


async def _acknowledged(socket: ClientConnection, pending: int) -> list[dict[str, Any]]:
    """Read until `pending` subscriptions are answered; returns the data that came first."""
    held: list[dict[str, Any]] = []
    while pending:
        raw = await socket.recv(decode=False)  # bytes: orjson reads them without a str copy
        if raw == _ESTABLISHED:
            continue
        message = orjson.loads(raw)
        channel = message.get("channel")
        if channel == "error":
            # Not an acknowledgement: a stream missing a subscription would look quiet, not broken.
            raise errors.subscription_refused(message.get("data"))
        if channel == "subscriptionResponse":
            pending -= 1
        elif channel != "pong":
            held.append(message)
    return held


async def _messages(socket: ClientConnection, ping_interval_secs: float) -> AsyncIterator[dict[str, Any]]:
    # The venue closes a connection that has not *sent* anything for 60 s, however busy
    # the other direction is: ping on a fixed schedule. No background task (a task
    # group must not stay open across an async generator's yield).
    next_ping = time.monotonic() + ping_interval_secs
    while True:
        wait = next_ping - time.monotonic()
        if wait <= 0:
            await socket.send('{"method":"ping"}')
            next_ping = time.monotonic() + ping_interval_secs
            continue
        raw = None
        with anyio.move_on_after(wait):
            raw = await socket.recv(decode=False)
        if raw is None or raw == _ESTABLISHED:
            continue
        message = orjson.loads(raw)
        channel = message.get("channel")
        if channel in ("pong", "subscriptionResponse"):
            continue
        if channel == "error":
            log.warning("hyperliquid websocket error: %s", message.get("data"))
            continue
        yield message
