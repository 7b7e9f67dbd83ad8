"""The emulator's REST surface: Extended's paths under /api/v1 and its JSON envelope
`{"status": "OK", "data": ...}` / `{"status": "ERROR", "error": {code, message}}`.

Public `/info/*` needs no key; `/user/*` needs `X-Api-Key` (HTTP 401 without a valid
one). List filters repeat the parameter (`?market=BTC-USD&market=ETH-USD`). Every
request first brings the exchange up to the clock and honours the faults on
`app.state.emulator.faults` (429s, 503s, an order applied and then answered late).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from venues.extended.emulator import onboarding, shapes
from venues.extended.emulator.exchange import ApiError, ExtAccount
from venues.extended.emulator.markets import market_json
from venues.extended.market_data import INTERVALS

if TYPE_CHECKING:
    from venues.extended.emulator.app import ExtendedEmulator

Handler = Callable[[Request], Awaitable[Any]]
PrivateHandler = Callable[[Request, ExtAccount], Awaitable[Any]]
INTERVAL_MS = {wire: {"PT1M": 60_000, "PT5M": 300_000, "PT15M": 900_000, "PT30M": 1_800_000, "PT1H": 3_600_000,
                      "PT2H": 7_200_000, "PT4H": 14_400_000, "P1D": 86_400_000}[wire] for wire in INTERVALS.values()}


def json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def emulator_of(request: Request) -> ExtendedEmulator:
    return request.app.state.emulator  # type: ignore[no-any-return]


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise ApiError(1129, "Request body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(1129, "Request body is not a JSON object")
    return body


def endpoint(handler: Handler) -> Handler:
    """Faults, the clock, the envelope and ApiError -> Extended's error answer."""

    async def wrapped(request: Request) -> Response:
        emu = emulator_of(request)
        faults = emu.faults
        if faults.rate_limited > 0:
            faults.rate_limited -= 1
            return json(shapes.error(429, "Too many requests"), 429)
        if faults.server_errors > 0:
            faults.server_errors -= 1
            return json(shapes.error(1006, "Internal server error"), 503)
        emu.exchange.step()
        try:
            result = await handler(request)
        except ApiError as exc:
            return json(shapes.error(exc.code, exc.message), exc.http_status)
        if isinstance(result, Response):
            return result
        return json(shapes.envelope(result))

    return wrapped


def private(handler: PrivateHandler) -> Handler:
    async def wrapped(request: Request) -> Any:
        account = emulator_of(request).exchange.authenticate(request.headers.get("X-Api-Key"))
        return await handler(request, account)

    return wrapped


def markets_of(request: Request) -> list[str]:
    return request.query_params.getlist("market")


def _int(request: Request, name: str, default: int | None = None) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(1129, f"{name} must be an integer") from None


# --------------------------------------------------------------------------- /info


def stats_json(emu: ExtendedEmulator, name: str) -> dict[str, Any]:
    market = emu.exchange.market(name)
    view = emu.engine.market(market.symbol)
    book = emu.engine.book(market.symbol, 1)
    last = view.last_price if view.last_price is not None else view.mark_price
    return {
        "dailyVolume": "0", "dailyVolumeBase": "0", "dailyPriceChange": "0", "dailyPriceChangePercentage": "0",
        "dailyLow": market.price(last), "dailyHigh": market.price(last), "lastPrice": market.price(last),
        "askPrice": market.price(book.asks[0][0]) if book.asks else "0",
        "bidPrice": market.price(book.bids[0][0]) if book.bids else "0",
        "markPrice": format(view.mark_price, "f"), "indexPrice": format(view.index_price, "f"),
        "fundingRate": format(view.funding_rate.quantize(Decimal("0.000001")), "f"),
        "nextFundingRate": view.next_funding_ms,
        "openInterest": shapes.cash(view.open_interest * view.mark_price),
        "openInterestBase": market.size(view.open_interest),
        "deleverageLevels": {"shortPositions": [], "longPositions": []},
    }


@endpoint
async def markets(request: Request) -> Any:
    emu = emulator_of(request)
    names = markets_of(request) or list(emu.exchange.markets)
    return [market_json(emu.exchange.markets[n], stats_json(emu, n)) for n in names if n in emu.exchange.markets]


