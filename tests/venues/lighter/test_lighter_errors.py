"""Every Lighter code and transport failure maps to the perpd error its caller needs."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import ConnectionClosedError

from perpd.errors import (
    AuthError,
    InvalidRequest,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
    VenueError,
    VenueRejected,
)
from venues.lighter import errors


@pytest.mark.parametrize("code", sorted(errors.CODES))
def test_each_code_in_the_table_maps_to_its_class(code: int) -> None:
    cls, meaning = errors.CODES[code]
    exc = errors.map_code(code, None)
    assert type(exc) is cls
    assert meaning in exc.message


def test_unlisted_codes_map_by_range() -> None:
    assert type(errors.map_code(21999, "x")) is VenueRejected
    assert type(errors.map_code(23999, "x")) is RateLimited
    assert type(errors.map_code(20999, "x")) is InvalidRequest
    assert type(errors.map_code(99999, "x")) is VenueError


def test_http_429_and_405_are_rate_limits_with_retry_after() -> None:
    for status in (429, 405):
        exc = errors.map_code(0, "Too Many Requests!", retry_after_secs=2.0, http_status=status)
        assert isinstance(exc, RateLimited) and isinstance(exc, OutcomeUnknown)
        assert exc.retry_after_secs == 2.0


def test_http_401_is_an_auth_error() -> None:
    assert isinstance(errors.map_code(20013, "invalid auth", http_status=401), AuthError)


def test_json_inside_the_message_is_unwrapped() -> None:
    exc = errors.map_code(21739, '{"ratelimit": "didn\'t use volume quota"}')
    assert "ratelimit: didn't use volume quota" in exc.message


def test_invalid_nonce_and_existing_client_index_keep_their_codes() -> None:
    assert errors.map_code(errors.INVALID_NONCE, "invalid nonce").code == 21104
    assert errors.map_code(errors.CLIENT_ORDER_INDEX_EXISTS, None).code == 21728


REQUEST = httpx.Request("POST", "http://127.0.0.1/api/v1/sendTx")


@pytest.mark.parametrize(
    ("exc", "sent", "expected"),
    [
        (httpx.ConnectError("refused", request=REQUEST), True, Unavailable),
        (httpx.ConnectTimeout("slow", request=REQUEST), True, Unavailable),
        (httpx.ReadTimeout("slow", request=REQUEST), True, OutcomeUnknown),
        (httpx.RemoteProtocolError("cut", request=REQUEST), True, OutcomeUnknown),
        (httpx.RemoteProtocolError("cut", request=REQUEST), False, Unavailable),
        (ConnectionClosedError(None, None), True, OutcomeUnknown),
        (ConnectionRefusedError(), False, Unavailable),
        (ValueError("not json"), True, VenueError),
        (RuntimeError("odd"), True, VenueError),
    ],
)
def test_transport_failures_map_to_unknown_or_unavailable(exc: BaseException, sent: bool, expected: type) -> None:
    mapped = errors.map_transport(exc, sent=sent)
    assert type(mapped) is expected


def test_a_timeout_after_sending_is_not_a_rejection() -> None:
    mapped = errors.map_transport(httpx.ReadTimeout("slow", request=REQUEST), sent=True)
    assert not isinstance(mapped, VenueRejected)
