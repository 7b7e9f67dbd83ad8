"""EdgeX WebSockets -> perpd events, with resync on gaps and reconnects.

Public (`public_stream`, `/api/v1/public/ws`): `depth.{id}.200` (a Snapshot, then
changes whose versions must follow on; a gap emits StreamGap, resubscribes and starts
again from a fresh snapshot), `trades.{id}`, `ticker.{id}` and `fundingRate.{id}`.
`dataType` is compared case-insensitively: production sends `Snapshot`, `changed` and
`CHANGED`.

Private (`account_stream`, `/api/v1/private/ws`): authenticated in the handshake (the
four HMAC headers, and the same as a base64 subprotocol, as the SDK does); no
subscribe. A `Snapshot` trade-event first, then one event per change (`ORDER_UPDATE`
carries the whole order with its cumulative fill, the fills, positions and collateral;
`version` goes up by one per event, and a skipped version emits StreamGap). What
happened between the call and the Snapshot (orders that ended, fills) is caught up from
REST once, so the stream behaves as if subscribed when `watch_account` was called.
The Snapshot's orders and positions are reported too. Every reconnect emits StreamGap. Balances: the private events carry the wallet amount,
not equity, so a collateral change triggers a (coalesced) `getAccountAsset`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from perpd.errors import AuthError, PerpdError
from perpd.model import (
    BalanceUpdate,
    BookUpdate,
    Event,
    FillUpdate,
    FundingUpdate,
    Order,
    OrderUpdate,
    Position,
    PositionUpdate,
    StreamGap,
    Ticker,
    TickerUpdate,
    TradeUpdate,
)
from venues.base import Channel
from venues.common.streams import CATCH_UP_MARGIN_MS, UNREADABLE, Backoff, lost
from venues.edgex import parse
from venues.edgex.book import BookGap, LocalBook
from venues.edgex.constants import EVENT_SNAPSHOT, PRIVATE_WS, PUBLIC_WS

if TYPE_CHECKING:
    from venues.edgex.session import EdgexSession
    from venues.edgex.venue import EdgexVenue

BALANCE_REFRESH_MS = 1000  # at most one getAccountAsset a second for stream balances
BOOK_LEVEL = 200


def wire_channels(venue: EdgexVenue, channels: Sequence[Channel]) -> tuple[dict[str, set[str]], list[str]]:
    """(contractId -> wanted kinds, the channel names to subscribe)."""
    kinds: dict[str, set[str]] = {}
    for channel in channels:
        kinds.setdefault(venue.contract(channel.symbol).contract_id, set()).add(channel.kind)
    wire: list[str] = []
    for contract_id, wanted in kinds.items():
        if "book" in wanted:
            wire.append(f"depth.{contract_id}.{BOOK_LEVEL}")
        if "trades" in wanted:
            wire.append(f"trades.{contract_id}")
        if "ticker" in wanted:
            wire.append(f"ticker.{contract_id}")
        if "funding" in wanted:
            wire.append(f"fundingRate.{contract_id}")
    return kinds, wire


async def public_stream(venue: EdgexVenue, channels: Sequence[Channel]) -> AsyncIterator[Event]:
    """Events for `channels` until the consumer stops iterating."""
    since_ms = venue.clock.now_ms() - CATCH_UP_MARGIN_MS
    await venue.connect()
    kinds, wire = wire_channels(venue, channels)
    seq: dict[str, int] = {}
    backoff = Backoff(venue.clock)
    while True:
        books: dict[str, LocalBook] = {}
        try:
            async with venue.transport.socket(PUBLIC_WS, {"timestamp": venue.clock.now_ms()}) as ws:
                for name in wire:
                    await ws.subscribe(name)
                while True:
                    message = await ws.recv()
                    backoff.reset()
                    if message.get("type") != "quote-event":
                        continue  # subscribed / unsubscribed acks
                    channel = str(message.get("channel") or "")
                    name, _, rest = channel.partition(".")
                    contract = venue.contract_by_id(rest.partition(".")[0])
                    if contract is None:
                        continue
                    content = message.get("content") or {}
                    snapshot = str(content.get("dataType") or "").lower() == "snapshot"
                    rows = content.get("data") or ()
                    if name == "depth":
                        book = books.setdefault(contract.contract_id, LocalBook(venue.name, contract.symbol))
                        for row in rows:
                            try:
                                event = _book_event(book, row, snapshot, seq)
                            except BookGap as gap:
                                yield StreamGap(venue.name, None, f"order book {contract.symbol}: {gap}")
                                book.reset()  # changes are ignored until the fresh snapshot
                                await ws.unsubscribe(channel)
                                await ws.subscribe(channel)
                                break
                            if event is not None:
                                yield event
                    elif name == "trades":
                        for row in rows:
                            trade = parse.parse_trade(row, contract.market)
                            if not snapshot or trade.ts_ms >= since_ms:
                                yield TradeUpdate(trade)
                    elif name == "ticker" and "ticker" in kinds.get(contract.contract_id, ()):
                        for row in rows:
                            ticker = parse.parse_ticker(row, contract.market, ts_ms=venue.clock.now_ms())
                            book = books.get(contract.contract_id)
                            if book is not None and book.ready:
                                ticker = _with_top(ticker, book)
                            yield TickerUpdate(ticker)
                    elif name == "fundingRate":
                        for row in rows:
                            yield FundingUpdate(parse.parse_funding(row, contract))
        except AuthError:
            raise
        except PerpdError as exc:
            yield StreamGap(venue.name, None, f"public stream lost: {exc.message}")
            await backoff.wait()
        except UNREADABLE as exc:  # a message we cannot read: start again from snapshots
            yield StreamGap(venue.name, None, f"public stream: unreadable message ({type(exc).__name__})")
            await backoff.wait()


def _with_top(ticker: Ticker, book: LocalBook) -> Ticker:
    return replace(ticker, best_bid=book.best_bid, best_ask=book.best_ask)


def _book_event(book: LocalBook, row: Mapping[str, Any], snapshot: bool, seq: dict[str, int]) -> BookUpdate | None:
    if snapshot:
        book.apply_snapshot(row)
        n = seq[book.symbol] = seq.get(book.symbol, 0) + 1
        full = book.snapshot()
        return BookUpdate(book.venue, book.symbol, full.bids, full.asks, n, True, book.ts_ms)
    if not book.ready:
        return None  # a change still in flight from before our resubscribe
    bids, asks = book.apply_change(row)
    n = seq[book.symbol] = seq.get(book.symbol, 0) + 1
    return BookUpdate(book.venue, book.symbol, bids, asks, n, False, book.ts_ms)


# --------------------------------------------------------------------------- account


async def account_stream(session: EdgexSession) -> AsyncIterator[Event]:
    """Order, fill, position and balance events of one account, resynced on reconnect."""
    venue = session.venue
    clock = venue.clock
    since_ms = clock.now_ms() - CATCH_UP_MARGIN_MS
    backoff = Backoff(venue.clock)
    connected_before = False
    caught_up = False
    balance_ms = 0
    while True:
        try:
            await session.connect()
            now = clock.now_ms()
            headers, protocol = session.auth.websocket_auth(session.account_id, now)
            query = {"accountId": session.account_id, "timestamp": now}
            async with venue.transport.socket(PRIVATE_WS, query, headers=headers, subprotocol=protocol) as ws:
                if connected_before:
                    yield StreamGap(venue.name, session.account, "account stream reconnected: resync")
                connected_before = True
                version: int | None = None
                while True:
                    message = await ws.recv()
                    backoff.reset()
                    if message.get("type") != "trade-event":
                        continue
                    content = message.get("content") or {}
                    event_version = content.get("version")
                    if content.get("event") == EVENT_SNAPSHOT:
                        version = int(event_version) if event_version is not None else None
                        snapshot = content.get("data") or {}
                        for order in _orders(session, snapshot):
                            yield OrderUpdate(order)
                        for event in _positions(session, snapshot):
                            yield event
                        if not caught_up:
                            caught_up = True  # the stream is live: replay what came before it
                            for event in await _catch_up(session, since_ms):
                                yield event
                        continue
                    if event_version is not None:
                        current = int(event_version)
                        if version is not None and current != version + 1:
                            yield StreamGap(venue.name, session.account,
                                            f"account stream skipped from version {version} to {current}")
                        version = current
                    data = content.get("data") or {}
                    for event in await _account_events(session, data):
                        yield event
                    if data.get("collateral") and clock.now_ms() - balance_ms >= BALANCE_REFRESH_MS:
                        balance_ms = clock.now_ms()
                        yield BalanceUpdate(await session.fetch_balance())
        except AuthError:
            raise
        except (PerpdError, *UNREADABLE) as exc:
            reason = lost(exc)
            yield StreamGap(venue.name, session.account, f"account stream lost: {reason}")
            connected_before = False  # the gap is already reported
            await backoff.wait()


def _orders(session: EdgexSession, data: Mapping[str, Any]) -> list[Order]:
    out = []
    for row in data.get("order") or ():
        contract = session.venue.contract_by_id(str(row.get("contractId")))
        if contract is None:
            continue
        order = parse.parse_order(row, contract.market, session.account)
        session.remember(order)
        out.append(order)
    return out


async def _account_events(session: EdgexSession, data: Mapping[str, Any]) -> list[Event]:
    venue = session.venue
    out: list[Event] = [OrderUpdate(order) for order in _orders(session, data)]
    fills = [row for row in data.get("orderFillTransaction") or () if venue.contract_by_id(str(row.get("contractId")))]
    if fills:
        client_ids = await session.client_ids_of([str(row.get("orderId")) for row in fills])
        for row in fills:
            contract = venue.contract_by_id(str(row.get("contractId")))
            assert contract is not None
            fill = parse.parse_fill(row, contract.market, session.account, client_ids.get(str(row.get("orderId"))))
            out.append(FillUpdate(fill))
    out.extend(_positions(session, data))
    return out


def _positions(session: EdgexSession, data: Mapping[str, Any]) -> list[Event]:
    venue = session.venue
    now = venue.clock.now_ms()
    out: list[Event] = []
    for row in data.get("position") or ():
        contract = venue.contract_by_id(str(row.get("contractId")))
        if contract is None:
            continue
        if parse.dec(row.get("openSize")) == 0:  # flat: say so, consumers drop the position
            out.append(PositionUpdate(Position(session.account, venue.name, contract.symbol, parse.ZERO, ts_ms=now)))
        else:
            out.append(PositionUpdate(parse.parse_position(row, {}, contract, session.account, ts_ms=now)))
    return out


async def _catch_up(session: EdgexSession, since_ms: int) -> list[Event]:
    """Orders that ended and fills since `since_ms`, from REST."""
    events: list[Event] = [OrderUpdate(o) for o in await session.fetch_history_orders() if o.updated_ms >= since_ms]
    events.extend(FillUpdate(fill) for fill in await session.fetch_fills(since_ms))
    return events
