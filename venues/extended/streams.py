"""Stream frames -> perpd events, with resync on gaps and reconnects.

Public (`public_stream`): one v2 RPC connection (`.../v2/rpc`) carrying every channel:
`orderbooks` (a SNAPSHOT, then DELTAs that carry the change of quantity at each level,
as the SDK's own order book applies them; perpd's deltas carry the new size, 0
removes), `trades`, `prices` (mark: the ticker) and `funding-rates`. Frames count
`seq` per connection: a gap emits StreamGap and the connection starts again from fresh
snapshots.

Private (`account_stream`): the classic `/account` stream with the `X-Api-Key`
handshake header: ORDER, TRADE, POSITION and BALANCE frames (snapshots first). Once
connected, orders that ended and fills since the call are caught up from REST (the
stream does not replay them); every reconnect, and any gap in `seq`, emits StreamGap
so consumers resync. Replays may repeat an event; fills carry unique trade ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpd.errors import AuthError, PerpdError
from perpd.model import (
    BalanceUpdate,
    BookLevel,
    BookUpdate,
    Event,
    FillUpdate,
    FundingUpdate,
    OrderUpdate,
    PositionUpdate,
    StreamGap,
    Ticker,
    TickerUpdate,
    TradeUpdate,
)
from venues.base import Channel
from venues.common.streams import CATCH_UP_MARGIN_MS, UNREADABLE, Backoff
from venues.extended import market_data, parse
from venues.extended.transport import frame_error

if TYPE_CHECKING:
    from venues.extended.session import ExtendedSession
    from venues.extended.venue import ExtendedVenue



class SeqGap(Exception):
    """A frame was lost: its `seq` does not follow the previous one."""


class LocalBook:
    """One market's book, kept from a SNAPSHOT and the quantity changes of DELTAs."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def snapshot(self, data: dict[str, Any]) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
        self.bids = {lvl.price: lvl.size for lvl in market_data.parse_levels(data.get("b")) if lvl.size > 0}
        self.asks = {lvl.price: lvl.size for lvl in market_data.parse_levels(data.get("a")) if lvl.size > 0}
        bids = tuple(BookLevel(p, s) for p, s in sorted(self.bids.items(), reverse=True))
        asks = tuple(BookLevel(p, s) for p, s in sorted(self.asks.items()))
        return bids, asks

    @staticmethod
    def _apply(levels: dict[Decimal, Decimal], changes: tuple[BookLevel, ...]) -> tuple[BookLevel, ...]:
        out = []
        for change in changes:
            size = levels.get(change.price, Decimal(0)) + change.size
            if size > 0:
                levels[change.price] = size
            else:
                levels.pop(change.price, None)
                size = Decimal(0)
            out.append(BookLevel(change.price, size))
        return tuple(out)

    def delta(self, data: dict[str, Any]) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
        """Apply a DELTA; -> the changed levels with their new sizes (0 = removed)."""
        return (self._apply(self.bids, market_data.parse_levels(data.get("b"))),
                self._apply(self.asks, market_data.parse_levels(data.get("a"))))

    @property
    def best_bid(self) -> Decimal | None:
        return max(self.bids) if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return min(self.asks) if self.asks else None


def _subscriptions(venue: ExtendedVenue, channels: Sequence[Channel]) -> tuple[dict[str, set[str]], list[dict[str, Any]]]:
    kinds: dict[str, set[str]] = {}  # Extended market name -> wanted kinds
    for channel in channels:
        kinds.setdefault(venue.spec(channel.symbol).name, set()).add(channel.kind)
    params: list[dict[str, Any]] = []
    for name, wanted in kinds.items():
        if "book" in wanted or "ticker" in wanted:
            params.append({"scope": "orderbooks", "selector": {"market": name, "depth": "full", "rfqOnly": False}})
        if "trades" in wanted:
            params.append({"scope": "trades", "selector": {"market": name}})
        if "ticker" in wanted:
            params.append({"scope": "prices", "selector": {"type": "mark", "market": name}})
        if "funding" in wanted:
            params.append({"scope": "funding-rates", "selector": {"market": name}})
    return kinds, params


def _check_seq(message: dict[str, Any], last: int | None) -> int:
    seq = int(message["seq"])
    if last is not None and seq != last + 1:
        raise SeqGap(f"seq {seq} after {last}")
    return seq


async def public_stream(venue: ExtendedVenue, channels: Sequence[Channel], since_ms: int = 0) -> AsyncIterator[Event]:
    """Events for `channels` until the consumer stops iterating (trades from `since_ms`:
    the stream does not replay, so the trades since then are read once from REST)."""
    if not venue.markets:
        await venue.load_markets()
    kinds, params = _subscriptions(venue, channels)
    seq: dict[str, int] = {}  # per symbol: +1 per BookUpdate
    seen: dict[str, None] = {}  # trade ids already yielded (bounded, oldest dropped first)
    backoff = Backoff(venue.clock)
    while True:
        books: dict[str, LocalBook] = {}
        try:
            async with venue.transport.socket(venue.rpc_url) as ws:
                for i, param in enumerate(params, start=1):
                    await ws.send({"method": "subscribe", "id": str(i), "jsonrpc": "2.0", "params": param})
                for name, wanted in kinds.items():
                    if "trades" in wanted:
                        spec = venue.spec_by_name(name)
                        assert spec is not None
                        for trade in await venue.fetch_trades(spec.symbol):
                            if trade.ts_ms >= since_ms and _first(seen, trade.trade_id):
                                yield TradeUpdate(trade)
                last: int | None = None
                while True:
                    message = await ws.recv()
                    error = frame_error(message)
                    if error is not None:
                        raise error
                    if "subscription" not in message:
                        continue  # a reply to our subscribe
                    last = _check_seq(message, last)
                    backoff.reset()
                    for event in _public_events(venue, kinds, books, seq, message):
                        if isinstance(event, TradeUpdate):
                            if not _first(seen, event.trade.trade_id):
                                continue
                            since_ms = event.trade.ts_ms
                        yield event
        except AuthError:
            raise
        except (PerpdError, SeqGap, *UNREADABLE) as exc:
            reason = exc.message if isinstance(exc, PerpdError) else f"{type(exc).__name__}: {exc}"
            yield StreamGap(venue.name, None, f"public stream lost: {reason}")
            await backoff.wait()