@endpoint
async def market_stats(request: Request) -> Any:
    return stats_json(emulator_of(request), request.path_params["market"])


@endpoint
async def orderbook(request: Request) -> Any:
    emu = emulator_of(request)
    market = emu.exchange.market(request.path_params["market"])
    book = emu.engine.book(market.symbol)
    return {"market": market.name, "bid": shapes.levels(book.bids, market, short=False),
            "ask": shapes.levels(book.asks, market, short=False)}


@endpoint
async def public_trades(request: Request) -> Any:
    emu = emulator_of(request)
    market = emu.exchange.market(request.path_params["market"])
    limit = _int(request, "limit", 50) or 50
    return [shapes.public_trade_json(t, market) for t in reversed(emu.engine.recent_trades(market.symbol, limit))]


@endpoint
async def candles(request: Request) -> Any:
    emu = emulator_of(request)
    market = emu.exchange.market(request.path_params["market"])
    kind = request.path_params["candle_type"]
    interval = request.query_params.get("interval", "PT1M")
    if kind not in ("trades", "mark-prices", "index-prices") or interval not in INTERVAL_MS:
        raise ApiError(1129, "Not supported candle type or interval")
    limit = _int(request, "limit", 100) or 100
    rows = emu.engine.candles(market.symbol, INTERVAL_MS[interval], end_ms=_int(request, "endTime"), limit=limit)
    out = []
    for c in reversed(rows):  # newest first, as Extended lists them
        row: dict[str, Any] = {"o": market.price(c.open), "l": market.price(c.low), "h": market.price(c.high),
                               "c": market.price(c.close), "T": c.open_ms}
        if kind == "trades":  # mark and index candles carry no volume (served from the same prices here)
            row["v"] = market.size(c.volume)
        out.append(row)
    return out


@endpoint
async def funding_history(request: Request) -> Any:
    emu = emulator_of(request)
    market = emu.exchange.market(request.path_params["market"])
    start = _int(request, "startTime", 0) or 0
    end = _int(request, "endTime")
    rows = [{"m": market.name, "f": format(f.rate, "f"), "T": f.ts_ms}
            for f in emu.engine.funding_history(market.symbol, start) if end is None or f.ts_ms <= end]
    return json({"status": "OK", "data": list(reversed(rows)), "pagination": {"cursor": None, "count": len(rows)}})


@endpoint
async def assets(request: Request) -> Any:
    return [{"id": 1, "name": "USD", "symbol": "USD", "description": "USD Collateral", "precision": 6,
             "isActive": True, "isCollateral": True, "starkexId": "0x1", "starkexResolution": 1000000,
             "l1Id": "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "l1Resolution": 1000000, "version": 3,
             "createdAt": 1752829532673, "type": "SPOT", "canBeUsedAsCollateral": True, "riskFactors": [],
             "availableForTradeFactors": []}]


# --------------------------------------------------------------------------- /user reads


@endpoint
@private
async def account_info(request: Request, account: ExtAccount) -> Any:
    return account.json()


@endpoint
@private
async def accounts(request: Request, account: ExtAccount) -> Any:
    return [a.json() for a in emulator_of(request).exchange.wallet_accounts(account)]


@endpoint
@private
async def client_info(request: Request, account: ExtAccount) -> Any:
    return {"id": account.account_id, "evmWalletAddress": account.wallet, "starknetWalletAddress": None,
            "referralLinkCode": None}


@endpoint
@private
async def balance(request: Request, account: ExtAccount) -> Any:
    return emulator_of(request).exchange.balance(account)


@endpoint
@private
async def positions(request: Request, account: ExtAccount) -> Any:
    rows = emulator_of(request).exchange.positions(account, markets_of(request))
    side = request.query_params.get("side")
    return [r for r in rows if side is None or r["side"] == side]


