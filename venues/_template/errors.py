"""Venue codes and messages -> perpd errors, as data tables: the one mapping boundary.

Must: hold every code or message the venue answers with in a table (code -> error class
and a short machine code), most specific first, and map transport exceptions (httpx,
websockets, OSError) in `map_transport`. The logic is shared (venues/common/errors.py:
`build`, `map_transport`); the tables are the venue's own. Branch on what the caller
must do: a definitive refusal is `VenueRejected`; refused credentials `AuthError`; throttling `RateLimited`;
and a timeout, a lost connection after sending or a 5xx on a write is `OutcomeUnknown`
(or `Unavailable`), never `VenueRejected` — the action may have happened. Every
foreign exception is raised `from` the original; a test proves each one is mapped.
Messages carry names and codes, never secrets.
"""

from __future__ import annotations

from perpd.errors import (
    AuthError,
    InvalidRequest,
    NotFound,
    PerpdError,
    RateLimited,
    VenueRejected,
)
from venues.common import errors as common
from venues.common.errors import build

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
    return build(cls, f"{VENUE}: {message or name}", venue=VENUE, code=name)


def map_transport(exc: BaseException, *, sent: bool) -> PerpdError:
    """Map an httpx/websockets/OS failure. `sent`: the request may have reached the venue.

    The decision tree is shared (venues/common/errors.py); a venue with a real quirk (a
    handshake status to read first, another timeout that means "never sent") handles it
    here and passes the rest on, as venues/edgex/errors.py does.
    """
    return common.map_transport(exc, sent=sent, venue=VENUE)
