"""Sim engine refusals -> perpd errors, as a data table (the one mapping boundary)."""

from __future__ import annotations

from perpd.errors import InvalidRequest, NotFound, PerpdError, VenueRejected
from venues.simex.events import Reason, SimReject

# Every Reason that SimReject can carry, and what the caller must do about it.
ERRORS: dict[Reason, type[PerpdError]] = {
    Reason.UNKNOWN_MARKET: NotFound,
    Reason.UNKNOWN_ORDER: NotFound,
    Reason.BAD_TICK: VenueRejected,
    Reason.BAD_LOT: VenueRejected,
    Reason.BAD_PRICE: VenueRejected,
    Reason.BAD_SIZE: VenueRejected,
    Reason.BAD_TRIGGER: VenueRejected,
    Reason.MIN_SIZE: VenueRejected,
    Reason.MIN_NOTIONAL: VenueRejected,
    Reason.INSUFFICIENT_MARGIN: VenueRejected,
    Reason.POST_ONLY_WOULD_CROSS: VenueRejected,
    Reason.REDUCE_ONLY_WOULD_INCREASE: VenueRejected,
    Reason.DUPLICATE_CLIENT_ID: VenueRejected,
    Reason.BAD_LEVERAGE: InvalidRequest,
    Reason.POSITION_OPEN: VenueRejected,
}


def map_reject(exc: SimReject, venue: str) -> PerpdError:
    """The perpd error for an engine refusal; raise it `from exc`."""
    cls = ERRORS.get(exc.reason, VenueRejected)
    if issubclass(cls, VenueRejected):
        return cls(f"{venue}: {exc.message}", venue=venue, code=exc.reason.value)
    return cls(f"{venue}: {exc.message}", details={"venue": venue, "code": exc.reason.value})
