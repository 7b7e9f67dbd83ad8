"""Fixtures of the Lighter tests (helpers are in lighter_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def api_key() -> Iterator[str]:
    """A throwaway API private key made by the SDK's own signer (never registered anywhere)."""
    from venues.lighter.signing import create_api_key

    private, _public = create_api_key()
    yield private
