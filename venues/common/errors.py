"""The mapping logic every venue's errors.py shares; the tables stay in each venue.

`build` turns a class picked from a venue's table into the error (RateLimited carries
`retry_after_secs`, VenueError subclasses the venue and the wire code, the rest only the
text). `map_transport` is the one decision tree for httpx/websockets/OS failures, telling
"never sent" (Unavailable) from "sent, no answer" (OutcomeUnknown): a timeout after sending
is an unknown outcome, never a rejection.
"""

from __future__ import annotations

import httpx
from websockets.exceptions import WebSocketException

from perpd.errors import AuthError, OutcomeUnknown, PerpdError, RateLimited, Unavailable, VenueError, VenueRejected

# HTTP status -> class, for answers without a usable code: what every venue's status means.
# A venue's own table starts from it and says where it differs (what a 404 is, a 405 or
# 422 it uses). 5xx is not here: on a write it leaves the outcome unknown.
HTTP_STATUSES: dict[int, type[PerpdError]] = {
    400: VenueRejected,
    401: AuthError,
    403: AuthError,
    429: RateLimited,
}

# httpx timeouts that fire before a byte of the request left: nothing reached the venue.
CONNECT_TIMEOUTS: tuple[type[httpx.TimeoutException], ...] = (httpx.ConnectTimeout,)


def build(cls: type[PerpdError], text: str, *, venue: str, code: str | int | None,
          retry_after_secs: float | None = None) -> PerpdError:
    """The error of class `cls` (from a venue's table) with its message and wire code."""
    if cls is RateLimited:
        return RateLimited(text, venue=venue, code=code, retry_after_secs=retry_after_secs)
    if issubclass(cls, VenueError):
        return cls(text, venue=venue, code=code)
    return cls(text)


def map_transport(exc: BaseException, *, sent: bool, venue: str,
                  connect_timeouts: tuple[type[httpx.TimeoutException], ...] = CONNECT_TIMEOUTS) -> PerpdError:
    """Map an httpx/websockets/OS failure. `sent`: the request may have reached `venue`.

    Before sending nothing happened (Unavailable is an OutcomeUnknown subclass, which is
    safe: the caller resolves by client id and finds nothing). `connect_timeouts`: the
    timeouts that mean "never sent" whatever `sent` says.
    """
    what = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        if isinstance(exc, connect_timeouts):
            return Unavailable(f"{venue}: connect timeout ({what})", venue=venue)
        if sent:
            return OutcomeUnknown(f"{venue}: timed out waiting for an answer ({what})", venue=venue)
        return Unavailable(f"{venue}: timed out ({what})", venue=venue)
    if isinstance(exc, (httpx.ConnectError, ConnectionRefusedError)):
        return Unavailable(f"{venue}: cannot connect ({what})", venue=venue)
    if isinstance(exc, (httpx.TransportError, WebSocketException, OSError)):  # OSError covers TimeoutError
        if sent:
            return OutcomeUnknown(f"{venue}: connection lost after sending ({what})", venue=venue)
        return Unavailable(f"{venue}: transport failure ({what})", venue=venue)
    if isinstance(exc, ValueError):
        return VenueError(f"{venue}: unreadable answer ({what})", venue=venue)
    return VenueError(f"{venue}: unexpected failure ({what})", venue=venue)
