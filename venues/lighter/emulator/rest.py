"""The emulator's REST surface under `/api/v1`, with Lighter's paths and JSON shapes.

Answers carry `"code": 200`; refusals are HTTP 400 with `{"code", "message"}` (what
lighter-sdk raises as BadRequestException), throttling HTTP 429 with code 23000, and a
bad or missing auth token HTTP 401. A path Lighter does not serve gets what its Go HTTP
server answers: 404 `404 page not found` (text/plain). Private reads (`accountActiveOrders`,
`accountInactiveOrders`, `accountOrders`, `trades` of an account, `accountLimits`) need
the `authorization` header (or `auth` query parameter); `account` is public, as on Lighter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from venues.lighter.constants import MAX_BATCH_TXS, RESOLUTION_MS
from venues.lighter.emulator import markets as markets_json
from venues.lighter.emulator import shapes
from venues.lighter.emulator.txs import TxError, decode, decode_batch
from venues.simex.faults import CutOffAnswer

if TYPE_CHECKING:
    from venues.lighter.emulator.app import LighterEmulator

PREDICTED_LATENCY_MS = 200
VOLUME_QUOTA = 1_000_000


def json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def ok(**fields: Any) -> Response:
    return json({"code": 200, **fields})


def refuse(exc: TxError) -> Response:
    return json({"code": exc.code, "message": exc.message}, 401 if exc.code == 20013 else 400)


Handler = Callable[[Request, "LighterEmulator"], Awaitable[Response]]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Common front: injected throttling, bring the world up to now, map refusals."""

    async def wrapped(request: Request) -> Response:
        emu: LighterEmulator = request.app.state.lighter
        if emu.rates.latency_ms:
            await anyio.sleep(emu.rates.latency_secs)
        if emu.faults.rate_limited > 0:
            emu.faults.rate_limited -= 1
            return json({"code": 23000, "message": "Too Many Requests!"}, emu.faults.rate_limit_status)
        status = emu.rates.roll_refusal()
        if status == 429:
            return json({"code": 23000, "message": "Too Many Requests!"}, 429)
        if status is not None:
            return Response(f"{status} Service Unavailable", status_code=status, media_type="text/plain")
        emu.exchange.step()
        try:
            return await handler(request, emu)
        except TxError as exc:
            return refuse(exc)
        except (KeyError, ValueError) as exc:
            return json({"code": 20001, "message": f"invalid param: {exc}"}, 400)

    return wrapped


def _int(request: Request, name: str, default: int | None = None) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        if default is None:
            raise ValueError(f"{name} is required")
        return default
    return int(value)


def _auth(request: Request, emu: LighterEmulator, account: int | None) -> int:
    token = request.headers.get("authorization") or request.query_params.get("auth")
    return emu.exchange.check_auth(token, account)


# --------------------------------------------------------------------------- public


