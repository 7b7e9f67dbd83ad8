"""`/stream` messages -> perpd events, with resync on gaps and reconnects.

Public (`public_stream`): `order_book/{m}` (a `subscribed/` snapshot, then `update/`
price-level deltas; a nonce gap emits StreamGap, resubscribes and starts again from a
fresh snapshot), `trade/{m}` and `market_stats/{m}` (ticker and funding).

Private (`account_stream`): `account_all_orders`, `account_all_trades`,
`account_all_positions` and `user_stats` of one account, every subscription carrying an
auth token from the signer. The connection is renewed before the token expires; every
reconnect (and any lost connection) emits StreamGap so consumers resync from snapshots.

Both behave as if they had subscribed when `watch`/`watch_account` was called (an async
generator only starts when first iterated): trades in the `subscribed/trade` snapshot
since then are replayed, and once the account channels are live, the orders that ended
and the fills since then are caught up from REST. Replays may repeat an event the
consumer already has; fills carry unique trade ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from perpd.errors import AuthError, PerpdError
from perpd.model import (
    BalanceUpdate,
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
from venues.common.streams import CATCH_UP_MARGIN_MS as CATCH_UP_MARGIN_MS  # venue.py and session.py read it here
from venues.common.streams import UNREADABLE, Backoff, lost
from venues.lighter import parse
from venues.lighter.book import BookGap, LocalBook
from venues.lighter.transport import error_of

if TYPE_CHECKING:
    from venues.lighter.session import LighterSession
    from venues.lighter.venue import LighterVenue



def _wire_channels(venue: LighterVenue, channels: Sequence[Channel]) -> tuple[dict[str, set[str]], list[str]]:
    kinds: dict[str, set[str]] = {}  # market id -> {"book", "trades", "ticker", "funding"}
    for channel in channels:
        spec = venue.spec(channel.symbol)
        kinds.setdefault(str(spec.market_id), set()).add(channel.kind)
    wire: list[str] = []
    for market_id, wanted in kinds.items():
        if "book" in wanted:
            wire.append(f"order_book/{market_id}")
        if "trades" in wanted:
            wire.append(f"trade/{market_id}")
        if wanted & {"ticker", "funding"}:
            wire.append(f"market_stats/{market_id}")
    return kinds, wire


async def public_stream(venue: LighterVenue, channels: Sequence[Channel], since_ms: int = 0) -> AsyncIterator[Event]:
    """Events for `channels` until the consumer stops iterating (trades from `since_ms`)."""
    if not venue.markets:
        await venue.load_markets()
    kinds, wire = _wire_channels(venue, channels)
    seq: dict[str, int] = {}
    backoff = Backoff(venue.clock)
    while True:
        books: dict[str, LocalBook] = {}
        try:
            async with venue.transport.socket() as ws:
                for channel in wire:
                    await ws.subscribe(channel)
                while True:
                    message = await ws.recv()
                    backoff.reset()
                    error = error_of(message)
                    if error is not None:
                        raise error
                    kind, _, _ = str(message.get("type", "")).partition("/")
                    channel = str(message.get("channel", ""))
                    name, _, market_id = channel.partition(":")
                    spec = venue.spec_by_id(int(market_id)) if market_id.isdigit() else None
                    if spec is None:
                        continue
                    if name == "order_book":
                        book = books.setdefault(market_id, LocalBook(venue.name, spec.symbol))
                        try:
                            event = _book_event(book, message, kind == "subscribed", seq)
                        except BookGap as gap:
                            yield StreamGap(venue.name, None, f"order book {spec.symbol}: {gap}")
                            book.reset()  # deltas are ignored until the fresh snapshot
                            await ws.unsubscribe(f"order_book/{market_id}")
                            await ws.subscribe(f"order_book/{market_id}")
                            continue
                        if event is not None:
                            yield event
                    elif name == "trade":
                        for trade in parse.parse_trades(message.get("trades"), spec.market):
                            if kind == "update" or trade.ts_ms >= since_ms:
                                yield TradeUpdate(trade)
                    elif name == "market_stats":
                        stats = message.get("market_stats") or {}
                        ticker, funding = parse.parse_market_stats(stats, spec.market, int(message.get("timestamp") or 0))
                        wanted = kinds.get(market_id, set())
                        if "ticker" in wanted:
                            book = books.get(market_id)
                            if book is not None and book.ready:
                                ticker = _with_top(ticker, book)
                            yield TickerUpdate(ticker)
                        if "funding" in wanted:
                            yield FundingUpdate(funding)
        except AuthError:
            raise
        except PerpdError as exc:
            yield StreamGap(venue.name, None, f"public stream lost: {exc.message}")
            await backoff.wait()
        except UNREADABLE as exc:  # a message we cannot read: start again from snapshots
            yield StreamGap(venue.name, None, f"public stream: unreadable message ({type(exc).__name__})")
            backoff.failed()  # no wait: the fresh snapshots are asked for at once


def _with_top(ticker: Any, book: LocalBook) -> Any:
    from dataclasses import replace

    return replace(ticker, best_bid=book.best_bid, best_ask=book.best_ask)


def _book_event(book: LocalBook, message: dict[str, Any], snapshot: bool, seq: dict[str, int]) -> BookUpdate | None:
    payload = message.get("order_book") or {}
    ts_ms = int(message.get("timestamp") or 0)
    if snapshot:
        book.apply_snapshot(payload, ts_ms)
        n = seq[book.symbol] = seq.get(book.symbol, 0) + 1
        full = book.snapshot()
        return BookUpdate(book.venue, book.symbol, full.bids, full.asks, n, True, ts_ms)
    if not book.ready:
        return None  # a delta still in flight from before our resubscribe
    book.apply_delta(payload, ts_ms)
    n = seq[book.symbol] = seq.get(book.symbol, 0) + 1
    return BookUpdate(
        book.venue,
        book.symbol,
        parse.parse_levels(payload.get("bids")),
        parse.parse_levels(payload.get("asks")),
        n,
        False,
        ts_ms,
    )


# --------------------------------------------------------------------------- account


ACCOUNT_CHANNELS = ("account_all_orders", "account_all_trades", "account_all_positions", "user_stats")


async def account_stream(session: LighterSession, since_ms: int = 0) -> AsyncIterator[Event]:
    """Order, fill, position and balance events of one account, resynced on reconnect;
    what happened since `since_ms` is caught up once the first subscription is live."""
    venue = session.venue
    clock = venue.clock
    backoff = Backoff(venue.clock)
    connected_before = False
    caught_up = False
    while True:
        try:
            token, expires_ms = await session.auth_token()
            async with venue.transport.socket() as ws:
                for name in ACCOUNT_CHANNELS:
                    await ws.subscribe(f"{name}/{session.account_index}", auth=token)
                if connected_before:
                    yield StreamGap(venue.name, session.account, "account stream reconnected: resync")
                connected_before = True
                # Renew the connection (and token) a safe margin before the token expires.
                renew_at = expires_ms - session.token_refresh_lead_ms
                while (remaining_ms := renew_at - clock.now_ms()) > 0:
                    message = None
                    with anyio.move_on_after(remaining_ms / 1000):
                        message = await ws.recv()
                    if message is None:
                        break
                    backoff.reset()
                    error = error_of(message)
                    if error is not None:
                        raise error
                    for event in _account_events(session, message):
                        yield event
                    if not caught_up and message.get("type") == f"subscribed/{ACCOUNT_CHANNELS[-1]}":
                        caught_up = True  # every channel is live now: replay what came before
                        for event in await _catch_up(session, since_ms):
                            yield event
        except AuthError:
            raise
        except (PerpdError, *UNREADABLE) as exc:
            reason = lost(exc)
            yield StreamGap(venue.name, session.account, f"account stream lost: {reason}")
            connected_before = False  # the gap is already reported
            await backoff.wait()


async def _catch_up(session: LighterSession, since_ms: int) -> list[Event]:
    """Orders that ended and fills since `since_ms`, from REST."""
    events: list[Event] = []
    for order in await session.fetch_inactive_orders():
        if order.updated_ms >= since_ms:
            events.append(OrderUpdate(order))
    events.extend(FillUpdate(fill) for fill in await session.fetch_fills(since_ms))
    return events


def _account_events(session: LighterSession, message: dict[str, Any]) -> list[Event]:
    kind, _, _ = str(message.get("type", "")).partition("/")
    name = str(message.get("channel", "")).partition(":")[0]
    venue = session.venue
    ts_ms = int(message.get("timestamp") or 0)
    out: list[Event] = []
    if name == "account_all_orders":
        for market_id, rows in parse.by_market(message.get("orders")):
            spec = venue.spec_by_id(market_id)
            if spec is None:
                continue
            for row in rows:
                order = parse.parse_order(row, spec.market, session.account)
                session.remember(order, spec.market_id)
                out.append(OrderUpdate(order))
    elif name == "account_all_trades" and kind == "update":
        for market_id, rows in parse.by_market(message.get("trades")):
            spec = venue.spec_by_id(market_id)
            if spec is None:
                continue
            for row in rows:
                out.extend(FillUpdate(f) for f in parse.parse_fills(row, spec.market, session.account_index, session.account))
    elif name == "account_all_positions":
        for market_id, row in parse.by_market(message.get("positions")):
            spec = venue.spec_by_id(market_id)
            if spec is None:
                continue
            rows = row if isinstance(row, list) else [row]
            for item in rows:
                position = parse.parse_position(item, spec.market, session.account, ts_ms)
                if position is None:  # flat: say so, consumers drop the position
                    position = Position(session.account, venue.name, spec.symbol, parse.ZERO, ts_ms=ts_ms)
                out.append(PositionUpdate(position))
    elif name == "user_stats":
        out.append(BalanceUpdate(parse.parse_user_stats(message.get("stats") or {}, session.account, venue.name, ts_ms)))
    return out
