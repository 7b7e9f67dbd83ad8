"""Vest codes and transport failures -> perpd errors, as data tables: the one boundary.

Vest answers errors as `{"code": <int>, "msg": <text>}` (a client seen in the wild also
reads FastAPI's `{"detail": {"code", "msg"}}`; both are read). HTTP statuses are not
documented, so the code decides and the status only fills in when a body has no code.
Codes 1xxx refuse the request (nothing happened); 3xxx arrive as the `code` of a
REJECTED order (or, for DUPLICATE and ORDER_NOT_FOUND, as the answer to the request);
`{"code": 429, "msg": "Rate limited"}` is the docs' own throttling example.

`map_code` decides what a caller must do; `map_transport` maps httpx/websockets/OS
exceptions, telling "never sent" (Unavailable) from "sent, no answer" (OutcomeUnknown).
"""

from __future__ import annotations

from typing import Final

from perpd.errors import (
    AuthError,
    InvalidRequest,
    NotFound,
    PerpdError,
    RateLimited,
    Unavailable,
    VenueError,
    VenueRejected,
)
from venues.common import errors as common
from venues.common.errors import build

VENUE: Final = "vest"

# The docs' names, used by both the connector and the emulator (one language for both).
UNAUTHORIZED: Final = 1002
TOO_MANY_REQUESTS: Final = 1003
INVALID_SIGNATURE: Final = 1022
INVALID_NONCE: Final = 1023
INVALID_NETWORK_TYPE: Final = 1024
ACCOUNT_NOT_FOUND: Final = 1099
BAD_DECIMALS: Final = 1111
INVALID_ORDER_TYPE: Final = 1116
BAD_SYMBOL: Final = 1121
INVALID_LISTEN_KEY: Final = 1125
INVALID_PARAMETER: Final = 1130
BAD_RECV_WINDOW: Final = 1131
ORDER_EXPIRED: Final = 1132
INVALID_TIME_IN_FORCE: Final = 1133
INVALID_TP_SL_PRICE: Final = 1145
INVALID_ACCOUNT_GROUP: Final = 1146
MARKET_CLOSED: Final = 1148
PRICE_CHECK_FAILED: Final = 3001
MARGIN_CHECK_FAILED: Final = 3002
DUPLICATE: Final = 3015
ORDER_NOT_FOUND: Final = 3017
REDUCE_ONLY_INCREASES: Final = 3018
REDUCE_ONLY_EXCEEDS_SIZE: Final = 3019
DECREASE_LEVERAGE_WITH_POSITION: Final = 3021
RATE_LIMITED: Final = 429

# code -> (what the caller must do, the docs' name). Every documented code is here.
CODES: Final[dict[int, tuple[type[PerpdError], str]]] = {
    429: (RateLimited, "RATE_LIMITED"),
    1002: (AuthError, "UNAUTHORIZED"),
    1003: (RateLimited, "TOO_MANY_REQUESTS"),
    1022: (AuthError, "INVALID_SIGNATURE"),
    1023: (VenueRejected, "INVALID_NONCE"),
    1024: (InvalidRequest, "INVALID_NETWORK_TYPE"),
    1099: (AuthError, "ACCOUNT_NOT_FOUND"),
    1111: (VenueRejected, "BAD_DECIMALS"),
    1116: (VenueRejected, "INVALID_ORDER_TYPE"),
    1121: (VenueRejected, "BAD_SYMBOL"),
    1125: (AuthError, "INVALID_LISTEN_KEY"),
    1130: (VenueRejected, "INVALID_PARAMETER"),
    1131: (VenueRejected, "BAD_RECV_WINDOW"),
    1132: (VenueRejected, "ORDER_EXPIRED"),
    1133: (VenueRejected, "INVALID_TIME_IN_FORCE"),
    1143: (VenueRejected, "INVALID_TRANSACTION"),
    1144: (VenueRejected, "ALREADY_USE_TRANSACTION"),
    1145: (VenueRejected, "INVALID_TP_SL_PRICE"),
    1146: (AuthError, "INVALID_ACCOUNT_GROUP"),
    1147: (VenueRejected, "DECLINE_WITHDRAW_FROM_MOBILE"),
    1148: (VenueRejected, "MARKET_CLOSED"),
    3001: (VenueRejected, "PRICE_CHECK_FAILED"),
    3002: (VenueRejected, "MARGIN_CHECK_FAILED"),
    3003: (VenueRejected, "PRICE_STALE"),
    3004: (VenueRejected, "ORDER_STALE"),
    3006: (VenueRejected, "INCREASE_WITH_SL_TP"),
    3007: (VenueRejected, "INCREASE_DURING_INSOLVENCY"),
    3008: (VenueRejected, "DELETED_BY_LIQ"),
    3010: (VenueRejected, "OI_CAP_EXCEEDED"),
    3011: (VenueRejected, "INVALID_LIMIT_PRICE"),
    3015: (VenueRejected, "DUPLICATE"),
    3017: (NotFound, "ORDER_NOT_FOUND"),
    3018: (VenueRejected, "REDUCE_ONLY_INCREASES"),
    3019: (VenueRejected, "REDUCE_ONLY_EXCEEDS_SIZE"),
    3020: (VenueRejected, "ORDER_CHANGES_LEVERAGE"),
    3021: (VenueRejected, "DECREASE_LEVERAGE_WITH_POSITION"),
    3022: (VenueRejected, "INVALID_TP_SL_PRICE"),
    3023: (VenueRejected, "BAD_SYMBOL"),
    3024: (VenueRejected, "MARKET_CLOSED"),
    4001: (VenueRejected, "LP_INSUFFICIENT_BALANCE"),
    4002: (VenueRejected, "LP_MARGIN_CHECK_FAILED"),
    4003: (VenueRejected, "LP_PRICE_STALE"),
    4004: (VenueRejected, "LP_ORDER_STALE"),
    4007: (VenueRejected, "LP_WITHDRAW_WITHOUT_SHARES"),
    4010: (VenueRejected, "LP_DUPLICATE"),
    4012: (VenueRejected, "LP_WITHDRAW_EXCEEDS_BALANCE"),
    5002: (VenueRejected, "TRANSFER_MARGIN_CHECK_FAILED"),
    5009: (VenueRejected, "TRANSFER_WITHDRAW_CAP_EXCEEDED"),
    5010: (VenueRejected, "TRANSFER_DUPLICATE"),
    5013: (VenueRejected, "TRANSFER_EXECUTION_FAILED"),
}