async def root(request: Request, emu: LighterEmulator) -> Response:
    return json({"status": 1, "network_id": 1, "timestamp": emu.clock.now_ms() // 1000})


async def order_book_details(request: Request, emu: LighterEmulator) -> Response:
    ex = emu.exchange
    wanted = request.query_params.get("market_id")
    rows = [
        markets_json.market_details_json(m, ex.stats_json(m))
        for m in ex.markets.values()
        if wanted in (None, "", str(m.market_id), "255")
    ]
    return ok(order_book_details=rows, spot_order_book_details=[])


async def order_books(request: Request, emu: LighterEmulator) -> Response:
    ex = emu.exchange
    wanted = request.query_params.get("market_id")
    rows = [markets_json.order_book_json(m, ex.stats_json(m)) for m in ex.markets.values()
            if wanted in (None, "", str(m.market_id), "255")]
    return ok(order_books=rows)


async def order_book_orders(request: Request, emu: LighterEmulator) -> Response:
    """The L3 book: each resting order with its owner, best price first, then time priority."""
    market = emu.exchange.market(_int(request, "market_id"))
    limit = max(1, min(_int(request, "limit", 100), 250))
    asks, bids = emu.exchange.book_orders_json(market, limit)
    return ok(total_asks=len(asks), asks=asks, total_bids=len(bids), bids=bids)


async def recent_trades(request: Request, emu: LighterEmulator) -> Response:
    ex = emu.exchange
    market = ex.market(_int(request, "market_id"))
    limit = max(1, min(_int(request, "limit", 100), 100))
    trades = emu.engine.recent_trades(market.symbol, limit)
    rows = [shapes.public_trade_json(t, market, ex.account_index_of, ex.client_index_of) for t in reversed(trades)]
    return ok(trades=rows)


async def candles(request: Request, emu: LighterEmulator) -> Response:
    market = emu.exchange.market(_int(request, "market_id"))
    resolution = request.query_params.get("resolution", "1m")
    interval = RESOLUTION_MS.get(resolution)
    if interval is None:
        raise ValueError(f"resolution {resolution!r}")
    rows = emu.engine.candles(
        market.symbol, interval, _int(request, "start_timestamp", 0), _int(request, "end_timestamp", 2**62),
        max(1, min(_int(request, "count_back", 500), 500)),
    )
    out = [shapes.candle_json(c) for c in rows]
    return ok(r=resolution, c=out)


async def fundings(request: Request, emu: LighterEmulator) -> Response:
    market = emu.exchange.market(_int(request, "market_id"))
    start = _int(request, "start_timestamp", 0)
    rows = [
        {
            "timestamp": f.ts_ms // 1000,
            "value": f"{abs(f.rate) * f.mark_price:.8f}",
            "rate": f"{abs(f.rate) * 100:.4f}",
            "direction": "long" if f.rate >= 0 else "short",
        }
        for f in emu.engine.funding_history(market.symbol, start)
    ]
    count = max(1, min(_int(request, "count_back", 100), 100))
    return ok(resolution=request.query_params.get("resolution", "1h"), fundings=rows[-count:])


async def funding_rates(request: Request, emu: LighterEmulator) -> Response:
    rows = [
        {"market_id": m.market_id, "exchange": "lighter", "symbol": m.base,
         "rate": float(emu.engine.market(m.symbol).funding_rate)}
        for m in emu.exchange.markets.values()
    ]
    return ok(funding_rates=rows)


# --------------------------------------------------------------------------- accounts


async def account(request: Request, emu: LighterEmulator) -> Response:
    by = request.query_params.get("by", "index")
    value = request.query_params.get("value", "")
    indices = emu.exchange.accounts_of(value) if by == "l1_address" else [int(value)]
    rows = [emu.exchange.account_json(i) for i in indices]
    return ok(total=len(rows), accounts=rows, next_cursor="")


async def account_limits(request: Request, emu: LighterEmulator) -> Response:
    _auth(request, emu, _int(request, "account_index"))
    return ok(
        max_llp_percentage=100, user_tier="premium", can_create_public_pool=False, max_llp_amount="0.000000",
        current_maker_fee_tick=0, current_taker_fee_tick=0, effective_lit_stakes="0.00000000",
        leased_lit="0.00000000", user_tier_name="premium", user_tier_last_update=0,
        bo_user_tier_name="standard", bo_fee_rate=1,
    )


async def api_keys(request: Request, emu: LighterEmulator) -> Response:
    """The keys ChangePubKey registered (lighter-sdk's check_client compares `public_key`)."""
    ex = emu.exchange
    index = _int(request, "account_index")
    wanted = _int(request, "api_key_index", 255)
    rows = [
        {"account_index": index, "api_key_index": k.index, "nonce": ex.nonces.get((index, k.index), 0),
         "public_key": k.public_hex, "transaction_time": k.registered_ms * 1000}
        for k in ex.keyring.keys_of(index) if wanted in (255, k.index)
    ]
    return ok(api_keys=rows)


async def next_nonce(request: Request, emu: LighterEmulator) -> Response:
    return ok(nonce=emu.exchange.next_nonce(_int(request, "account_index"), _int(request, "api_key_index")))


async def active_orders(request: Request, emu: LighterEmulator) -> Response:
    index = _auth(request, emu, _int(request, "account_index"))
    market_id = request.query_params.get("market_id")
    return ok(orders=emu.exchange.active_orders(index, int(market_id) if market_id not in (None, "", "255") else None),
              next_cursor="")


async def inactive_orders(request: Request, emu: LighterEmulator) -> Response:
    index = _auth(request, emu, _int(request, "account_index"))
    market_id = request.query_params.get("market_id")
    limit = max(1, min(_int(request, "limit", 100), 100))
    orders = emu.exchange.inactive_orders(index, int(market_id) if market_id not in (None, "", "255") else None, limit)
    return ok(orders=orders, next_cursor="")


async def account_orders(request: Request, emu: LighterEmulator) -> Response:
    wanted = request.query_params.get("account_index")
    index = _auth(request, emu, int(wanted) if wanted else None)
    clients = [int(c) for c in request.query_params.get("client_order_indexes", "").split(",") if c.strip()]
    if not clients or len(clients) > 20:
        raise ValueError("client_order_indexes: 1 .. 20 comma-separated integers")
    orders = [o for o in (emu.exchange.order_by_client(index, c) for c in clients) if o is not None]
    return ok(orders=orders)


async def trades(request: Request, emu: LighterEmulator) -> Response:
    ex = emu.exchange
    limit = max(1, min(_int(request, "limit"), 100))
    account_index = request.query_params.get("account_index")
    market_id = request.query_params.get("market_id")
    market = ex.market(int(market_id)) if market_id not in (None, "", "255") else None
    if account_index in (None, ""):
        if market is None:
            raise ValueError("market_id or account_index is required")
        rows = [shapes.public_trade_json(t, market, ex.account_index_of, ex.client_index_of)
                for t in emu.engine.recent_trades(market.symbol, 1000)]
    else:
        index = _auth(request, emu, int(account_index))
        since = _int(request, "from", 0)
        fills = emu.engine.fills(ex.engine_id(index), since)
        rows = [shapes.fill_trade_json(f, ex.by_symbol[f.symbol], index, shapes.order_index(f.oid))
                for f in fills if market is None or f.symbol == market.symbol]
    if request.query_params.get("sort_dir", "desc") == "desc":
        rows.reverse()
    start = int(request.query_params.get("cursor") or 0)
    page = rows[start : start + limit]
    cursor = str(start + limit) if start + limit < len(rows) else None
    return ok(trades=page, next_cursor=cursor)


async def position_funding(request: Request, emu: LighterEmulator) -> Response:
    """The account's funding payments (lighter-sdk's PositionFunding), newest first, paged
    by an offset cursor as /trades is. `timestamp` is in seconds, as /fundings has it
    (unverified against the live venue: no recorded sample); `change` is what the account
    received (negative: paid). Rows are lighter-sdk 1.1.8's PositionFunding, strictly typed;
    the filters are the SDK's (`market_ids` comma-separated, `side` all|long|short,
    `start_timestamp` / `end_timestamp` in the same seconds) and the older `market_id`
    (255: every market, as elsewhere)."""
    ex = emu.exchange
    index = _auth(request, emu, _int(request, "account_index"))
    limit = max(1, min(_int(request, "limit"), 100))
    since_s = _int(request, "start_timestamp", 0)
    until_s = _int(request, "end_timestamp", 0)
    side = (request.query_params.get("side") or "all").lower()
    markets = {int(m) for m in request.query_params.get("market_ids", "").split(",") if m.strip()}
    if request.query_params.get("market_id") not in (None, "", "255"):
        markets.add(_int(request, "market_id"))
    rows = []
    for number, p in enumerate(emu.engine.funding_payments(ex.engine_id(index))):
        market = ex.by_symbol[p.symbol]
        position_side = "long" if p.position > 0 else "short"
        if (p.ts_ms // 1000 < since_s or (until_s and p.ts_ms // 1000 > until_s)
                or (markets and market.market_id not in markets) or side not in ("all", position_side)):
            continue
        rows.append({"timestamp": p.ts_ms // 1000, "market_id": market.market_id, "funding_id": number + 1,
                     "change": f"{p.amount:f}", "discount": "0", "rate": f"{p.rate:f}",
                     "position_size": f"{abs(p.position):f}", "position_side": position_side})
    rows.reverse()
    start = int(request.query_params.get("cursor") or 0)
    cursor = str(start + limit) if start + limit < len(rows) else None
    return ok(position_fundings=rows[start : start + limit], next_cursor=cursor)


# --------------------------------------------------------------------------- transactions


async def _form(request: Request) -> dict[str, str]:
    """The form fields, urlencoded (lighter-sdk) or multipart (ccxt, nautilus).

    Parsed with the standard library: Starlette's own form parser needs python-multipart.
    """
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        head = b"Content-Type: " + ctype.encode() + b"\r\n\r\n"
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        fields = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = payload.decode()
        return fields
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


async def _late(emu: LighterEmulator) -> bool:
    """Faults after a write was applied: answer late, or (True) not at all."""
    if emu.faults.accept_then_timeout > 0:
        emu.faults.accept_then_timeout -= 1
        await anyio.sleep(emu.faults.timeout_secs)  # applied; the answer comes too late
    elif emu.rates.roll_drop():
        await anyio.sleep(emu.rates.drop_secs)  # applied; the answer is lost
        return True
    return False


async def send_tx(request: Request, emu: LighterEmulator) -> Response:
    form = await _form(request)
    now = emu.clock.now_ms()
    tx = decode(form.get("tx_type"), form.get("tx_info"), now)
    tx_hash = emu.exchange.submit(tx)
    if await _late(emu):
        return CutOffAnswer()  # type: ignore[return-value] - an ASGI callable, as Starlette accepts
    return ok(
        message='{"ratelimit": "didn\'t use volume quota"}', tx_hash=tx_hash,
        predicted_execution_time_ms=now + PREDICTED_LATENCY_MS, volume_quota_remaining=VOLUME_QUOTA,
    )


async def send_tx_batch(request: Request, emu: LighterEmulator) -> Response:
    form = await _form(request)
    now = emu.clock.now_ms()
    txs = decode_batch(form.get("tx_types"), form.get("tx_infos"), now, MAX_BATCH_TXS)
    hashes = emu.exchange.submit_batch(txs)
    if await _late(emu):
        return CutOffAnswer()  # type: ignore[return-value] - an ASGI callable, as Starlette accepts
    return ok(tx_hash=hashes, predicted_execution_time_ms=now + PREDICTED_LATENCY_MS, volume_quota_remaining=VOLUME_QUOTA)


async def asset_details(request: Request, emu: LighterEmulator) -> Response:
    wanted = request.query_params.get("asset_id")
    rows = [markets_json.USDC_ASSET] if wanted in (None, "", str(markets_json.USDC_ASSET_ID)) else []
    return ok(asset_details=rows)


async def accounts_by_l1_address(request: Request, emu: LighterEmulator) -> Response:
    address = request.query_params.get("l1_address", "")
    if not (address.startswith("0x") and len(address) == 42):
        raise ValueError("l1_address must be 0x and 40 hex digits")
    ex = emu.exchange
    rows = [shapes.sub_account_json(ex.account_json(i)) for i in ex.accounts_of(address)]
    return ok(l1_address=address, sub_accounts=rows)


def rest_routes(get: Callable[[Handler], Any] = endpoint) -> list[Route]:
    """Lighter's REST paths, each behind `endpoint` (throttling fault, stepping, refusals)."""
    return [
        Route("/", get(root)),
        Route("/info", get(root)),
        Route("/api/v1/orderBookDetails", get(order_book_details)),
        Route("/api/v1/orderBooks", get(order_books)),
        Route("/api/v1/orderBookOrders", get(order_book_orders)),
        Route("/api/v1/recentTrades", get(recent_trades)),
        Route("/api/v1/trades", get(trades)),
        Route("/api/v1/positionFunding", get(position_funding)),
        Route("/api/v1/candles", get(candles)),
        Route("/api/v1/fundings", get(fundings)),
        Route("/api/v1/funding-rates", get(funding_rates)),
        Route("/api/v1/account", get(account)),
        Route("/api/v1/accountsByL1Address", get(accounts_by_l1_address)),
        Route("/api/v1/assetDetails", get(asset_details)),
        Route("/api/v1/accountLimits", get(account_limits)),
        Route("/api/v1/apikeys", get(api_keys)),
        Route("/api/v1/nextNonce", get(next_nonce)),
        Route("/api/v1/accountActiveOrders", get(active_orders)),
        Route("/api/v1/accountInactiveOrders", get(inactive_orders)),
        Route("/api/v1/accountOrders", get(account_orders)),
        Route("/api/v1/sendTx", get(send_tx), methods=["POST"]),
        Route("/api/v1/sendTxBatch", get(send_tx_batch), methods=["POST"]),
    ]
