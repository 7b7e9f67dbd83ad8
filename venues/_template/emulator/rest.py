"""The emulator's REST surface, with the venue's paths and JSON shapes.

Must: answer each path the venue serves (markets, books, trades, funding, account state,
orders, fills, the write endpoints) with the venue's status codes and bodies, built by
shapes.py; bring the exchange up to the clock before answering; honour the faults on
`app.state.emulator.faults`. (Hyperliquid names this module info.py: its REST is `/info`.)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def root(request: Request) -> Response:
    """Liveness: what the venue answers on its base path."""
    return JSONResponse({"ok": True})


def rest_routes() -> list[Any]:
    """Every REST route of the emulator (one list shows the whole surface)."""
    return [Route("/", root, methods=["GET"])]
