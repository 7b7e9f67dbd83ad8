"""What every venue's tests share: an ASGI app served on loopback, and secrets from a dict."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from pydantic import SecretStr


@asynccontextmanager
async def serve(app: Any, **options: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1; yields its base URL.

    uvicorn binds port 0 itself and the port is read back from its socket, so two tests
    never race for one port. `options` go to uvicorn.Config (e.g. `ws=` to pin the
    WebSocket implementation an emulator needs)."""
    options = {"log_level": "warning", "lifespan": "on", "timeout_graceful_shutdown": 1, **options}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, **options))
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # it failed to start: say why
            await asyncio.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def secrets_of(mapping: dict[str, str]) -> Callable[[str], SecretStr]:
    """A SecretResolver over a dict of reference -> value (test-only)."""

    def resolve(reference: str) -> SecretStr:
        return SecretStr(mapping[reference])

    return resolve
