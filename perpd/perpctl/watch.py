"""Live views: a stream folded into the table a `watch` shows, and its terminal display.

A view subscribes to one channel, applies each `StreamMessage` to its state (a snapshot
replaces it), and renders the current `Table`. The REPL shows it with prompt-toolkit
until Ctrl-C (or `for N` updates); the notebook shows it in a display it updates.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from perpd.client.results import Positions, StreamMessage
from perpd.model import Fill, Order, OrderBook, Position, normalize_symbol
from perpd.perpctl import tables
from perpd.perpctl.grammar import UsageError
from perpd.perpctl.tables import Table


class View:
    channel: str
    filters: dict[str, Any]

    def apply(self, message: StreamMessage) -> bool:
        """Fold one message in; True if what the view shows may have changed."""
        raise NotImplementedError

    def table(self) -> Table:
        raise NotImplementedError


class BookView(View):
    channel = "markets"

    def __init__(self, symbol: str, venue: str | None, depth: int) -> None:
        self.symbol = normalize_symbol(symbol)
        self.venue = venue
        self.depth = depth
        self.filters = {"symbols": [self.symbol], "depth": depth, **({"venues": [venue]} if venue else {})}
        self.books: dict[str, OrderBook] = {}

    def apply(self, message: StreamMessage) -> bool:
        if message.type == "snapshot":
            self.books = {b.venue: b for b in message.data.books if b.symbol == self.symbol}
            return True
        if message.topic == "book" and message.data.symbol == self.symbol:
            self.books[message.data.venue] = message.data
            return True
        return False

    def table(self) -> Table:
        books = [self.books[v] for v in sorted(self.books)]
        if len(books) == 1:
            only = books[0]
            return tables.ladder(f"{self.symbol} on {only.venue}", _pairs(only.bids), _pairs(only.asks), self.depth)
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for book in books:
            for side, levels in ((bids, book.bids), (asks, book.asks)):
                for level in levels:
                    side[level.price] = side.get(level.price, Decimal(0)) + level.size
        title = f"{self.symbol} merged across {', '.join(self.books) or 'no venue yet'}"
        return tables.ladder(title, sorted(bids.items(), reverse=True), sorted(asks.items()), self.depth)


def _pairs(levels: Any) -> list[tuple[Decimal, Decimal]]:
    return [(level.price, level.size) for level in levels]


class PositionsView(View):
    channel = "positions"

    def __init__(self, account: str | None) -> None:
        self.filters = {"account": account} if account else {}
        self.positions: dict[tuple[str, str], Position] = {}

    def apply(self, message: StreamMessage) -> bool:
        if message.type == "snapshot":
            self.positions = {(p.account, p.symbol): p for p in message.data}
        else:
            position: Position = message.data
            if position.size == 0:
                self.positions.pop((position.account, position.symbol), None)
            else:
                self.positions[(position.account, position.symbol)] = position
        return True

    def table(self) -> Table:
        held = [self.positions[k] for k in sorted(self.positions)]
        return tables.positions(Positions(held, []))[0]


class OrdersView(View):
    channel = "orders"

    def __init__(self, account: str | None, symbol: str | None) -> None:
        self.symbol = normalize_symbol(symbol) if symbol else None
        self.filters = {**({"account": account} if account else {}), **({"symbols": [self.symbol]} if symbol else {})}
        self.orders: dict[str, Order] = {}

    def apply(self, message: StreamMessage) -> bool:
        if message.type == "snapshot":
            self.orders = {o.client_id: o for o in message.data}
        else:
            order: Order = message.data
            if order.status.is_live:
                self.orders[order.client_id] = order
            else:
                self.orders.pop(order.client_id, None)
        return True

    def table(self) -> Table:
        live = sorted(self.orders.values(), key=lambda o: (o.created_ms, o.client_id))
        return tables.orders(live, "live orders")


class FillsView(View):
    """The latest fills, newest first, as they are journaled (a trade blotter)."""

    channel = "fills"
    keep = 50

    def __init__(self, account: str | None, symbol: str | None) -> None:
        self.symbol = normalize_symbol(symbol) if symbol else None
        self.filters = {**({"account": account} if account else {}), **({"symbols": [self.symbol]} if symbol else {})}
        self.fills: list[Fill] = []

    def apply(self, message: StreamMessage) -> bool:
        if message.type == "snapshot":
            self.fills = list(message.data.fills)
        elif message.topic == "fills":
            self.fills.append(message.data)
        else:
            return False  # a funding payment: not in this view
        del self.fills[: -self.keep]
        return True

    def table(self) -> Table:
        return tables.live_fills(list(reversed(self.fills)), "fills")


def view_for(args: dict[str, Any]) -> View:
    """The view a parsed `watch` line asks for."""
    what = args["what"]
    if what == "book":
        if "symbol" not in args:
            raise UsageError("watch book: which SYMBOL?")
        return BookView(args["symbol"], args.get("venue"), args.get("depth", 10))
    if what == "positions":
        return PositionsView(args.get("account"))
    if what == "fills":
        return FillsView(args.get("account"), args.get("symbol"))
    return OrdersView(args.get("account"), args.get("symbol"))


def follow(client: Any, view: View, updates: int | None, on_change: Any, stop: threading.Event | None = None) -> None:
    """Feed `view` from a subscription, calling `on_change()` after each change, until
    `updates` changes after the snapshot (None: until `stop` is set or the stream ends)."""
    seen = -1  # the snapshot is not an update
    with client.subscribe(view.channel, **view.filters) as stream:
        while stop is None or not stop.is_set():
            try:
                message = stream.next(timeout_secs=0.25)
            except TimeoutError:
                continue
            except StopIteration:
                return
            if view.apply(message):
                seen += 1
                on_change()
                if updates is not None and seen >= updates:
                    return
