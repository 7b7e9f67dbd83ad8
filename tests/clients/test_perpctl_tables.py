"""What perpctl's order table says of an exit a venue holds for its entry (a native bracket)."""

from __future__ import annotations

from decimal import Decimal as D

from perpd.model import Order, OrderStatus, OrderType, Side
from perpd.perpctl import tables


def order(client_id: str, status: OrderStatus, parent: str | None = None, reason: str | None = None) -> Order:
    return Order("main", "hl", client_id, "ETH-PERP", Side.SELL, OrderType.TAKE_PROFIT_MARKET, D("0.1"), status,
                 trigger_price=D(3500), reduce_only=True, reason=reason, parent_client_id=parent)


def test_a_held_exit_says_which_entry_it_waits_for():
    shown = tables.orders([
        order("0xexit", OrderStatus.PENDING, parent="0xentry"),
        order("0xplaced", OrderStatus.OPEN, parent="0xentry"),
        order("0xmine", OrderStatus.PENDING, reason="sent"),
    ])
    why = {row[0]: row[-1] for row in shown.rows}
    assert why == {"0xexit": "held by the venue until 0xentry fills", "0xplaced": "", "0xmine": "sent"}
