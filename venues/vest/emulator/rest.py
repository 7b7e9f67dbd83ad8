"""The emulator's REST surface under `/v2`, with Vest's paths and JSON shapes.

Refusals are `{"code", "msg"}` (refusal.py has the statuses). Private paths need
`X-API-KEY` and the account's `xrestservermm` (auth.py); reads take `time` and no
signature; writes are checked in exchange.py. Injected faults (app.py `Faults`):
throttling answers 429 `{"code": 429, "msg": "Rate limited"}` (the docs' example),
server errors 500, and accept-then-timeout applies a write and answers it late.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from venues.vest.constants import MAX_DEPTH, MAX_ROWS, INTERVAL_MS
from venues.vest.emulator import shapes
from venues.vest.emulator.auth import ApiKey, VestAccount
from venues.vest.emulator.refusal import VestError
from venues.vest.errors import INVALID_PARAMETER, RATE_LIMITED

if TYPE_CHECKING:
    from venues.vest.emulator.app import VestEmulator

Handler = Callable[[Request, "VestEmulator"], Awaitable[Any]]
Private = Callable[[Request, "VestEmulator", VestAccount, ApiKey], Awaitable[Any]]


def json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise VestError(INVALID_PARAMETER, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise VestError(INVALID_PARAMETER, "the body must be a JSON object")
    return body


def _int(request: Request, name: str, default: int | None = None, *, top: int | None = None) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)  # type: ignore[arg-type]
    except ValueError:
        raise VestError(INVALID_PARAMETER, f"{name} must be an integer") from None
    return min(number, top) if top is not None else number


def _symbols(request: Request, emu: VestEmulator) -> list[Any]:
    wanted = request.query_params.get("symbols")
    names = [s for s in wanted.split(",") if s] if wanted else list(emu.exchange.markets)
    return [emu.exchange.market(s) for s in names]


def endpoint(handler: Handler, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """Common front: faults, bring the world up to now, map refusals to Vest's body."""

    async def wrapped(request: Request) -> Response:
        emu: VestEmulator = request.app.state.vest
        faults = emu.faults
        if faults.rate_limited > 0:
            faults.rate_limited -= 1
            return json({"code": RATE_LIMITED, "msg": "Rate limited"}, 429)
        if faults.server_errors > 0:
            faults.server_errors -= 1
            return json({"detail": "Internal Server Error"}, 500)
        emu.exchange.step()
        try:
            body = await handler(request, emu)
        except VestError as exc:
            return json(exc.body(), exc.status)
        if write and faults.accept_then_timeout > 0:
            faults.accept_then_timeout -= 1
            await anyio.sleep(faults.timeout_secs)  # applied; the answer comes too late
        return json(body)

    return wrapped


