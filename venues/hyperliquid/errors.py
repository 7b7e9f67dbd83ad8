"""Hyperliquid answers -> perpd errors, as data tables. The one mapping boundary.

Hyperliquid reports failure three ways:
- the whole action refused: HTTP 200 `{"status": "err", "response": "<text>"}`;
- one order (or cancel) of a batch refused: `{"error": "<text>"}` in `statuses[i]`;
- HTTP itself: 422 text (undecodable body), 429 (throttled), 5xx, or no answer at all.

Texts come from `errors_catalog.observed.json` (docs and observed replies). The
emulator answers with the same constants, so both sides of a test speak one language.
A throttle, a 5xx or a timeout on a write is never a rejection: the action may have
been applied, so it maps to `OutcomeUnknown` (or its subclasses).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import httpx

from perpd.errors import (
    AuthError,
    InvalidRequest,
    OutcomeUnknown,
    PerpdError,
    RateLimited,
    Unavailable,
    VenueError,
    VenueRejected,
)

VENUE = "hyperliquid"

# --------------------------------------------------------------------------- texts

# Per-order statuses (docs: for-developers/api/error-responses.md, and observed).
TICK = "Price must be divisible by tick size."
INVALID_PRICE = "Order has invalid price."
MIN_NOTIONAL = "Order must have minimum value of $10."
MARGIN = "Insufficient margin to place order."
REDUCE_ONLY = "Reduce only order would increase position."
POST_ONLY = "Post only order would have immediately matched, bbo was {bbo}."
IOC_NO_MATCH = "Order could not immediately match against any resting orders."
INVALID_TPSL = "Invalid TP/SL price."
NO_LIQUIDITY = "No liquidity available for market order."
ZERO_SIZE = "Order has zero size."
PRICE_BAND = "Order price cannot be more than 80% away from the reference price"
CANCEL_MISSING = "Order was never placed, already canceled, or filled."

# Whole-action refusals.
DUPLICATE_NONCE = "Invalid nonce: duplicate nonce {nonce}"
NONCE_TOO_LOW = "Invalid nonce: {nonce} is lower than the lowest retained nonce"
NONCE_WINDOW = "Invalid nonce: {nonce} is outside the allowed time window"
UNKNOWN_SIGNER = "User or API Wallet {address} does not exist."
MUST_DEPOSIT = "Must deposit before performing actions. User: {address}"
SCHEDULE_TOO_SOON = "Scheduled cancel time must be at least 5 seconds in the future"
SCHEDULE_TOO_MANY = "Too many scheduled cancel triggers today"
UNKNOWN_ASSET = "Unknown asset {asset}"
UNKNOWN_ORDER = "Order was never placed, already canceled, or filled."
LEVERAGE_TOO_HIGH = "Leverage exceeds the maximum for this asset"
ISOLATED_ONLY = "Cross margin is not allowed for this asset"
DUPLICATE_CLOID = "Order has a cloid that is already in use."
ADDRESS_LIMIT = "Too many cumulative requests sent ({used} > {cap}) for cumulative volume traded ${volume}."
DESERIALIZE = "Failed to deserialize the JSON body into the target type"

# --------------------------------------------------------------------------- tables

# (pattern, error class, code): first match wins; patterns are regexes over the text.
ORDER_ERRORS: tuple[tuple[str, type[VenueError], str], ...] = (
    (r"divisible by tick size", VenueRejected, "tick"),
    (r"^Order has invalid price", VenueRejected, "invalid_price"),
    (r"^Order price cannot be more than", VenueRejected, "price_band"),
    (r"^Order price too far from oracle", VenueRejected, "price_band"),
    (r"minimum value of", VenueRejected, "min_notional"),
    (r"^Insufficient margin", VenueRejected, "insufficient_margin"),
    (r"^Reduce only order would increase", VenueRejected, "reduce_only"),
    (r"^Post only order would have immediately matched", VenueRejected, "post_only_would_match"),
    (r"could not immediately match", VenueRejected, "ioc_no_match"),
    (r"^Invalid TP/SL price", VenueRejected, "invalid_tpsl"),
    (r"^No liquidity available", VenueRejected, "no_liquidity"),
    (r"^Order has zero size", VenueRejected, "zero_size"),
    (r"^Order value too large", VenueRejected, "max_notional"),
    (r"open interest", VenueRejected, "open_interest_cap"),
    (r"margin tier limit", VenueRejected, "margin_tier"),
    (r"^Only post-only orders allowed", VenueRejected, "post_only_period"),
    (r"never placed, already canceled, or filled", VenueRejected, "unknown_order"),
    (r"cloid", VenueRejected, "duplicate_client_id"),
)

ACTION_ERRORS: tuple[tuple[str, type[VenueError], str], ...] = (
    (r"^Invalid nonce", VenueRejected, "invalid_nonce"),
    (r"^User or API Wallet .* does not exist", AuthError, "unknown_signer"),
    (r"^Must deposit before performing actions", AuthError, "unknown_signer"),
    (r"^Too many cumulative requests", RateLimited, "address_rate_limit"),
    (r"^Too many scheduled cancel triggers", VenueRejected, "schedule_cancel_limit"),
    (r"[Ss]cheduled cancel", VenueRejected, "schedule_cancel"),
    (r"^Unknown asset", VenueRejected, "unknown_asset"),
    (r"[Ll]everage", VenueRejected, "leverage"),
    (r"[Cc]ross margin is not allowed", VenueRejected, "isolated_only"),
    (r"never placed, already canceled, or filled", VenueRejected, "unknown_order"),
    *ORDER_ERRORS,  # payload-deterministic order errors come back for the whole batch
)

_COMPILED: dict[int, list[tuple[re.Pattern[str], type[VenueError], str]]] = {}


def _match(
    table: tuple[tuple[str, type[VenueError], str], ...], text: str
) -> tuple[type[VenueError], str]:
    compiled = _COMPILED.get(id(table))
    if compiled is None:
        compiled = _COMPILED[id(table)] = [(re.compile(p), cls, code) for p, cls, code in table]
    for pattern, cls, code in compiled:
        if pattern.search(text):
            return cls, code
    return VenueRejected, "rejected"


def order_error(text: str) -> VenueError:
    """The error for a per-order `{"error": text}` status: always definitive."""
    cls, code = _match(ORDER_ERRORS, text)
    return _build(cls, text, code)


def action_error(text: str) -> VenueError:
    """The error for a `{"status": "err", "response": text}` body."""
    cls, code = _match(ACTION_ERRORS, str(text))
    return _build(cls, str(text), code)


def _build(cls: type[VenueError], text: str, code: str) -> VenueError:
    message = f"{VENUE}: {text}"
    if cls is RateLimited:
        return RateLimited(message, venue=VENUE, code=code, retry_after_secs=10.0)
    return cls(message, venue=VENUE, code=code)


# --------------------------------------------------------------------------- HTTP / transport

HTTP_STATUS: tuple[tuple[range, type[VenueError]], ...] = (
    (range(429, 430), RateLimited),
    (range(500, 600), Unavailable),
    (range(400, 500), VenueRejected),
)


def http_error(status: int, body: str, *, retry_after: str | None = None) -> VenueError:
    """Map a non-2xx answer. A 4xx other than 429 is definitive (nothing was applied);
    429 and 5xx leave a write's outcome unknown."""
    snippet = body[:200]
    for statuses, cls in HTTP_STATUS:
        if status in statuses:
            message = f"{VENUE}: HTTP {status} {snippet}".rstrip()
            if cls is RateLimited:
                return RateLimited(message, venue=VENUE, code=status, retry_after_secs=_seconds(retry_after))
            return cls(message, venue=VENUE, code=status)
    return Unavailable(f"{VENUE}: HTTP {status}", venue=VENUE, code=status)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