def _filter(rows: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    kind, side = request.query_params.get("type"), request.query_params.get("side")
    return [r for r in rows if (kind is None or r["type"] == kind) and (side is None or r["side"] == side)]


@endpoint
@private
async def open_orders(request: Request, account: ExtAccount) -> Any:
    return _filter(emulator_of(request).exchange.open_orders(account, markets_of(request)), request)


@endpoint
@private
async def orders_history(request: Request, account: ExtAccount) -> Any:
    limit = _int(request, "limit", 100) or 100
    return _filter(emulator_of(request).exchange.orders_history(account, markets_of(request), limit), request)


@endpoint
@private
async def order_by_id(request: Request, account: ExtAccount) -> Any:
    try:
        order_id = int(request.path_params["order_id"])
    except ValueError:
        raise ApiError(1129, "order id must be an integer") from None
    row = emulator_of(request).exchange.order_by_id(account, order_id)
    if row is None:
        raise ApiError(404, "Order not found", 404)
    return row


@endpoint
@private
async def orders_by_external_id(request: Request, account: ExtAccount) -> Any:
    row = emulator_of(request).exchange.order_by_external(account, request.path_params["external_id"])
    return [row] if row is not None else []


@endpoint
@private
async def trades(request: Request, account: ExtAccount) -> Any:
    limit = min(_int(request, "limit", 100) or 100, 1000)
    rows, cursor = emulator_of(request).exchange.trades(account, markets_of(request), limit=limit,
                                                         cursor=_int(request, "cursor"))
    return json({"status": "OK", "data": rows, "pagination": {"cursor": cursor, "count": len(rows)}})


@endpoint
@private
async def fees(request: Request, account: ExtAccount) -> Any:
    return emulator_of(request).exchange.fees(markets_of(request), _int(request, "builderId"))


@endpoint
@private
async def leverage(request: Request, account: ExtAccount) -> Any:
    exchange = emulator_of(request).exchange
    if request.method == "PATCH":
        exchange.set_leverage(account, await body_of(request))
        return {}
    return exchange.leverage(account, markets_of(request))


@endpoint
@private
async def funding_payments(request: Request, account: ExtAccount) -> Any:
    """The account's funding payments, newest first, in the recorded shape
    (tests/fixtures/extended/rest_user_funding_history.resp.ccxt.json): `fundingFee` is what
    the account received (negative: paid), `size` unsigned with `side`, `paidTime` in ms, a
    numeric `id` that grows with time; `pagination.cursor` is the last row's id, as in the
    sample (the page after it holds the rows below it; an empty page ends the list).
    Filters: `market` (repeatable), `side`, `fromTime` (or ccxt's `startTime`), `limit`."""
    emu = emulator_of(request)
    names = set(markets_of(request))
    side = (request.query_params.get("side") or "").upper()
    since = _int(request, "fromTime") or _int(request, "startTime") or 0
    limit = max(1, min(_int(request, "limit", 100) or 100, 10_000))
    cursor = _int(request, "cursor")
    order = {symbol: number for number, symbol in enumerate(sorted(emu.exchange.by_symbol))}
    rows = []
    for p in emu.engine.funding_payments(account.engine_id, since):
        market = emu.exchange.by_symbol[p.symbol]
        row_side = "LONG" if p.position > 0 else "SHORT"
        payment_id = p.ts_ms * 1000 + order[p.symbol]  # one payment per market and settlement
        if (names and market.name not in names) or (side and side != row_side) or (cursor is not None and payment_id >= cursor):
            continue
        rows.append({"id": payment_id, "accountId": account.account_id, "market": market.name, "positionId": 0,
                     "side": row_side, "size": market.size(abs(p.position)),
                     "value": shapes.cash(abs(p.position) * p.mark_price), "markPrice": format(p.mark_price, "f"),
                     "fundingFee": shapes.cash(p.amount), "fundingRate": format(p.rate, "f"), "paidTime": p.ts_ms})
    rows.sort(key=lambda r: r["id"], reverse=True)
    page = rows[:limit]
    return json({"status": "OK", "data": page,
                 "pagination": {"cursor": page[-1]["id"] if page else None, "count": len(page)}})


# --------------------------------------------------------------------------- /user writes


@endpoint
@private
async def place_order(request: Request, account: ExtAccount) -> Any:
    emu = emulator_of(request)
    result = emu.exchange.place(account, await body_of(request))
    if emu.faults.accept_then_timeout > 0:
        emu.faults.accept_then_timeout -= 1  # applied; the answer comes after the client gave up
        await asyncio.sleep(emu.faults.timeout_secs)
    return result


@endpoint
@private
async def cancel_order(request: Request, account: ExtAccount) -> Any:
    exchange = emulator_of(request).exchange
    if "order_id" in request.path_params:
        try:
            order_id = int(request.path_params["order_id"])
        except ValueError:
            raise ApiError(1129, "order id must be an integer") from None
        exchange.cancel(account, order_id=order_id)
    else:
        external_id = request.query_params.get("externalId")
        if not external_id:
            raise ApiError(1129, "externalId is required")
        exchange.cancel(account, external_id=external_id)
    return json({"status": "OK"})


@endpoint
@private
async def mass_cancel(request: Request, account: ExtAccount) -> Any:
    emulator_of(request).exchange.mass_cancel(account, await body_of(request))
    return {}


@endpoint
@private
async def dead_mans_switch(request: Request, account: ExtAccount) -> Any:
    countdown = _int(request, "countdownTime")
    if countdown is None:
        raise ApiError(1129, "countdownTime is required")
    emulator_of(request).exchange.dead_mans_switch(account, countdown)
    return Response(b"", status_code=200)  # Extended answers with an empty body


# --------------------------------------------------------------------------- onboarding


@endpoint
async def onboard(request: Request) -> Any:
    emu = emulator_of(request)
    return onboarding.onboard(emu.exchange, await body_of(request), emu.signing_domain)


@endpoint
async def create_api_key(request: Request) -> Any:
    emu = emulator_of(request)
    return onboarding.create_api_key(emu.exchange, request.headers, await body_of(request))


def rest_routes() -> list[Route]:
    """Every REST route of the emulator (one list shows the whole surface)."""
    v1 = "/api/v1"
    return [
        Route(f"{v1}/info/markets", markets, methods=["GET"]),
        Route(f"{v1}/info/markets/{{market}}/stats", market_stats, methods=["GET"]),
        Route(f"{v1}/info/markets/{{market}}/orderbook", orderbook, methods=["GET"]),
        Route(f"{v1}/info/markets/{{market}}/trades", public_trades, methods=["GET"]),
        Route(f"{v1}/info/candles/{{market}}/{{candle_type}}", candles, methods=["GET"]),
        Route(f"{v1}/info/assets", assets, methods=["GET"]),
        Route(f"{v1}/info/{{market}}/funding", funding_history, methods=["GET"]),
        Route(f"{v1}/user/account/info", account_info, methods=["GET"]),
        Route(f"{v1}/user/accounts", accounts, methods=["GET"]),
        Route(f"{v1}/user/client/info", client_info, methods=["GET"]),
        Route(f"{v1}/user/balance", balance, methods=["GET"]),
        Route(f"{v1}/user/positions", positions, methods=["GET"]),
        Route(f"{v1}/user/orders", open_orders, methods=["GET"]),
        Route(f"{v1}/user/orders/history", orders_history, methods=["GET"]),
        Route(f"{v1}/user/orders/external/{{external_id}}", orders_by_external_id, methods=["GET"]),
        Route(f"{v1}/user/orders/{{order_id}}", order_by_id, methods=["GET"]),
        Route(f"{v1}/user/trades", trades, methods=["GET"]),
        Route(f"{v1}/user/fees", fees, methods=["GET"]),
        Route(f"{v1}/user/leverage", leverage, methods=["GET", "PATCH"]),
        Route(f"{v1}/user/funding/history", funding_payments, methods=["GET"]),
        Route(f"{v1}/user/order", place_order, methods=["POST"]),
        Route(f"{v1}/user/order", cancel_order, methods=["DELETE"]),
        Route(f"{v1}/user/order/massCancel", mass_cancel, methods=["POST"]),
        Route(f"{v1}/user/order/{{order_id}}", cancel_order, methods=["DELETE"]),
        Route(f"{v1}/user/deadmanswitch", dead_mans_switch, methods=["POST"]),
        Route("/auth/onboard", onboard, methods=["POST"]),
        Route(onboarding.API_KEY_PATH, create_api_key, methods=["POST"]),
    ]
