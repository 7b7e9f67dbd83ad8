"""EdgeX codes and transport failures -> perpd errors, as data tables: the one boundary.

EdgeX answers `{"code": "SUCCESS", "data": ...}`; any other `code` is a failure even with
HTTP 200 (the SDK never checks it: we do). Codes are strings. The documented ones
(shared edgex.md section 1) are in `CODES`; codes that name a server fault rather than
a refusal (`..._INTERNAL_...`, `SYSTEM_...`, `..._TIMEOUT`) leave a write's outcome
unknown (`UNSURE`); any other code is a definitive refusal. HTTP 401/403 are refused
credentials, 429 throttling, 5xx an unknown outcome.

`map_code` decides what a caller must do; `map_transport` maps httpx/websockets/OS
exceptions, telling "never sent" from "sent, no answer". Messages carry codes and
names, never a secret.
"""

from __future__ import annotations

from typing import Final

import httpx
from websockets.exceptions import InvalidStatus

from perpd.errors import (
    AuthError,
    OutcomeUnknown,
    PerpdError,
    RateLimited,
    Unavailable,
    VenueError,
    VenueRejected,
)
from venues.common import errors as common
from venues.common.errors import build

VENUE = "edgex"
SUCCESS: Final = "SUCCESS"

# Codes the emulator answers with, so both sides of a test speak one language.
INVALID_PARAMETER: Final = "INVALID_PARAMETER"
INVALID_CONTRACT_ID: Final = "INVALID_CONTRACT_ID"
ACCOUNT_NOT_FOUND: Final = "ACCOUNT_NOT_FOUND"
INSUFFICIENT_BALANCE: Final = "INSUFFICIENT_BALANCE"
ORDER_NOT_FOUND: Final = "ORDER_NOT_FOUND"
SIGNATURE_ERROR: Final = "SIGNATURE_ERROR"
INVALID_L2_SIGNATURE: Final = "INVALID_L2_SIGNATURE"
INVALID_TIMESTAMP: Final = "INVALID_TIMESTAMP"
RATE_LIMIT_EXCEEDED: Final = "RATE_LIMIT_EXCEEDED"

# code -> (what the caller must do, meaning). [D] documented, [O] observed, [E] the
# emulator's name for a refusal whose real code is not published.
CODES: Final[dict[str, tuple[type[PerpdError], str]]] = {
    INVALID_PARAMETER: (VenueRejected, "invalid parameter"),  # [D]
    INVALID_CONTRACT_ID: (VenueRejected, "invalid contract id"),  # [O] public WS error frame
    ACCOUNT_NOT_FOUND: (AuthError, "account not found"),  # [D]
    "ACCOUNT_ID_WHITELIST_ERROR": (AuthError, "account id not in the API whitelist"),  # [O]
    INSUFFICIENT_BALANCE: (VenueRejected, "insufficient balance"),  # [D]
    ORDER_NOT_FOUND: (VenueRejected, "order not found"),  # [D]
    SIGNATURE_ERROR: (AuthError, "request signature refused (API key, passphrase or secret)"),  # [D]
    INVALID_L2_SIGNATURE: (AuthError, "order signature refused (trading key)"),  # [E]
    INVALID_TIMESTAMP: (AuthError, "request timestamp outside the window: check the clock"),  # [U]
    RATE_LIMIT_EXCEEDED: (RateLimited, "rate limit exceeded"),  # [D]
}

# Parts of a code that mean "the server failed", not "the server refused".
UNSURE: Final = ("INTERNAL", "SYSTEM", "TIMEOUT", "UNAVAILABLE", "BUSY", "UNKNOWN_ERROR")

# HTTP status -> class, for answers whose body has no usable code.
HTTP_STATUSES: Final[dict[int, type[PerpdError]]] = {
    **common.HTTP_STATUSES,
    404: VenueRejected,
}

# cancelResultMap values: only this one means "cancelled now".
CANCEL_SUCCESS: Final = SUCCESS


def classify(code: str) -> type[PerpdError]:
    """The perpd error class for an EdgeX `code` other than SUCCESS."""
    known = CODES.get(code)
    if known is not None:
        return known[0]
    if "RATE_LIMIT" in code:
        return RateLimited
    if any(part in code for part in UNSURE):
        return OutcomeUnknown
    return VenueRejected


def map_code(code: str | None, message: str | None = None, *, http_status: int | None = None,
             retry_after_secs: float | None = None) -> PerpdError:
    """Build the perpd error for an EdgeX answer `{code, msg}` (and its HTTP status)."""
    text_code = str(code or "").strip()
    if text_code:
        cls = classify(text_code)
    elif http_status is not None and http_status >= 500:
        cls = Unavailable
    else:
        cls = HTTP_STATUSES.get(http_status or 0, VenueError)
    if http_status == 429:
        cls = RateLimited
    elif http_status in (401, 403) and cls is VenueRejected:
        cls = AuthError
    meaning = CODES.get(text_code, (None, ""))[1]
    detail = (message or "").strip() or meaning or (f"HTTP {http_status}" if http_status else "error")
    text = f"{VENUE}: {text_code}: {detail}" if text_code else f"{VENUE}: {detail}"
    wire_code = text_code or http_status
    return build(cls, text, venue=VENUE, code=wire_code, retry_after_secs=retry_after_secs)


def map_transport(exc: BaseException, *, sent: bool) -> PerpdError:
    """Map an httpx/websockets/OS failure. `sent`: the request may have reached EdgeX.

    Before sending nothing happened (Unavailable is an OutcomeUnknown subclass, which is
    safe: the caller resolves by client id and finds nothing).
    """
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status in (401, 403):
            return AuthError(f"{VENUE}: WebSocket handshake refused (HTTP {status}): check the API credentials",
                             venue=VENUE, code=status)
        if status == 429:
            return RateLimited(f"{VENUE}: WebSocket handshake throttled (HTTP 429)", venue=VENUE, code=status)
        return Unavailable(f"{VENUE}: WebSocket handshake failed (HTTP {status})", venue=VENUE, code=status)
    # A pool timeout never got a connection: nothing left, as with a connect timeout.
    return common.map_transport(exc, sent=sent, venue=VENUE, connect_timeouts=(httpx.ConnectTimeout, httpx.PoolTimeout))
