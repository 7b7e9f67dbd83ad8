"""Faults injected at the emulator: nonce desync, 429, accepted-then-timeout, dropped
WS, a book gap. No order is lost and none is duplicated."""

from __future__ import annotations

from contextlib import aclosing
from decimal import Decimal
from typing import Any

import anyio
import pytest
from lighter_support import lighter_world

from perpd.errors import OutcomeUnknown, RateLimited
from perpd.model import BookUpdate, OrderRequest, OrderStatus, OrderType, Side, StreamGap
from venues.base import Channel

pytestmark = pytest.mark.anyio
ACCOUNT = 1001
KEY = 3


def limit(client_id: str, price: str = "3000.00") -> OrderRequest:
    return OrderRequest(client_id, "ETH-PERP", Side.BUY, OrderType.LIMIT, Decimal("0.1"), Decimal(price))


def orders_with_client(emulator: Any, client_id: str) -> int:
    engine = emulator.engine
    live = [o for o in engine.open_orders(str(ACCOUNT)) if o.client_id == client_id]
    return len(live)


async def test_a_desynchronised_nonce_is_refetched_and_the_order_is_sent_once(api_key: str) -> None:
    async with lighter_world(api_key) as (emulator, _venue, session):
        await session.create_order(limit("1"))
        emulator.desync_nonce(ACCOUNT, KEY, by=3)  # e.g. another process used the key
        placed = await session.create_order(limit("2", "3001.00"))
        assert placed.status is OrderStatus.PENDING
        assert orders_with_client(emulator, "2") == 1
        assert emulator.exchange.nonces[(ACCOUNT, KEY)] == 5
        await session.create_order(limit("3", "3002.00"))  # the local count is right again
        assert emulator.exchange.nonces[(ACCOUNT, KEY)] == 6


async def test_a_429_on_submit_is_rate_limited_not_rejected_and_the_retry_lands_once(api_key: str) -> None:
    async with lighter_world(api_key) as (emulator, _venue, session):
        emulator.faults.rate_limited = 1
        with pytest.raises(RateLimited) as caught:
            await session.create_order(limit("10"))
        assert isinstance(caught.value, OutcomeUnknown)
        assert await session.fetch_order("10") is None  # nothing happened
        await session.create_order(limit("10"))  # the same client id, resolved and resent
        assert orders_with_client(emulator, "10") == 1
        assert emulator.exchange.nonces[(ACCOUNT, KEY)] == 1  # the throttled nonce was reused


async def test_accepted_then_timed_out_is_unknown_and_resending_finds_the_order(api_key: str) -> None:
    async with lighter_world(api_key, timeout_secs=0.5) as (emulator, _venue, session):
        emulator.faults.accept_then_timeout = 1
        emulator.faults.timeout_secs = 1.5
        with pytest.raises(OutcomeUnknown):
            await session.create_order(limit("20"))
        found = await session.fetch_order("20")  # resolve by client id: it landed
        assert found is not None and found.status is OrderStatus.OPEN
        again = await session.create_order(limit("20"))  # a resend answers 21728: look it up
        assert again.status is OrderStatus.OPEN and again.venue_order_id == found.venue_order_id
        assert orders_with_client(emulator, "20") == 1
        await session.create_order(limit("21", "3001.00"))  # the forgotten nonce was re-fetched
        assert orders_with_client(emulator, "21") == 1


async def test_a_dropped_account_stream_reports_a_gap_and_resumes(api_key: str) -> None:
    async with lighter_world(api_key) as (emulator, _venue, session):
        seen: list[Any] = []
        with anyio.fail_after(30):
            async with aclosing(session.watch_account()) as stream:
                seen.append(await anext(stream))
                assert emulator.drop_ws() >= 1
                async for event in stream:
                    seen.append(event)
                    if isinstance(event, StreamGap):
                        break
                await session.create_order(limit("30"))
                async for event in stream:
                    seen.append(event)
                    order = getattr(event, "order", None)
                    if order is not None and order.client_id == "30":
                        break
        gaps = [e for e in seen if isinstance(e, StreamGap)]
        assert gaps and gaps[0].account == "acct"


async def test_a_dropped_public_stream_reports_a_gap_then_a_fresh_snapshot(api_key: str) -> None:
    async with lighter_world(api_key) as (emulator, venue, _session):
        events: list[Any] = []
        with anyio.fail_after(30):
            async with aclosing(venue.watch([Channel("book", "ETH")])) as stream:
                async for event in stream:
                    events.append(event)
                    if len(events) == 2:
                        emulator.drop_ws()
                    if isinstance(event, BookUpdate) and event.snapshot and any(isinstance(e, StreamGap) for e in events):
                        break
        kinds = ["gap" if isinstance(e, StreamGap) else ("snap" if e.snapshot else "delta") for e in events]
        assert kinds[0] == "snap" and "gap" in kinds and kinds[-1] == "snap"


async def test_a_missing_book_delta_is_a_gap_and_the_book_is_resynced(api_key: str) -> None:
    async with lighter_world(api_key) as (emulator, venue, _session):
        events: list[Any] = []
        with anyio.fail_after(30):
            async with aclosing(venue.watch([Channel("book", "ETH")])) as stream:
                async for event in stream:
                    events.append(event)
                    if len(events) == 2:
                        emulator.faults.drop_book_deltas = 1
                    if len(events) > 2 and isinstance(event, BookUpdate) and event.snapshot:
                        break
        gap = next(i for i, e in enumerate(events) if isinstance(e, StreamGap))
        assert "begin_nonce" in events[gap].reason
        books = [e for e in events if isinstance(e, BookUpdate)]
        assert [b.seq for b in books] == list(range(1, len(books) + 1))  # seq stays gapless for consumers


async def test_an_expired_auth_token_is_renewed_before_use(api_key: str) -> None:
    async with lighter_world(api_key) as (_emulator, _venue, session):
        token, expires_ms = await session.auth_token()
        session._token = (token, session.venue.clock.now_ms() + 1000)  # about to expire
        fresh, fresh_expiry = await session.auth_token()
        assert fresh != token and fresh_expiry > session.venue.clock.now_ms() + 60_000
        assert await session.fetch_open_orders() == []


async def test_orders_survive_a_resend_storm_without_duplicates(api_key: str) -> None:
    async with lighter_world(api_key) as (emulator, _venue, session):
        results = [await session.create_order(limit("40")) for _ in range(3)]
        assert all(r.client_id == "40" for r in results)
        assert orders_with_client(emulator, "40") == 1