TRANSPORT_ERRORS: tuple[tuple[type[Exception], type[VenueError], str], ...] = (
    # Most specific first: a timeout may fire after the venue applied the write.
    (httpx.TimeoutException, OutcomeUnknown, "timeout"),
    (httpx.ConnectError, Unavailable, "connect"),
    (httpx.TransportError, Unavailable, "transport"),
    (OSError, Unavailable, "os"),
)


def transport_error(exc: Exception) -> VenueError:
    """Map an httpx / socket exception; the caller raises the result `from exc`."""
    for exc_type, cls, code in TRANSPORT_ERRORS:
        if isinstance(exc, exc_type):
            return cls(f"{VENUE}: {code}: {type(exc).__name__}", venue=VENUE, code=code)
    return Unavailable(f"{VENUE}: {type(exc).__name__}", venue=VENUE, code="unexpected")


def bad_payload(what: str) -> VenueError:
    """An answer we cannot read: not a rejection, since we cannot tell what happened."""
    return OutcomeUnknown(f"{VENUE}: unreadable answer: {what}", venue=VENUE, code="bad_payload")


def subscription_refused(data: object) -> VenueError:
    """The venue answered a subscribe with an error: the stream would never carry it."""
    return Unavailable(f"{VENUE}: subscription refused: {str(data)[:200]}", venue=VENUE, code="subscription_refused")


def invalid(message: str) -> InvalidRequest:
    return InvalidRequest(f"{VENUE}: {message}")


def known_errors() -> Iterable[type[PerpdError]]:
    """Every perpd error class the tables can produce (for the mapping test)."""
    seen: list[type[PerpdError]] = []
    for table in (ORDER_ERRORS, ACTION_ERRORS):
        seen.extend(cls for _, cls, _ in table)
    seen.extend(cls for _, cls in HTTP_STATUS)
    seen.extend(cls for _, cls, _ in TRANSPORT_ERRORS)
    return dict.fromkeys(seen)