def _first(seen: dict[str, None], trade_id: str, limit: int = 10_000) -> bool:
    if trade_id in seen:
        return False
    seen[trade_id] = None
    if len(seen) > limit:
        del seen[next(iter(seen))]
    return True


def _public_events(venue: ExtendedVenue, kinds: dict[str, set[str]], books: dict[str, LocalBook],
                   seq: dict[str, int], message: dict[str, Any]) -> list[Event]:
    topic = str(message["subscription"])
    scope = topic.split(".", 1)[0]
    data = message.get("data")
    ts_ms = int(message.get("ts") or 0)
    if scope == "orderbooks":
        spec = venue.spec_by_name(str(data["m"]))
        if spec is None:
            return []
        book = books.setdefault(spec.name, LocalBook())
        snapshot = message.get("type") == "SNAPSHOT"
        bids, asks = book.snapshot(data) if snapshot else book.delta(data)
        if "book" not in kinds.get(spec.name, ()):
            return []
        n = seq[spec.symbol] = seq.get(spec.symbol, 0) + 1
        return [BookUpdate(venue.name, spec.symbol, bids, asks, n, snapshot, ts_ms)]
    if scope == "trades":
        out: list[Event] = []
        for row in data or ():
            spec = venue.spec_by_name(str(row["m"]))
            if spec is not None:
                out.append(TradeUpdate(market_data.parse_trade(row, spec.symbol, venue.name)))
        return out
    if scope == "prices":
        spec = venue.spec_by_name(str(data["m"]))
        if spec is None:
            return []
        book = books.get(spec.name)
        ticker = Ticker(venue.name, spec.symbol, Decimal(str(data["p"])), ts_ms=ts_ms)
        if book is not None:
            ticker = replace(ticker, best_bid=book.best_bid, best_ask=book.best_ask)
        return [TickerUpdate(ticker)]
    if scope == "funding-rates":
        spec = venue.spec_by_name(str(data["m"]))
        if spec is None:
            return []
        return [FundingUpdate(market_data.parse_funding(data, spec.symbol, venue.name))]
    return []


# --------------------------------------------------------------------------- account


async def account_stream(session: ExtendedSession, since_ms: int = 0) -> AsyncIterator[Event]:
    """Order, fill, position and balance events of one account, resynced on reconnect."""
    venue = session.venue
    backoff = Backoff(venue.clock)
    connected_before = False
    since = since_ms - CATCH_UP_MARGIN_MS
    while True:
        try:
            async with venue.transport.socket(venue.stream_url + "/account", api_key=session.api_key) as ws:
                if connected_before:
                    yield StreamGap(venue.name, session.account, "account stream reconnected: resync")
                connected_before = True
                for event in await _catch_up(session, since):
                    yield event
                since = venue.clock.now_ms() - CATCH_UP_MARGIN_MS
                last: int | None = None
                while True:
                    message = await ws.recv()
                    error = frame_error(message)
                    if error is not None:
                        raise error
                    last = _check_seq(message, last)
                    backoff.reset()
                    for event in _account_events(session, message):
                        yield event
                    since = venue.clock.now_ms() - CATCH_UP_MARGIN_MS
        except AuthError:
            raise
        except (PerpdError, SeqGap, *UNREADABLE) as exc:
            reason = exc.message if isinstance(exc, PerpdError) else f"{type(exc).__name__}: {exc}"
            yield StreamGap(venue.name, session.account, f"account stream lost: {reason}")
            connected_before = False  # the gap is already reported
            await backoff.wait()


async def _catch_up(session: ExtendedSession, since_ms: int) -> list[Event]:
    """Orders that ended and fills since `since_ms`, from REST."""
    events: list[Event] = [OrderUpdate(o) for o in await session.fetch_order_history() if o.updated_ms >= since_ms]
    events.extend(FillUpdate(fill) for fill in await session.fetch_fills(since_ms))
    return events


def _account_events(session: ExtendedSession, message: dict[str, Any]) -> list[Event]:
    kind = str(message.get("type") or "")
    data = message.get("data") or {}
    venue = session.venue
    ts_ms = int(message.get("ts") or 0)
    if kind == "ORDER":
        return [OrderUpdate(o) for o in session.orders_of(data.get("orders"))]
    if kind == "TRADE":
        fills = parse.parse_fills(data.get("trades"), session.account, venue.name, session.client_of)
        return [FillUpdate(f) for f in fills]
    if kind == "POSITION":
        return [PositionUpdate(parse.parse_position(row, session.account, venue.name, ts_ms))
                for row in data.get("positions") or ()]
    if kind == "BALANCE" and data.get("balance"):
        return [BalanceUpdate(parse.parse_balance(data["balance"], session.account, venue.name))]
    return []
