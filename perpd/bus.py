"""In-process pub/sub from the engine to API clients, never slowed by a slow reader.

Publishing is synchronous and O(subscribers): it appends to each subscriber's bounded
buffer and wakes it. A subscriber that falls behind is either conflated (for topics where
only the latest value matters, keyed: the newest book per symbol replaces the older one) or
dropped (its iterator ends with `SlowConsumer`), so the daemon never waits on a client.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


class SlowConsumer(Exception):
    """The subscriber fell more than `maxlen` messages behind and was dropped."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str  # "orders", "fills", "positions", "balance", "book", "trades", "ticker", ...
    seq: int  # per topic, +1 per message: a client sees gaps
    key: str  # conflation key within a topic (e.g. "sim:BTC-PERP"); "" = not conflated
    data: Any


class Subscription:
    """An async iterator of Messages for a set of topics, with its own bounded buffer."""

    def __init__(
        self,
        bus: Bus,
        topics: Iterable[str],
        maxlen: int,
        accept: Callable[[Message], bool] | None,
    ) -> None:
        self._bus = bus
        self.topics = frozenset(topics)
        self._maxlen = maxlen
        self._accept = accept
        self._queue: deque[Message] = deque()
        self._conflated: OrderedDict[tuple[str, str], Message] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._failure: Exception | None = None
        self.closed = False

    def _offer(self, message: Message, conflate: bool) -> None:
        if self.closed or (self._accept is not None and not self._accept(message)):
            return
        if conflate and message.key:
            self._conflated[(message.topic, message.key)] = message
            self._conflated.move_to_end((message.topic, message.key))
        else:
            if len(self._queue) >= self._maxlen:
                self._fail(SlowConsumer(f"fell {self._maxlen} messages behind"))
                return
            self._queue.append(message)
        self._wakeup.set()

    def _fail(self, exc: Exception) -> None:
        self._failure = exc
        self._queue.clear()
        self._conflated.clear()
        self.close()
        self._wakeup.set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._remove(self)
            self._wakeup.set()

    def drain(self) -> list[Message]:
        """Everything buffered now, without waiting (ordered queue first, then conflated)."""
        out = list(self._queue)
        self._queue.clear()
        out.extend(self._conflated.values())
        self._conflated.clear()
        return out

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._conflated:
                return self._conflated.popitem(last=False)[1]
            if self._failure is not None:
                raise self._failure
            if self.closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus:
    """Topics -> subscriptions. `conflated_topics` keep only the latest message per key."""

    def __init__(self, conflated_topics: Iterable[str] = ("book", "ticker")) -> None:
        self._subs: dict[str, set[Subscription]] = {}
        self._seq: dict[str, int] = {}
        self._conflated = frozenset(conflated_topics)
        self._taps: list[Callable[[Message], None]] = []

    def tap(self, fn: Callable[[Message], None]) -> Callable[[], None]:
        """Call `fn` with every message as it is published, synchronously, in order.

        For relays that must see the bus in exactly its order (the WebSocket fan-out
        writes each message to its workers here, so a snapshot taken on the loop falls
        between two messages). `fn` must be cheap and must not raise. Returns the untap.
        """
        self._taps.append(fn)
        return lambda: self._taps.remove(fn) if fn in self._taps else None

    def subscribe(
        self,
        topics: Iterable[str],
        *,
        maxlen: int = 10_000,
        accept: Callable[[Message], bool] | None = None,
    ) -> Subscription:
        sub = Subscription(self, topics, maxlen, accept)
        for topic in sub.topics:
            self._subs.setdefault(topic, set()).add(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        for topic in sub.topics:
            self._subs.get(topic, set()).discard(sub)

    def publish(self, topic: str, data: Any, key: str = "") -> Message:
        seq = self._seq.get(topic, 0) + 1
        self._seq[topic] = seq
        message = Message(topic, seq, key, data)
        subs = self._subs.get(topic)
        if subs:
            conflate = topic in self._conflated
            for sub in list(subs):
                sub._offer(message, conflate)
        for tap in self._taps:
            tap(message)
        return message

    def seq(self, topic: str) -> int:
        return self._seq.get(topic, 0)

    def subscriber_count(self) -> int:
        return len({s for subs in self._subs.values() for s in subs})
