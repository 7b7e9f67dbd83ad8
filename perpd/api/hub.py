"""Routes the engine's bus messages to WebSocket channel inboxes, by symbol and account.

The hub subscribes to the engine's bus once. Each message is filed under refined topics:

    "book"           every book                    (a channel without filters)
    "book|BTC-PERP"  books of one symbol           (a channel with `symbols`)
    "orders@paper"   orders of one account         (a channel with `account`)

Queued topics (orders, fills, trades, ...) are appended to the inbox of every channel
that asked for the refined topic; an inbox more than `maxlen` behind fails (the client
is dropped). Conflated topics (books, tickers) are pulled: the hub keeps only the latest
message per key and wakes the inboxes that are idle; a busy client takes the latest when
it is ready. So a book update costs O(idle clients), not O(clients): with 10,000 clients
throttled by the frame budget, publishing a book stays cheap and the daemon keeps its loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from perpd.bus import Message, SlowConsumer

if TYPE_CHECKING:
    from perpd.engine import Engine

log = logging.getLogger("perpd.api.hub")

CONFLATED = frozenset({"book", "ticker"})  # as on the engine's bus
SYMBOLLESS = frozenset({"balance", "events", "status"})  # data without a symbol
ACCOUNTLESS = frozenset({"book", "trades", "ticker", "funding", "events", "status"})


def refined_topics(topics: frozenset[str], account: str | None, symbols: frozenset[str] | None) -> list[str]:
    """The refined topics a channel with these filters listens to."""
    out = []
    for topic in sorted(topics):
        if symbols is not None and topic not in SYMBOLLESS:
            out += [f"{topic}|{s}" for s in sorted(symbols)]
        elif account is not None and topic not in ACCOUNTLESS:
            out.append(f"{topic}@{account}")
        else:
            out.append(topic)
    return out


def routing_names(topic: str, data: Any) -> list[str]:
    """The refined topics a message is filed under: its topic, and by symbol and by
    account when its data has them."""
    names = [topic]
    symbol = getattr(data, "symbol", None)
    if symbol is not None:
        names.append(f"{topic}|{symbol}")
    account = getattr(data, "account", None)
    if account is not None:
        names.append(f"{topic}@{account}")
    return names


def base_topic(refined: str) -> str:
    return refined.split("|", 1)[0].split("@", 1)[0]


class Inbox:
    """What one channel of one connection has to send: queued messages, changed keys."""

    def __init__(self, hub: Hub, topics: Iterable[str], maxlen: int, accept: Callable[[Message], bool] | None) -> None:
        self.hub = hub
        self.topics = tuple(topics)
        self.pulled = tuple(t for t in self.topics if base_topic(t) in CONFLATED)
        self.maxlen = maxlen
        self.accept = accept
        self.queue: deque[Message] = deque()
        self.seen: dict[tuple[str, str], int] = {}  # (refined topic, key) -> engine bus seq
        self.event = asyncio.Event()
        self.failure: Exception | None = None
        self.closed = False

    def mark_seen(self) -> None:
        """Everything the hub holds now is covered (by a snapshot taken at this moment)."""
        for topic in self.pulled:
            for key, message in self.hub.latest.get(topic, {}).items():
                self.seen[(topic, key)] = message.seq

    def take(self) -> list[Message]:
        """Queued messages in order, then the latest of each conflated key not yet sent."""
        out = list(self.queue)
        self.queue.clear()
        for topic in self.pulled:
            for key, message in self.hub.latest.get(topic, {}).items():
                if self.seen.get((topic, key)) != message.seq and (self.accept is None or self.accept(message)):
                    self.seen[(topic, key)] = message.seq
                    out.append(message)
        return out

    async def wait(self) -> None:
        """Until something new arrives (or the inbox fails: raises SlowConsumer)."""
        if self.failure is None and not self.closed:
            self.event.clear()
        for topic in self.pulled:
            self.hub.idle.setdefault(topic, set()).add(self)
        await self.event.wait()
        if self.failure is not None:
            raise self.failure

    def offer(self, message: Message) -> None:
        if self.accept is not None and not self.accept(message):
            return
        if len(self.queue) >= self.maxlen:
            self.failure = SlowConsumer(f"fell {self.maxlen} messages behind")
            self.queue.clear()
            self.hub.remove(self)
        else:
            self.queue.append(message)
        self.event.set()

    def close(self) -> None:
        self.hub.remove(self)
        self.event.set()


class Hub:
    """One subscription to the engine's bus, fanned out to channel inboxes."""

    def __init__(self) -> None:
        self.queued: dict[str, set[Inbox]] = {}  # refined queued topic -> inboxes
        self.latest: dict[str, dict[str, Message]] = {}  # refined conflated topic -> key -> message
        self.idle: dict[str, set[Inbox]] = {}  # refined conflated topic -> inboxes waiting
        self._engine: Engine | None = None
        self._task: asyncio.Task[None] | None = None

    def attach(self, engine: Engine, topics: frozenset[str]) -> None:
        """Start relaying `engine`'s messages (idempotent)."""
        if self._engine is engine and self._task is not None and not self._task.done():
            return
        self._engine = engine
        self._task = asyncio.get_running_loop().create_task(self._relay(engine, topics), name="ws-hub")

    def inbox(self, topics: Iterable[str], *, maxlen: int, accept: Callable[[Message], bool] | None) -> Inbox:
        inbox = Inbox(self, topics, maxlen, accept)
        for topic in inbox.topics:
            if topic not in inbox.pulled:
                self.queued.setdefault(topic, set()).add(inbox)
        return inbox

    def remove(self, inbox: Inbox) -> None:
        inbox.closed = True
        for topic in inbox.topics:
            self.queued.get(topic, set()).discard(inbox)
            self.idle.get(topic, set()).discard(inbox)

    async def _relay(self, engine: Engine, topics: frozenset[str]) -> None:
        while True:
            # The relay only files references in memory: it keeps up, and a huge buffer
            # makes a drop (and the resubscribe below) a freak event.
            with engine.bus.subscribe(topics, maxlen=1_000_000) as sub:
                try:
                    async for message in sub:
                        self.route(message)
                except SlowConsumer:
                    log.warning("websocket hub fell behind the engine bus; resubscribed")

    def route(self, message: Message) -> None:
        topic = message.topic
        refined = routing_names(topic, message.data)
        if topic in CONFLATED:
            for name in refined:
                self.latest.setdefault(name, {})[message.key] = message
                waiting = self.idle.pop(name, None)
                if waiting:
                    for inbox in waiting:
                        inbox.event.set()
        else:
            for name in refined:
                inboxes = self.queued.get(name)
                if inboxes:
                    for inbox in list(inboxes):
                        inbox.offer(message)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
