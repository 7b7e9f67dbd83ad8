"""`/ws-api` subscriptions and the feeds that fill them (the socket itself is ws.py).

Public channels: `tickers` (every market's row when its mark moves), `{symbol}@depth`
(the top 20 of the quoted book, whole, on subscribe and after each change),
`{symbol}@trades` (one trade per message, `id` a hex string) and
`{symbol}@kline_{interval}` (the current candle after each trade). Private:
`account_private` on a connection opened with a listen key, carrying ORDER events in
the docs' four shapes. The exchange and the desk call in synchronously; messages are
encoded once and queued per connection without blocking them (a connection whose
queue overflows is closed, as a slow consumer would be).
"""

from __future__ import annotations

from typing import Any

import orjson

from venues.simex import wshub
from venues.simex.events import BookDelta, MarkEvent, TradeEvent
from venues.vest.constants import INTERVAL_MS
from venues.vest.emulator import shapes
from venues.vest.emulator.exchange import VestExchange
from venues.vest.emulator.orders import VestOrder
from venues.vest.emulator.refusal import VestError
from venues.vest.errors import INVALID_LISTEN_KEY, INVALID_PARAMETER

DEPTH = 20


class Connection(wshub.Connection):
    """One WS client: its account (private connections), subscriptions and outgoing queue."""

    def __init__(self, account: str | None = None) -> None:
        super().__init__()
        self.account = account


class Hub(wshub.ConnectionHub[Connection]):
    """Every connection and subscription of the emulator's WebSocket."""

    def __init__(self, exchange: VestExchange) -> None:
        super().__init__()
        self.exchange = exchange
        self.engine = exchange.engine
        self.engine.subscribe(self.on_engine)
        exchange.desk.listeners.append(self.on_order)

    def attach(self, account: str | None) -> Connection:
        return self.register(Connection(account))

    def publish(self, channel: str, data: Any) -> None:
        self.broadcast(channel, {"channel": channel, "data": data})

    # ------------------------------------------------------------------ subscribe

    def _check(self, conn: Connection, channel: Any) -> str:
        if not isinstance(channel, str):
            raise VestError(INVALID_PARAMETER, f"invalid channel {channel!r}")
        if channel == "account_private":
            if conn.account is None:
                raise VestError(INVALID_LISTEN_KEY, "account_private needs a listenKey on the connection URL")
            return channel
        if channel == "tickers":
            return channel
        symbol, _, kind = channel.partition("@")
        if symbol not in self.exchange.markets:
            raise VestError(INVALID_PARAMETER, f"invalid channel {channel!r}")
        if kind in ("depth", "trades") or (kind.startswith("kline_") and kind[len("kline_"):] in INTERVAL_MS):
            return channel
        raise VestError(INVALID_PARAMETER, f"invalid channel {channel!r}")

    def subscribe(self, conn: Connection, params: Any, request_id: Any) -> None:
        """SUBSCRIBE: `{"result": null, "id"}`, then each depth's current book."""
        try:
            channels = [self._check(conn, c) for c in (params if isinstance(params, list) else [params])]
        except VestError as exc:
            conn.send({**exc.body(), "id": request_id})
            return
        for channel in channels:
            key = f"account_private:{conn.account}" if channel == "account_private" else channel
            self.listen(conn, key)
        conn.send({"result": None, "id": request_id})
        for channel in channels:
            symbol, _, kind = channel.partition("@")
            if kind == "depth":
                market = self.exchange.markets[symbol]
                conn.send({"channel": channel, "data": shapes.depth(self.engine, market, DEPTH)})

    def unsubscribe(self, conn: Connection, params: Any, request_id: Any) -> None:
        for channel in params if isinstance(params, list) else [params]:
            key = f"account_private:{conn.account}" if channel == "account_private" else str(channel)
            self.unlisten(conn, key)
        conn.send({"result": None, "id": request_id})

    # ------------------------------------------------------------------ feeds

    def on_engine(self, event: Any) -> None:
        markets = self.exchange.markets
        if isinstance(event, BookDelta):
            market = markets.get(event.symbol)
            if market is not None and self.subs.get(f"{event.symbol}@depth"):
                self.publish(f"{event.symbol}@depth", shapes.depth(self.engine, market, DEPTH))
        elif isinstance(event, TradeEvent):
            market = markets.get(event.trade.symbol)
            if market is None:
                return
            self.publish(f"{market.symbol}@trades", shapes.trade(event.trade, market, stream=True))
            for interval, ms in INTERVAL_MS.items():
                channel = f"{market.symbol}@kline_{interval}"
                if self.subs.get(channel):
                    candles = self.engine.candles(market.symbol, ms, limit=1)
                    if candles:
                        self.publish(channel, shapes.kline(candles[-1], market, ms, stream=True))
        elif isinstance(event, MarkEvent):
            market = markets.get(event.symbol)
            if market is not None and self.subs.get("tickers"):
                self.publish("tickers", [shapes.ticker_stream_row(self.engine, market)])

    def on_order(self, order: VestOrder) -> None:
        subs = self.subs.get(f"account_private:{order.account}")
        if not subs:
            return
        message = shapes.private_message("ORDER", shapes.order_event(order, self.exchange.markets[order.symbol]))
        text = orjson.dumps(message).decode()
        for conn in list(subs):
            conn.push(text)
