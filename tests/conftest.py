"""Shared fixtures: async tests run on asyncio through the anyio plugin."""

import pytest
from hypothesis import HealthCheck, settings

# `pytest --hypothesis-profile=soak` runs the state machines for a long search.
settings.register_profile("soak", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
