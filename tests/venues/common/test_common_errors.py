"""The transport-failure tree and the error builder every venue's errors.py runs on."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import ConnectionClosedError

from perpd.errors import AuthError, InvalidRequest, OutcomeUnknown, RateLimited, Unavailable, VenueError, VenueRejected
from venues.common.errors import build, map_transport

REQUEST = httpx.Request("POST", "http://127.0.0.1/orders")


@pytest.mark.parametrize(("exc", "sent", "expected"), [
    (httpx.ConnectError("refused", request=REQUEST), True, Unavailable),
    (httpx.ConnectTimeout("slow", request=REQUEST), True, Unavailable),
    (httpx.ReadTimeout("late", request=REQUEST), True, OutcomeUnknown),
    (httpx.ReadTimeout("late", request=REQUEST), False, Unavailable),
    (httpx.PoolTimeout("busy", request=REQUEST), True, OutcomeUnknown),
    (httpx.RemoteProtocolError("cut", request=REQUEST), True, OutcomeUnknown),
    (httpx.RemoteProtocolError("cut", request=REQUEST), False, Unavailable),
    (ConnectionClosedError(None, None), True, OutcomeUnknown),
    (ConnectionRefusedError(), True, Unavailable),
    (TimeoutError(), True, OutcomeUnknown),
    (OSError("gone"), False, Unavailable),
    (ValueError("junk"), True, VenueError),
    (RuntimeError("odd"), True, VenueError),
])
def test_a_failure_after_sending_is_an_unknown_outcome_and_before_it_unavailable(exc, sent, expected) -> None:
    mapped = map_transport(exc, sent=sent, venue="probe")
    assert type(mapped) is expected
    assert not isinstance(mapped, VenueRejected)
    assert mapped.venue == "probe" and mapped.message.startswith("probe: ")


def test_a_venue_names_the_other_timeouts_that_mean_never_sent() -> None:
    pool = httpx.PoolTimeout("busy", request=REQUEST)
    assert type(map_transport(pool, sent=True, venue="probe",
                              connect_timeouts=(httpx.ConnectTimeout, httpx.PoolTimeout))) is Unavailable


def test_build_gives_each_class_what_it_carries() -> None:
    limited = build(RateLimited, "probe: slow down", venue="probe", code=429, retry_after_secs=2.0)
    assert isinstance(limited, RateLimited) and limited.retry_after_secs == 2.0 and limited.code == 429
    refused = build(AuthError, "probe: bad key", venue="probe", code="KEY", retry_after_secs=2.0)
    assert type(refused) is AuthError and refused.venue == "probe" and refused.code == "KEY"
    invalid = build(InvalidRequest, "probe: bad", venue="probe", code=1)
    assert type(invalid) is InvalidRequest and invalid.message == "probe: bad"
