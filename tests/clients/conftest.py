"""Fixtures for the client tests: one real daemon (`perpd run`, sim venue) per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clients_support import RunningDaemon


@pytest.fixture(scope="module")
def daemon() -> Iterator[RunningDaemon]:
    running = RunningDaemon()
    try:
        yield running
    finally:
        running.stop()
