"""EdgeX codes and transport failures map to perpd's error tree in one place (errors.py):
refusals are definitive, credentials halt the account, and anything after sending
without an answer is an unknown outcome, never a rejection."""

from __future__ import annotations

import httpx
import pytest
from edgex_support import sample
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.datastructures import Headers
from websockets.http11 import Response

from perpd.errors import AuthError, OutcomeUnknown, RateLimited, Unavailable, VenueError, VenueRejected
from venues.edgex import errors
from venues.edgex.transport import error_of


def test_the_observed_whitelist_error_halts_the_account() -> None:
    body = sample("v1_rest_error.ACCOUNT_ID_WHITELIST_ERROR.observed_2025-11.json")
    exc = errors.map_code(body["code"], body["msg"])
    assert isinstance(exc, AuthError) and exc.code == "ACCOUNT_ID_WHITELIST_ERROR" and "whitelist" in exc.message


@pytest.mark.parametrize(("code", "cls"), [
    ("INVALID_PARAMETER", VenueRejected), ("INSUFFICIENT_BALANCE", VenueRejected), ("ORDER_NOT_FOUND", VenueRejected),
    ("INVALID_CONTRACT_ID", VenueRejected), ("SIGNATURE_ERROR", AuthError), ("INVALID_L2_SIGNATURE", AuthError),
    ("ACCOUNT_NOT_FOUND", AuthError), ("INVALID_TIMESTAMP", AuthError), ("RATE_LIMIT_EXCEEDED", RateLimited),
    ("SOME_NEW_REFUSAL", VenueRejected), ("SYSTEM_INTERNAL_ERROR", OutcomeUnknown), ("REQUEST_TIMEOUT", OutcomeUnknown),
])
def test_every_code_has_a_branch(code: str, cls: type) -> None:
    exc = errors.map_code(code, "text")
    assert type(exc) is cls and exc.code == code and code in exc.message


@pytest.mark.parametrize(("status", "cls"), [(401, AuthError), (403, AuthError), (429, RateLimited),
                                             (500, Unavailable), (502, Unavailable), (404, VenueRejected)])
def test_http_statuses_without_a_code(status: int, cls: type) -> None:
    assert type(errors.map_code(None, None, http_status=status)) is cls


def test_a_429_is_throttling_whatever_the_code_says() -> None:
    exc = errors.map_code("INVALID_PARAMETER", "slow down", http_status=429, retry_after_secs=2.0)
    assert isinstance(exc, RateLimited) and exc.retry_after_secs == 2.0


def test_the_recorded_ws_error_frame() -> None:
    exc = error_of(sample("v1_ws_Common_Behavior_Error_Message.json"))
    assert isinstance(exc, VenueRejected) and exc.code == "INVALID_CONTRACT_ID"
    assert error_of(sample("v1_ws_Common_Behavior_Heartbeat.json")) is None


def test_transport_failures_before_and_after_sending() -> None:
    request = httpx.Request("POST", "http://x")
    assert type(errors.map_transport(httpx.ConnectError("no", request=request), sent=False)) is Unavailable
    assert type(errors.map_transport(httpx.ConnectTimeout("no", request=request), sent=True)) is Unavailable
    read = httpx.ReadTimeout("late", request=request)
    assert type(errors.map_transport(read, sent=True)) is OutcomeUnknown
    assert type(errors.map_transport(httpx.RemoteProtocolError("cut", request=request), sent=True)) is OutcomeUnknown
    assert type(errors.map_transport(ConnectionClosedError(None, None), sent=True)) is OutcomeUnknown
    assert type(errors.map_transport(ValueError("junk"), sent=True)) is VenueError


def test_a_refused_websocket_handshake_is_an_auth_error() -> None:
    refused = InvalidStatus(Response(403, "Forbidden", Headers()))
    assert isinstance(errors.map_transport(refused, sent=False), AuthError)
    busy = InvalidStatus(Response(503, "Unavailable", Headers()))
    assert isinstance(errors.map_transport(busy, sent=False), Unavailable)
