"""Helpers of the contract suite, written only against venues/base.py.

They tolerate venues that acknowledge asynchronously (`capabilities.async_acks`): an
order may come back PENDING and reach its real status later, and a refusal may arrive
as a REJECTED/CANCELLED order instead of an exception.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from decimal import ROUND_CEILING, Decimal
from typing import TypeVar

import anyio

from perpd.errors import VenueRejected
from perpd.model import Market, Order, OrderRequest, OrderStatus, Side, round_price
from venues.base import AccountSession

T = TypeVar("T")

_counter = itertools.count(1)
_RUN = uuid.uuid4().hex[:12]


def new_client_id(session: AccountSession) -> str:
    """A fresh client id in the venue's format, unique across runs and tests."""
    fmt = session.capabilities.client_id_format
    return fmt.derive(session.account, f"contract-{_RUN}-{next(_counter)}")


def order_size(market: Market, price: Decimal, factor: Decimal = Decimal("1.5")) -> Decimal:
    """The smallest clean size that clears min size and `factor` x min notional at `price`."""
    by_notional = market.min_notional * factor / price
    lots = (by_notional / market.lot_size).to_integral_value(rounding=ROUND_CEILING)
    size = max(lots * market.lot_size, market.min_size)
    lots = (size / market.lot_size).to_integral_value(rounding=ROUND_CEILING)
    return lots * market.lot_size


def far_price(market: Market, mark: Decimal, side: Side, distance: Decimal = Decimal("0.2")) -> Decimal:
    """A price `distance` away from the mark on the passive side: it rests, never fills."""
    raw = mark * (1 - distance) if side is Side.BUY else mark * (1 + distance)
    return round_price(raw, market.tick_size, side)


async def eventually(check: Callable[[], Awaitable[T | None]], timeout_secs: float, what: str,
                     poll_secs: float = 0.02) -> T:
    """Poll `check` until it returns something other than None/False; fail after the timeout."""
    last: T | None = None
    with anyio.move_on_after(timeout_secs):
        while True:
            last = await check()
            if last:
                return last
            await anyio.sleep(poll_secs)
    raise AssertionError(f"timed out after {timeout_secs}s waiting for {what} (last: {last!r})")


async def wait_for_status(session: AccountSession, client_id: str, statuses: Collection[OrderStatus],
                          timeout_secs: float) -> Order:
    """Poll `fetch_order` until the order reaches one of `statuses`."""

    async def check() -> Order | None:
        order = await session.fetch_order(client_id)
        return order if order is not None and order.status in statuses else None

    return await eventually(check, timeout_secs, f"order {client_id} to become {sorted(s.value for s in statuses)}")


async def expect_refused(session: AccountSession, request: OrderRequest, timeout_secs: float) -> str:
    """Assert the venue refuses `request`: VenueRejected now, or (async acks) the order
    ends REJECTED/CANCELLED/EXPIRED without any fill. Returns the reason seen."""
    try:
        order = await session.create_order(request)
    except VenueRejected as exc:
        return exc.message
    if order.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        final = order
    else:
        assert session.capabilities.async_acks, f"expected a refusal, the order is {order.status.value}"
        final = await wait_for_status(
            session, request.client_id,
            {OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FILLED,
             OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED},
            timeout_secs,
        )
    assert final.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED), (
        f"expected a refusal, the order ended {final.status.value}"
    )
    assert final.filled_size == 0, f"a refused order must not fill (filled {final.filled_size})"
    return final.reason or final.status.value


async def next_matching(stream: AsyncIterator[object], predicate: Callable[[object], bool],
                        timeout_secs: float, what: str) -> object:
    """Read `stream` until an event satisfies `predicate`."""
    with anyio.move_on_after(timeout_secs):
        async for event in stream:
            if predicate(event):
                return event
    raise AssertionError(f"timed out after {timeout_secs}s waiting for {what}")
