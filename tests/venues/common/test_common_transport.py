"""The transport and stream mechanisms every venue shares."""

from __future__ import annotations

import httpx
import pytest

from perpd.clock import ManualClock
from perpd.errors import Unavailable
from venues.common.streams import BACKOFF_SECS, Backoff, lost
from venues.common.transport import NEVER_SENT, json_or_none, may_have_sent, retry_after_secs

REQUEST = httpx.Request("POST", "http://127.0.0.1/orders")


def test_a_write_may_have_been_sent_unless_it_failed_to_connect() -> None:
    assert may_have_sent(httpx.ReadTimeout("late", request=REQUEST))
    assert not may_have_sent(httpx.ConnectError("refused", request=REQUEST))
    assert not may_have_sent(httpx.ConnectTimeout("slow", request=REQUEST))
    assert not may_have_sent(httpx.ReadTimeout("late", request=REQUEST), write=False)
    pool = httpx.PoolTimeout("busy", request=REQUEST)
    assert may_have_sent(pool) and not may_have_sent(pool, never_sent=(*NEVER_SENT, httpx.PoolTimeout))


def test_an_answer_that_is_empty_or_not_json_reads_as_none() -> None:
    assert json_or_none(httpx.Response(200, content=b'{"a": 1}')) == {"a": 1}
    assert json_or_none(httpx.Response(200, content=b"")) is None
    assert json_or_none(httpx.Response(502, content=b"<html>bad gateway</html>")) is None


def test_retry_after_is_read_when_it_is_a_number() -> None:
    assert retry_after_secs(httpx.Response(429, headers={"Retry-After": "2.5"})) == 2.5
    assert retry_after_secs(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after_secs(httpx.Response(429)) is None


@pytest.mark.anyio
async def test_backoff_grows_with_failures_in_a_row_and_resets_on_a_message() -> None:
    clock = ManualClock(1_000_000)
    backoff = Backoff(clock)
    waited = []
    for _ in range(len(BACKOFF_SECS) + 1):
        before = clock.now_ms()
        await backoff.wait()
        waited.append((clock.now_ms() - before) / 1000)
    assert waited == [*BACKOFF_SECS, BACKOFF_SECS[-1]]
    backoff.reset()
    backoff.failed()
    assert backoff.failures == 1


def test_a_stream_is_lost_for_a_perpd_error_or_an_unreadable_message() -> None:
    assert lost(Unavailable("probe: gone", venue="probe")) == "probe: gone"
    assert lost(KeyError("x")) == "unreadable message (KeyError)"
