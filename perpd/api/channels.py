"""WebSocket channels: what each one snapshots, which bus topics feed it, what it keeps.

    channel    topics                          snapshot
    orders     orders                          live orders
    positions  positions                       open positions
    account    orders fills positions balance  balances, positions, live orders
    fills      fills payments                  the latest 100 fills and funding payments
    markets    book trades ticker funding      top-of-depth books, tickers, funding
    events     events status                   trading states and the latest audit records

Filters (`account`, `symbols`, `venues`) narrow every channel that has the field.
Book updates are whole top-`depth` books, not level deltas: books are conflated for busy
clients (the hub keeps the latest), and a conflated stream of deltas would be corrupt.

Frames are encoded once per bus message and shared by every client (a 10,000-client
fan-out encodes each book once); only the envelope with the client's own `seq` differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from perpd.api.hub import refined_topics
from perpd.api.models import Name, Symbol
from perpd.bus import Message
from perpd.errors import InvalidRequest
from perpd.portfolio import LocalBook
from perpd.wire import to_data

if TYPE_CHECKING:
    from perpd.engine import Engine

ChannelName = Literal["orders", "positions", "account", "fills", "markets", "events"]
CHANNELS: tuple[str, ...] = ("orders", "positions", "account", "fills", "markets", "events")
RECENT = 100  # fills and payments in a fills snapshot


class Filters(BaseModel):
    """Subscription parameters (also the query string of the per-channel endpoints)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: Name | None = None
    symbols: Annotated[tuple[Symbol, ...], Field(max_length=200)] | None = None
    venues: Annotated[tuple[Name, ...], Field(max_length=50)] | None = None
    depth: Annotated[int, Field(ge=1, le=100)] = 20
    # Some of the channel's topics only (e.g. markets: ["book"] for a ladder); all if unset.
    topics: Annotated[tuple[Annotated[str, Field(max_length=20)], ...], Field(min_length=1, max_length=10)] | None = None


class Subscribe(Filters):
    op: Literal["subscribe"]
    channel: ChannelName
    id: int | str | None = None


