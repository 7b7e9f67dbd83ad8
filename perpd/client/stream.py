"""WebSocket subscriptions: snapshot, then numbered updates; a gap resubscribes.

`StreamProtocol` is the sans-I/O part, shared by the sync and async subscriptions: it
writes the subscribe op, reads frames, types their data, and watches `seq`. The daemon
numbers a channel's messages per connection (snapshot 0, then +1 per update), so a
missing number means something was lost: the protocol asks to resubscribe, drops
updates until the fresh snapshot arrives, and hands that snapshot on with `resync=True`.
A connection the daemon closed (1013: this client fell too far behind) is reopened and
resubscribed the same way.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import orjson

from perpd.client.errors import from_body
from perpd.client.results import AuditRecord, StreamMessage, decode
from perpd.model import (
    Balance,
    Fill,
    FundingPayment,
    FundingRate,
    Order,
    OrderBook,
    Position,
    Ticker,
    Trade,
)

CHANNELS = ("orders", "positions", "account", "fills", "markets", "events")

TOPICS: dict[str, Any] = {
    "orders": Order,
    "fills": Fill,
    "payments": FundingPayment,
    "positions": Position,
    "balance": Balance,
    "book": OrderBook,
    "trades": Trade,
    "ticker": Ticker,
    "funding": FundingRate,
    "events": dict[str, Any],
    "status": dict[str, Any],
}


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    balances: list[Balance]
    positions: list[Position]
    orders: list[Order]


@dataclass(frozen=True, slots=True)
class FillsSnapshot:
    fills: list[Fill]
    payments: list[FundingPayment]


@dataclass(frozen=True, slots=True)
class MarketsSnapshot:
    books: list[OrderBook]
    tickers: list[Ticker]
    funding: list[FundingRate]


@dataclass(frozen=True, slots=True)
class EventsSnapshot:
    trading_states: dict[str, dict[str, Any]]
    events: list[AuditRecord]


SNAPSHOTS: dict[str, Any] = {
    "orders": list[Order],
    "positions": list[Position],
    "account": AccountSnapshot,
    "fills": FillsSnapshot,
    "markets": MarketsSnapshot,
    "events": EventsSnapshot,
}

RESUBSCRIBE = "resubscribe"


def filters_of(channel: str, account: str | None, symbols: Any, venues: Any, depth: int | None) -> dict[str, Any]:
    """The subscribe op's filters; ValueError for an unknown channel."""
    if channel not in CHANNELS:
        raise ValueError(f"no channel {channel!r} (one of {', '.join(CHANNELS)})")
    if isinstance(symbols, str):
        symbols = [symbols]
    if isinstance(venues, str):
        venues = [venues]
    out: dict[str, Any] = {"account": account, "symbols": list(symbols) if symbols else None,
                           "venues": list(venues) if venues else None, "depth": depth}
    return {k: v for k, v in out.items() if v is not None}


class StreamProtocol:
    """One channel's subscription state on one connection."""

    def __init__(self, channel: str, filters: dict[str, Any]) -> None:
        self.channel = channel
        self.filters = filters
        self._ids = itertools.count(1)
        self._expected: int | None = None  # next update seq; None until a snapshot
        self._resync = False
        self.gaps = 0

    def subscribe_frame(self) -> str:
        """The op to send (again): the daemon replies with a fresh snapshot."""
        self._expected = None
        return orjson.dumps({"op": "subscribe", "channel": self.channel, "id": next(self._ids), **self.filters}).decode()

    def reconnected(self) -> None:
        """The connection was reopened: what comes next replaces what came before."""
        self._resync = True

    def feed(self, text: str | bytes) -> StreamMessage | str | None:
        """A frame in; out a message, RESUBSCRIBE (send `subscribe_frame()`), or None."""
        frame = orjson.loads(text)
        kind = frame.get("type")
        if kind == "error":
            raise from_body(400, frame)
        if frame.get("channel") != self.channel or kind not in ("snapshot", "update"):
            return None  # pong, unsubscribed, another channel
        seq = int(frame["seq"])
        if kind == "snapshot":
            self._expected = seq + 1
            resync, self._resync = self._resync, False
            return StreamMessage("snapshot", self.channel, seq, decode(SNAPSHOTS[self.channel], frame["data"]), resync=resync)
        if self._expected is None:
            return None  # left over from before a resubscribe: the snapshot replaces it
        if seq != self._expected:
            self.gaps += 1
            self._resync = True
            return RESUBSCRIBE
        self._expected = seq + 1
        topic = frame.get("topic")
        kind_of = TOPICS.get(topic or "", Any)
        return StreamMessage("update", self.channel, seq, decode(kind_of, frame["data"]), topic=topic)


def reconnectable(code: int | None) -> bool:
    """Close codes after which reopening makes sense: dropped as slow, going away, abnormal."""
    return code in (None, 1001, 1006, 1011, 1012, 1013)

