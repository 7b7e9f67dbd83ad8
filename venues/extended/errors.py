"""Extended codes and transport failures -> perpd errors, as data tables.

Extended answers `{"status": "ERROR", "error": {"code": <int>, "message": <text>}}`
(with a 4xx status, or even a 200). The codes below are the ones its API docs list
(copied by ccxt; shared/venues/extended.md section 4). HTTP 401 is a refused API key,
429 throttling, 5xx a venue that may or may not have acted. The emulator answers with
these same constants, so both sides of a test speak one language.

`map_code` decides what a caller must do; `map_transport` maps httpx/websockets
exceptions. This is the one place foreign failures become perpd errors.
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

VENUE = "extended"

MARKET_NOT_FOUND: Final = 1001
APPLICATION_ERROR: Final = 1006
INVALID_LEVERAGE: Final = 1049
INVALID_PUBLIC_KEY: Final = 1100
INVALID_SIGNATURE: Final = 1101
INVALID_VAULT: Final = 1102
QTY_BELOW_MIN: Final = 1120
WRONG_SIZE_INCREMENT: Final = 1121
WRONG_PRICE_INCREMENT: Final = 1124
INVALID_FEE: Final = 1128
DUPLICATE_ORDER: Final = 1134
INVALID_EXPIRY: Final = 1135
REDUCE_ONLY_INVALID: Final = 1136
MARKET_ORDER_NOT_IOC: Final = 1139
INSUFFICIENT_BALANCE: Final = 1140
EDIT_ORDER_NOT_FOUND: Final = 1142
TRIGGER_MISSING: Final = 1143
ACCOUNT_NOT_FOUND: Final = 1500
INVALID_API_KEY: Final = 401  # body codes of HTTP 401 / 404 answers (the emulator's choice:
NOT_FOUND: Final = 404  # Extended's own are not documented; the HTTP status decides)

# code -> (perpd error class, meaning)
CODES: Final[dict[int, tuple[type[PerpdError], str]]] = {
    1000: (VenueRejected, "asset not found"),
    1001: (VenueRejected, "market not found"),
    1002: (VenueRejected, "market disabled"),
    1006: (Unavailable, "application error"),
    1010: (Unavailable, "maintenance mode"),
    1011: (VenueRejected, "market in post-only mode"),
    1012: (VenueRejected, "market in reduce-only mode"),
    1049: (InvalidRequest, "invalid leverage"),
    1050: (VenueRejected, "leverage change: not enough margin"),
    1051: (VenueRejected, "leverage change: position value above the limit"),
    1052: (VenueRejected, "leverage change: open orders above the limit"),
    1053: (VenueRejected, "leverage change not allowed"),
    1100: (AuthError, "invalid Starknet public key"),
    1101: (AuthError, "invalid Starknet signature"),
    1102: (AuthError, "invalid vault"),
    1120: (VenueRejected, "order quantity below the minimum"),
    1121: (VenueRejected, "order quantity not a multiple of the size increment"),
    1122: (VenueRejected, "order value above the maximum"),
    1123: (VenueRejected, "order quantity precision too high"),
    1124: (VenueRejected, "order price not a multiple of the price increment"),
    1125: (VenueRejected, "order price precision too high"),
    1126: (VenueRejected, "maximum open orders per market reached"),
    1127: (VenueRejected, "maximum position value reached"),
    1128: (VenueRejected, "invalid fee"),
    1129: (VenueRejected, "invalid order"),
    1130: (VenueRejected, "invalid order"),
    1131: (VenueRejected, "invalid order"),
    1132: (VenueRejected, "invalid order"),
    1133: (VenueRejected, "invalid order"),
    1134: (VenueRejected, "duplicate order"),
    1135: (VenueRejected, "invalid expiry"),
    1136: (VenueRejected, "reduce-only order would increase the position"),
    1137: (VenueRejected, "reduce-only order: no position to reduce"),
    1138: (VenueRejected, "reduce-only order: wrong side"),
    1139: (VenueRejected, "market order must be IOC"),
    1140: (VenueRejected, "new order cost exceeds available balance"),
    1141: (VenueRejected, "invalid price"),
    1142: (NotFound, "order to edit not found"),
    1143: (VenueRejected, "conditional order trigger missing"),
    1144: (VenueRejected, "invalid trigger"),
    1145: (VenueRejected, "invalid order"),
    1146: (VenueRejected, "TWAP order must be GTT"),
    1147: (VenueRejected, "open loss exceeds equity"),
    1148: (VenueRejected, "open loss exceeds equity"),
    1500: (AuthError, "account not selected"),
}

# HTTP status -> class, for answers without a usable code.
HTTP_STATUSES: Final[dict[int, type[PerpdError]]] = {
    **common.HTTP_STATUSES,
    404: NotFound,
    422: VenueRejected,
}


def classify(code: int | None, http_status: int) -> type[PerpdError]:
    """The perpd error class for an answer: HTTP 401/429/5xx first, then the body code."""
    if http_status in (401, 403):
        return AuthError
    if http_status == 429:
        return RateLimited
    if http_status >= 500:
        return Unavailable
    if code is not None and code in CODES:
        return CODES[code][0]
    if code is not None and 1600 <= code < 1700:
        return VenueRejected  # withdrawals and transfers
    return HTTP_STATUSES.get(http_status, VenueError)


def map_code(code: int | None, message: str | None, *, http_status: int = 200,
             retry_after_secs: float | None = None) -> PerpdError:
    """Build the perpd error for an Extended error answer."""
    cls = classify(code, http_status)
    known = CODES.get(code, (None, ""))[1] if code is not None else ""
    text = f"extended: {code if code is not None else http_status} {message or known or 'error'}".rstrip()
    wire_code = code if code is not None else http_status
    return build(cls, text, venue=VENUE, code=wire_code, retry_after_secs=retry_after_secs)


def map_transport(exc: BaseException, *, sent: bool) -> PerpdError:
    """Map an httpx/websockets/OS failure. `sent`: the request may have reached Extended."""
    return common.map_transport(exc, sent=sent, venue=VENUE)
