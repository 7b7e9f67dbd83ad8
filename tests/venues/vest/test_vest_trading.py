"""The Vest session's order paths against the emulator: what is refused locally, unknown
outcomes (never rejections), resends under the same nonce, a foreign signing key,
asynchronous acknowledgements and the private stream's gaps."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from vest_support import KEYS, OTHER_KEY, SIGNING_KEY, secrets_of, vest_rig

from perpd.clock import ManualClock, SystemClock
from perpd.errors import AuthError, InvalidRequest, NotSupported, OutcomeUnknown, RateLimited, Unavailable, VenueRejected
from perpd.model import (
    FillUpdate,
    MarginMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    Side,
    StreamGap,
    TimeInForce,
)
from tests.contract import next_matching, wait_for_status
from venues.base import ClientIdFormat
from venues.vest.config import VestAccountConfig

pytestmark = pytest.mark.anyio
TIMEOUT = 10.0


def cid(n: int) -> str:
    return ClientIdFormat.INT63.derive("main", f"trading-{n}")


def market_buy(n: int, size: str = "0.0100", symbol: str = "BTC-PERP") -> OrderRequest:
    return OrderRequest(cid(n), symbol, Side.BUY, OrderType.MARKET, D(size), tif=TimeInForce.IOC)


def limit(n: int, price: str, size: str = "0.0100", **kw: object) -> OrderRequest:
    return OrderRequest(cid(n), "BTC-PERP", Side.BUY, OrderType.LIMIT, D(size), D(price), **kw)  # type: ignore[arg-type]


async def test_what_vest_cannot_do_is_refused_locally_and_never_sent() -> None:
    async with vest_rig() as rig:
        s = rig.session
        for request in (
            limit(1, "50000", tif=TimeInForce.POST_ONLY),
            OrderRequest(cid(2), "BTC-PERP", Side.BUY, OrderType.STOP_LIMIT, D("0.01"), D("70000"), D("70000")),
            OrderRequest(cid(3), "BTC-PERP", Side.BUY, OrderType.TAKE_PROFIT_LIMIT, D("0.01"), D("60000"), D("60000")),
        ):
            with pytest.raises(NotSupported):
                await s.create_order(request)
        with pytest.raises(NotSupported):
            await s.edit_order(cid(1), new_client_id=cid(4), price=D(1))
        with pytest.raises(NotSupported):
            await s.cancel_all_after(60)
        with pytest.raises(NotSupported):
            await s.set_leverage("BTC", 2, MarginMode.ISOLATED)
        with pytest.raises(InvalidRequest):  # off the lot: refused before signing
            await s.create_order(limit(5, "50000", size="0.00001"))
        with pytest.raises(InvalidRequest):
            await s.set_leverage("BTC", rig.venue.market("BTC").max_leverage + 1)
        assert rig.emulator.exchange.desk.orders == {}


async def test_a_timeout_after_sending_is_unknown_and_resolved_by_the_nonce() -> None:
    async with vest_rig(venue_options={"timeout_secs": 0.3}) as rig:
        rig.emulator.faults.accept_then_timeout = 1
        rig.emulator.faults.timeout_secs = 1.0
        request = market_buy(10)
        with pytest.raises(OutcomeUnknown) as unknown:
            await rig.session.create_order(request)
        assert not isinstance(unknown.value, VenueRejected)
        order = await wait_for_status(rig.session, request.client_id, {OrderStatus.FILLED}, TIMEOUT)
        assert order.filled_size == request.size


async def test_throttling_and_server_errors_are_never_rejections() -> None:
    async with vest_rig() as rig:
        rig.emulator.faults.rate_limited = 1
        with pytest.raises(RateLimited) as throttled:
            await rig.session.create_order(limit(20, "50000"))
        assert isinstance(throttled.value, OutcomeUnknown) and throttled.value.code == 429
        rig.emulator.faults.server_errors = 2
        with pytest.raises(OutcomeUnknown) as failed:
            await rig.session.create_order(limit(21, "50000"))
        assert not isinstance(failed.value, VenueRejected)
        with pytest.raises(Unavailable):
            await rig.session.fetch_balance()
        assert await rig.session.fetch_order(cid(20)) is None and await rig.session.fetch_order(cid(21)) is None


async def test_a_resend_under_the_same_client_id_returns_the_order_that_landed() -> None:
    async with vest_rig() as rig:
        request = limit(30, "50000")
        first = await rig.session.create_order(request)
        again = await rig.session.create_order(request)  # DUPLICATE nonce: it is ours
        assert again.client_id == first.client_id and again.venue_order_id == first.venue_order_id
        assert len(rig.emulator.exchange.desk.orders) == 1


async def test_a_signing_key_other_than_the_registered_one_is_refused_with_its_code() -> None:
    async with vest_rig() as rig:
        registered = rig.session
        keys = secrets_of({"env:K": registered.api_key, "env:S": OTHER_KEY})
        config = VestAccountConfig(venue="vest", signing_key="env:S", api_key="env:K", account_group=registered.group)
        impostor = rig.venue.session("impostor", config, keys)
        await impostor.connect()
        with pytest.raises(AuthError) as refused:
            await impostor.create_order(limit(40, "50000"))
        assert refused.value.code == 1022 and "INVALID_SIGNATURE" in refused.value.message
        assert rig.emulator.exchange.desk.orders == {}
        assert OTHER_KEY[2:] not in repr(impostor) and registered.api_key not in repr(impostor)
        assert SIGNING_KEY[2:] not in repr(registered)


async def test_orders_are_pending_until_vest_decides_then_the_stream_confirms() -> None:
    async with vest_rig() as rig:
        s = rig.session
        stream = s.watch_account()
        try:
            rig.emulator.hold_orders()
            request = market_buy(50)
            order = await s.create_order(request)
            assert order.status is OrderStatus.PENDING and order.venue_order_id
            seen: list[object] = []

            def done(event: object) -> bool:
                seen.append(event)
                return isinstance(event, PositionUpdate) and event.position.symbol == "BTC-PERP"

            rig.emulator.hold_orders(False)
            await next_matching(stream, done, TIMEOUT, "the fill and the position")
            updates = [e.order for e in seen if isinstance(e, OrderUpdate) and e.order.client_id == request.client_id]
            assert updates[-1].status is OrderStatus.FILLED and updates[-1].filled_size == request.size
            (fill,) = [e.fill for e in seen if isinstance(e, FillUpdate)]
            assert fill.client_id == request.client_id and fill.size == request.size
            assert fill.trade_id == f"{order.venue_order_id}:{fill.ts_ms}"
            assert seen[-1].position.size == request.size  # type: ignore[attr-defined]
        finally:
            await stream.aclose()  # type: ignore[attr-defined]


async def test_a_dropped_account_stream_reports_a_gap_and_carries_on() -> None:
    async with vest_rig() as rig:
        s = rig.session
        stream = s.watch_account()
        try:
            await s.create_order(limit(60, "50000"))
            await next_matching(stream, lambda e: isinstance(e, OrderUpdate) and e.order.status is OrderStatus.OPEN,
                                TIMEOUT, "the resting order")
            rig.emulator.drop_ws()
            await next_matching(stream, lambda e: isinstance(e, StreamGap), TIMEOUT, "a gap")
            assert await s.cancel_order(cid(60)) is True
            await next_matching(stream, lambda e: isinstance(e, OrderUpdate) and e.order.status is OrderStatus.CANCELLED,
                                TIMEOUT, "the cancel after the reconnect")
        finally:
            await stream.aclose()  # type: ignore[attr-defined]


async def test_cancel_all_cancels_each_open_order_and_leverage_round_trips() -> None:
    async with vest_rig() as rig:
        s = rig.session
        for n in range(3):
            await s.create_order(limit(70 + n, f"{50000 + n}"))
        for n in range(3):
            await wait_for_status(s, cid(70 + n), {OrderStatus.OPEN}, TIMEOUT)
        assert await s.cancel_all_orders("ETH") == 0
        assert await s.cancel_all_orders() == 3
        assert await s.fetch_open_orders() == []
        await s.set_leverage("BTC", 7)
        assert (await s.fetch_leverage("BTC")).leverage == 7


async def test_listen_keys_are_extended_until_they_expire() -> None:
    clock = ManualClock(start_ms=SystemClock().now_ms())
    async with vest_rig(clock=clock) as rig:
        s = rig.session
        key = await s.listen_key()
        assert await s.listen_key() == key  # the active key, extended
        clock.advance(59 * 60_000)
        await s.keep_alive()
        clock.advance(59 * 60_000)
        await s.keep_alive()
        clock.advance(61 * 60_000)
        with pytest.raises(AuthError) as expired:
            await s.keep_alive()
        assert expired.value.code == 1125
        assert await s.listen_key() != key


async def test_a_registered_session_survives_its_keys_being_shown_nowhere() -> None:
    async with vest_rig() as rig:
        s = rig.session
        text = f"{s!r} {rig.venue!r} {s.signer!r}"
        assert SIGNING_KEY[2:] not in text and s.api_key not in text
        keys = KEYS
        assert keys("env:VEST_SIGNING").get_secret_value() == SIGNING_KEY


async def test_a_long_running_session_registers_again_before_its_approval_lapses() -> None:
    clock = ManualClock(start_ms=SystemClock().now_ms())
    async with vest_rig(clock=clock) as rig:
        s = rig.session
        first = s.api_key
        clock.advance(5 * 86_400_000)
        await s.fetch_balance()
        assert s.api_key == first
        clock.advance(int(1.5 * 86_400_000))  # within a day of the 7-day expiry
        await s.create_order(limit(80, "50000"))
        assert s.api_key != first
        assert (await wait_for_status(s, cid(80), {OrderStatus.OPEN}, TIMEOUT)).venue_order_id
