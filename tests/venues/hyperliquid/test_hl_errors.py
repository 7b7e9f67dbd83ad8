"""Each Hyperliquid failure maps to the right branch of the error tree."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from perpd.errors import AuthError, OutcomeUnknown, RateLimited, Unavailable, VenueRejected
from venues.hyperliquid import errors

CATALOG = json.loads((Path(__file__).parents[2] / "fixtures" / "hyperliquid" / "errors_catalog.observed.json").read_text())


@pytest.mark.parametrize(("text", "code"), [
    (errors.TICK, "tick"),
    (errors.INVALID_PRICE, "invalid_price"),
    (errors.MIN_NOTIONAL, "min_notional"),
    (errors.MARGIN, "insufficient_margin"),
    (errors.REDUCE_ONLY, "reduce_only"),
    (errors.POST_ONLY.format(bbo="(100.0, 100.1)"), "post_only_would_match"),
    (errors.IOC_NO_MATCH, "ioc_no_match"),
    (errors.INVALID_TPSL, "invalid_tpsl"),
    (errors.NO_LIQUIDITY, "no_liquidity"),
    (errors.ZERO_SIZE, "zero_size"),
    (errors.PRICE_BAND, "price_band"),
    (errors.CANCEL_MISSING, "unknown_order"),
    (errors.DUPLICATE_CLOID, "duplicate_client_id"),
    ("Order value too large. Max is $5000000.", "max_notional"),
    ("Order would increase open interest while open interest is capped", "open_interest_cap"),
    ("Order would cause position to exceed margin tier limit at current leverage", "margin_tier"),
])
def test_per_order_errors_are_definitive_rejections_with_a_code(text: str, code: str) -> None:
    error = errors.order_error(text)
    assert type(error) is VenueRejected and error.code == code and text in error.message


def test_every_documented_and_observed_order_error_is_in_the_table() -> None:
    texts = [t for entry in CATALOG["errors"] for t in entry.get("per_order_errors", [])]
    assert texts
    unmapped = [t for t in texts if errors.order_error(t).code == "rejected" and "spot" not in t.lower()]
    assert unmapped == []


@pytest.mark.parametrize(("text", "kind", "code"), [
    (errors.DUPLICATE_NONCE.format(nonce=1788895523507), VenueRejected, "invalid_nonce"),
    (errors.UNKNOWN_SIGNER.format(address="0xabc"), AuthError, "unknown_signer"),
    (errors.MUST_DEPOSIT.format(address="0xabc"), AuthError, "unknown_signer"),
    (errors.ADDRESS_LIMIT.format(used=10001, cap=10000, volume=0), RateLimited, "address_rate_limit"),
    (errors.SCHEDULE_TOO_MANY, VenueRejected, "schedule_cancel_limit"),
    (errors.SCHEDULE_TOO_SOON, VenueRejected, "schedule_cancel"),
    ("Cannot set scheduled cancel time until enough volume traded", VenueRejected, "schedule_cancel"),
    (errors.UNKNOWN_ASSET.format(asset=999), VenueRejected, "unknown_asset"),
    (errors.MIN_NOTIONAL, VenueRejected, "min_notional"),  # pre-validation: one error for the batch
    ("Something new", VenueRejected, "rejected"),
])
def test_whole_action_refusals_map_by_their_text(text: str, kind: type, code: str) -> None:
    error = errors.action_error(text)
    assert type(error) is kind and error.code == code


def test_observed_whole_action_bodies_map() -> None:
    bodies = [e["body"] for e in CATALOG["errors"] if isinstance(e.get("body"), dict) and e["body"].get("status") == "err"]
    assert {type(errors.action_error(b["response"])) for b in bodies} == {VenueRejected, AuthError}


@pytest.mark.parametrize(("status", "kind"), [
    (429, RateLimited), (500, Unavailable), (502, Unavailable), (503, Unavailable),
    (422, VenueRejected), (400, VenueRejected),
])
def test_http_failures_map_and_only_definite_ones_are_rejections(status: int, kind: type) -> None:
    error = errors.http_error(status, "body", retry_after="3")
    assert type(error) is kind
    if kind is RateLimited:
        assert isinstance(error, OutcomeUnknown) and error.retry_after_secs == 3.0


@pytest.mark.parametrize(("exc", "kind"), [
    (httpx.ReadTimeout("t"), OutcomeUnknown),
    (httpx.WriteTimeout("t"), OutcomeUnknown),
    (httpx.ConnectTimeout("t"), OutcomeUnknown),
    (httpx.ConnectError("c"), Unavailable),
    (httpx.RemoteProtocolError("p"), Unavailable),
    (httpx.ReadError("r"), Unavailable),
    (ConnectionResetError(), Unavailable),
    (RuntimeError("x"), Unavailable),
])
def test_transport_failures_are_unknown_outcomes(exc: Exception, kind: type) -> None:
    error = errors.transport_error(exc)
    assert type(error) is kind and isinstance(error, OutcomeUnknown)


def test_the_tables_only_produce_errors_of_the_venue_branch() -> None:
    from perpd.errors import VenueError

    assert all(issubclass(cls, VenueError) for cls in errors.known_errors())
