"""Helpers of the Lighter tests: recorded fixtures, a loopback server, a throwaway key."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lighter"


def fixture(name: str) -> Any:
    """A recorded payload from tests/fixtures/lighter/ (see its README for provenance)."""
    return json.loads((FIXTURES / name).read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
def api_key() -> Iterator[str]:
    """A throwaway API private key made by the SDK's own signer (never registered anywhere)."""
    from venues.lighter.signing import create_api_key

    private, _public = create_api_key()
    yield private


def secrets_of(mapping: dict[str, str]) -> Any:
    """A SecretResolver over a dict of reference -> value (test-only)."""

    def resolve(reference: str) -> SecretStr:
        return SecretStr(mapping[reference])

    return resolve
