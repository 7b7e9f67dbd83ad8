"""The emulator's REST surface: EdgeX V2's paths (`/api/v2/public/...`,
`/api/v2/private/...`) and envelopes, plus the emulator's own `/_emulator/...`.

Every answer is `{"code", "data", "msg", "errorParam", "requestTime", "responseTime",
"traceId"}`; only `code == "SUCCESS"` is a success. Refusals keep HTTP 200 with the
venue's code, except refused credentials (HTTP 401) and throttling (HTTP 429,
`RATE_LIMIT_EXCEEDED`). Private paths are verified by auth.py before anything happens:
the HMAC over the sorted, decoded query (GET) or the canonical JSON body (POST), the
timestamp window, and that the API key belongs to the `accountId` asked about.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from venues.edgex.constants import INTERVAL_MS, PAGE_SIZE
from venues.edgex.emulator import shapes
from venues.edgex.emulator.auth import EdgexError, canonical, query_body
from venues.edgex.emulator.markets import metadata_json
from venues.edgex.errors import INVALID_PARAMETER, RATE_LIMIT_EXCEEDED, SUCCESS

if TYPE_CHECKING:
    from venues.edgex.emulator.app import EdgexEmulator

V2_PUBLIC = "/api/v2/public"
V2_PRIVATE = "/api/v2/private"


def envelope(code: str, data: Any, msg: str | None, now_ms: int, status: int = 200) -> Response:
    body = {"code": code, "data": data, "msg": msg, "errorParam": None, "requestTime": str(now_ms),
            "responseTime": str(now_ms), "traceId": uuid.uuid4().hex}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@dataclass
class Call:
    """One request as a handler sees it: query params or JSON body, and the account."""

    emu: EdgexEmulator
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    account_id: int = 0

    def list(self, name: str) -> list[str]:
        value = self.body.get(name) if self.body else self.params.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v) for v in value if str(v)]
        return [v for v in str(value).split(",") if v]

    def int(self, name: str, default: int) -> int:
        value = self.params.get(name)
        try:
            return int(value) if value not in (None, "") else default
        except ValueError:
            raise EdgexError(INVALID_PARAMETER, f"invalid {name}: {value!r}") from None


Handler = Callable[[Call], Awaitable[Any]]


def endpoint(handler: Handler, *, private: bool) -> Callable[[Request], Awaitable[Response]]:
    """Common front: injected throttling, the world brought up to now, auth, envelopes."""

    async def wrapped(request: Request) -> Response:
        emu: EdgexEmulator = request.app.state.emulator
        now = emu.clock.now_ms()
        if emu.faults.rate_limited > 0:
            emu.faults.rate_limited -= 1
            return envelope(RATE_LIMIT_EXCEEDED, None, "Too Many Requests", now, 429)
        emu.step()
        try:
            call = Call(emu)
            pairs = parse_qsl(request.url.query, keep_blank_values=True)
            for key, value in pairs:
                call.params.setdefault(key, value)
            signed = query_body(pairs)
            if request.method == "POST":
                try:
                    payload = orjson.loads(await request.body() or b"{}")
                except orjson.JSONDecodeError:
                    raise EdgexError(INVALID_PARAMETER, "the body is not JSON") from None
                if not isinstance(payload, dict):
                    raise EdgexError(INVALID_PARAMETER, "the body is not a JSON object")
                call.body, signed = payload, canonical(payload)
            if private:
                raw_account = str(call.body.get("accountId") if call.body else call.params.get("accountId") or "")
                if not raw_account.isdigit():
                    raise EdgexError(INVALID_PARAMETER, "accountId is required")
                credentials = emu.keyring.verify(request.headers, request.method, request.url.path, signed, now)
                if credentials.account_id != int(raw_account):
                    raise EdgexError("ACCOUNT_ID_WHITELIST_ERROR",
                                     f"accountId '{raw_account}' not in whitelist. Please contact administrator for access.")
                call.account_id = credentials.account_id
            data = await handler(call)
        except EdgexError as exc:
            return envelope(exc.code, None, exc.msg, now, exc.status)
        finally:
            emu.hub.flush()
        return envelope(SUCCESS, data, None, emu.clock.now_ms())

    return wrapped


def page(rows: list[Any], call: Call, limit: int = PAGE_SIZE) -> dict[str, Any]:
    size = max(1, min(call.int("size", limit), limit))
    offset = call.int("offsetData", 0)
    chunk = rows[offset : offset + size]
    more = offset + size < len(rows)
    return {"dataList": chunk, "nextPageOffsetData": str(offset + size) if more else ""}


# --------------------------------------------------------------------------- public


async def server_time(call: Call) -> Any:
    return {"timeMillis": str(call.emu.clock.now_ms())}


async def metadata(call: Call) -> Any:
    return metadata_json(tuple(call.emu.exchange.contracts.values()))


async def ticker(call: Call) -> Any:
    contract = call.emu.exchange.contracts.get(call.params.get("contractId", ""))
    return [call.emu.hub.ticker(contract)] if contract is not None else []


async def depth(call: Call) -> Any:
    contract = call.emu.exchange.contract(call.params.get("contractId"))
    level = call.int("level", 15)
    if level not in (15, 200):
        raise EdgexError(INVALID_PARAMETER, "level must be 15 or 200")
    book = call.emu.engine.book(contract.symbol, level)
    return [shapes.depth_json(book, contract, level, "SNAPSHOT")]


async def kline(call: Call) -> Any:
    contract = call.emu.exchange.contract(call.params.get("contractId"))
    kline_type = call.params.get("klineType", "MINUTE_1")
    interval = INTERVAL_MS.get(kline_type)
    if interval is None:
        raise EdgexError(INVALID_PARAMETER, f"invalid klineType: {kline_type}")
    start = call.int("filterBeginKlineTimeInclusive", 0) or None
    end = call.int("filterEndKlineTimeExclusive", 0)
    candles = call.emu.engine.candles(contract.symbol, interval, start_ms=start, end_ms=end - 1 if end else None,
                                      limit=1000)
    rows = [shapes.kline_json(k, contract, kline_type) for k in reversed(candles)]  # newest first
    return page(rows, call, 1000)


async def latest_funding(call: Call) -> Any:
    ex = call.emu.exchange
    wanted = call.list("contractId") or list(ex.contracts)
    return [call.emu.hub.funding(ex.contracts[cid]) for cid in wanted if cid in ex.contracts]


async def funding_page(call: Call) -> Any:
    contract = call.emu.exchange.contract(call.params.get("contractId"))
    start = call.int("filterBeginTimeInclusive", 0)
    rows = [{"contractId": contract.contract_id, "fundingTime": str(f.ts_ms), "fundingTimestamp": str(f.ts_ms),
             "oraclePrice": f"{f.mark_price:f}", "indexPrice": f"{f.index_price:f}", "fundingRate": f"{f.rate:.8f}",
             "isSettlement": True, "fundingRateIntervalMin": "240"}
            for f in reversed(call.emu.engine.funding_history(contract.symbol, start))]
    return page(rows, call)


# --------------------------------------------------------------------------- private reads


async def account_asset(call: Call) -> Any:
    return call.emu.exchange.asset(call.account_id)


async def account_by_id(call: Call) -> Any:
    return call.emu.exchange.account_json(call.account_id)


async def position_by_contract(call: Call) -> Any:
    wanted = set(call.list("contractIdList"))
    rows = call.emu.exchange.asset(call.account_id)["positionList"]
    return [r for r in rows if not wanted or r["contractId"] in wanted]


async def active_orders(call: Call) -> Any:
    return page(call.emu.exchange.active_orders(call.account_id, call.list("filterContractIdList")), call)


async def order_by_id(call: Call) -> Any:
    return call.emu.exchange.orders_by_ids(call.account_id, call.list("orderIdList"))


async def order_by_client_id(call: Call) -> Any:
    return call.emu.exchange.orders_by_client_ids(call.account_id, call.list("clientOrderIdList"))


async def history_order_by_id(call: Call) -> Any:
    return call.emu.exchange.orders_by_ids(call.account_id, call.list("orderIdList"), ended_only=True)


async def history_order_by_client_id(call: Call) -> Any:
    return call.emu.exchange.orders_by_client_ids(call.account_id, call.list("clientOrderIdList"), ended_only=True)


async def history_orders(call: Call) -> Any:
    return page(call.emu.exchange.history_orders(call.account_id, call.list("filterContractIdList")), call)


async def fills(call: Call) -> Any:
    rows = call.emu.exchange.fills(call.account_id, call.int("filterStartCreatedTimeInclusive", 0),
                                   call.list("filterOrderIdList"), call.list("filterContractIdList"))
    end = call.int("filterEndCreatedTimeExclusive", 0)
    if end:
        rows = [r for r in rows if int(r["createdTime"]) < end]
    return page(rows, call)


async def collateral_transactions(call: Call) -> Any:
    """Only funding moves collateral here besides trades: other types list nothing. Rows have
    every CollateralTransaction field (shapes.collateral_transaction_json); a missing
    filterStartCreatedTimeInclusive is 90 days ago, as the docs define it."""
    types = call.list("filterTypeList")
    if types and "POSITION_FUNDING" not in types:
        return page([], call)
    start = call.int("filterStartCreatedTimeInclusive", call.emu.clock.now_ms() - 90 * 86_400_000)
    rows = call.emu.exchange.funding_transactions(call.account_id, start)
    end = call.int("filterEndCreatedTimeExclusive", 0)
    return page([r for r in rows if not end or int(r["createdTime"]) < end], call)


# --------------------------------------------------------------------------- private writes


async def create_order(call: Call) -> Any:
    emu = call.emu
    order_id = emu.exchange.create_order(call.account_id, call.body)
    if emu.faults.accept_then_timeout > 0:
        emu.faults.accept_then_timeout -= 1
        emu.hub.flush()
        await anyio.sleep(emu.faults.timeout_secs)  # applied; the answer comes too late
    return {"orderId": order_id}


async def cancel_by_id(call: Call) -> Any:
    return {"cancelResultMap": call.emu.exchange.cancel_by_ids(call.account_id, call.list("orderIdList"))}


async def cancel_by_client_id(call: Call) -> Any:
    ids = call.list("clientOrderIdList")
    return {"cancelResultMap": call.emu.exchange.cancel_by_client_ids(call.account_id, ids)}


async def cancel_all(call: Call) -> Any:
    return {"cancelResultMap": call.emu.exchange.cancel_all(call.account_id, call.list("filterContractIdList"))}


async def update_leverage(call: Call) -> Any:
    call.emu.exchange.update_leverage(call.account_id, call.body.get("contractId"), call.body.get("leverage"))
    return None


async def max_order_size(call: Call) -> Any:
    ex = call.emu.exchange
    contract = ex.contract(call.body.get("contractId"))
    account = ex.engine_id(call.account_id)
    try:
        price = Decimal(str(call.body.get("price")))
    except ArithmeticError:
        raise EdgexError(INVALID_PARAMETER, "invalid price") from None
    if price <= 0:
        raise EdgexError(INVALID_PARAMETER, "invalid price")
    leverage, _ = ex.engine.leverage(account, contract.symbol)
    size = ex.engine.balance(account).available * leverage / price
    top = ex.engine.book(contract.symbol, 1)
    return {
        "maxBuySize": contract.size((size / contract.step).to_integral_value(rounding="ROUND_FLOOR") * contract.step),
        "maxSellSize": contract.size((size / contract.step).to_integral_value(rounding="ROUND_FLOOR") * contract.step),
        "ask1Price": contract.price(top.asks[0][0]) if top.asks else "0",
        "bid1Price": contract.price(top.bids[0][0]) if top.bids else "0",
    }


def rest_routes() -> list[Any]:
    """Every REST route of the emulator (one list shows the whole surface)."""
    public = [
        ("/meta/getServerTime", server_time), ("/meta/getMetaData", metadata), ("/quote/getTicker", ticker),
        ("/quote/getDepth", depth), ("/quote/getKline", kline), ("/funding/getLatestFundingRate", latest_funding),
        ("/funding/getFundingRatePage", funding_page),
    ]
    private_get = [
        ("/account/getAccountAsset", account_asset), ("/account/getAccountById", account_by_id),
        ("/account/getPositionByContractId", position_by_contract), ("/order/getActiveOrderPage", active_orders),
        ("/order/getOrderById", order_by_id), ("/order/getOrderByClientOrderId", order_by_client_id),
        ("/order/getHistoryOrderById", history_order_by_id),
        ("/order/getHistoryOrderByClientOrderId", history_order_by_client_id),
        ("/order/getHistoryOrderPage", history_orders), ("/order/getHistoryOrderFillTransactionPage", fills),
        ("/account/getCollateralTransactionPage", collateral_transactions),
    ]
    private_post = [
        ("/order/createOrder", create_order), ("/order/cancelOrderById", cancel_by_id),
        ("/order/cancelOrderByClientOrderId", cancel_by_client_id), ("/order/cancelAllOrder", cancel_all),
        ("/account/updateLeverageSetting", update_leverage), ("/order/getMaxCreateOrderSize", max_order_size),
    ]
    return [
        *(Route(V2_PUBLIC + path, endpoint(h, private=False), methods=["GET"]) for path, h in public),
        *(Route(V2_PRIVATE + path, endpoint(h, private=True), methods=["GET"]) for path, h in private_get),
        *(Route(V2_PRIVATE + path, endpoint(h, private=True), methods=["POST"]) for path, h in private_post),
    ]
