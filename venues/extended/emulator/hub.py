"""The emulator's stream subscriptions and the exchange feed that fills them (the sockets
themselves are ws.py).

A `Sink` is one subscription of one connection: a classic stream (one per connection,
chosen by the URL) or one topic of a v2 RPC connection. Frames are
`{type, data, ts, seq}` (+ `subscription` on RPC), `seq` counted per connection. Order
books start with a SNAPSHOT; a DELTA carries the change of quantity at each level, as
the SDK's own order book adds them up (`x10/tools/orderbook.py`); depth 1 is the best
bid and ask as a SNAPSHOT whenever they change. Account streams start with snapshots
of open orders, positions and balance. The exchange calls `on_event` synchronously:
frames are queued per connection, never blocking it; a connection whose queue
overflows is closed, as a slow consumer would be.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from venues.extended.emulator import shapes
from venues.extended.emulator.exchange import ExtendedExchange
from venues.extended.emulator.markets import MarketDef
from venues.simex import wshub
from venues.simex.events import (
    BalanceEvent,
    BookDelta,
    FillEvent,
    FundingEvent,
    MarkEvent,
    OrderEvent,
    PositionEvent,
    TradeEvent,
)

ACCOUNT_TYPES = {"ORDER": "orders", "TRADE": "trades", "POSITION": "positions", "BALANCE": "balance"}


class Connection(wshub.Connection):
    """One WS client: its sinks, its outgoing queue and its frame sequence."""

    def __init__(self, rpc: bool) -> None:
        super().__init__()
        self.rpc = rpc
        self.seq = 0 if rpc else 1  # RPC counts from 0 per connection
        self.sinks: dict[str, Sink] = {}  # topic (RPC) or path (classic) -> sink

    def frame(self, sink: Sink, msg_type: str | None, data: Any, now_ms: int, drop: bool = False) -> None:
        payload: dict[str, Any] = {"type": msg_type, "data": data, "ts": now_ms, "seq": self.seq}
        if self.rpc:
            payload["subscription"] = sink.topic
        self.seq += 1
        if not drop:  # a dropped frame still used its seq: the client sees the gap
            self.send(payload)


@dataclass(eq=False)
class Sink:
    conn: Connection
    kind: str  # orderbooks | trades | funding | prices | candles | account
    market: str | None = None  # Extended name; None = every market
    topic: str = ""
    depth1: bool = False
    price_type: str = "mark"
    candle_type: str = "trades"
    interval_ms: int = 60_000
    account_id: int = 0
    top: dict[str, Any] = field(default_factory=dict)  # depth 1: last best bid/ask sent, per market

    def wants(self, market: str) -> bool:
        return self.market is None or self.market == market


class Hub(wshub.ConnectionHub[Connection]):
    """Every subscription of the emulator's streams, fed by the exchange (by sink, not by
    channel: a connection's sinks say what it listens to)."""

    def __init__(self, exchange: ExtendedExchange) -> None:
        super().__init__()
        self.exchange = exchange
        self.engine = exchange.engine
        self.clock = exchange.clock
        self.sinks: dict[str, set[Sink]] = defaultdict(set)
        self.drop_book_deltas = 0
        self.levels: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
        for market in exchange.markets.values():
            book = self.engine.book(market.symbol)
            self.levels[market.name] = (dict(book.bids), dict(book.asks))
        self.engine.subscribe(self.on_event)
        exchange.on_rejected.append(self._rejected)

    # ------------------------------------------------------------------ connections

    def attach(self, rpc: bool) -> Connection:
        return self.register(Connection(rpc))

    def detach(self, conn: Connection) -> None:
        for sink in conn.sinks.values():
            self.sinks[sink.kind].discard(sink)
        conn.sinks.clear()
        super().detach(conn)

    def add(self, sink: Sink, key: str) -> None:
        """Register `sink` under `key` and send what it starts with."""
        old = sink.conn.sinks.pop(key, None)
        if old is not None:
            self.sinks[old.kind].discard(old)
        sink.conn.sinks[key] = sink
        self.sinks[sink.kind].add(sink)
        self._initial(sink)

    def remove(self, conn: Connection, key: str) -> bool:
        sink = conn.sinks.pop(key, None)
        if sink is None:
            return False
        self.sinks[sink.kind].discard(sink)
        return True

    # ------------------------------------------------------------------ first frames

    def _names(self, sink: Sink) -> list[str]:
        return [sink.market] if sink.market is not None else list(self.exchange.markets)

    def _initial(self, sink: Sink) -> None:
        now = self.clock.now_ms()
        if sink.kind == "orderbooks":
            for name in self._names(sink):
                self._book_snapshot(sink, name, now)
        elif sink.kind == "funding":
            for name in self._names(sink):
                view = self.engine.market(self.exchange.markets[name].symbol)
                sink.conn.frame(sink, "FUNDING" if sink.conn.rpc else None,
                                {"m": name, "T": now, "f": format(view.funding_rate, "f")}, now)
        elif sink.kind == "candles" and sink.market is not None:
            self._candle(sink, self.exchange.markets[sink.market], now)
        elif sink.kind == "account":
            ex = self.exchange
            account = ex.accounts[sink.account_id]
            self._account(sink, "ORDER", ex.open_orders(account), now, snapshot=True)
            self._account(sink, "POSITION", ex.positions(account), now, snapshot=True)
            self._account(sink, "BALANCE", ex.balance(account), now, snapshot=True)

    def _book_snapshot(self, sink: Sink, name: str, now: int) -> None:
        market = self.exchange.markets[name]
        bids, asks = self._sorted(name)
        if sink.depth1:
            bids, asks = bids[:1], asks[:1]
            sink.top[name] = (bids, asks)
        data: dict[str, Any] = {"m": name, "b": shapes.levels(tuple(bids), market, short=True),
                                "a": shapes.levels(tuple(asks), market, short=True)}
        if sink.conn.rpc:
            data["d"] = "1" if sink.depth1 else "full"
        sink.conn.frame(sink, "SNAPSHOT", data, now)

    def _sorted(self, name: str) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        bids, asks = self.levels[name]
        return sorted(bids.items(), reverse=True), sorted(asks.items())

    def _account(self, sink: Sink, kind: str, rows: Any, now: int, snapshot: bool = False) -> None:
        field_name = ACCOUNT_TYPES[kind]
        if sink.conn.rpc:
            sink.conn.frame(sink, f"ACCOUNT.{kind}", {"isSnapshot": snapshot, field_name: rows}, now)
        else:
            sink.conn.frame(sink, kind, {field_name: rows}, now)

    def _candle(self, sink: Sink, market: MarketDef, now: int) -> None:
        rows = self.engine.candles(market.symbol, sink.interval_ms, limit=1)
        if not rows:
            return
        c = rows[-1]
        row: dict[str, Any] = {"o": market.price(c.open), "l": market.price(c.low), "h": market.price(c.high),
                               "c": market.price(c.close), "T": c.open_ms}
        if sink.candle_type in ("trades", "last"):
            row["v"] = market.size(c.volume)
        sink.conn.frame(sink, "CANDLE" if sink.conn.rpc else None, [row], now)

    # ------------------------------------------------------------------ exchange feed

    def on_event(self, event: Any) -> None:  # noqa: C901 - one dispatch, kept flat
        ex = self.exchange
        if isinstance(event, BookDelta):
            market = ex.by_symbol.get(event.symbol)
            if market is not None:
                self._book_delta(market, event)
            return
        now = self.clock.now_ms()
        if isinstance(event, TradeEvent):
            market = ex.by_symbol[event.trade.symbol]
            row = shapes.public_trade_json(event.trade, market)
            for sink in list(self.sinks["trades"]):
                if sink.wants(market.name):
                    sink.conn.frame(sink, "TRADE" if sink.conn.rpc else None, [row], now)
            for sink in list(self.sinks["candles"]):
                if sink.wants(market.name):
                    self._candle(sink, market, now)
        elif isinstance(event, MarkEvent):
            market = ex.by_symbol[event.symbol]
            for sink in list(self.sinks["prices"]):
                if sink.wants(market.name):
                    price = event.market.mark_price if sink.price_type == "mark" else event.market.index_price
                    kind = "MP" if sink.price_type == "mark" else "IP"
                    sink.conn.frame(sink, kind, {"m": market.name, "p": format(price, "f"), "ts": now}, now)
        elif isinstance(event, FundingEvent):
            market = ex.by_symbol[event.symbol]
            for sink in list(self.sinks["funding"]):
                if sink.wants(market.name):
                    sink.conn.frame(sink, "FUNDING" if sink.conn.rpc else None,
                                    {"m": market.name, "T": event.ts_ms, "f": format(event.rate, "f")}, now)
        elif event.account is not None and event.account.isdigit() and self.sinks["account"]:
            account_id = int(event.account)
            sinks = [s for s in self.sinks["account"] if s.account_id == account_id]
            if not sinks:
                return
            if isinstance(event, OrderEvent):
                kind, rows = "ORDER", [ex.order_json(account_id, event.order)]
            elif isinstance(event, FillEvent):
                kind, rows = "TRADE", [shapes.trade_json(event.fill, ex.by_symbol[event.fill.symbol], account_id)]
            elif isinstance(event, PositionEvent):
                kind, rows = "POSITION", [ex.position_json(account_id, event.position)]
            elif isinstance(event, BalanceEvent):
                kind, rows = "BALANCE", shapes.balance_json(event.balance)
            else:
                return
            for sink in sinks:
                self._account(sink, kind, rows, now)

    def _book_delta(self, market: MarketDef, event: BookDelta) -> None:
        bids, asks = self.levels[market.name]
        changes = []
        for side, levels in ((event.bids, bids), (event.asks, asks)):
            changed = []
            for price, size in side:
                change = size - levels.get(price, Decimal(0))
                if size:
                    levels[price] = size
                else:
                    levels.pop(price, None)
                if change:
                    changed.append((price, change))
            changes.append(tuple(changed))
        sinks = [s for s in self.sinks["orderbooks"] if s.wants(market.name)]
        if not sinks:
            return
        now = self.clock.now_ms()
        drop = False
        if self.drop_book_deltas > 0:
            self.drop_book_deltas -= 1
            drop = True
        for sink in sinks:
            if sink.depth1:
                top = self._sorted(market.name)
                best = (top[0][:1], top[1][:1])
                if sink.top.get(market.name) != best:
                    self._book_snapshot(sink, market.name, now)
                continue
            if not changes[0] and not changes[1]:
                continue
            data: dict[str, Any] = {"m": market.name, "b": shapes.levels(changes[0], market, short=True),
                                    "a": shapes.levels(changes[1], market, short=True)}
            if sink.conn.rpc:
                data["d"] = "full"
            sink.conn.frame(sink, "DELTA", data, now, drop=drop)

    def _rejected(self, account_id: int, row: dict[str, Any]) -> None:
        now = self.clock.now_ms()
        for sink in list(self.sinks["account"]):
            if sink.account_id == account_id:
                self._account(sink, "ORDER", [row], now)
