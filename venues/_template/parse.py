"""Venue JSON -> perpd.model. Pure functions: no I/O, no clock, no state.

Must: turn each payload the venue sends (REST answers, WebSocket messages) into perpd's
model, Decimal for every price, size and amount (parse the venue's text, never a float);
unified symbols (`BTC-PERP`) from the venue's names; ids and times as the model wants
them. Tests run every function over recorded or documented payloads
(`../shared/venues/<kind>/`, `tests/fixtures/<kind>/`), never invented ones. A venue
with much to parse splits by concern (market data / account data), as Hyperliquid does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from perpd.model import Balance, Fill, Market, Order, OrderBook, Position, Trade


def parse_markets(payload: Any, *, venue: str) -> list[Market]:
    """The venue's market list -> Markets with tick, lot, minimums and max leverage."""
    raise NotImplementedError


def parse_order_book(payload: Mapping[str, Any], symbol: str, *, venue: str) -> OrderBook:
    raise NotImplementedError


def parse_trades(payload: Iterable[Mapping[str, Any]], symbol: str, *, venue: str) -> list[Trade]:
    raise NotImplementedError


def parse_balance(payload: Mapping[str, Any], account: str, *, venue: str) -> Balance:
    raise NotImplementedError


def parse_positions(payload: Iterable[Mapping[str, Any]], account: str, *, venue: str) -> list[Position]:
    """Non-zero positions only."""
    raise NotImplementedError


def parse_order(payload: Mapping[str, Any], account: str, *, venue: str) -> Order:
    raise NotImplementedError


def parse_fills(payload: Iterable[Mapping[str, Any]], account: str, *, venue: str) -> list[Fill]:
    """Oldest first, each trade id once."""
    raise NotImplementedError