class Unsubscribe(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    op: Literal["unsubscribe"]
    channel: ChannelName
    id: int | str | None = None


class Ping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    op: Literal["ping"]
    id: int | str | None = None


Op = Annotated[Subscribe | Unsubscribe | Ping, Field(discriminator="op")]


# --------------------------------------------------------------------------- encoding


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return to_data(value)


def dumps(value: Any) -> bytes:
    """JSON bytes; Decimals as strings, dataclasses and enums as `perpd.wire` does."""
    return orjson.dumps(value, default=_default)


class FrameCache:
    """Encoded `data` of recent bus messages, shared across connections."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._cache: dict[tuple[Any, ...], bytes] = {}

    def data(self, message: Message, depth: int) -> bytes:
        value = message.data
        if isinstance(value, LocalBook):
            key: tuple[Any, ...] = ("book", value.venue, value.symbol, value.seq, depth)
        else:
            key = (message.topic, message.seq)
        encoded = self._cache.get(key)
        if encoded is None:
            if len(self._cache) >= self._size:
                self._cache.clear()  # cheap and rare; entries are only useful for a moment
            encoded = self._cache[key] = dumps(value.snapshot(depth) if isinstance(value, LocalBook) else value)
        return encoded


# --------------------------------------------------------------------------- channels


class Channel:
    """One subscription on one connection: filters, topics, its own sequence numbers."""

    name: ClassVar[str]
    topics: ClassVar[frozenset[str]]

    def __init__(self, filters: Filters) -> None:
        self.filters = filters
        if filters.topics is not None:
            unknown = sorted(set(filters.topics) - type(self).topics)
            if unknown:
                raise InvalidRequest(
                    f"the {self.name} channel has no topic {', '.join(map(repr, unknown))} "
                    f"(it has {', '.join(sorted(type(self).topics))})", details={"field": "topics"},
                )
            self.topics = frozenset(filters.topics)  # this subscription's, narrower than the kind's
        self.seq = 0
        self._symbols = frozenset(filters.symbols) if filters.symbols is not None else None
        self._venues = frozenset(filters.venues) if filters.venues is not None else None
        self._unfiltered = filters.account is None and self._symbols is None and self._venues is None
        # The hub's refined topics already select by symbol (or else by account); only
        # what they cannot express needs a per-message check.
        self.exact = self._venues is None and (self._symbols is None or filters.account is None)
        self._prefix = f'"channel":"{self.name}","topic":"'.encode()

    def refined_topics(self) -> list[str]:
        return refined_topics(self.topics, self.filters.account, self._symbols)

    def matches(self, message: Message) -> bool:
        """Runs inside `Bus.publish` once per subscriber: keep it cheap."""
        if self._unfiltered:
            return True
        data = message.data
        account = self.filters.account
        if account is not None and getattr(data, "account", account) != account:
            return False
        if self._symbols is not None and getattr(data, "symbol", None) not in self._symbols and hasattr(data, "symbol"):
            return False
        if self._venues is not None and getattr(data, "venue", None) not in self._venues and hasattr(data, "venue"):
            return False
        return True

    def _keep(self, items: Iterable[Any]) -> list[Any]:
        return [i for i in items if self.matches(Message("", 0, "", i))]

    def snapshot(self, engine: Engine) -> Any:
        raise NotImplementedError

    def snapshot_frame(self, engine: Engine) -> bytes:
        self.seq = 0
        return b'{"type":"snapshot","channel":"%s","seq":0,"data":%s}' % (self.name.encode(), dumps(self.snapshot(engine)))

    def update_frame(self, message: Message, cache: FrameCache) -> bytes:
        self.seq += 1
        return b'{"type":"update",%s%s","seq":%d,"data":%s}' % (
            self._prefix, message.topic.encode(), self.seq, cache.data(message, self.filters.depth),
        )


def check_filters(channel: Channel, engine: Engine) -> None:
    """Refuse filters naming what the daemon does not have (before anything is opened)."""
    account = channel.filters.account
    if account is not None and account not in engine.config.accounts:
        raise InvalidRequest(f"no account named {account!r}", details={"field": "account"})


def _live_orders(engine: Engine) -> list[Any]:
    orders = [o for o in engine.orders.values() if o.status.is_live]
    orders += [o for foreign in engine.foreign.values() for o in foreign.values() if o.status.is_live]
    return sorted(orders, key=lambda o: (o.created_ms, o.client_id))


def _positions(engine: Engine) -> list[Any]:
    return [p for _, s in sorted(engine.portfolio.accounts.items()) for _, p in sorted(s.positions.items())]


class OrdersChannel(Channel):
    name = "orders"
    topics = frozenset({"orders"})

    def snapshot(self, engine: Engine) -> Any:
        return self._keep(_live_orders(engine))


class PositionsChannel(Channel):
    name = "positions"
    topics = frozenset({"positions"})

    def snapshot(self, engine: Engine) -> Any:
        return self._keep(_positions(engine))


class AccountChannel(Channel):
    name = "account"
    topics = frozenset({"orders", "fills", "positions", "balance"})

    def snapshot(self, engine: Engine) -> Any:
        balances = [s.balance for _, s in sorted(engine.portfolio.accounts.items()) if s.balance is not None]
        return {
            "balances": self._keep(balances),
            "positions": self._keep(_positions(engine)),
            "orders": self._keep(_live_orders(engine)),
        }


class FillsChannel(Channel):
    """Every fill and funding payment as it is journaled (from the stream or a resync),
    after the latest ones: what a trade blotter shows."""

    name = "fills"
    topics = frozenset({"fills", "payments"})

    def snapshot(self, engine: Engine) -> Any:
        symbol = next(iter(self._symbols)) if self._symbols is not None and len(self._symbols) == 1 else None
        fills, _ = engine.journal.fill_page(account=self.filters.account, symbol=symbol, limit=RECENT, newest_first=True)
        payments, _ = engine.journal.funding_page(account=self.filters.account, symbol=symbol, limit=RECENT, newest_first=True)
        return {
            "fills": self._keep(reversed([f.fill for f in fills])),
            "payments": self._keep(reversed(payments)),
        }


class MarketsChannel(Channel):
    name = "markets"
    topics = frozenset({"book", "trades", "ticker", "funding"})

    def snapshot(self, engine: Engine) -> Any:
        data = engine.portfolio.market_data
        books = [b.snapshot(self.filters.depth) for _, b in sorted(data.books.items()) if b.ready]
        return {
            "books": self._keep(books),
            "tickers": self._keep(v for _, v in sorted(data.tickers.items())),
            "funding": self._keep(v for _, v in sorted(data.funding.items())),
        }


class EventsChannel(Channel):
    name = "events"
    topics = frozenset({"events", "status"})

    def refined_topics(self) -> list[str]:
        return sorted(self.topics)  # the audit stream is not filtered

    def snapshot(self, engine: Engine) -> Any:
        states = {scope: {"state": s.value, "reason": r} for scope, (s, r) in engine.trading.items()}
        recent = engine.reads.recent_events(50)
        return {"trading_states": states, "events": [dataclasses.asdict(e) for e in reversed(recent)]}


KINDS: dict[str, type[Channel]] = {
    c.name: c for c in (OrdersChannel, PositionsChannel, AccountChannel, FillsChannel, MarketsChannel, EventsChannel)
}
ALL_TOPICS = frozenset().union(*(c.topics for c in KINDS.values()))
