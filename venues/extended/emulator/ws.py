"""The emulator's WebSockets: Extended's classic streams (one stream per connection,
chosen by the URL under `/stream.extended.exchange/v1`) and the v2 RPC stream
(`/stream.extended.exchange/v2/rpc`: JSON-RPC subscribe / unsubscribe / ping /
list-subscriptions, many topics on one connection).

The private streams need the account's API key: the `X-Api-Key` handshake header on
`/account` (refused at the handshake without a valid one), `apiKey` in the subscribe
params on RPC (error -32001 unless the key is the named account's). Subscriptions and
the exchange feed live in hub.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from venues.extended.emulator.exchange import ApiError
from venues.extended.emulator.hub import Connection, Hub, Sink
from venues.extended.emulator.rest import INTERVAL_MS
from venues.simex import wshub

if TYPE_CHECKING:
    from venues.extended.emulator.app import ExtendedEmulator

V1 = "/stream.extended.exchange/v1"
RPC = "/stream.extended.exchange/v2/rpc"
CANDLE_TYPES = {"trades": "trades", "mark-prices": "mark", "index-prices": "index"}


def emulator_of(websocket: WebSocket) -> ExtendedEmulator:
    return websocket.app.state.emulator  # type: ignore[no-any-return]


async def _serve(websocket: WebSocket, conn: Connection, hub: Hub, rpc_handler: Any = None) -> None:
    try:
        await wshub.serve(websocket, conn, lambda: _receiver(websocket, conn, rpc_handler))
    finally:
        hub.detach(conn)


async def _receiver(websocket: WebSocket, conn: Connection, rpc_handler: Any) -> None:
    async for text in wshub.frames(websocket):
        if rpc_handler is None:
            continue  # classic streams take no messages from the client
        reply = rpc_handler(text)
        if reply is not None:
            conn.send(reply)


# --------------------------------------------------------------------------- classic


async def classic(websocket: WebSocket) -> None:
    emu = emulator_of(websocket)
    emu.exchange.step()
    params = websocket.path_params
    path = websocket.url.path[len(V1):]
    parts = [p for p in path.split("/") if p]
    kind = parts[0]
    market = params.get("market")
    if market is not None and market not in emu.exchange.markets:
        await websocket.close(code=1008)
        return
    sink_args: dict[str, Any] = {"kind": kind, "market": market}
    if kind == "publicTrades":
        sink_args["kind"] = "trades"
    elif kind == "orderbooks":
        sink_args["depth1"] = websocket.query_params.get("depth") == "1"
    elif kind == "candles":
        candle_type = params.get("candle_type", "")
        interval = websocket.query_params.get("interval", "PT1M")
        if candle_type not in CANDLE_TYPES or interval not in INTERVAL_MS:
            await websocket.close(code=1008)
            return
        sink_args.update(candle_type=CANDLE_TYPES[candle_type], interval_ms=INTERVAL_MS[interval])
    elif kind == "prices":
        sink_args.update(price_type=parts[1])
    elif kind == "account":
        try:
            account = emu.exchange.authenticate(websocket.headers.get("X-Api-Key"))
        except ApiError:
            await websocket.close(code=1008)  # before accept: the handshake is refused (HTTP 403)
            return
        sink_args.update(account_id=account.account_id)
    await websocket.accept()
    conn = emu.hub.attach(rpc=False)
    emu.hub.add(Sink(conn, **sink_args), path)
    await _serve(websocket, conn, emu.hub)


# --------------------------------------------------------------------------- RPC


def _topic(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(topic id, Sink arguments) of subscribe params; ValueError if invalid."""
    scope = params.get("scope")
    selector = params.get("selector") or {}
    market = selector.get("market")
    if scope == "orderbooks":
        depth = selector.get("depth", "full")
        if depth not in ("full", "1"):
            raise ValueError("depth must be full or 1")
        topic = f"orderbooks.1.{market or 'all'}" if depth == "1" else f"orderbooks.{market or 'all'}"
        if selector.get("rfqOnly"):
            topic += ".rfq"
        return topic, {"kind": "orderbooks", "market": market, "depth1": depth == "1"}
    if scope == "trades":
        return f"trades.{market or 'all'}", {"kind": "trades", "market": market}
    if scope == "funding-rates":
        return f"funding-rates.{market or 'all'}", {"kind": "funding", "market": market}
    if scope == "prices":
        kind = selector.get("type")
        if kind not in ("mark", "index"):
            raise ValueError("type must be mark or index")
        return f"prices.{kind}.{market or 'all'}", {"kind": "prices", "market": market, "price_type": kind}
    if scope == "candles":
        kind, interval = selector.get("type"), selector.get("interval")
        if kind not in ("mark", "index", "last") or interval not in INTERVAL_MS or not market:
            raise ValueError("candles need type mark|index|last, a market and an interval")
        return (f"candles.{kind}.{market}.{interval}",
                {"kind": "candles", "market": market, "candle_type": kind, "interval_ms": INTERVAL_MS[interval]})
    if scope == "account":
        account = str(selector.get("account") or "")
        if not account.isdigit():
            raise ValueError("account must be an account id")
        return f"account.{account}", {"kind": "account", "account_id": int(account)}
    raise ValueError(f"unknown scope {scope!r}")


