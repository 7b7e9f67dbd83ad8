"""The HTTP/WebSocket API of the daemon: `create_app(daemon)` -> a Starlette app.

    routes/      the REST surface, one `ENDPOINTS` list (orders, positions, accounts,
                 markets, control), each endpoint declared with its scope and models
    endpoint.py  the declaration and the wrapper: auth, validation, errors, serialisation
    models.py    pydantic models in and out
    auth.py      bearer tokens and scopes, rate limit, Host / Origin checks
    ws.py        WebSocket endpoints; channels.py what each channel streams
    openapi.py   the OpenAPI 3.1 document and the docs page
    metrics.py   Prometheus metrics
    server.py    serve the app with uvicorn on loopback TCP and on the Unix socket

The same app serves both transports; the Unix socket needs no token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

import perpd
from perpd.api import ws
from perpd.api.auth import LOCAL_KEY, host_allowed
from perpd.api.context import ApiContext
from perpd.api.endpoint import Call, Endpoint
from perpd.api.errors import Forbidden, MethodNotAllowed, RouteNotFound, error_body, error_response
from perpd.api.metrics import CONTENT_TYPE
from perpd.api.openapi import DOCS_HTML, document
from perpd.api.routes import ENDPOINTS

if TYPE_CHECKING:
    from perpd.daemon import Daemon

__all__ = ["create_app", "ApiContext"]


async def _metrics(call: Call) -> Response:
    return Response(call.ctx.metrics.render(), media_type=CONTENT_TYPE)


async def _docs(call: Call) -> Response:
    return HTMLResponse(DOCS_HTML)


def _openapi_endpoint() -> Endpoint:
    body = b""

    async def openapi(call: Call) -> Response:
        nonlocal body
        if not body:
            from perpd.api.channels import dumps

            body = dumps(document(ENDPOINTS, version=getattr(perpd, "__version__", "0")))
        return Response(body, media_type="application/json")

    return Endpoint("GET", "/openapi.json", openapi, "This document", scope=None, raw=True, tag="docs")


EXTRA = [
    _openapi_endpoint(),
    Endpoint("GET", "/docs", _docs, "Human-readable API docs", scope=None, raw=True, tag="docs"),
    Endpoint("GET", "/metrics", _metrics, "Prometheus metrics", raw=True, prefix="", tag="control"),
]


class HostGuard:
    """Refuse requests whose Host is not in `daemon.allowed_hosts` (DNS rebinding).

    Unix-socket connections are exempt: no browser can reach them.
    """

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope.get(LOCAL_KEY):
            allowed = self.ctx.daemon.config.daemon.allowed_hosts
            if not host_allowed(scope["headers"], allowed):
                exc = Forbidden("Host header not allowed (daemon.allowed_hosts)")
                if scope["type"] == "http":
                    await error_response(exc)(scope, receive, send)
                elif "websocket.http.response" in scope.get("extensions", {}):
                    await send({"type": "websocket.http.response.start", "status": 403, "headers": [(b"content-type", b"application/json")]})
                    await send({"type": "websocket.http.response.body", "body": error_body(exc)})
                else:
                    await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        response = error_response(MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}"))
        if exc.headers:
            response.headers.update(exc.headers)
        return response
    if exc.status_code == 404:
        return error_response(RouteNotFound(f"no endpoint at {request.url.path}"))
    return error_response(Forbidden(exc.detail) if exc.status_code == 403 else RouteNotFound(exc.detail))


def create_app(daemon: Daemon) -> Starlette:
    """The API app for a started daemon (serve it with `perpd.api.server.serve`)."""
    from starlette.middleware import Middleware

    ctx = ApiContext(daemon)
    routes = [e.route() for e in (*ENDPOINTS, *EXTRA)] + ws.ROUTES
    app = Starlette(
        routes=routes,
        middleware=[Middleware(HostGuard, ctx=ctx)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.ctx = ctx
    if daemon.engine is not None:
        daemon.engine.venue_observers.append(ctx.metrics.observe_venue)
    return app
