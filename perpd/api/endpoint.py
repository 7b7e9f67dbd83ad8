"""One declaration per endpoint: method, path, scope, models in and out, handler.

`Endpoint.route()` turns a declaration into a Starlette `Route` whose wrapper does, in
order: authenticate (and rate-limit) the caller, check the scope, validate the query
string and the JSON body into their pydantic models, run the handler, and serialise its
result through the response model. Every failure on the way becomes the one error shape.
The same declarations generate the OpenAPI document (`perpd.api.openapi`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from perpd.api.auth import LOCAL_KEY, Principal, Scope
from perpd.api.context import ApiContext
from perpd.api.errors import INTERNAL, MalformedRequest, error_response, invalid
from perpd.engine import Engine
from perpd.errors import PerpdError

log = logging.getLogger("perpd.api")

PREFIX = "/api/v1"
MAX_BODY_BYTES = 1 << 20


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
class Endpoint:
    method: str
    path: str  # below PREFIX, with {params}
    handler: Handler
    summary: str
    scope: Scope | None = "read"  # None: no token needed (the OpenAPI document)
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_text: bool = False  # the body is raw text (TOML for /plan), optional
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    tag: str = ""
    raw: bool = False  # handler returns a Starlette Response itself
    prefix: str = PREFIX

    @cached_property
    def adapter(self) -> TypeAdapter[Any] | None:
        return None if self.response is None or self.raw else TypeAdapter(self.response)

    @property
    def full_path(self) -> str:
        return self.prefix + self.path

    def route(self) -> Route:
        return Route(self.full_path, self._asgi, methods=[self.method], name=f"{self.method} {self.full_path}")

    async def _asgi(self, request: Request) -> Response:
        started = time.perf_counter()
        ctx: ApiContext = request.app.state.ctx
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
        query = self._query(request)
        body = await self._body(request)
        call = Call(ctx, request, principal, dict(request.path_params), query, body)
        result = await self.handler(call)
        if self.raw:
            return result  # type: ignore[no-any-return]
        content = b"" if self.adapter is None else self.adapter.dump_json(result)
        return Response(content, status_code=call.status or self.status, media_type="application/json", headers=call.headers)

    def _query(self, request: Request) -> Any:
        if self.query is None:
            return None
        items = request.query_params.multi_items()
        data: dict[str, Any] = {}
        for key, value in items:
            if key in data:
                raise MalformedRequest(f"query parameter {key!r} is given twice")
            data[key] = value
        try:
            return self.query.model_validate(data)
        except ValidationError as exc:
            raise invalid(exc) from None

    async def _body(self, request: Request) -> Any:
        if self.body is None and not self.body_text:
            return None
        raw = await _read(request)
        if self.body_text:
            try:
                return raw.decode("utf-8") if raw.strip() else None
            except UnicodeDecodeError:
                raise MalformedRequest("the body is not UTF-8 text") from None
        assert self.body is not None
        data = parse_json(raw) if raw.strip() else {}
        try:
            return self.body.model_validate(data)
        except ValidationError as exc:
            raise invalid(exc) from None


async def _read(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise MalformedRequest(f"body larger than {MAX_BODY_BYTES} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise MalformedRequest(f"body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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
