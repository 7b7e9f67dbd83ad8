"""The emulator's `/ws`: subscriptions, pushes from the engine, ping, post, faults.

As the venue does: a text frame `Websocket connection established.` first; every
subscribe is acknowledged with `subscriptionResponse` (l2Book's echo gains
`nSigFigs`/`mantissa`); `l2Book` pushes the full book (coalesced per engine call);
`userFills` starts with an `isSnapshot` message; `{"method": "ping"}` is answered with
`{"channel": "pong"}`; a connection that sends nothing for `ws_idle_secs` is closed.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from venues.hyperliquid.emulator import exchange, info, shapes
from venues.simex.events import BookDelta, CandleView, FillEvent, MarkEvent, OrderEvent, TradeEvent

if TYPE_CHECKING:
    from venues.hyperliquid.emulator.app import HyperliquidEmulator

ESTABLISHED = "Websocket connection established."
COIN_TYPES = frozenset({"l2Book", "trades", "activeAssetCtx", "bbo"})
USER_TYPES = frozenset({"orderUpdates", "userFills", "userEvents", "userTwapSliceFills"})
BUFFER = 10_000  # messages queued per connection before it is dropped as too slow


def _dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


class Connection:
    """One client: its outgoing queue and its subscriptions."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.outbox, self.inbox = anyio.create_memory_object_stream[str | None](BUFFER)
        self.keys: set[tuple[str, ...]] = set()

    def push(self, text: str | None) -> None:
        try:
            self.outbox.send_nowait(text)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            with contextlib.suppress(anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
                self.outbox.close()  # too slow or gone: the writer ends, the client reconnects


class WsHub:
    """Every connection of one emulator, indexed by what they listen to."""

    def __init__(self, emu: HyperliquidEmulator) -> None:
        self.emu = emu
        self.connections: set[Connection] = set()
        self.listeners: dict[tuple[str, ...], set[Connection]] = {}
        self._dirty_books: set[str] = set()
        self._dirty_marks: set[str] = set()
        self._last_bbo: dict[str, Any] = {}

    # ------------------------------------------------------------------ engine events

    def _send(self, key: tuple[str, ...], data: Any) -> None:
        conns = self.listeners.get(key)
        if conns:
            text = _dumps(data)
            for conn in tuple(conns):
                conn.push(text)

    def on_event(self, event: Any) -> None:
        emu = self.emu
        if isinstance(event, BookDelta):
            self._dirty_books.add(event.symbol)
        elif isinstance(event, MarkEvent):
            self._dirty_marks.add(event.symbol)
        elif isinstance(event, TradeEvent):
            coin = emu.symbol_coin[event.symbol]
            self._send(("trades", coin), {"channel": "trades", "data": [shapes.trade(coin, event.trade)]})
            for interval in info.INTERVALS_MS:
                if self.listeners.get(("candle", coin, interval)):
                    self._send(("candle", coin, interval), {"channel": "candle", "data": candle(emu, coin, interval)})
        elif isinstance(event, OrderEvent):
            coin = emu.symbol_coin[event.order.symbol]
            self._send(("orderUpdates", event.account), {"channel": "orderUpdates", "data": [shapes.order_update(coin, event.order)]})
        elif isinstance(event, FillEvent):
            fill = shapes.fill(emu.symbol_coin[event.fill.symbol], event.fill)
            self._send(("userFills", event.account), {"channel": "userFills", "data": {"user": event.account, "fills": [fill]}})
            self._send(("userEvents", event.account), {"channel": "user", "data": {"fills": [fill]}})

    def on_twap_fills(self, user: str, fills: list[Any]) -> None:
        if fills:
            rows = [{"fill": shapes.fill(self.emu.symbol_coin[f.symbol], f, twap_id), "twapId": twap_id}
                    for f, twap_id in fills]
            self._send(("userTwapSliceFills", user), {"channel": "userTwapSliceFills",
                                                      "data": {"user": user, "twapSliceFills": rows}})

    def flush(self) -> None:
        """Push the coalesced updates: full books, asset contexts, mids."""
        emu = self.emu
        books, self._dirty_books = self._dirty_books, set()
        for symbol in books:
            coin = emu.symbol_coin[symbol]
            if self.listeners.get(("l2Book", coin)):
                self._send(("l2Book", coin), {"channel": "l2Book", "data": emu_l2(emu, coin)})
            if self.listeners.get(("bbo", coin)):
                top = bbo(emu, coin)
                if top["bbo"] != self._last_bbo.get(coin):  # only when the best levels change
                    self._last_bbo[coin] = top["bbo"]
                    self._send(("bbo", coin), {"channel": "bbo", "data": top})
        marks, self._dirty_marks = self._dirty_marks, set()
        for symbol in marks:
            coin = emu.symbol_coin[symbol]
            if self.listeners.get(("activeAssetCtx", coin)):
                self._send(("activeAssetCtx", coin), {"channel": "activeAssetCtx", "data": asset_ctx(emu, coin)})
        if (books or marks) and self.listeners.get(("allMids",)):
            self._send(("allMids",), {"channel": "allMids", "data": {"mids": info.mids(emu)}})

    def drop_all(self) -> None:
        """Fault: close every connection now (clients must reconnect and resync)."""
        for conn in tuple(self.connections):
            conn.push(None)

    # ------------------------------------------------------------------ connections

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        conn = Connection(websocket)
        self.connections.add(conn)
        try:
            await websocket.send_text(ESTABLISHED)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._write, conn, tg.cancel_scope)
                await self._read(conn)
                tg.cancel_scope.cancel()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self.connections.discard(conn)
            for key in conn.keys:
                self.listeners.get(key, set()).discard(conn)
            conn.outbox.close()
            conn.inbox.close()
            with contextlib.suppress(Exception):
                await websocket.close()

    async def _write(self, conn: Connection, scope: anyio.CancelScope) -> None:
        try:
            async for text in conn.inbox:
                if text is None:
                    await conn.websocket.close(code=1012)
                    break
                await conn.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        scope.cancel()

    async def _read(self, conn: Connection) -> None:
        while True:
            text = None
            try:
                with anyio.move_on_after(self.emu.ws_idle_secs):
                    text = await conn.websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError, OSError):
                return  # the client went away
            if text is None:
                return  # idle for too long: the venue closes such connections
            try:
                message = orjson.loads(text)
                method = message["method"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                conn.push(_dumps({"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text}"}))
                continue
            if method == "ping":
                conn.push('{"channel":"pong"}')
            elif method in ("subscribe", "unsubscribe"):
                self._subscription(conn, method, message.get("subscription"))
            elif method == "post":
                self._post(conn, message)
            else:
                conn.push(_dumps({"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text}"}))

    def _subscription(self, conn: Connection, method: str, subscription: Any) -> None:
        key = self._key(subscription)
        if key is None:
            conn.push(_dumps({"channel": "error", "data": f"Invalid subscription {_dumps(subscription)}"}))
            return
        if method == "unsubscribe":
            if key not in conn.keys:
                conn.push(_dumps({"channel": "error", "data": f"Already unsubscribed: {_dumps(subscription)}"}))
                return
            conn.keys.discard(key)
            self.listeners.get(key, set()).discard(conn)
        else:
            if key in conn.keys:
                conn.push(_dumps({"channel": "error", "data": f"Already subscribed: {_dumps(subscription)}"}))
                return
            conn.keys.add(key)
            self.listeners.setdefault(key, set()).add(conn)
        echo = dict(subscription)
        if echo["type"] == "l2Book":
            echo.setdefault("nSigFigs", None)
            echo.setdefault("mantissa", None)
        conn.push(_dumps({"channel": "subscriptionResponse", "data": {"method": method, "subscription": echo}}))
        if method == "subscribe":
            self._initial(conn, key)

    def _key(self, subscription: Any) -> tuple[str, ...] | None:
        if not isinstance(subscription, dict):
            return None
        kind = subscription.get("type")
        if kind == "allMids":
            return ("allMids",)
        if kind in COIN_TYPES:
            coin = subscription.get("coin")
            return (kind, coin) if coin in self.emu.coin_symbol else None
        if kind == "candle":
            coin, interval = subscription.get("coin"), subscription.get("interval")
            ok = coin in self.emu.coin_symbol and interval in info.INTERVALS_MS
            return ("candle", coin, interval) if ok else None
        if kind in USER_TYPES:
            user = str(subscription.get("user", "")).lower()
            return (kind, user) if user.startswith("0x") and len(user) == 42 else None
        return None

    def _initial(self, conn: Connection, key: tuple[str, ...]) -> None:
        emu = self.emu
        kind = key[0]
        if kind == "l2Book":
            conn.push(_dumps({"channel": "l2Book", "data": emu_l2(emu, key[1])}))
        elif kind == "activeAssetCtx":
            conn.push(_dumps({"channel": "activeAssetCtx", "data": asset_ctx(emu, key[1])}))
        elif kind == "allMids":
            conn.push(_dumps({"channel": "allMids", "data": {"mids": info.mids(emu)}}))
        elif kind == "userFills":
            emu.ensure_user(key[1])
            fills = info.answer(emu, {"type": "userFills", "user": key[1]})
            conn.push(_dumps({"channel": "userFills", "data": {"isSnapshot": True, "user": key[1], "fills": fills}}))
        elif kind == "userTwapSliceFills":
            rows = info.answer(emu, {"type": "userTwapSliceFills", "user": key[1]})
            conn.push(_dumps({"channel": "userTwapSliceFills",
                              "data": {"isSnapshot": True, "user": key[1], "twapSliceFills": rows}}))
        elif kind == "bbo":
            top = bbo(emu, key[1])
            self._last_bbo[key[1]] = top["bbo"]
            conn.push(_dumps({"channel": "bbo", "data": top}))
        elif kind == "candle":
            conn.push(_dumps({"channel": "candle", "data": candle(emu, key[1], key[2])}))

    def _post(self, conn: Connection, message: dict[str, Any]) -> None:
        """POST over WS: the same answers as HTTP, wrapped in a `post` message."""
        request_id = message.get("id")
        request = message.get("request") or {}
        kind, payload = request.get("type"), request.get("payload")
        try:
            if kind == "info":
                response = {"type": "info", "payload": {"type": payload["type"], "data": info.answer(self.emu, payload)}}
            elif kind == "action":
                response = {"type": "action", "payload": exchange.answer(self.emu, payload)}
                self.emu.settle()
            else:
                raise info.Malformed
        except (info.Malformed, exchange.Malformed, TypeError, KeyError):
            response = {"type": "error", "payload": "422 Unprocessable Entity: Failed to deserialize the JSON body into the target type"}
        except info.Unknown:
            response = {"type": "error", "payload": "500 Internal Server Error"}
        conn.push(_dumps({"channel": "post", "data": {"id": request_id, "response": response}}))


def emu_l2(emu: HyperliquidEmulator, coin: str) -> dict[str, Any]:
    return info.l2_book(emu, coin)


def bbo(emu: HyperliquidEmulator, coin: str) -> dict[str, Any]:
    """`{"coin", "time", "bbo": [bid level | null, ask level | null]}`."""
    book = info.l2_book(emu, coin)
    bids, asks = book["levels"]
    return {"coin": coin, "time": book["time"], "bbo": [bids[0] if bids else None, asks[0] if asks else None]}


def candle(emu: HyperliquidEmulator, coin: str, interval: str) -> dict[str, Any]:
    """The current (last) candle of `interval`; an empty one at the mark before any trade."""
    step = info.INTERVALS_MS[interval]
    symbol = emu.coin_symbol[coin]
    rows = emu.engine.candles(symbol, step, limit=1)
    if rows:
        return shapes.candle(coin, interval, step, rows[-1])
    now = emu.now_ms()
    mark = emu.engine.market(symbol).mark_price
    empty = CandleView(symbol, now - now % step, mark, mark, mark, mark, shapes.ZERO, 0)
    return shapes.candle(coin, interval, step, empty)


def asset_ctx(emu: HyperliquidEmulator, coin: str) -> dict[str, Any]:
    symbol = emu.coin_symbol[coin]
    return {"coin": coin, "ctx": shapes.asset_ctx(emu.engine.market(symbol), emu.engine.book(symbol, 1))}
