"""Faults on the order path: a create that was applied but answered too late is an
unknown outcome (never a rejection) and is found afterwards by its client id; a throttled
create is RateLimited (still unknown) and nothing happened; a resend under the same client
id is the same order (EdgeX's idempotency key)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from edgex_support import edgex_world

from perpd.errors import OutcomeUnknown, RateLimited, VenueRejected
from perpd.model import OrderRequest, OrderStatus, OrderType, Side
from tests.contract.helpers import new_client_id

pytestmark = pytest.mark.anyio


async def far_bid(venue, session) -> OrderRequest:  # type: ignore[no-untyped-def]
    mark = (await venue.fetch_ticker("ETH")).mark_price
    return OrderRequest(new_client_id(session), "ETH-PERP", Side.BUY, OrderType.LIMIT, D("0.05"),
                        (mark * D("0.8")).quantize(D("0.01")))


async def test_accepted_then_timed_out_is_unknown_and_resolves_by_client_id() -> None:
    async with edgex_world(seed=3, timeout_secs=0.5) as (emulator, venue, session):
        emulator.faults.accept_then_timeout = 1
        emulator.faults.timeout_secs = 2.0
        request = await far_bid(venue, session)
        with pytest.raises(OutcomeUnknown) as caught:
            await session.create_order(request)
        assert not isinstance(caught.value, VenueRejected)
        order = await session.fetch_order(request.client_id)
        assert order is not None and order.status is OrderStatus.OPEN
        resent = await session.create_order(request)  # the same client id: the same order, not a second one
        assert resent.venue_order_id == order.venue_order_id
        assert [o.client_id for o in await session.fetch_open_orders()] == [request.client_id]


async def test_a_throttled_create_is_rate_limited_and_changed_nothing() -> None:
    async with edgex_world(seed=4) as (emulator, venue, session):
        request = await far_bid(venue, session)
        emulator.faults.rate_limited = 1
        with pytest.raises(RateLimited):
            await session.create_order(request)
        assert await session.fetch_order(request.client_id) is None


async def test_a_refusal_is_definitive() -> None:
    async with edgex_world(seed=5) as (emulator, venue, session):
        request = OrderRequest(new_client_id(session), "ETH-PERP", Side.BUY, OrderType.LIMIT, D(100_000),
                               D("3000.00"))  # far beyond the account's margin: refused at matching
        await session.create_order(request)
        order = await session.fetch_order(request.client_id)
        assert order.status is OrderStatus.CANCELLED and order.reason == "MARGIN_NOT_ENOUGH" and order.filled_size == 0
        with pytest.raises(VenueRejected) as caught:
            await session.set_leverage("ETH", 10)
            await venue.transport.private_post(session.auth, "/api/v2/private/account/updateLeverageSetting",
                                               {"accountId": str(session.account_id), "contractId": "10000002",
                                                "leverage": "51"})
        assert caught.value.code == "INVALID_PARAMETER"
