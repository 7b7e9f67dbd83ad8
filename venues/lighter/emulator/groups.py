"""Grouped orders (tx type 28): one-triggers-other, one-cancels-other, and both.

- OTO: a parent (limit or market) and one stop-loss / take-profit child. The child is
  placed once the parent stops living with a fill, for the size it filled (its
  BaseAmount is 0 on the wire).
- OCO: a reduce-only stop-loss and take-profit of one size. When one of them fills, the
  other is cancelled (Lighter's `canceled-oco`).
- OTOCO: a parent and an OCO pair of children, placed as OTO places its child.

The engine reports order ends synchronously, while it is still inside a call: what they
trigger is queued and done by `settle()` after that call (the exchange calls it after
each tx and each step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from venues.simex.events import OrderEvent, OrderView


@dataclass
class Group:
    account: str
    children: list[dict[str, Any]]  # the wire orders still to place (OTO / OTOCO)
    pair: set[int] = field(default_factory=set)  # live OCO members (engine oids)


class Groups:
    """Parents waiting for fills and OCO pairs waiting for one side to fill."""

    def __init__(self, place: Callable[[str, dict[str, Any], Any], OrderView | None],
                 cancel: Callable[[str, int], None]) -> None:
        self._place = place  # (engine account, wire order, size override or None) -> view
        self._cancel = cancel  # (engine account, oid)
        self.waiting: dict[int, Group] = {}  # parent oid -> its group
        self.pairs: dict[int, Group] = {}  # OCO member oid -> its group
        self._due: list[tuple[str, Any]] = []

    def parent_placed(self, account: str, parent: OrderView, children: list[dict[str, Any]]) -> None:
        group = Group(account, children)
        if parent.status.is_live:
            self.waiting[parent.oid] = group
        elif parent.filled > 0:
            self._due.append(("place", (group, parent.filled)))

    def pair_placed(self, account: str, views: list[OrderView]) -> None:
        group = Group(account, [], {v.oid for v in views if v.status.is_live})
        for oid in group.pair:
            self.pairs[oid] = group
        if any(v.status.value == "filled" for v in views):
            self._due.append(("cancel", group))

    def on_event(self, event: Any) -> None:
        if not isinstance(event, OrderEvent) or event.order.status.is_live:
            return
        order = event.order
        group = self.waiting.pop(order.oid, None)
        if group is not None and order.filled > 0:
            self._due.append(("place", (group, order.filled)))
        group = self.pairs.pop(order.oid, None)
        if group is not None:
            group.pair.discard(order.oid)
            if order.status.value == "filled":
                self._due.append(("cancel", group))

    def settle(self) -> None:
        while self._due:
            what, arg = self._due.pop(0)
            if what == "place":
                group, filled = arg
                views = [v for v in (self._place(group.account, c, filled) for c in group.children) if v is not None]
                if len(views) > 1:
                    self.pair_placed(group.account, views)
            else:
                for oid in list(arg.pair):
                    self.pairs.pop(oid, None)
                    self._cancel(arg.account, oid)
                arg.pair.clear()
