"""Routes the engine's bus messages to WebSocket subscriptions by symbol and account.

Every connection subscribing to the engine's bus directly would make each publish visit
every client (an ETH book would be offered to 10,000 clients watching only BTC). The hub
subscribes once and re-publishes each message on its own bus under refined topics:

    "book"           every book                    (a channel without filters)
    "book|BTC-PERP"  books of one symbol           (a channel with `symbols`)
    "orders@paper"   orders of one account         (a channel with `account`)

so a publish visits only the subscriptions that asked for it. The refined bus keeps the
engine bus's rules: books and tickers conflate per key (the latest wins for a slow
client), other topics are queued and a client too far behind is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from perpd.bus import Bus, Message, SlowConsumer

if TYPE_CHECKING:
    from perpd.engine import Engine

log = logging.getLogger("perpd.api.hub")

CONFLATED = frozenset({"book", "ticker"})  # as on the engine's bus


class _Conflated:
    """Membership by base topic: "book|BTC-PERP" conflates because "book" does."""

    def __contains__(self, topic: object) -> bool:
        return isinstance(topic, str) and topic.split("|", 1)[0].split("@", 1)[0] in CONFLATED


class RefinedBus(Bus):
    """A Bus whose refined topics conflate like their base topic."""

    def __init__(self) -> None:
        super().__init__(conflated_topics=())
        self._conflated = _Conflated()  # type: ignore[assignment]


SYMBOLLESS = frozenset({"balance", "events", "status"})  # data without a symbol
ACCOUNTLESS = frozenset({"book", "trades", "ticker", "funding", "events", "status"})


def refined_topics(topics: frozenset[str], account: str | None, symbols: frozenset[str] | None) -> list[str]:
    """The refined topics a channel with these filters subscribes to."""
    out = []
    for topic in sorted(topics):
        if symbols is not None and topic not in SYMBOLLESS:
            out += [f"{topic}|{s}" for s in sorted(symbols)]
        elif account is not None and topic not in ACCOUNTLESS:
            out.append(f"{topic}@{account}")
        else:
            out.append(topic)
    return out


class Hub:
    """One subscription to the engine's bus; a refined bus for the WebSocket clients."""

    def __init__(self) -> None:
        self.bus = RefinedBus()
        self._engine: Engine | None = None
        self._task: asyncio.Task[None] | None = None

    def attach(self, engine: Engine, topics: frozenset[str]) -> None:
        """Start relaying `engine`'s messages (idempotent)."""
        if self._engine is engine and self._task is not None and not self._task.done():
            return
        self._engine = engine
        self._task = asyncio.get_running_loop().create_task(self._relay(engine, topics), name="ws-hub")

    async def _relay(self, engine: Engine, topics: frozenset[str]) -> None:
        while True:
            # The relay only copies references between two in-memory buses: it keeps up,
            # and a huge buffer makes a drop (and the resubscribe below) a freak event.
            with engine.bus.subscribe(topics, maxlen=1_000_000) as sub:
                try:
                    async for message in sub:
                        self.route(message)
                except SlowConsumer:
                    log.warning("websocket hub fell behind the engine bus; resubscribed")

    def route(self, message: Message) -> None:
        data: Any = message.data
        topic, key, bus = message.topic, message.key, self.bus
        bus.publish(topic, message, key)
        symbol = getattr(data, "symbol", None)
        if symbol is not None:
            bus.publish(f"{topic}|{symbol}", message, key)
        account = getattr(data, "account", None)
        if account is not None:
            bus.publish(f"{topic}@{account}", message, key)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