# HTTP status -> class, for answers without a readable code. 5xx is handled apart:
# on a write it is an unknown outcome.
HTTP_STATUSES: Final[dict[int, type[PerpdError]]] = {
    **common.HTTP_STATUSES,
    404: NotFound,
}

# WebSocket close codes (private and public streams).
WS_CLOSE_CODES: Final[dict[int, tuple[type[PerpdError], str]]] = {
    1011: (Unavailable, "INTERNAL_ERROR"),
    1012: (Unavailable, "SERVICE_RESTART"),
    4000: (InvalidRequest, "WRONG_VERSION"),
    4001: (AuthError, "ACCOUNT_GROUP_NOT_FOUND"),
    4002: (AuthError, "ACCOUNT_GROUP_INVALID"),
    4003: (AuthError, "LISTEN_KEY_REQUIRED"),
    4004: (AuthError, "LISTEN_KEY_NOT_FOUND"),
    4005: (Unavailable, "LISTEN_KEY_EXPIRED"),  # renew the key and reconnect
}
WRONG_VERSION: Final = 4000
ACCOUNT_GROUP_NOT_FOUND: Final = 4001
ACCOUNT_GROUP_INVALID: Final = 4002
LISTEN_KEY_REQUIRED: Final = 4003
LISTEN_KEY_NOT_FOUND: Final = 4004
LISTEN_KEY_EXPIRED: Final = 4005


def name_of(code: int | None) -> str:
    """The docs' name of a code (`3010` -> `OI_CAP_EXCEEDED`), or the number."""
    if code is None:
        return "UNKNOWN"
    return CODES[code][1] if code in CODES else str(code)


def map_code(code: int | None, message: str | None, *, http_status: int | None = None,
             retry_after_secs: float | None = None) -> PerpdError:
    """The perpd error for a Vest `{code, msg}` answer (or a bare HTTP status)."""
    if code is not None and code in CODES:
        cls = CODES[code][0]
    else:
        cls = HTTP_STATUSES.get(http_status or 0, VenueRejected if code else VenueError)
    if http_status == 429:
        cls = RateLimited
    text = f"vest: {name_of(code) if code is not None else f'HTTP {http_status}'}"
    if message:
        text += f" ({message})"
    reported = code if code is not None else http_status
    return build(cls, text, venue=VENUE, code=reported, retry_after_secs=retry_after_secs)


def map_close(code: int | None, reason: str | None) -> PerpdError:
    """A WebSocket closed by the server, with one of Vest's close codes."""
    cls, name = WS_CLOSE_CODES.get(code or 0, (Unavailable, f"closed {code}"))
    text = f"vest: stream closed: {name}" + (f" ({reason})" if reason else "")
    return build(cls, text, venue=VENUE, code=code)


def map_transport(exc: BaseException, *, sent: bool) -> PerpdError:
    """Map an httpx/websockets/OS failure. `sent`: the request may have reached Vest."""
    return common.map_transport(exc, sent=sent, venue=VENUE)
