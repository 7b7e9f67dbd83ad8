"""`/ws-api` messages -> perpd events, with resync on reconnects.

Public (`public_stream`): `{symbol}@depth` carries the top of Vest's quoted book as a
whole each time (the docs do not say snapshot or diff; each message is taken whole), so
the first becomes a snapshot BookUpdate and each later one the delta of the levels that
changed (seq +1 per update); `{symbol}@trades` one trade per message, its side inferred
against the mid of the latest depth (parse.AggressorGuess); `tickers` the mark, index
and hourly funding of every market. After any loss: StreamGap, reconnect, and books
start again from a snapshot.

Private (`account_stream`): a listen key from `POST /account/listenKey` (kept alive with
PUT every half hour) opens `account_private`, whose ORDER events become OrderUpdates and,
when they report an execution, FillUpdates followed by the account's positions and
balance (Vest streams neither, so `GET /account` is read after each fill). Once the
subscription is live, what happened since the call (and after a loss, since the loss)
is caught up from `GET /orders` (replays may repeat an event the consumer has; fills
carry unique trade ids). Every loss yields StreamGap, so consumers resync.

Both ping with Vest's `{"method": "PING"}` when the socket is quiet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import anyio

from perpd.errors import AuthError, PerpdError
from perpd.model import (
    ZERO,
    BalanceUpdate,
    BookLevel,
    BookUpdate,
    Event,
    FillUpdate,
    FundingUpdate,
    OrderUpdate,
    Position,
    PositionUpdate,
    StreamGap,
    TickerUpdate,
    TradeUpdate,
)
from venues.base import Channel
from venues.common.streams import CATCH_UP_MARGIN_MS, UNREADABLE, Backoff, lost
from venues.vest import parse
from venues.vest.errors import map_code
from venues.vest.transport import VestSocket, error_fields

if TYPE_CHECKING:
    from venues.vest.session import VestSession
    from venues.vest.venue import VestVenue

PING_SECS = 20.0  # quiet this long: send Vest's PING
LISTEN_KEY_RENEW_MS = 30 * 60_000  # the key lives 60 minutes
CATCH_UP_ROWS = 200


async def _recv(ws: VestSocket) -> dict[str, Any] | None:
    """The next message; None after PING_SECS of quiet, once Vest's PING is sent."""
    message = None
    with anyio.move_on_after(PING_SECS):
        message = await ws.recv()
    if message is None:
        await ws.ping()
    return message


def _raise_error(message: Mapping[str, Any]) -> None:
    code, text = error_fields(message)
    if code is not None:
        raise map_code(code, text)


# --------------------------------------------------------------------------- public


class _Book:
    """The last depth message of one market, to turn the next into a delta."""

    __slots__ = ("bids", "asks", "ready")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.ready = False

    @property
    def mid(self) -> Decimal | None:
        if self.bids and self.asks:
            return (max(self.bids) + min(self.asks)) / 2
        return None

    def replace(self, data: Mapping[str, Any]) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]] | None:
        """Take a whole depth message; the changed levels (size 0 removes), or None if none."""
        bids = {lv.price: lv.size for lv in parse.parse_levels(data.get("bids")) if lv.size > 0}
        asks = {lv.price: lv.size for lv in parse.parse_levels(data.get("asks")) if lv.size > 0}
        changed_bids = _changes(self.bids, bids, reverse=True)
        changed_asks = _changes(self.asks, asks, reverse=False)
        self.bids, self.asks = bids, asks
        if not changed_bids and not changed_asks:
            return None
        return changed_bids, changed_asks

    def levels(self) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
        bids = tuple(BookLevel(p, self.bids[p]) for p in sorted(self.bids, reverse=True))
        asks = tuple(BookLevel(p, self.asks[p]) for p in sorted(self.asks))
        return bids, asks


def _changes(old: Mapping[Decimal, Decimal], new: Mapping[Decimal, Decimal], *, reverse: bool) -> tuple[BookLevel, ...]:
    prices = {p for p in new if old.get(p) != new[p]} | {p for p in old if p not in new}
    return tuple(BookLevel(p, new.get(p, ZERO)) for p in sorted(prices, reverse=reverse))


def _wire_channels(venue: VestVenue, channels: Sequence[Channel]) -> tuple[dict[str, set[str]], list[str]]:
    wanted: dict[str, set[str]] = {}  # venue symbol -> {"book", "trades", "ticker", "funding"}
    for channel in channels:
        wanted.setdefault(venue.spec(channel.symbol).venue_symbol, set()).add(channel.kind)
    wire: list[str] = []
    for symbol, kinds in wanted.items():
        if kinds & {"book", "trades"}:
            wire.append(f"{symbol}@depth")  # trades need the mid to tell their side
        if "trades" in kinds:
            wire.append(f"{symbol}@trades")
    if any(kinds & {"ticker", "funding"} for kinds in wanted.values()):
        wire.append("tickers")
    return wanted, wire


