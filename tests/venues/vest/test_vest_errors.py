"""Vest's `{code, msg}` answers, close codes and transport failures map to perpd's tree at
one boundary; a failure after a write may have happened is never a rejection."""

from __future__ import annotations

import httpx
import orjson
import pytest
from vest_support import sample
from websockets.exceptions import ConnectionClosedError, InvalidHandshake

from perpd.errors import (
    AuthError,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
    VenueError,
    VenueRejected,
)
from venues.vest import errors
from venues.vest.transport import _check, error_fields


def response(status: int, body: object = None, **headers: str) -> httpx.Response:
    content = orjson.dumps(body) if body is not None else b""
    return httpx.Response(status, content=content, headers=headers, request=httpx.Request("POST", "http://127.0.0.1/v2/orders"))


def test_every_documented_code_is_in_the_table_with_its_name() -> None:
    documented = {1002, 1003, 1022, 1023, 1024, 1099, 1111, 1116, 1121, 1125, 1130, 1131, 1132, 1133, 1143, 1144,
                  1145, 1146, 1147, 1148, 3001, 3002, 3003, 3004, 3006, 3007, 3008, 3010, 3011, 3015, 3017, 3018,
                  3019, 3020, 3021, 3022, 3023, 3024, 4001, 4002, 4003, 4004, 4007, 4010, 4012, 5002, 5009, 5010, 5013}
    assert documented <= set(errors.CODES)
    assert errors.name_of(3010) == "OI_CAP_EXCEEDED" and errors.name_of(99999) == "99999"


@pytest.mark.parametrize(("code", "cls"), [
    (1022, AuthError), (1002, AuthError), (1146, AuthError), (429, RateLimited), (1003, RateLimited),
    (1111, VenueRejected), (3015, VenueRejected), (3017, NotFound), (1024, InvalidRequest), (7777, VenueRejected),
])
def test_codes_map_to_what_the_caller_must_do(code: int, cls: type) -> None:
    error = errors.map_code(code, "why")
    assert type(error) is cls and "why" in error.message
    if isinstance(error, VenueError):
        assert error.code == code and error.venue == "vest"



def test_answers_are_checked_code_first_then_status() -> None:
    with pytest.raises(RateLimited) as throttled:
        _check(response(429, sample("rest_POST_orders.error.json"), **{"retry-after": "2"}), write=True)
    assert isinstance(throttled.value, OutcomeUnknown) and not isinstance(throttled.value, VenueRejected)
    assert throttled.value.retry_after_secs == 2.0
    with pytest.raises(AuthError) as expired:
        _check(response(400, sample("rest_PUT_account_listenKey.error.json")), write=True)
    assert expired.value.code == 1125
    with pytest.raises(VenueRejected):  # a code in a 200 body is still an error
        _check(response(200, {"code": 1111, "msg": "BAD_DECIMALS"}), write=True)
    with pytest.raises(VenueRejected) as wrapped:  # FastAPI's shape, as one client reads it
        _check(response(400, {"detail": {"code": 3011, "msg": "INVALID_LIMIT_PRICE"}}), write=True)
    assert wrapped.value.code == 3011
    for write, cls in ((True, OutcomeUnknown), (False, Unavailable)):
        with pytest.raises(cls) as failed:
            _check(response(502, {"detail": "Bad Gateway"}), write=write)
        assert type(failed.value) is cls
    with pytest.raises(AuthError):
        _check(response(401), write=False)
    assert _check(response(200, sample("rest_POST_orders.response.json")), write=True) == {"id": "0x0"}
    assert error_fields({"code": "x", "msg": "m"}) == (None, "m")


@pytest.mark.parametrize(("exc", "sent", "cls"), [
    (httpx.ConnectError("refused"), True, Unavailable),
    (httpx.ConnectTimeout("slow"), True, Unavailable),
    (httpx.ReadTimeout("late"), True, OutcomeUnknown),
    (httpx.ReadTimeout("late"), False, Unavailable),
    (httpx.RemoteProtocolError("cut"), True, OutcomeUnknown),
    (httpx.RemoteProtocolError("cut"), False, Unavailable),
    (ConnectionClosedError(None, None), True, OutcomeUnknown),
    (InvalidHandshake("no"), False, Unavailable),
    (OSError("gone"), False, Unavailable),
    (ValueError("junk"), True, VenueError),
    (RuntimeError("?"), True, VenueError),
])
def test_transport_failures_are_mapped(exc: BaseException, sent: bool, cls: type) -> None:
    error = errors.map_transport(exc, sent=sent)
    assert type(error) is cls
    assert not isinstance(error, VenueRejected)


def test_close_codes() -> None:
    assert isinstance(errors.map_close(4004, "gone"), AuthError)
    assert type(errors.map_close(4005, None)) is Unavailable  # renew the key, reconnect
    assert isinstance(errors.map_close(4000, None), InvalidRequest)
    assert type(errors.map_close(4999, None)) is Unavailable
