"""One declaration per endpoint: method, path, scope, models in and out, handler.

`starlette_routes(endpoints)` turns declarations into Starlette routes, one per path (so that a
wrong method's 405 lists every method of the path in `Allow`), whose wrapper does, in
order: authenticate (and rate-limit) the caller, check the scope, validate the path
parameters, the query string, the headers and the body against the same models the
OpenAPI document is generated from (`perpd.api.openapi`), run the handler, and serialise
its result through the response model. Every failure on the way becomes the one error
shape; a request that does not match the document is a 400 naming the field.

Query strings carry text: a parameter documented as a boolean is `true` or `false`, an
integer is decimal digits, and each parameter is given at most once.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as ASGIScope

from perpd.api.auth import LOCAL_KEY, Principal, Scope, host_allowed
from perpd.api.context import ApiContext
from perpd.api.errors import INTERNAL, MalformedRequest, error_response, invalid, schema_error
from perpd.api.models import PATH_PARAMS, PlanIn
from perpd.engine import Engine
from perpd.errors import PerpdError

log = logging.getLogger("perpd.api")

PREFIX = "/api/v1"
MAX_BODY_BYTES = 1 << 20
# What a call to a venue may answer besides success: throttled (429), the venue's error or
# refused credentials (502), down (503), no answer in time (504).
VENUE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(slots=True)
class Call:
    """What a handler receives: the validated inputs and where to put status/headers."""

    ctx: ApiContext
    request: Request
    principal: Principal
    params: dict[str, str]
    query: Any
    body: Any
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return self.ctx.engine

    @property
    def actor(self) -> str:
        """The name journaled as the actor: `api:<token name>` or `local`."""
        return self.principal.name if self.principal.local else f"api:{self.principal.name}"


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class QueryParam:
    """A query (or header) parameter as documented: its schema, and how its text is read."""

    name: str
    schema: dict[str, Any]
    required: bool
    kind: str  # "string", "integer" or "boolean": what the text must look like


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # below PREFIX, with {params} (typed by models.PATH_PARAMS)
    handler: Handler
    summary: str
    scope: Scope | None = "read"  # None: no token needed (the OpenAPI document)
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None  # fields aliased to header names
    body: type[BaseModel] | None = None
    body_text: bool = False  # the body may also be raw text (TOML for /plan); it is optional
    response: Any = None
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses, same response model
    errors: tuple[int, ...] = ()  # what the handler may raise (see `error_statuses`)
    venue: bool = False  # the handler may call a venue: VENUE_STATUSES
    engine: bool = True  # needs the running engine: 503 before it starts
    tag: str = ""
    raw: bool = False  # handler returns a Starlette Response itself
    hot: bool = False  # served by `HotRoutes` ahead of the app's routing (the order path)
    media_type: str = "application/json"  # what a raw handler's 200 carries (documented)
    # OpenAPI links from a success: (the path of the operations it leads to, the runtime
    # expression of their path parameter), so a client, or the fuzzer, can follow a new
    # order to its reads and changes.
    links: tuple[tuple[str, str], ...] = ()
    text_formats: tuple[str, ...] = ()  # other media types of its answer (e.g. text/csv by ?format=csv): the
    # handler returns a Starlette Response for them, the JSON answer otherwise
    prefix: str = PREFIX

    @cached_property
    def adapter(self) -> TypeAdapter[Any] | None:
        return None if self.response is None or self.raw else TypeAdapter(self.response)

    @cached_property
    def full_path(self) -> str:
        return self.prefix + self.path

    @cached_property
    def path_params(self) -> dict[str, TypeAdapter[Any]]:
        return {name: TypeAdapter(PATH_PARAMS[name]) for name in re.findall(r"{(\w+)}", self.path)}

    @cached_property
    def query_params(self) -> dict[str, QueryParam]:
        return parameters(self.query)

    @cached_property
    def header_params(self) -> dict[str, QueryParam]:
        return parameters(self.headers)

    @property
    def body_required(self) -> bool:
        """Whether a request must have a body: an absent one is `{}`, so only a model
        with a required field needs one (and /plan's is optional: the file on disk)."""
        return self.body is not None and not self.body_text and any(f.is_required() for f in self.body.model_fields.values())

    @property
    def error_statuses(self) -> tuple[int, ...]:
        """Every error status this endpoint can answer (the OpenAPI document lists each)."""
        # 400: a request not as documented (an unknown query parameter, at the least);
        # 403: a Host or Origin not allowed, before anything else.
        codes = {400, 403, *self.errors}
        if self.scope is not None:
            codes |= {401, 429}  # no or a bad token; this token's request budget spent
        if self.venue:
            codes |= VENUE_STATUSES
        if self.engine:
            codes.add(503)  # the daemon is not running yet
        return tuple(sorted(codes))

    async def _asgi(self, request: Request) -> Response:
        return await self.respond(request.app.state.ctx, request)

    async def respond(self, ctx: ApiContext, request: Request) -> Response:
        """The whole wrapper (auth, validation, handler, errors, metrics) for one request."""
        started = time.perf_counter()
        try:
            response = await self._run(ctx, request)
        except PerpdError as exc:
            response = error_response(exc)
        except Exception:  # noqa: BLE001 - a bug answers 500 without leaking details
            log.exception("%s %s failed", self.method, self.full_path)
            response = error_response(INTERNAL)
        ctx.metrics.observe_request(self.method, self.full_path, response.status_code, time.perf_counter() - started)
        return response

    async def _run(self, ctx: ApiContext, request: Request) -> Response:
        scope = request.scope
        if self.scope is None:
            principal = Principal("anonymous", frozenset())
        else:
            principal = ctx.auth.authenticate(scope["headers"], local=bool(scope.get(LOCAL_KEY)))
            principal.require(self.scope)
        params = self._path(request)
        query = self._query(request)
        self._headers(request)
        body = await self._body(request)
        call = Call(ctx, request, principal, params, query, body)
        result = await self.handler(call)
        if self.raw or (self.text_formats and isinstance(result, Response)):
            return result  # type: ignore[no-any-return]
        content = b"" if self.adapter is None else self.adapter.dump_json(result)
        return Response(content, status_code=call.status or self.status, media_type="application/json", headers=call.headers)

    def _path(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, value in request.path_params.items():
            try:
                params[name] = self.path_params[name].validate_python(value)
            except ValidationError as exc:
                raise invalid(exc, prefix=name) from None
        return params

    def _query(self, request: Request) -> Any:
        if self.query is None and not request.scope.get("query_string"):
            return None  # nothing to parse, nothing to validate (most POSTs)
        data: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in data:
                raise schema_error(key, "given twice; give each query parameter once")
            param = self.query_params.get(key)
            if param is None:
                raise schema_error(key, "unknown query parameter" + _known(self.query_params))
            data[key] = _from_text(param, value)
        if self.query is None:
            return None
        try:
            return self.query.model_validate(data)
        except ValidationError as exc:
            raise invalid(exc) from None

    @cached_property
    def _header_names(self) -> dict[bytes, str]:
        return {p.name.lower().encode("latin-1"): p.name for p in self.header_params.values()}

    @cached_property
    def _no_headers(self) -> Any:
        assert self.headers is not None
        try:
            return self.headers.model_validate({})  # frozen: one instance serves every request
        except ValidationError as exc:
            raise invalid(exc) from None

    def _headers(self, request: Request) -> Any:
        if self.headers is None:
            return None
        wanted = self._header_names
        data: dict[str, str] = {}
        for key, value in request.scope["headers"]:  # the first of each, as Headers[name]
            name = wanted.get(key)
            if name is not None and name not in data:
                data[name] = value.decode("latin-1")
        if not data:
            return self._no_headers  # the usual request: none of its optional headers
        try:
            return self.headers.model_validate(data)
        except ValidationError as exc:
            raise invalid(exc) from None

    async def _body(self, request: Request) -> Any:
        if self.body is None:
            return None
        raw = await _read(request)
        if self.body_text and not raw.strip():
            return None
        if self.body_text and not _is_json(request.headers.get("content-type", "")):
            try:
                return PlanIn(toml=raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise MalformedRequest("the body is not UTF-8 text") from None
        if self.hot and raw.strip():
            # The order body in one pass (pydantic parses and validates the JSON). Only the
            # hot bodies: their Decimal fields refuse a JSON float (read inexactly here),
            # and anything refused is read again below, so errors are the same either way.
            try:
                return self.body.model_validate_json(raw)
            except ValidationError:
                pass
        data = parse_json(raw) if raw.strip() else {}
        try:
            return self.body.model_validate(data)
        except ValidationError as exc:
            raise invalid(exc) from None


class HotRoutes:
    """ASGI middleware answering the hot endpoints (`Endpoint.hot`: placing an order)
    without the layers in front of their route that would only pass them through.

    A request takes this way only when those layers would do nothing to it: the exact
    method and path, no Origin header (not a browser: no CORS headers to add, no origin to
    check) and a Host `BrowserGuard` allows, or the Unix socket. Anything else goes the
    full way. Auth, rate limit, validation, Idempotency-Key and the error shape are the
    endpoint's own wrapper (`Endpoint.respond`), the same on both ways. The routing and
    CORS layers cost about as much CPU as the order path's own checks.
    """

    def __init__(self, app: ASGIApp, ctx: ApiContext, endpoints: Iterable[Endpoint]) -> None:
        self.app = app
        self.ctx = ctx
        self.routes = {(ep.method, ep.full_path): ep for ep in endpoints if ep.hot}
        self._allowed: object = None
        self._hosts: dict[bytes, bool] = {}

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = self.routes.get((scope["method"], scope["path"]))
            if endpoint is not None and self._passes_guard(scope):
                response = await endpoint.respond(self.ctx, Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _passes_guard(self, scope: ASGIScope) -> bool:
        headers = scope["headers"]
        host = None
        for key, value in headers:
            if key == b"origin":
                return False
            if key == b"host" and host is None:
                host = value
        if scope.get(LOCAL_KEY):
            return True
        # The answer for a Host header is kept while the allowed hosts stay the same
        # config value (a client sends the same Host every time); a few entries at most.
        allowed = self.ctx.daemon.config.daemon.allowed_hosts
        if allowed is not self._allowed or len(self._hosts) >= 64:
            self._allowed, self._hosts = allowed, {}
        verdict = self._hosts.get(host) if host is not None else None
        if verdict is None:
            verdict = host_allowed(headers, allowed)
            if host is not None:
                self._hosts[host] = verdict
        return verdict


def starlette_routes(endpoints: Iterable[Endpoint]) -> list[Route]:
    """One Starlette route per path, dispatching on the method: a method the path lacks is
    a 405 whose `Allow` names every method it has (HEAD with GET)."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for ep in endpoints:
        by_path.setdefault(ep.full_path, {})[ep.method] = ep
    return [_route(path, methods) for path, methods in by_path.items()]


def _route(path: str, methods: dict[str, Endpoint]) -> Route:
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await methods[method]._asgi(request)

    return Route(path, dispatch, methods=list(methods), name=path)


def parameters(model: type[BaseModel] | None) -> dict[str, QueryParam]:
    """The model's fields as documented parameters: a null is not something a query
    string or a header can say, so an optional parameter is one left out."""
    if model is None:
        return {}
    schema = model.model_json_schema(mode="validation")
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    out = {}
    for name, prop in schema.get("properties", {}).items():
        one = _inline(_not_null(prop), defs)
        if prop.get("default") is not None:
            one["default"] = prop["default"]
        if "description" in prop:
            one["description"] = prop["description"]
        one.pop("title", None)
        out[name] = QueryParam(name, one, name in required, one.get("type", "string"))
    return out


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if len(branches) == 1:
        return {**branches[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
    return dict(schema)


def _inline(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.pop("$ref", None)
    if ref is None:
        return schema
    target = dict(defs[ref.rsplit("/", 1)[-1]])
    target.pop("title", None)
    return {**target, **schema}


_INTEGER = re.compile(r"-?[0-9]+")


def _from_text(param: QueryParam, text: str) -> Any:
    """A query string's text as the JSON value its schema describes, or a 400 naming it."""
    if param.kind == "boolean":
        if text not in ("true", "false"):
            raise schema_error(param.name, f"must be true or false (got {_short(text)})")
        return text == "true"
    if param.kind == "integer":
        try:
            if _INTEGER.fullmatch(text):
                return int(text)
        except ValueError:  # more digits than int() takes: no bound comes near
            pass
        raise schema_error(param.name, f"must be an integer (got {_short(text)})")
    return text


def _known(params: dict[str, QueryParam]) -> str:
    return f" (known: {', '.join(params)})" if params else " (this endpoint takes none)"


def _short(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


async def _read(request: Request) -> bytes:
    for key, value in request.scope["headers"]:
        if key == b"content-length":
            if value.isdigit() and int(value) > MAX_BODY_BYTES:
                raise MalformedRequest(f"body larger than {MAX_BODY_BYTES} bytes")
            break
    # The ASGI messages themselves, as Request.stream() reads them, without its generator.
    chunks = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise MalformedRequest(f"body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            body = b"".join(chunks)
            request._body = body  # what Request.body() answers if anyone asks again
            return body


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse_json(raw: bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal (never a float)."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad syntax, NaN/Infinity and integers past 4300 digits.
        raise MalformedRequest(f"malformed JSON: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:117] + "..."