def private(handler: Private, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
    async def authenticated(request: Request, emu: VestEmulator) -> Any:
        account, api = emu.exchange.registry.authenticate(request.headers)
        return await handler(request, emu, account, api)

    return endpoint(authenticated, write=write)


# --------------------------------------------------------------------------- public


async def exchange_info(request: Request, emu: VestEmulator) -> Any:
    return shapes.exchange_info(_symbols(request, emu))


async def ticker_latest(request: Request, emu: VestEmulator) -> Any:
    return {"tickers": [shapes.ticker_latest(emu.engine, m) for m in _symbols(request, emu)]}


async def ticker_24hr(request: Request, emu: VestEmulator) -> Any:
    now = emu.clock.now_ms()
    return {"tickers": [shapes.ticker_24hr(emu.engine, m, now) for m in _symbols(request, emu)]}


async def depth(request: Request, emu: VestEmulator) -> Any:
    market = emu.exchange.market(request.query_params.get("symbol"))
    return shapes.depth(emu.engine, market, _int(request, "limit", 20, top=MAX_DEPTH) or 20)


async def trades(request: Request, emu: VestEmulator) -> Any:
    market = emu.exchange.market(request.query_params.get("symbol"))
    start, end = _int(request, "startTime"), _int(request, "endTime")
    rows = [t for t in emu.engine.recent_trades(market.symbol, MAX_ROWS)
            if (start is None or t.ts_ms >= start) and (end is None or t.ts_ms <= end)]
    limit = _int(request, "limit", MAX_ROWS, top=MAX_ROWS) or MAX_ROWS
    return [shapes.trade(t, market, stream=False) for t in rows[-limit:]]


def _interval(request: Request) -> tuple[str, int]:
    interval = request.query_params.get("interval") or "1m"
    if interval not in INTERVAL_MS:
        raise VestError(INVALID_PARAMETER, f"interval must be one of {', '.join(INTERVAL_MS)}")
    return interval, INTERVAL_MS[interval]


async def klines(request: Request, emu: VestEmulator) -> Any:
    market = emu.exchange.market(request.query_params.get("symbol"))
    _, ms = _interval(request)
    limit = _int(request, "limit", MAX_ROWS, top=MAX_ROWS) or MAX_ROWS
    candles = emu.engine.candles(market.symbol, ms, _int(request, "startTime"), _int(request, "endTime"), limit)
    return [shapes.kline(c, market, ms, stream=False) for c in candles]


async def funding_history(request: Request, emu: VestEmulator) -> Any:
    market = emu.exchange.market(request.query_params.get("symbol"))
    _interval(request)
    end = _int(request, "endTime")
    rows = [f for f in emu.engine.funding_history(market.symbol, _int(request, "startTime") or 0)
            if end is None or f.ts_ms <= end]
    limit = _int(request, "limit", MAX_ROWS, top=MAX_ROWS) or MAX_ROWS
    return [shapes.funding(f) for f in rows[-limit:]]


async def register(request: Request, emu: VestEmulator) -> Any:
    return emu.exchange.register(await _body(request))


# --------------------------------------------------------------------------- private


async def account(request: Request, emu: VestEmulator, acct: VestAccount, api: ApiKey) -> Any:
    emu.engine.ensure_account(acct.primary)
    return shapes.account(emu.engine, emu.exchange.desk, acct.primary, emu.exchange.markets, emu.clock.now_ms())


async def account_nonce(request: Request, emu: VestEmulator, acct: VestAccount, api: ApiKey) -> Any:
    return {"lastNonce": emu.exchange.desk.last_nonce.get(acct.primary, 0)}


async def leverage(request: Request, emu: VestEmulator, acct: VestAccount, api: ApiKey) -> Any:
    return emu.exchange.set_leverage(acct, await _body(request))


async def place(request: Request, emu: VestEmulator, acct: VestAccount, api: ApiKey) -> Any:
    answer = emu.exchange.place(acct, api, await _body(request))
    emu.wake()  # decided by the processor, after this answer or before it: as on Vest
    return answer


async def cancel(request: Request, emu: VestEmulator, acct: VestAccount, api: ApiKey) -> Any:
    return emu.exchange.cancel(acct, api, await _body(request))


async def cancel_unsigned(request: Request, emu: VestEmulator, acct: VestAccount, api: ApiKey) -> Any:
    order_id = request.query_params.get("id")
    if not order_id:
        raise VestError(INVALID_PARAMETER, "id is required")
    return emu.exchange.cancel_unsigned(acct, order_id)


async def orders(request: Request, emu: VestEmulator, acct: VestAccount, api: ApiKey) -> Any:
    q = request.query_params
    ids = set(filter(None, (q.get("id") or "").split(",")))
    nonce, start, end = _int(request, "nonce"), _int(request, "startTime"), _int(request, "endTime")
    limit = _int(request, "limit", MAX_ROWS, top=MAX_ROWS) or MAX_ROWS
    out = []
    for o in emu.exchange.desk.of_account(acct.primary):  # newest first
        if (ids and o.id not in ids) or (nonce is not None and o.nonce != nonce):
            continue
        if q.get("symbol") and o.symbol != q["symbol"]:
            continue
        if (q.get("orderType") and o.order_type != q["orderType"]) or (q.get("status") and o.status != q["status"]):
            continue
        if (start is not None and o.post_time < start) or (end is not None and o.post_time > end):
            continue
        out.append(shapes.order_row(o, emu.exchange.markets[o.symbol]))
        if len(out) >= limit:
            break
    return out


async def listen_key(request: Request, emu: VestEmulator, acct: VestAccount, api: ApiKey) -> Any:
    registry = emu.exchange.registry
    if request.method == "POST":
        return {"listenKey": registry.listen_key(acct)}
    if request.method == "PUT":
        return {"listenKey": registry.extend_listen_key(acct)}
    registry.close_listen_key(acct)
    return {}


def rest_routes(prefix: str = "/v2") -> list[Route]:
    """Every REST route of the emulator (one list shows the whole surface)."""
    return [
        Route(f"{prefix}/exchangeInfo", endpoint(exchange_info), methods=["GET"]),
        Route(f"{prefix}/ticker/latest", endpoint(ticker_latest), methods=["GET"]),
        Route(f"{prefix}/ticker/24hr", endpoint(ticker_24hr), methods=["GET"]),
        Route(f"{prefix}/depth", endpoint(depth), methods=["GET"]),
        Route(f"{prefix}/trades", endpoint(trades), methods=["GET"]),
        Route(f"{prefix}/klines", endpoint(klines), methods=["GET"]),
        Route(f"{prefix}/funding/history", endpoint(funding_history), methods=["GET"]),
        Route(f"{prefix}/register", endpoint(register, write=True), methods=["POST"]),
        Route(f"{prefix}/account", private(account), methods=["GET"]),
        Route(f"{prefix}/account/nonce", private(account_nonce), methods=["GET"]),
        Route(f"{prefix}/account/leverage", private(leverage, write=True), methods=["POST"]),
        Route(f"{prefix}/account/listenKey", private(listen_key, write=True), methods=["POST", "PUT", "DELETE"]),
        Route(f"{prefix}/orders", private(place, write=True), methods=["POST"]),
        Route(f"{prefix}/orders", private(orders), methods=["GET"]),
        Route(f"{prefix}/orders", private(cancel_unsigned, write=True), methods=["DELETE"]),
        Route(f"{prefix}/orders/cancel", private(cancel, write=True), methods=["POST"]),
    ]
