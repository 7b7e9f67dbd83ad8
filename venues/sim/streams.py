"""A bounded, never-blocking feed from the (synchronous) engine to one async consumer.

The engine calls `push()` from inside its operations, so it must never wait: when the
consumer falls `limit` events behind, the feed drops its buffer and remembers that it
overflowed; the consumer then sees `overflowed=True` once and must resync (the venue
emits a StreamGap and fresh snapshots).
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Callable


class Feed:
    __slots__ = ("limit", "_items", "_ready", "overflows", "_overflowed")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: deque[object] = deque()
        # asyncio's Event, cleared after each wait: anyio's costs ~3 us to make (it looks up
        # the running backend), once per wake-up of every stream; the sim runs on asyncio.
        self._ready = asyncio.Event()
        self.overflows = 0
        self._overflowed = False

    def push(self, item: object) -> None:
        if self._overflowed:
            return  # everything until the resync is lost anyway
        if len(self._items) >= self.limit:
            self._items.clear()
            self._overflowed = True
            self.overflows += 1
        else:
            self._items.append(item)
        self._ready.set()

    async def take(self) -> tuple[bool, list[object]]:
        """Wait for events: (overflowed, items). After an overflow the items are empty and
        the feed accepts new events again only once this returned (so the caller can take
        its snapshots first, in the same synchronous step)."""
        while not self._items and not self._overflowed:
            await self._ready.wait()
            self._ready.clear()
        if self._overflowed:
            self._overflowed = False
            self._items.clear()
            return True, []
        items = list(self._items)
        self._items.clear()
        return False, items


class EventStream:
    """An async iterator over engine events that subscribes when it is created.

    Subscribing at creation (not at the first `__anext__`, as an async generator would)
    means nothing is missed between `venue.watch(...)` and the first await. `accept`
    filters in the engine's call (cheap); `convert` turns engine events into perpd
    events in the consumer's; `resync` gives what to emit after an overflow (a
    StreamGap and fresh snapshots). The engine holds the stream only weakly, so an
    abandoned stream unsubscribes itself.
    """

    def __init__(
        self,
        subscribe: Callable[[Callable[[object], None]], Callable[[], None]],
        accept: Callable[[object], bool],
        convert: Callable[[object], object | None],
        resync: Callable[[], list[object]],
        limit: int,
        initial: list[object] | None = None,
    ) -> None:
        self._feed = Feed(limit)
        self._out: deque[object] = deque(initial or ())
        self._convert = convert
        self._resync = resync
        self._closed = False
        ref = weakref.ref(self)
        feed = self._feed

        def on_event(event: object) -> None:
            if ref() is None:
                unsubscribe()
            elif accept(event):
                feed.push(event)

        unsubscribe = subscribe(on_event)
        self._unsubscribe = unsubscribe

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> object:
        out = self._out
        while not out:
            if self._closed:
                raise StopAsyncIteration
            overflowed, events = await self._feed.take()
            if overflowed:
                out.extend(self._resync())
                continue
            convert = self._convert
            for event in events:
                item = convert(event)
                if item is not None:
                    out.append(item)
        return out.popleft()

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._unsubscribe()
            self._feed.push(None)  # wake a waiting consumer so it sees the close
