"""Lighter answers -> perpd errors at the transport: `code != 200` inside HTTP 200 is an
error, 429/405 and 23xxx are rate limits, 5xx is unavailable."""

from __future__ import annotations

import httpx
import pytest
from lighter_support import fixture

from perpd.errors import AuthError, InvalidRequest, RateLimited, Unavailable, VenueError, VenueRejected
from venues.lighter.transport import _check, error_of


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers,
                          request=httpx.Request("POST", "http://127.0.0.1/api/v1/sendTx"))


def test_a_recorded_success_passes_through() -> None:
    body = fixture("rest_sendTx.resp.ccxt.json")
    assert _check(answer(200, body)) == body


def test_a_non_200_code_inside_http_200_is_an_error() -> None:
    with pytest.raises(VenueRejected) as caught:
        _check(answer(200, {"code": 21739, "message": "not enough margin to create the order"}))
    assert caught.value.code == 21739


def test_a_23xxx_code_is_a_rate_limit_even_in_http_200() -> None:
    with pytest.raises(RateLimited):
        _check(answer(200, {"code": 23000, "message": "Too Many Requests!"}))


@pytest.mark.parametrize("status", [429, 405])
def test_http_429_and_405_are_rate_limits_with_retry_after(status: int) -> None:
    with pytest.raises(RateLimited) as caught:
        _check(answer(status, {"code": 23000, "message": "Too Many Requests!"}, {"Retry-After": "3"}))
    assert caught.value.retry_after_secs == 3.0


def test_a_400_carries_the_tx_code() -> None:
    with pytest.raises(VenueRejected) as caught:
        _check(answer(400, {"code": 21104, "message": "invalid nonce"}))
    assert caught.value.code == 21104


def test_5xx_is_unavailable_and_401_is_an_auth_error() -> None:
    with pytest.raises(Unavailable):
        _check(httpx.Response(502, text="bad gateway", request=httpx.Request("GET", "http://x/")))
    with pytest.raises(AuthError):
        _check(answer(401, {"code": 20013, "message": "auth required"}))


def test_a_body_that_is_not_json_is_a_venue_error() -> None:
    with pytest.raises(VenueError):
        _check(httpx.Response(200, text="<html>", request=httpx.Request("GET", "http://x/")))


def test_ws_error_frames_in_both_shapes_map() -> None:
    error = error_of(fixture("ws_error_invalid_channel.ccxt.json"))
    assert isinstance(error, InvalidRequest) and error.message.startswith("lighter: 30005")
    assert isinstance(error_of({"type": "error", "code": 23001, "message": "Too Many Subscriptions!"}), RateLimited)
    assert error_of(fixture("ws_connected.ccxt.json")) is None
