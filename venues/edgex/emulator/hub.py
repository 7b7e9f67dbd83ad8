"""The emulator's WebSocket subscriptions and the exchange feed that fills them (the
sockets themselves are ws.py).

Public channels (`depth.{id}.{15|200}`, `trades.{id}`, `ticker.{id}` / `ticker.all` /
`ticker.all.1s`, `fundingRate.{id}` / `fundingRate.all`, `metadata`) answer a subscribe
with `subscribed` (echoing the request, as production does) and a `Snapshot`
quote-event, then push `changed` events as the exchange moves. Depth changes carry
`startVersion` = `endVersion` = the book's sequence, so one skipped change is visible.

Private connections get every account event of their account as one `trade-event` per
exchange operation: the engine's events are buffered per account while an operation
runs and `flush()`ed after it (an order, its fills, the position and the collateral
arrive together, as in EdgeX's ORDER_UPDATE). Each flush is one `version` up.
The engine calls `on_event` synchronously; frames are encoded once and queued per
connection without blocking the engine (a connection whose queue overflows is closed).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from venues.edgex.emulator import shapes
from venues.edgex.emulator.exchange import EdgexExchange
from venues.edgex.emulator.markets import ContractDef, metadata_json
from venues.edgex.emulator.shapes import OrderRecord
from venues.simex import wshub
from venues.simex.events import (
    BalanceEvent,
    BookDelta,
    FillEvent,
    FundingEvent,
    FundingPaymentEvent,
    MarkEvent,
    OrderEvent,
    PositionEvent,
    TradeEvent,
)

GROUPS = ("account", "collateral", "collateralTransaction", "position", "positionTransaction", "deposit",
          "withdraw", "transferIn", "transferOut", "order", "orderFillTransaction")


class Connection(wshub.Connection):
    """One WS client: its session id, account (private sockets), subscriptions and outgoing queue."""

    def __init__(self, account_id: int | None = None) -> None:
        super().__init__()
        self.sid = str(uuid.uuid4())
        self.account_id = account_id


@dataclass
class _Pending:
    """An account's events during one exchange operation."""

    orders: dict[int, Any] = field(default_factory=dict)  # oid -> latest view
    synthetic: list[OrderRecord] = field(default_factory=list)
    fills: list[Any] = field(default_factory=list)
    positions: dict[str, Any] = field(default_factory=dict)  # symbol -> latest view
    balance: bool = False
    funding: list[Any] = field(default_factory=list)  # FundingPayment, each settled in this operation


def quote_event(channel: str, data_type: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "quote-event", "channel": channel,
            "content": {"channel": channel, "dataType": data_type, "data": data}}


