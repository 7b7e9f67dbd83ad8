"""The API's JSON errors back into the perpd error tree, as a data table.

The daemon answers every error as `{"error": {"type", "message", "details"}}`, `type`
being the raising class's `type_name`. `ERRORS` maps each type back to a class and how
to rebuild it from `details`, so a script catches `perpd.errors.Denied` from the client
exactly as the engine raised it. Types the API adds at its own boundary (auth, rate
limit, method) have client-side classes here, still under `PerpdError`.

Failing to reach the daemon is `DaemonUnreachable` (nothing happened). Losing the answer
to a write after it was sent is `OutcomeUnknown`: it may have taken effect, and
`details["idempotency_key"]` (for orders) makes a retry safe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perpd.errors import (
    AuthError,
    ConfigError,
    Conflict,
    Denied,
    Forbidden,
    InvalidRequest,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    NotSent,
    NotSupported,
    OutcomeUnknown,
    PerpdError,
    RateLimited,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    VenueError,
    VenueRejected,
)


class DaemonUnreachable(PerpdError):
    """No daemon answers at the endpoint (not started, wrong socket, refused)."""

    type_name = "daemon_unreachable"


def _plain(cls: type[PerpdError]) -> Callable[[str, dict[str, Any]], PerpdError]:
    return lambda message, d: cls(message)


def _venue(cls: type[VenueError]) -> Callable[[str, dict[str, Any]], PerpdError]:
    return lambda message, d: cls(message, venue=d.get("venue"), code=d.get("code"))


def _rate_limited(message: str, d: dict[str, Any]) -> PerpdError:
    """A venue throttled us: an order's outcome is unknown."""
    return RateLimited(message, venue=d.get("venue"), code=d.get("code"), retry_after_secs=d.get("retry_after_secs"))


ERRORS: dict[str, Callable[[str, dict[str, Any]], PerpdError]] = {
    "config_error": lambda message, d: ConfigError(message, problems=d.get("problems")),
    "invalid_request": _plain(InvalidRequest),
    "malformed_json": _plain(MalformedRequest),
    "not_found": _plain(NotFound),
    "denied": lambda message, d: Denied(message, policy=d.get("policy"), limit=d.get("limit")),
    "not_supported": _plain(NotSupported),
    "venue_error": _venue(VenueError),
    "venue_rejected": _venue(VenueRejected),
    "auth_error": _venue(AuthError),
    "outcome_unknown": _venue(OutcomeUnknown),
    "unavailable": _venue(Unavailable),
    "rate_limited": _rate_limited,
    "too_many_requests": lambda message, d: TooManyRequests(message, retry_after_secs=d.get("retry_after_secs")),
    "unauthorized": _plain(Unauthorized),
    "forbidden": _plain(Forbidden),
    "conflict": _plain(Conflict),
    "not_sent": _plain(NotSent),
    "method_not_allowed": _plain(MethodNotAllowed),
    "internal": _plain(PerpdError),
}


def from_body(status: int, body: Any, text: str = "") -> PerpdError:
    """The typed error for an error response (`body` parsed JSON, or None if it was not)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        snippet = text.strip().splitlines()[0][:200] if text.strip() else "no body"
        if status in (502, 503, 504):
            return Unavailable(f"the daemon answered HTTP {status}: {snippet}")
        return PerpdError(f"the daemon answered HTTP {status}: {snippet}")
    kind = str(error.get("type") or "internal")
    message = str(error.get("message") or f"HTTP {status}")
    details = error.get("details")
    build = ERRORS.get(kind)
    exc = build(message, details if isinstance(details, dict) else {}) if build else PerpdError(message)
    exc.details = details  # exactly what the daemon said, for callers that look further
    if build is None:
        exc.type_name = kind  # an error type newer than this client: keep its name
    return exc


def unknown_outcome(method: str, path: str, cause: Exception, idempotency_key: str | None) -> OutcomeUnknown:
    """A write was sent and its answer lost: it may have taken effect."""
    hint = f"; retry with idempotency key {idempotency_key!r} to be safe" if idempotency_key else ""
    exc = OutcomeUnknown(f"no answer from the daemon to {method} {path} ({type(cause).__name__}): it may have taken effect{hint}")
    exc.details = {"idempotency_key": idempotency_key} if idempotency_key else None
    return exc
