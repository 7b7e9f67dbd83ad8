"""Nonces per (account, API key index): fetched once, then counted locally.

Each API key of an account has its own strictly increasing nonce. We fetch `nextNonce`
the first time a key is used, hand out consecutive values under that key's lock and
hold the lock through the send, so transactions of one key reach the sequencer in
nonce order. Several keys are used round-robin for throughput.

- A definitive refusal (`code != 200`) did not consume the nonce: `release` gives it back.
- "invalid nonce" (21104) or an unknown outcome (timeout): `forget` the key, so the
  next use re-fetches `nextNonce` from the venue.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import anyio


class NonceManager:
    """Round-robin API keys, each with a locally counted nonce."""

    def __init__(self, keys: Sequence[int], fetch: Callable[[int], Awaitable[int]]) -> None:
        if not keys:
            raise ValueError("at least one API key index is needed")
        self.keys = tuple(keys)
        self._fetch = fetch
        self._next: dict[int, int] = {}  # key -> the nonce to use next
        self._locks = {key: anyio.Lock() for key in self.keys}
        self._cycle = itertools.cycle(self.keys)

    def pick(self) -> int:
        """The next key, round-robin."""
        return next(self._cycle)

    @asynccontextmanager
    async def hold(self, key: int | None = None) -> AsyncIterator[KeyLease]:
        """Hold a key (the next one by default) for one send; yields a lease for nonces."""
        chosen = self.pick() if key is None else key
        async with self._locks[chosen]:
            lease = KeyLease(self, chosen)
            yield lease

    async def _take(self, key: int, count: int) -> int:
        if key not in self._next:
            self._next[key] = await self._fetch(key)
        first = self._next[key]
        self._next[key] = first + count
        return first

    def _release(self, key: int, first: int, count: int) -> None:
        if self._next.get(key) == first + count:
            self._next[key] = first

    def forget(self, key: int) -> None:
        """Drop the local count: the next take re-fetches `nextNonce`."""
        self._next.pop(key, None)

    def peek(self, key: int) -> int | None:
        return self._next.get(key)


class KeyLease:
    """One held key: take nonces, then release them or forget the key on failure."""

    def __init__(self, manager: NonceManager, key: int) -> None:
        self.manager = manager
        self.key = key
        self._taken: tuple[int, int] | None = None

    async def take(self, count: int = 1) -> int:
        """The first of `count` consecutive nonces."""
        first = await self.manager._take(self.key, count)
        self._taken = (first, count)
        return first

    def release(self) -> None:
        """The venue refused definitively: the taken nonces were not consumed."""
        if self._taken is not None:
            self.manager._release(self.key, *self._taken)
            self._taken = None

    def forget(self) -> None:
        """Unknown whether the nonces were consumed (or they were invalid): re-fetch."""
        self.manager.forget(self.key)
        self._taken = None
