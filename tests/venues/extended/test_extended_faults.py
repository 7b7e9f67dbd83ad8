"""Extended errors and faults: the code tables, every transport failure mapped, and the
outcome rules against the emulator -- accepted-then-timeout and 5xx/429 are unknown
outcomes resolved by client id, a duplicate send returns the order that landed, a
wrong key halts the account, streams report gaps."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from extended_support import SDK_TEST_KEY, eventually, extended_world, fresh_account, sample, session_of
from websockets.exceptions import ConnectionClosedError

from perpd.errors import (
    AuthError,
    InvalidRequest,
    NotFound,
    NotSupported,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
    VenueRejected,
)
from perpd.model import (
    BookUpdate,
    MarginMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    StreamGap,
    TimeInForce,
)
from venues.base import Channel
from venues.extended.errors import map_code, map_transport

pytestmark = pytest.mark.anyio


def test_codes_map_to_what_the_caller_must_do():
    error = sample("rest_error_1140.resp.ccxt.json")["error"]
    refused = map_code(error["code"], error["message"], http_status=400)
    assert isinstance(refused, VenueRejected) and refused.code == 1140 and "1140" in refused.message
    assert isinstance(map_code(1101, "bad signature"), AuthError)
    assert isinstance(map_code(1142, "gone"), NotFound)
    assert isinstance(map_code(None, "x", http_status=401), AuthError)
    assert isinstance(map_code(None, "x", http_status=429, retry_after_secs=2), RateLimited)
    assert isinstance(map_code(1006, "x", http_status=503), Unavailable)
    assert isinstance(map_code(1049, "x"), InvalidRequest)
    assert isinstance(map_code(99999, "x", http_status=400), VenueRejected)


def test_transport_failures_after_sending_are_unknown_outcomes():
    request = httpx.Request("POST", "http://x")
    assert type(map_transport(httpx.ReadTimeout("t", request=request), sent=True)) is OutcomeUnknown
    assert isinstance(map_transport(httpx.ConnectError("c", request=request), sent=True), Unavailable)
    assert isinstance(map_transport(httpx.ConnectTimeout("c", request=request), sent=True), Unavailable)
    assert type(map_transport(httpx.RemoteProtocolError("r", request=request), sent=True)) is OutcomeUnknown
    assert isinstance(map_transport(ConnectionClosedError(None, None), sent=False), Unavailable)
    assert not isinstance(map_transport(ValueError("x"), sent=True), OutcomeUnknown)


def _request(client_id: str, price: Decimal, side: Side = Side.BUY, **kw) -> OrderRequest:
    return OrderRequest(client_id, "BTC-PERP", side, OrderType.LIMIT, Decimal("0.001"), price, **kw)


async def test_accepted_then_timed_out_is_unknown_and_resolved_by_client_id():
    async with extended_world(timeout_secs=0.5) as (emulator, venue, session):
        emulator.faults.accept_then_timeout, emulator.faults.timeout_secs = 1, 1.0
        with pytest.raises(OutcomeUnknown):
            await session.create_order(_request("pd-timeout-1", Decimal(50000)))
        order = await session.fetch_order("pd-timeout-1")
        assert order is not None and order.status is OrderStatus.OPEN
        again = await session.create_order(_request("pd-timeout-1", Decimal(50000)))  # 1134: the one that landed
        assert again.status is OrderStatus.OPEN and again.venue_order_id == order.venue_order_id
        assert len(await session.fetch_open_orders()) == 1


async def test_throttling_and_server_errors_on_submit_are_unknown_never_rejected():
    async with extended_world() as (emulator, venue, session):
        emulator.faults.rate_limited = 1
        with pytest.raises(RateLimited):
            await session.create_order(_request("pd-429", Decimal(50000)))
        emulator.faults.server_errors = 1
        with pytest.raises(Unavailable):
            await session.create_order(_request("pd-503", Decimal(50000)))
        assert await session.fetch_order("pd-429") is None and await session.fetch_order("pd-503") is None


async def test_a_stark_key_that_is_not_the_accounts_is_refused_at_connect_and_a_bad_api_key_halts():
    async with extended_world() as (emulator, venue, session):
        api_key, _, _ = fresh_account(emulator, SDK_TEST_KEY)
        wrong = session_of(venue, api_key, "0x1234", name="wrong")  # not the account's registered key
        with pytest.raises(AuthError, match="registered key"):
            await wrong.connect()
        stranger = session_of(venue, "no-such-key", "0x1234")
        with pytest.raises(AuthError):
            await stranger.connect()
        with pytest.raises(AuthError):
            await session_of(venue, api_key, "0x1234", vault=1).connect()


async def test_edits_replace_under_the_new_client_id_and_unknown_ones_are_not_found():
    async with extended_world() as (emulator, venue, session):
        await session.create_order(_request("pd-edit-a", Decimal(50000), tif=TimeInForce.POST_ONLY))
        edited = await session.edit_order("pd-edit-a", new_client_id="pd-edit-b", price=Decimal(50010),
                                          size=Decimal("0.002"))
        assert edited.client_id == "pd-edit-b"
        old, new = await session.fetch_order("pd-edit-a"), await session.fetch_order("pd-edit-b")
        assert old.status is OrderStatus.CANCELLED and old.reason == "ORDER_REPLACED"
        assert new.status is OrderStatus.OPEN and new.price == Decimal(50010) and new.size == Decimal("0.002")
        assert new.tif is TimeInForce.POST_ONLY
        with pytest.raises(NotFound):
            await session.edit_order("pd-edit-a", new_client_id="pd-edit-c", price=Decimal(50020))


async def test_local_refusals_never_reach_the_venue():
    async with extended_world() as (emulator, venue, session):
        with pytest.raises(NotSupported):
            await session.create_order(_request("pd-fok", Decimal(50000), tif=TimeInForce.FOK))
        with pytest.raises(NotSupported):
            await session.set_leverage("BTC", 3, MarginMode.ISOLATED)
        with pytest.raises(InvalidRequest):
            await session.create_order(OrderRequest("pd-lot", "BTC-PERP", Side.BUY, OrderType.LIMIT,
                                                    Decimal("0.0010001"), Decimal(50000)))
        with pytest.raises(InvalidRequest):
            await session.cancel_all_after(10**9)
        assert await session.fetch_order("pd-fok") is None and await session.fetch_order("pd-lot") is None


async def test_the_builder_fee_is_signed_only_when_the_account_opts_in():
    async with extended_world() as (emulator, venue, session):
        api_key, stark_key, _ = fresh_account(emulator)
        builder = session_of(venue, api_key, stark_key, name="builder", builder_id=9, builder_fee=Decimal("0.0001"))
        await builder.connect()
        seen = []
        emulator.exchange.place = (lambda original: lambda account, body: (seen.append(body), original(account, body))[1])(
            emulator.exchange.place)
        await builder.create_order(_request("pd-builder", Decimal(50000)))
        await session.create_order(_request("pd-plain", Decimal(50000)))
        assert seen[0]["builderFee"] == "0.0001" and seen[0]["builderId"] == 9 and seen[0]["fee"] == "0.00025"
        assert "builderFee" not in seen[1] and seen[1]["fee"] == "0.00025"
        assert (await builder.fetch_order("pd-builder")).status is OrderStatus.OPEN


async def test_a_dropped_book_delta_and_a_dropped_connection_are_stream_gaps_then_snapshots():
    async with extended_world() as (emulator, venue, session):
        stream = venue.watch([Channel("book", "BTC")])
        try:
            first = await anext(stream)
            assert isinstance(first, BookUpdate) and first.snapshot
            emulator.hub.drop_book_deltas = 1
            await session.create_order(_request("pd-gap-1", Decimal(60000)))
            await session.create_order(_request("pd-gap-2", Decimal(60001)))
            event = await anext(stream)
            while isinstance(event, BookUpdate) and not event.snapshot:
                event = await anext(stream)
            assert isinstance(event, StreamGap)
            assert (await anext(stream)).snapshot
            emulator.drop_ws()
            event = await anext(stream)
            while not isinstance(event, StreamGap):
                event = await anext(stream)
            assert (await anext(stream)).snapshot
        finally:
            await stream.aclose()


async def test_the_account_stream_resyncs_after_a_reconnect():
    async with extended_world() as (emulator, venue, session):
        stream = session.watch_account()
        try:
            await session.create_order(_request("pd-acct-1", Decimal(50000)))
            await eventually(lambda: _next_order(stream, "pd-acct-1"))
            emulator.drop_ws()
            event = await anext(stream)
            while not isinstance(event, StreamGap):
                event = await anext(stream)
            await session.create_order(_request("pd-acct-2", Decimal(50001)))
            await eventually(lambda: _next_order(stream, "pd-acct-2"))
        finally:
            await stream.aclose()


async def _next_order(stream, client_id: str) -> bool:
    event = await anext(stream)
    return getattr(getattr(event, "order", None), "client_id", None) == client_id
