"""One error tree, branched on what the caller must do.

    PerpdError
    ├── ConfigError          refuse the file; keep running the old config
    ├── InvalidRequest       a client sent something malformed; nothing happened
    │   └── MalformedRequest the body is not JSON at all
    ├── NotFound             no such order / account / symbol / route
    ├── Denied               a local check refused (names the policy and the limit)
    ├── NotSupported         the venue cannot do this; refused locally, never sent
    ├── Unauthorized         API: no token, or an unknown one
    ├── Forbidden            API: the token lacks the scope, or Host/Origin not allowed
    ├── Conflict             API: the request clashes with the current state
    │   └── NotSent          accepted and journaled, but it never reached the venue (expired)
    ├── MethodNotAllowed     API: no such method on that path
    ├── TooManyRequests      API: this client's request budget is spent; nothing happened
    └── VenueError           the venue (or the road to it) answered badly
        ├── VenueRejected    definitive: the venue refused; nothing rests
        ├── AuthError        credentials refused: halt that account
        └── OutcomeUnknown   it may or may not have happened: resolve by client id
            ├── RateLimited  throttled (retry_after_secs); on submit, still unknown
            └── Unavailable  venue down / transport failed; back off

Venue and transport exceptions are mapped to this tree at the venue boundary, in one
place per venue (`venues/<venue>/errors.py`); none escapes `venues/`.

Messages must never contain secrets: construct them from names and references only.
"""

from __future__ import annotations

from typing import Any


class PerpdError(Exception):
    """Root of every error perpd raises on purpose."""

    http_status = 500
    type_name = "internal"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The one JSON error shape of the API: {"error": {type, message, details}}."""
        return {"error": {"type": self.type_name, "message": self.message, "details": self.details}}


class ConfigError(PerpdError):
    """The configuration is invalid; `problems` lists `path: message` lines."""

    http_status = 400
    type_name = "config_error"

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__(message, details={"problems": self.problems})


class InvalidRequest(PerpdError):
    http_status = 422
    type_name = "invalid_request"


class NotFound(PerpdError):
    http_status = 404
    type_name = "not_found"


class MalformedRequest(InvalidRequest):
    """The request body is not JSON (or not the JSON of an object)."""

    http_status = 400
    type_name = "malformed_json"


class Unauthorized(PerpdError):
    """No bearer token, or one that matches no configured token (TCP only)."""

    http_status = 401
    type_name = "unauthorized"


class Forbidden(PerpdError):
    """The token lacks the scope, or the Host/Origin is not allowed."""

    http_status = 403
    type_name = "forbidden"


class Conflict(PerpdError):
    http_status = 409
    type_name = "conflict"


class NotSent(Conflict):
    """An order perpd accepted (and answered 2xx for) ended without ever reaching the
    venue: not sent before a restart while fresh, or no longer passing its gates.
    `details["orders"]` holds the orders as they ended. Not a venue rejection."""

    type_name = "not_sent"


class MethodNotAllowed(PerpdError):
    http_status = 405
    type_name = "method_not_allowed"


class TooManyRequests(PerpdError):
    """A client spent its request budget on the daemon (`api.requests_per_sec`); nothing
    happened. Not a venue's RateLimited, which leaves an order's outcome unknown."""

    http_status = 429
    type_name = "too_many_requests"

    def __init__(self, message: str, *, retry_after_secs: float | None = None) -> None:
        retry = round(retry_after_secs, 3) if retry_after_secs is not None else None
        super().__init__(message, details={"retry_after_secs": retry})
        self.retry_after_secs = retry_after_secs


class Denied(PerpdError):
    """A local check refused: `denied by policy "house": max_order_notional 50000 < 61250`."""

    http_status = 403
    type_name = "denied"

    def __init__(self, message: str, *, policy: str | None = None, limit: str | None = None) -> None:
        self.policy = policy
        self.limit = limit
        super().__init__(message, details={"policy": policy, "limit": limit})


class NotSupported(PerpdError):
    http_status = 400
    type_name = "not_supported"


class VenueError(PerpdError):
    """Base for what a venue (or the transport to it) answered."""

    http_status = 502
    type_name = "venue_error"

    def __init__(self, message: str, *, venue: str | None = None, code: str | int | None = None) -> None:
        self.venue = venue
        self.code = code
        super().__init__(message, details={"venue": venue, "code": code})


class VenueRejected(VenueError):
    """Definitive refusal: the order does not exist on the venue."""

    http_status = 422
    type_name = "venue_rejected"


class AuthError(VenueError):
    http_status = 502
    type_name = "auth_error"


class OutcomeUnknown(VenueError):
    """The request may have taken effect. Resolve by client id; never resend under a new one."""

    http_status = 504
    type_name = "outcome_unknown"


class RateLimited(OutcomeUnknown):
    http_status = 429
    type_name = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        venue: str | None = None,
        code: str | int | None = None,
        retry_after_secs: float | None = None,
    ) -> None:
        super().__init__(message, venue=venue, code=code)
        self.retry_after_secs = retry_after_secs
        self.details = {**self.details, "retry_after_secs": retry_after_secs}


class Unavailable(OutcomeUnknown):
    http_status = 503
    type_name = "unavailable"