def _rpc_handler(emu: ExtendedEmulator, conn: Connection) -> Any:
    def error(request_id: Any, code: int, message: str) -> dict[str, Any]:
        return {"id": request_id, "error": {"code": code, "message": message, "data": None}}

    def handle(text: str) -> dict[str, Any] | None:
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            return error(None, -32700, "Parse error")
        if not isinstance(frame, dict) or "method" not in frame:
            return error(None, -32600, "Invalid request")
        request_id, method = frame.get("id"), frame["method"]
        emu.exchange.step()
        if method == "ping":
            return {"id": request_id, "result": {}}
        if method == "list-subscriptions":
            return {"id": request_id, "result": {"subscriptions": sorted(conn.sinks)}}
        if method not in ("subscribe", "unsubscribe"):
            return error(request_id, -32601, f"Method not found: {method}")
        params = frame.get("params") or {}
        try:
            topic, sink_args = _topic(params)
        except ValueError as exc:
            return error(request_id, -32602, f"Invalid params: {exc}")
        market = sink_args.get("market")
        if market is not None and market not in emu.exchange.markets:
            return error(request_id, -32602, f"Invalid params: market {market} not found")
        if method == "unsubscribe":
            if not emu.hub.remove(conn, topic):
                return error(request_id, -32602, f"Not subscribed: {topic}")
            return {"id": request_id, "result": {"method": "unsubscribe", "status": "OK"}}
        if sink_args["kind"] == "account":
            account_id = emu.exchange.by_key.get(str(params.get("apiKey") or ""))
            if account_id is None or account_id != sink_args["account_id"]:
                return error(request_id, -32001, "Unauthorized")
        conn.send({"id": request_id, "result": {"subscription": topic}})  # the reply precedes the data
        emu.hub.add(Sink(conn, topic=topic, **sink_args), topic)
        return None

    return handle


async def rpc(websocket: WebSocket) -> None:
    emu = emulator_of(websocket)
    await websocket.accept()
    conn = emu.hub.attach(rpc=True)
    await _serve(websocket, conn, emu.hub, _rpc_handler(emu, conn))


def ws_routes() -> list[WebSocketRoute]:
    """Every stream of the emulator."""
    return [
        WebSocketRoute(f"{V1}/orderbooks", classic),
        WebSocketRoute(f"{V1}/orderbooks/{{market}}", classic),
        WebSocketRoute(f"{V1}/publicTrades", classic),
        WebSocketRoute(f"{V1}/publicTrades/{{market}}", classic),
        WebSocketRoute(f"{V1}/funding", classic),
        WebSocketRoute(f"{V1}/funding/{{market}}", classic),
        WebSocketRoute(f"{V1}/candles/{{market}}/{{candle_type}}", classic),
        WebSocketRoute(f"{V1}/prices/mark/{{market}}", classic),
        WebSocketRoute(f"{V1}/prices/index/{{market}}", classic),
        WebSocketRoute(f"{V1}/account", classic),
        WebSocketRoute(RPC, rpc),
    ]