async def public_stream(venue: VestVenue, channels: Sequence[Channel], since_ms: int = 0) -> AsyncIterator[Event]:
    """Events for `channels` until the consumer stops iterating (trades from `since_ms`)."""
    if not venue.markets:
        await venue.load_markets()
    wanted, wire = _wire_channels(venue, channels)
    seq: dict[str, int] = {}
    guesses = {symbol: parse.AggressorGuess() for symbol in wanted}
    seen: set[str] = set()  # trade ids replayed from REST, so the stream does not repeat them
    caught_up = False
    backoff = Backoff(venue.clock)
    while True:
        books = {symbol: _Book() for symbol in wanted}
        try:
            async with venue.transport.socket() as ws:
                await ws.subscribe(wire)
                if not caught_up:  # subscribed: replay the trades since the call
                    caught_up = True
                    for event in await _recent_trades(venue, wanted, since_ms):
                        seen.add(event.trade.trade_id)
                        yield event
                while True:
                    message = await _recv(ws)
                    if message is None:
                        continue
                    backoff.reset()
                    channel = message.get("channel")
                    if channel is None:
                        _raise_error(message)
                        continue
                    for event in _public_events(venue, str(channel), message.get("data"), wanted, books, guesses, seq):
                        if isinstance(event, TradeUpdate) and seen:
                            if event.trade.trade_id in seen:
                                continue
                            if event.trade.ts_ms > since_ms + 60_000:
                                seen.clear()  # long past the replay: nothing left to repeat
                        yield event
        except AuthError:
            raise
        except PerpdError as exc:
            yield StreamGap(venue.name, None, f"public stream lost: {exc.message}")
            await backoff.wait()
        except UNREADABLE as exc:
            yield StreamGap(venue.name, None, f"public stream: unreadable message ({type(exc).__name__})")
            await backoff.wait()


async def _recent_trades(venue: VestVenue, wanted: Mapping[str, set[str]], since_ms: int) -> list[TradeUpdate]:
    """`GET /trades` since `since_ms` for the markets whose trades are wanted, sides judged
    against the current mid (these are seconds old)."""
    out: list[TradeUpdate] = []
    for symbol, kinds in wanted.items():
        spec = venue.spec_of(symbol)
        if "trades" not in kinds or spec is None:
            continue
        rows = await venue.transport.get("/trades", {"symbol": symbol, "startTime": since_ms, "limit": CATCH_UP_ROWS})
        mid = (await venue.fetch_order_book(spec.symbol, depth=1)).mid
        guess = parse.AggressorGuess()
        for row in sorted(rows or (), key=lambda r: int(r.get("time") or 0)):
            if int(row.get("time") or 0) >= since_ms:
                side = guess.side(Decimal(str(row["price"])), mid)
                out.append(TradeUpdate(parse.parse_trade(row, spec, side)))
    return out


def _public_events(venue: VestVenue, channel: str, data: Any, wanted: Mapping[str, set[str]],
                   books: dict[str, _Book], guesses: dict[str, parse.AggressorGuess], seq: dict[str, int]) -> list[Event]:
    now = venue.clock.now_ms()
    out: list[Event] = []
    if channel == "tickers":
        for row in data or ():
            symbol = str(row.get("symbol"))
            spec = venue.spec_of(symbol)
            kinds = wanted.get(symbol)
            if spec is None or not kinds:
                continue
            book = books.get(symbol)
            bid = max(book.bids) if book and book.bids else None
            ask = min(book.asks) if book and book.asks else None
            if "ticker" in kinds:
                out.append(TickerUpdate(parse.parse_ticker(row, spec, now, bid, ask)))
            if "funding" in kinds:
                out.append(FundingUpdate(parse.parse_funding(row, spec, now)))
        return out
    symbol, _, kind = channel.partition("@")
    spec = venue.spec_of(symbol)
    if spec is None or symbol not in wanted:
        return out
    if kind == "depth":
        book = books[symbol]
        changes = book.replace(data or {})
        if "book" not in wanted[symbol]:
            book.ready = True
            return out
        n = seq.get(symbol, 0) + 1
        if not book.ready:
            book.ready = True
            seq[symbol] = n
            bids, asks = book.levels()
            out.append(BookUpdate(venue.name, spec.symbol, bids, asks, n, True, now))
        elif changes is not None:
            seq[symbol] = n
            out.append(BookUpdate(venue.name, spec.symbol, changes[0], changes[1], n, False, now))
    elif kind == "trades" and "trades" in wanted[symbol]:
        rows = data if isinstance(data, list) else [data]
        for row in rows:
            side = guesses[symbol].side(Decimal(str(row["price"])), books[symbol].mid)
            out.append(TradeUpdate(parse.parse_trade(row, spec, side)))
    return out


