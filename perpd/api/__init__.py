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

from collections.abc import Iterable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

import perpd
from perpd.api import ws
from perpd.api.auth import LOCAL_KEY, host_allowed, origin_allowed
from perpd.api.context import ApiContext
from perpd.api.endpoint import Call, Endpoint, HotRoutes, starlette_routes
from perpd.api.errors import Forbidden, MethodNotAllowed, RouteNotFound, error_body, error_response
from perpd.api.metrics import CONTENT_TYPE
from perpd.api.openapi import DOCS_HTML, document
from perpd.api.routes import ENDPOINTS

if TYPE_CHECKING:
    from perpd.config import ApiConfig
    from perpd.daemon import Daemon

__all__ = ["create_app", "ApiContext"]


async def _metrics(call: Call) -> Response:
    """`[api] metrics = "public"` (loopback binds only) lets a scraper in without a token."""
    ctx = call.ctx
    if ctx.daemon.config.api.metrics == "token":
        scope = call.request.scope
        ctx.auth.authenticate(scope["headers"], local=bool(scope.get(LOCAL_KEY))).require("read")
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)


async def _docs(call: Call) -> Response:
    return HTMLResponse(DOCS_HTML)


def _openapi_endpoint() -> Endpoint:
    cached: tuple[ApiConfig, bytes] | None = None

    async def openapi(call: Call) -> Response:
        # The document says whether /metrics needs a token, so it follows the config.
        nonlocal cached
        api = call.ctx.daemon.config.api
        if cached is None or cached[0] is not api:
            from perpd.api.channels import dumps

            doc = document(ENDPOINTS + EXTRA, version=getattr(perpd, "__version__", "0"), metrics_public=api.metrics == "public")
            cached = (api, dumps(doc))
        return Response(cached[1], media_type="application/json")

    return Endpoint("GET", "/openapi.json", openapi, "This document", scope=None, raw=True, engine=False, tag="docs")


EXTRA = [
    _openapi_endpoint(),
    Endpoint("GET", "/docs", _docs, "Human-readable API docs", scope=None, raw=True, engine=False, tag="docs",
             media_type="text/html"),
    # Its scope is the config's ([api] metrics): checked in the handler, documented as such.
    Endpoint("GET", "/metrics", _metrics, "Prometheus metrics (text format)", scope=None, raw=True, engine=False,
             prefix="", tag="control", media_type="text/plain"),
]

# What a browser page may send and read across origins.
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key")
CORS_EXPOSED = ("Retry-After", "Idempotent-Replayed", "Allow")


class BrowserGuard:
    """Refuse what a hostile web page could send, before anything else runs:

    - a Host not in `daemon.allowed_hosts` (DNS rebinding);
    - an Origin (sent by browsers) that is neither in `api.allowed_origins` nor the
      daemon's own origin, on HTTP requests, CORS preflights and WebSockets alike.

    Allowed origins then get CORS from Starlette's middleware, rebuilt when the config
    changes. No credentials mode: perpd uses no cookies; a page sends its token in the
    Authorization header, which the preflight allows. Unix-socket connections are exempt:
    no browser can reach them.
    """

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx
        self._cors: tuple[ApiConfig, ASGIApp] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get(LOCAL_KEY):
            await self.app(scope, receive, send)
            return
        config = self.ctx.daemon.config
        problem = browser_refusal(scope["headers"], config.daemon.allowed_hosts, config.api.allowed_origins)
        if problem is not None:
            await refuse(problem, scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self._cors_for(config.api)(scope, receive, send)

    def _cors_for(self, api: ApiConfig) -> ASGIApp:
        if self._cors is None or self._cors[0] is not api:
            middleware = CORSMiddleware(
                self.app,
                allow_origins=api.allowed_origins,
                allow_methods=CORS_METHODS,
                allow_headers=CORS_HEADERS,
                expose_headers=CORS_EXPOSED,
                allow_credentials=False,
                # A listed page served from a public address may call this private one
                # (Chrome's Private Network Access asks in the preflight).
                allow_private_network=True,
            )
            self._cors = (api, middleware)
        return self._cors[1]


def browser_refusal(headers: Iterable[tuple[bytes, bytes]], hosts: Iterable[str], origins: Iterable[str]) -> Forbidden | None:
    """What `BrowserGuard` refuses (also at the fan-out workers' door): a Host not
    allowed, or an Origin that is neither allowed nor the daemon's own."""
    if not host_allowed(headers, hosts):
        return Forbidden("Host header not allowed (daemon.allowed_hosts)")
    if not origin_allowed(headers, origins):
        return Forbidden("Origin not allowed (api.allowed_origins)")
    return None


async def refuse(exc: Forbidden, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a refused request or WebSocket handshake with `exc` (403 in the error shape)."""
    if scope["type"] == "http":
        await error_response(exc)(scope, receive, send)
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": 403, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "websocket.http.response.body", "body": error_body(exc)})
    else:
        await send({"type": "websocket.close", "code": 1008})


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
    ctx = ApiContext(daemon)
    app = Starlette(
        routes=[*starlette_routes([*ENDPOINTS, *EXTRA]), *ws.ROUTES],
        # The order path skips routing and CORS when they would pass it through untouched.
        middleware=[Middleware(HotRoutes, ctx=ctx, endpoints=ENDPOINTS), Middleware(BrowserGuard, ctx=ctx)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.ctx = ctx
    if daemon.engine is not None:
        daemon.engine.venue_observers.append(ctx.metrics.observe_venue)
    return app