class Hub(wshub.ConnectionHub[Connection]):
    """Every connection and subscription of the emulator's two WebSockets."""

    def __init__(self, exchange: EdgexExchange) -> None:
        super().__init__()
        self.exchange = exchange
        self.engine = exchange.engine
        self.private: dict[int, set[Connection]] = defaultdict(set)
        self.versions: dict[int, int] = defaultdict(int)
        self.pending: dict[int, _Pending] = {}
        self.previous_funding: dict[str, tuple[Any, int]] = {}
        self.engine.subscribe(self.on_event)
        exchange.on_synthetic.append(self._synthetic)

    # ------------------------------------------------------------------ connections

    def attach(self, account_id: int | None = None) -> Connection:
        conn = self.register(Connection(account_id))
        if account_id is not None:
            self.private[account_id].add(conn)
        return conn

    def detach(self, conn: Connection) -> None:
        if conn.account_id is not None:
            self.private[conn.account_id].discard(conn)
        super().detach(conn)

    def publish(self, channel: str, data_type: str, data: list[dict[str, Any]]) -> None:
        self.broadcast(channel, quote_event(channel, data_type, data))

    # ------------------------------------------------------------------ public subscriptions

    def subscribe(self, conn: Connection, channel: str, request: str) -> None:
        """Register `channel` and send its ack and snapshot, or an error frame."""
        try:
            snapshot = self.snapshot(channel)
        except (KeyError, ValueError, IndexError):
            name, _, rest = channel.partition(".")
            contract_id = rest.partition(".")[0]
            code, msg = ("INVALID_CONTRACT_ID", f"invalid contractId:{contract_id}") if contract_id.isdigit() else (
                "INVALID_CHANNEL", f"invalid channel:{channel}")
            conn.send({"type": "error", "content": {"code": code, "msg": msg}})
            return
        self.listen(conn, channel)
        conn.send({"type": "subscribed", "channel": channel, "request": request})
        conn.send(quote_event(channel, "Snapshot", snapshot))

    def unsubscribe(self, conn: Connection, channel: str, request: str) -> None:
        self.unlisten(conn, channel)
        conn.send({"type": "unsubscribed", "channel": channel, "request": request})

    def _contract(self, contract_id: str) -> ContractDef:
        return self.exchange.contracts[contract_id]

    def snapshot(self, channel: str) -> list[dict[str, Any]]:
        parts = channel.split(".")
        name = parts[0]
        if name == "metadata" and len(parts) == 1:
            return [metadata_json(tuple(self.exchange.contracts.values()))]
        if name == "depth" and len(parts) == 3:
            level = int(parts[2])
            if level not in (15, 200):
                raise ValueError(channel)
            c = self._contract(parts[1])
            return [shapes.depth_json(self.engine.book(c.symbol, level), c, level, "Snapshot")]
        if name == "trades" and len(parts) == 2:
            c = self._contract(parts[1])
            return [shapes.trade_json(t, c) for t in reversed(self.engine.recent_trades(c.symbol, 50))]
        if name in ("ticker", "fundingRate"):
            if parts[1:] in (["all"], ["all", "1s"]):
                contracts = list(self.exchange.contracts.values())
            elif len(parts) == 2:
                contracts = [self._contract(parts[1])]
            else:
                raise ValueError(channel)
            render = self.ticker if name == "ticker" else self.funding
            return [render(c) for c in contracts]
        raise ValueError(channel)

    def ticker(self, c: ContractDef) -> dict[str, Any]:
        now = self.exchange.clock.now_ms()
        candles = self.engine.candles(c.symbol, 60_000, start_ms=now - 86_400_000)
        return shapes.ticker_json(self.engine.market(c.symbol), c, candles, self.engine.book(c.symbol, 1), now)

    def funding(self, c: ContractDef) -> dict[str, Any]:
        return shapes.funding_json(self.engine.market(c.symbol), c, self.exchange.clock.now_ms(),
                                   self.previous_funding.get(c.symbol))

    # ------------------------------------------------------------------ private

    def account_snapshot(self, account_id: int) -> dict[str, Any]:
        """The `Snapshot` trade-event a private connection starts with."""
        asset = self.exchange.asset(account_id)
        data: dict[str, Any] = {group: [] for group in GROUPS}
        data["account"] = [asset["account"]]
        data["collateral"] = asset["collateralList"]
        data["position"] = asset["positionList"]
        data["order"] = self.exchange.active_orders(account_id, [])
        return {"type": "trade-event", "content": {"event": "Snapshot", "version": self.versions[account_id],
                                                   "data": data, "time": self.exchange.clock.now_ms(), "accountId": 0}}

    def _pending(self, account: str) -> _Pending | None:
        if not account.isdigit():
            return None  # house accounts have no streams
        return self.pending.setdefault(int(account), _Pending())

    def _synthetic(self, record: OrderRecord) -> None:
        self.pending.setdefault(record.account_id, _Pending()).synthetic.append(record)

    def flush(self) -> None:
        """Send each account's buffered events as one trade-event (one version each)."""
        pending, self.pending = self.pending, {}
        for account_id, events in pending.items():
            faults = self.exchange.faults
            if faults.skip_account_versions > 0:
                faults.skip_account_versions -= 1
                self.versions[account_id] += 1  # a lost event: the next version shows the gap
            self.versions[account_id] += 1
            conns = self.private.get(account_id)
            if not conns:
                continue
            message = self._trade_event(account_id, events)
            text = orjson.dumps(message).decode()
            for conn in list(conns):
                conn.push(text)

    def _trade_event(self, account_id: int, events: _Pending) -> dict[str, Any]:
        ex = self.exchange
        data: dict[str, Any] = {group: [] for group in GROUPS}
        orders = [shapes.order_json(r, ex.view(r)) for r in events.synthetic]
        for view in events.orders.values():
            record = ex.by_oid.get(view.oid)
            if record is not None:
                orders.append(shapes.order_json(record, view))
        data["order"] = orders
        fills = []
        for fill in events.fills:
            record = ex.by_oid.get(fill.oid)
            if record is not None:
                fills.append(shapes.fill_json(fill, record))
        data["orderFillTransaction"] = fills
        data["position"] = [shapes.position_json(p, ex.by_symbol[s], account_id) for s, p in events.positions.items()
                            if s in ex.by_symbol]
        if events.balance or events.funding or fills:
            data["collateral"] = [shapes.collateral_json(self.engine.balance(ex.engine_id(account_id)), account_id)]
        paid = [(p, ex.by_symbol[p.symbol]) for p in events.funding if p.symbol in ex.by_symbol]
        data["collateralTransaction"] = [shapes.funding_transaction_json(p, c, account_id) for p, c in paid]
        data["positionTransaction"] = [shapes.funding_position_transaction_json(p, c, account_id) for p, c in paid]
        kind = "ORDER_UPDATE" if orders or fills else ("FUNDING_SETTLEMENT" if events.funding else "ACCOUNT_UPDATE")
        return {"type": "trade-event", "content": {"event": kind, "version": self.versions[account_id], "data": data,
                                                   "time": ex.clock.now_ms(), "accountId": 0}}

    # ------------------------------------------------------------------ engine feed

    def on_event(self, event: Any) -> None:  # noqa: C901 - one dispatch table, kept flat
        ex = self.exchange
        if isinstance(event, BookDelta):
            c = ex.by_symbol.get(event.symbol)
            if c is not None:
                self._depth(c, event)
        elif isinstance(event, TradeEvent):
            c = ex.by_symbol.get(event.trade.symbol)
            if c is not None:
                self.publish(f"trades.{c.contract_id}", "changed", [shapes.trade_json(event.trade, c)])
        elif isinstance(event, MarkEvent):
            c = ex.by_symbol.get(event.symbol)
            if c is not None:
                for channel in (f"ticker.{c.contract_id}", "ticker.all", "ticker.all.1s"):
                    if self.subs.get(channel):
                        self.publish(channel, "changed", [self.ticker(c)])
        elif isinstance(event, FundingEvent):
            c = ex.by_symbol.get(event.symbol)
            if c is not None:
                self.previous_funding[event.symbol] = (event.rate, event.ts_ms)
                for channel in (f"fundingRate.{c.contract_id}", "fundingRate.all"):
                    if self.subs.get(channel):
                        self.publish(channel, "changed", [self.funding(c)])
        elif isinstance(event, OrderEvent):
            pending = self._pending(event.account)
            if pending is not None:
                pending.orders[event.order.oid] = event.order
        elif isinstance(event, FillEvent):
            pending = self._pending(event.account)
            if pending is not None:
                pending.fills.append(event.fill)
        elif isinstance(event, PositionEvent):
            pending = self._pending(event.account)
            if pending is not None:
                pending.positions[event.position.symbol] = event.position
        elif isinstance(event, BalanceEvent):
            pending = self._pending(event.account)
            if pending is not None:
                pending.balance = True
        elif isinstance(event, FundingPaymentEvent):
            pending = self._pending(event.account)
            if pending is not None:
                pending.funding.append(event.payment)

    def _depth(self, c: ContractDef, event: BookDelta) -> None:
        channels = [ch for ch in (f"depth.{c.contract_id}.15", f"depth.{c.contract_id}.200") if self.subs.get(ch)]
        if not channels:
            return
        faults = self.exchange.faults
        if faults.drop_book_deltas > 0:
            faults.drop_book_deltas -= 1  # the change is lost: the next one shows the gap
            return
        for channel in channels:
            level = int(channel.rsplit(".", 1)[1])
            self.publish(channel, "changed", [shapes.depth_change_json(event.seq, event.bids, event.asks, c, level)])
