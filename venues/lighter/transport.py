"""I/O with Lighter: REST over httpx, `/stream` over websockets. No parsing into models.

Every answer passes through `_check`: HTTP 429/405 and codes 23xxx are RateLimited,
5xx is Unavailable, and a body whose `code` is not 200 is an error even with HTTP 200.
Requests wait on the tier's token buckets first (`ratelimit.py` has the tiers;
the bucket is perpd's one `TokenBucket`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from perpd.clock import Clock
from perpd.errors import PerpdError, Unavailable
from perpd.ratelimit import TokenBucket
from venues.common.transport import HelloSocket, http_client, json_or_none, may_have_sent, retry_after_secs
from venues.lighter.errors import map_code, map_transport
from venues.lighter.ratelimit import Tier

SEND_TX = "/api/v1/sendTx"
SEND_TX_BATCH = "/api/v1/sendTxBatch"


class LighterTransport:
    """REST client for one venue (shared by its accounts) with tier rate limits."""

    def __init__(self, *, rest_url: str, ws_url: str, timeout_secs: float, tier: Tier, clock: Clock) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.ws_url = ws_url
        self.tier = tier
        self.timeout_secs = timeout_secs
        self.requests = TokenBucket.per_window(tier.requests_per_min, 60.0, clock)
        self.transactions = TokenBucket.per_window(tier.tx_per_min, 60.0, clock)
        self._http = http_client(self.rest_url, timeout_secs=timeout_secs, headers={"Accept": "application/json"})

    async def close(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ REST

    async def get(self, path: str, params: Mapping[str, Any] | None = None, *, auth: str | None = None) -> dict[str, Any]:
        """GET a JSON body; raises the mapped perpd error on any failure."""
        await self.requests.acquire(self.tier.weight(path))
        headers = {"authorization": auth} if auth else None
        clean = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.get(path, params=clean, headers=headers)
        except httpx.HTTPError as exc:
            raise map_transport(exc, sent=False) from exc
        return _check(response)

    async def send_tx(self, tx_type: int, tx_info: str) -> dict[str, Any]:
        """POST /api/v1/sendTx (form-encoded, as the SDK sends it)."""
        return await self._post_tx(SEND_TX, {"tx_type": str(tx_type), "tx_info": tx_info}, 1)

    async def send_tx_batch(self, tx_types: Sequence[int], tx_infos: Sequence[str]) -> dict[str, Any]:
        """POST /api/v1/sendTxBatch: both fields are JSON strings (a list of JSON strings)."""
        form = {"tx_types": orjson.dumps(list(tx_types)).decode(), "tx_infos": orjson.dumps(list(tx_infos)).decode()}
        return await self._post_tx(SEND_TX_BATCH, form, len(tx_types))

    async def _post_tx(self, path: str, form: Mapping[str, str], count: int) -> dict[str, Any]:
        await self.transactions.acquire(count)
        await self.requests.acquire(self.tier.weight(path))
        try:
            response = await self._http.post(path, data=dict(form))
        except httpx.HTTPError as exc:
            # Connect failures never reached Lighter; anything later may have.
            sent = may_have_sent(exc)
            raise map_transport(exc, sent=sent) from exc
        return _check(response)

    async def next_nonce(self, account_index: int, api_key_index: int) -> int:
        body = await self.get("/api/v1/nextNonce", {"account_index": account_index, "api_key_index": api_key_index})
        return int(body["nonce"])

    # ------------------------------------------------------------------ WS

    def socket(self) -> LighterSocket:
        return LighterSocket(self.ws_url, open_timeout_secs=self.timeout_secs)


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value



def _check(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    body = json_or_none(response)
    if status >= 500:
        raise Unavailable(f"lighter: HTTP {status}", venue="lighter", code=status)
    code = int(body.get("code", 200)) if isinstance(body, dict) and _is_int(body.get("code", 200)) else 200
    message = body.get("message") if isinstance(body, dict) else None
    if status in (405, 429):
        raise map_code(code if code != 200 else 0, message or f"HTTP {status}", retry_after_secs=retry_after_secs(response), http_status=status)
    if status != 200:
        raise map_code(code if code != 200 else 0, message or f"HTTP {status}", http_status=status)
    if not isinstance(body, dict):
        raise map_transport(ValueError("not a JSON object"), sent=True)
    if code != 200:
        raise map_code(code, message)
    return body


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


class LighterSocket(HelloSocket):
    """One `/stream` connection: hello, subscribe/unsubscribe, receive JSON messages.

    Application pings (`{"type":"ping"}`) are answered here; websockets' own ping
    frames keep the 2-minute idle timer of the server from firing.
    """

    def __init__(self, url: str, *, open_timeout_secs: float = 10.0) -> None:
        super().__init__(url, map_transport=map_transport, open_timeout_secs=open_timeout_secs)

    async def subscribe(self, channel: str, auth: str | None = None) -> None:
        message: dict[str, Any] = {"type": "subscribe", "channel": channel}
        if auth:
            message["auth"] = auth
        await self.send(message)

    async def unsubscribe(self, channel: str) -> None:
        await self.send({"type": "unsubscribe", "channel": channel})


def error_of(message: Mapping[str, Any]) -> PerpdError | None:
    """A WS error frame (`{"error": {code, message}}` or `{"type": "error", ...}`) as an error."""
    error = message.get("error")
    if isinstance(error, Mapping):
        return map_code(int(error.get("code") or 0), error.get("message"))
    if message.get("type") == "error":
        return map_code(int(message.get("code") or 0), message.get("message"))
    return None
