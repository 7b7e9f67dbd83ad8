"""Venue codes and messages -> perpd errors, as data tables: the one mapping boundary.

Must: hold every code or message the venue answers with in a table (code -> error class
and a short machine code), most specific first, and map transport exceptions (httpx,
websockets, OSError) in `map_transport`. Branch on what the caller must do: a definitive
refusal is `VenueRejected`; refused credentials `AuthError`; throttling `RateLimited`;
and a timeout, a lost connection after sending or a 5xx on a write is `OutcomeUnknown`
(or `Unavailable`), never `VenueRejected` — the action may have happened. Every
foreign exception is raised `from` the original; a test proves each one is mapped.
Messages carry names and codes, never secrets.
"""

from __future__ import annotations

import httpx
from websockets.exceptions import WebSocketException

from perpd.errors import (
    AuthError,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PerpdError,
    RateLimited,
    Unavailable,
    VenueError,
    VenueRejected,
)

VENUE = "template"

# Venue code -> (what the caller must do, a short machine code). Fill from the venue's
# docs and recorded answers (../shared/venues/<kind>/).
CODES: dict[int, tuple[type[PerpdError], str]] = {
    400: (InvalidRequest, "bad_request"),
    401: (AuthError, "unauthorized"),
    404: (NotFound, "not_found"),
    429: (RateLimited, "rate_limited"),
}


def map_code(code: int, message: str) -> PerpdError:
    """The perpd error for a venue answer with `code`; unknown codes are venue errors."""
    cls, name = CODES.get(code, (VenueRejected, str(code)))
    text = f"{VENUE}: {message or name}"
    if issubclass(cls, VenueError):
        return cls(text, venue=VENUE, code=name)
    return cls(text)


def map_transport(exc: BaseException, *, sent: bool) -> PerpdError:
    """Map an httpx/websockets/OS failure. `sent`: the request may have reached the venue."""
    what = type(exc).__name__
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, ConnectionRefusedError)):
        return Unavailable(f"{VENUE}: cannot connect ({what})", venue=VENUE)
    if isinstance(exc, (httpx.TransportError, WebSocketException, OSError)):
        if sent:
            return OutcomeUnknown(f"{VENUE}: no answer after sending ({what})", venue=VENUE)
        return Unavailable(f"{VENUE}: transport failure ({what})", venue=VENUE)
    return VenueError(f"{VENUE}: unexpected failure ({what})", venue=VENUE)
