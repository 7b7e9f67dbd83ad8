"""Fixtures for the client tests: one real daemon (`perpd run`, sim venue) for them all;
each test cleans up what it places, so the tests do not depend on their order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clients_support import RunningDaemon


@pytest.fixture(scope="session")
def daemon() -> Iterator[RunningDaemon]:
    running = RunningDaemon()
    try:
        yield running
    finally:
        running.stop()
