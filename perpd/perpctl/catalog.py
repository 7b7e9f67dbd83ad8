"""Names the daemon knows (accounts, routes, venues, policies, symbols, live order ids),
cached briefly for completion and for reading `on NAME` as an account or a route."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from perpd.client.calls import Surface
from perpd.errors import NotFound
from perpd.model import base_asset
from perpd.perpctl.grammar import Kind

CONFIG_TTL_SECS = 30.0
ORDERS_TTL_SECS = 3.0


class LiveCatalog:
    """`names(kind)` for the grammar's completion; `target(name)` for `on NAME`."""

    def __init__(self, client: Surface, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._cache: dict[str, tuple[float, Any]] = {}

    def invalidate(self) -> None:
        self._cache.clear()

    def _get(self, key: str, ttl: float, load: Callable[[], Any]) -> Any:
        hit = self._cache.get(key)
        now = self.clock()
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = load()
        self._cache[key] = (now, value)
        return value

    def config(self) -> dict[str, Any]:
        return self._get("config", CONFIG_TTL_SECS, lambda: self.client.config().config)

    def accounts(self) -> list[str]:
        return sorted(self.config().get("accounts", {}))

    def routes(self) -> list[str]:
        return [r["name"] for r in self.config().get("routes", [])]

    def venues(self) -> list[str]:
        return sorted(self.config().get("venues", {}))

    def policies(self) -> list[str]:
        return [p["name"] for p in self.config().get("policies", [])]

    def symbols(self) -> list[str]:
        markets = self._get("markets", CONFIG_TTL_SECS, self.client.markets)
        return sorted({base_asset(m.symbol) for m in markets})

    def live_order_ids(self) -> list[str]:
        orders = self._get("orders", ORDERS_TTL_SECS, lambda: self.client.orders(live=True, limit=200))
        return [o.client_id for o in orders]

    def names(self, kind: Kind) -> list[str]:
        if kind is Kind.SYMBOL:
            return self.symbols()
        if kind is Kind.ACCOUNT:
            return self.accounts()
        if kind is Kind.TARGET:
            return self.accounts() + self.routes()
        if kind is Kind.VENUE:
            return self.venues()
        if kind is Kind.ORDER_ID:
            return ["all", *self.live_order_ids()]
        if kind is Kind.SCOPE:
            return ["global", *(f"account:{a}" for a in self.accounts()), *(f"venue:{v}" for v in self.venues()),
                    *(f"policy:{p}" for p in self.policies())]
        return []

    def target(self, name: str) -> dict[str, str]:
        """`on NAME` as {"account": NAME} or {"route": NAME}; NotFound if it is neither."""
        for attempt in range(2):
            if name in self.accounts():
                return {"account": name}
            if name in self.routes():
                return {"route": name}
            if attempt == 0:
                self.invalidate()  # maybe added since: look again once
        raise NotFound(f"no account or route named {name!r} (accounts: {', '.join(self.accounts()) or 'none'}; "
                       f"routes: {', '.join(self.routes()) or 'none'})")

    def default_target(self) -> dict[str, str]:
        """With one account and no route, `on NAME` may be left out."""
        accounts, routes = self.accounts(), self.routes()
        if len(accounts) == 1 and not routes:
            return {"account": accounts[0]}
        raise NotFound(f"say where: on ACCOUNT or on ROUTE (accounts: {', '.join(accounts) or 'none'}; "
                       f"routes: {', '.join(routes) or 'none'})")

    def scope(self, word: str) -> str:
        """`global`, `kind:name`, or a bare account / venue / policy name, as the API's scope."""
        if word == "global" or ":" in word:
            return word
        for kind, names in (("account", self.accounts()), ("venue", self.venues()), ("policy", self.policies())):
            if word in names:
                return f"{kind}:{word}"
        return f"account:{word}"  # the daemon answers 404 naming it
