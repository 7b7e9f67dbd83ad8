"""A real webhook receiver for the alert tests: a Starlette app served by uvicorn on
127.0.0.1, port 0, in a thread of its own (so a daemon in this process or another one
posts to it over loopback). It records every request and answers as told: queue "500",
"hang" (no answer until `release()`) or "200" per request; "200" once the plan runs out."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    path: str
    body: Any
    answered: str  # "200", "500" or "hang"


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.plan: deque[str] = deque()
        self.hanging = 0  # requests held without an answer right now
        self._lock = threading.Lock()
        self._release: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="alert-receiver", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the receiver did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._release = asyncio.Event()
        try:
            loop.run_until_complete(self._server.serve())
        finally:
            loop.close()

    async def _handle(self, request: Request) -> Response:
        body = json.loads(await request.body())
        with self._lock:
            answer = self.plan.popleft() if self.plan else "200"
            self.requests.append(Received(request.url.path, body, answer))
        if answer == "hang":
            assert self._release is not None
            with self._lock:
                self.hanging += 1
            try:
                await self._release.wait()
            finally:
                with self._lock:
                    self.hanging -= 1
            return JSONResponse({"ok": True})
        return JSONResponse({"ok": answer == "200"}, status_code=int(answer))

    def bodies(self, path: str) -> list[Any]:
        """Bodies a path was sent and answered 200 (or released)."""
        with self._lock:
            return [r.body for r in self.requests if r.path == f"/{path.lstrip('/')}"]

    def release(self) -> None:
        """Answer every held request (and every later "hang")."""
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    def close(self) -> None:
        self.release()
        self._server.should_exit = True
        self._thread.join(timeout=10)
