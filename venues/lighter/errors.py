"""Lighter codes and transport failures -> perpd errors, as data tables.

Lighter answers `{"code": <int>, "message": <text>}`; `code != 200` is an error even in
an HTTP 200 body. Codes (ccxt `lighter.ts` `exceptions.exact`, nautilus consts):
20xxx request validation, 21xxx transaction processing, 23xxx rate limits, 30xxx
WebSocket subscription state. HTTP 429 and 405 both mean "rate limited".

`map_code` decides what a caller must do; `map_transport` maps httpx/websockets
exceptions. This is the one place foreign failures become perpd errors.
"""

from __future__ import annotations

import json
from typing import Final

from perpd.errors import (
    AuthError,
    InvalidRequest,
    PerpdError,
    RateLimited,
    VenueError,
    VenueRejected,
)
from venues.common import errors as common
from venues.common.errors import build

VENUE = "lighter"

INVALID_NONCE: Final = 21104
INVALID_PUBLIC_KEY: Final = 21136
CLIENT_ORDER_INDEX_EXISTS: Final = 21728
NOT_ACTIVE_LIMIT_ORDER: Final = 21600
NOT_ACTIVE_ORDER: Final = 21715
ORDER_INACTIVE: Final = 21709
TOO_MANY_PENDING_TXS: Final = 21506

# code -> (perpd error class, meaning). Anything in 21000..21999 not listed is a
# definitive rejection of the tx (the sequencer refused it; nothing happened).
CODES: Final[dict[int, tuple[type[PerpdError], str]]] = {
    20001: (InvalidRequest, "invalid parameter"),
    21104: (VenueRejected, "invalid nonce"),
    21120: (AuthError, "invalid signature"),
    21136: (AuthError, "invalid PublicKey"),
    21149: (VenueRejected, "integrator not approved"),
    21500: (VenueRejected, "transaction not found"),
    21501: (VenueRejected, "invalid tx info"),
    21502: (VenueRejected, "marshal tx failed"),
    21503: (VenueRejected, "marshal event failed"),
    21504: (AuthError, "fail to l1 signature"),
    21505: (VenueRejected, "unsupported tx type"),
    21506: (RateLimited, "too many pending txs, try again later"),
    21507: (VenueRejected, "account is below maintenance margin"),
    21508: (VenueRejected, "account is below initial margin"),
    21511: (VenueRejected, "invalid tx type for account"),
    21512: (VenueRejected, "invalid l1 request id"),
    21600: (VenueRejected, "given order is not an active limit order"),
    21601: (VenueRejected, "order book is full"),
    21602: (VenueRejected, "invalid market index"),
    21603: (VenueRejected, "invalid min amounts for market"),
    21605: (VenueRejected, "invalid market status"),
    21613: (VenueRejected, "invalid margin mode"),
    21614: (VenueRejected, "no position found"),
    21700: (VenueRejected, "invalid order index"),
    21701: (VenueRejected, "invalid base amount"),
    21702: (VenueRejected, "invalid price"),
    21703: (VenueRejected, "invalid isAsk"),
    21704: (VenueRejected, "invalid OrderType"),
    21705: (VenueRejected, "invalid OrderTimeInForce"),
    21706: (VenueRejected, "invalid order base or quote amount"),
    21707: (VenueRejected, "account is not owner of the order"),
    21708: (VenueRejected, "order is empty"),
    21709: (VenueRejected, "order is inactive"),
    21710: (VenueRejected, "unsupported order type"),
    21711: (VenueRejected, "invalid expiry"),
    21712: (VenueRejected, "account has a queued cancel all orders request"),
    21713: (VenueRejected, "invalid cancel all time in force"),
    21714: (VenueRejected, "invalid cancel all time"),
    21715: (VenueRejected, "given order is not an active order"),
    21717: (VenueRejected, "maximum active limit order count reached"),
    21718: (VenueRejected, "maximum active limit order count per market reached"),
    21719: (VenueRejected, "maximum pending order count reached"),
    21720: (VenueRejected, "maximum pending order count per market reached"),
    21722: (VenueRejected, "maximum conditional order count reached"),
    21723: (VenueRejected, "invalid account health"),
    21727: (VenueRejected, "invalid client order index"),
    21728: (VenueRejected, "client order index already exists"),
    21729: (VenueRejected, "invalid order trigger price"),
    21732: (VenueRejected, "reduce only increases position"),
    21733: (VenueRejected, "order price flagged as an accidental price"),
    21734: (VenueRejected, "limit order price is too far from the mark price"),
    21735: (VenueRejected, "SL/TP order price is too far from the trigger price"),
    21738: (VenueRejected, "invalid reduce only direction"),
    21739: (VenueRejected, "not enough margin to create the order"),
    21740: (VenueRejected, "invalid reduce only mode"),
    23000: (RateLimited, "too many requests"),
    23001: (RateLimited, "too many subscriptions"),
    23002: (RateLimited, "too many different accounts"),
    23003: (RateLimited, "too many connections"),
    30002: (InvalidRequest, "not subscribed"),
    30003: (InvalidRequest, "already subscribed"),
    30005: (InvalidRequest, "invalid channel"),
    30009: (RateLimited, "websocket request rate limited"),
}

# HTTP status -> class, for bodies without a usable code.
HTTP_STATUSES: Final[dict[int, type[PerpdError]]] = {
    **common.HTTP_STATUSES,
    404: InvalidRequest,
    405: RateLimited,  # Lighter answers 405 when throttling (nautilus, "per the docs")
}


def classify(code: int) -> type[PerpdError]:
    """The perpd error class for a Lighter result code."""
    if code in CODES:
        return CODES[code][0]
    if 23000 <= code < 24000:
        return RateLimited
    if 21000 <= code < 22000:
        return VenueRejected
    if 20000 <= code < 21000:
        return InvalidRequest
    return VenueError


def map_code(
    code: int,
    message: str | None,
    *,
    retry_after_secs: float | None = None,
    http_status: int | None = None,
) -> PerpdError:
    """Build the perpd error for a Lighter `{code, message}` answer."""
    cls = classify(code) if code != 0 else HTTP_STATUSES.get(http_status or 0, VenueError)
    if http_status in (405, 429):
        cls = RateLimited
    elif http_status in (401, 403):
        cls = AuthError
    text = f"lighter: {describe(code, message)}"
    return build(cls, text, venue=VENUE, code=code or http_status, retry_after_secs=retry_after_secs)


def describe(code: int, message: str | None) -> str:
    """`21728 client order index already exists`, unwrapping JSON-in-message bodies."""
    text = (message or "").strip()
    if text.startswith("{"):
        try:  # `message` may itself be JSON: "{\"ratelimit\": \"...\"}"
            text = "; ".join(f"{k}: {v}" for k, v in json.loads(text).items())
        except (ValueError, AttributeError):
            pass
    if not text and code in CODES:
        text = CODES[code][1]
    return f"{code} {text}".strip() if code else text or "error"


def map_transport(exc: BaseException, *, sent: bool) -> PerpdError:
    """Map an httpx/websockets/OS failure. `sent`: the request may have reached Lighter."""
    return common.map_transport(exc, sent=sent, venue=VENUE)