# --------------------------------------------------------------------------- account


async def account_stream(session: VestSession, since_ms: int = 0) -> AsyncIterator[Event]:
    """Order, fill, position and balance events of one account, resynced on reconnect."""
    venue = session.venue
    clock = venue.clock
    backoff = Backoff(venue.clock)
    connected_before = False
    replay_from: int | None = since_ms  # catch up from here once the subscription is live
    while True:
        try:
            key = await session.listen_key()
            renew_at = clock.now_ms() + LISTEN_KEY_RENEW_MS
            async with venue.transport.socket(session.group, key) as ws:
                subscription = await ws.subscribe(["account_private"])
                while True:
                    if clock.now_ms() >= renew_at:
                        await session.keep_alive()
                        renew_at = clock.now_ms() + LISTEN_KEY_RENEW_MS
                    message = await _recv(ws)
                    if message is None:
                        continue
                    backoff.reset()
                    if message.get("id") == subscription and "result" in message:
                        if connected_before:
                            yield StreamGap(venue.name, session.account, "account stream reconnected: resync")
                        connected_before = True
                        if replay_from is not None:  # live now: replay what happened since the call or the loss
                            start, replay_from = replay_from, None
                            for event in await _catch_up(session, start):
                                yield event
                        continue
                    if message.get("channel") is None:
                        _raise_error(message)
                        continue
                    data = message.get("data") or {}
                    if message.get("channel") == "account_private" and data.get("event") == "ORDER":
                        for event in await _order_events(session, data.get("args") or {}):
                            yield event
        except AuthError:
            raise
        except (PerpdError, *UNREADABLE) as exc:
            reason = lost(exc)
            if replay_from is None:
                replay_from = clock.now_ms() - CATCH_UP_MARGIN_MS
            yield StreamGap(venue.name, session.account, f"account stream lost: {reason}")
            connected_before = False  # the gap is already reported
            await backoff.wait()


async def _order_events(session: VestSession, args: Mapping[str, Any]) -> list[Event]:
    order = session.order_of(args)
    if order is None:  # an order this session never saw, in a short event: read it whole
        order = await session.fetch_order_by_id(str(args["id"]))
        if order is None:
            return []
    events: list[Event] = [OrderUpdate(order)]
    fill = parse.parse_fill(args, order)
    if fill is not None:
        events.append(FillUpdate(fill))
        events.extend(await _account_events(session, {order.symbol}))
    return events


async def _account_events(session: VestSession, touched: set[str]) -> list[Event]:
    """Positions (flat ones too, for `touched` symbols) and the balance, from GET /account."""
    venue = session.venue
    now = venue.clock.now_ms()
    body = await session.account_state()
    positions = parse.parse_positions(body, session.account, venue.by_venue_symbol, now)
    held = {p.symbol for p in positions}
    events: list[Event] = [PositionUpdate(p) for p in positions]
    events += [PositionUpdate(Position(session.account, venue.name, s, ZERO, ts_ms=now)) for s in sorted(touched - held)]
    events.append(BalanceUpdate(parse.parse_balance(body, session.account, venue.name, now)))
    return events


async def _catch_up(session: VestSession, since_ms: int) -> list[Event]:
    """Orders posted or filled since `since_ms`, oldest first, with their fills."""
    events: list[Event] = []
    rows = await session.orders(limit=CATCH_UP_ROWS)  # newest first; a resting order may fill late
    rows.sort(key=lambda r: (int(r.get("lastFilledTime") or r.get("postTime") or 0)))
    touched: set[str] = set()
    for row in rows:
        if max(int(row.get("postTime") or 0), int(row.get("lastFilledTime") or 0)) < since_ms:
            continue
        order = session.order_of(row)
        if order is None:
            continue
        events.append(OrderUpdate(order))
        fill = parse.parse_fill(row, order)
        if fill is not None:
            events.append(FillUpdate(fill))
            touched.add(order.symbol)
    if touched:
        events.extend(await _account_events(session, touched))
    return events
