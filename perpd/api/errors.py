"""The API's errors and the one JSON error shape: {"error": {"type", "message", "details"}}.

Everything a handler raises is a `PerpdError` by the time it leaves the endpoint wrapper:
domain errors carry their own `http_status`; request-shape problems are mapped here
(malformed JSON -> 400, failed validation -> 422 naming each field); anything else is a
bug, answered with a bare 500 that leaks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.responses import Response

from perpd.errors import InvalidRequest, PerpdError


class MalformedBody(InvalidRequest):
    """The body is not JSON (or not the JSON of an object)."""

    http_status = 400
    type_name = "malformed_json"


class Unauthorized(PerpdError):
    """No bearer token, or one that matches no configured token."""

    http_status = 401
    type_name = "unauthorized"


class Forbidden(PerpdError):
    """The token is valid but lacks the scope, or the Host/Origin is not allowed."""

    http_status = 403
    type_name = "forbidden"


class Conflict(PerpdError):
    http_status = 409
    type_name = "conflict"


class TooManyRequests(PerpdError):
    """This token spent its request budget (`api.requests_per_sec`); retry after a while."""

    http_status = 429
    type_name = "rate_limited"

    def __init__(self, message: str, *, retry_after_secs: float) -> None:
        super().__init__(message, details={"retry_after_secs": round(retry_after_secs, 3)})
        self.retry_after_secs = retry_after_secs


class RouteNotFound(PerpdError):
    http_status = 404
    type_name = "not_found"


class MethodNotAllowed(PerpdError):
    http_status = 405
    type_name = "method_not_allowed"


INTERNAL = PerpdError("internal error; see the daemon log")


def error_body(exc: PerpdError) -> bytes:
    return orjson.dumps(exc.to_dict(), default=str)


def error_response(exc: PerpdError) -> Response:
    """The one error shape, with the error's status (and Retry-After when it has one)."""
    headers = {}
    retry = getattr(exc, "retry_after_secs", None)
    if retry is not None:
        headers["Retry-After"] = str(max(1, round(retry)))
    status = exc.http_status if 400 <= exc.http_status < 600 else 500
    return Response(error_body(exc), status_code=status, media_type="application/json", headers=headers)


# --------------------------------------------------------------------------- validation


def invalid(exc: ValidationError, where: str = "") -> InvalidRequest:
    """A 422 naming every field that failed: `size: must be positive (got -1)`."""
    fields = [{"field": _path(err["loc"], where), "message": _message(err)} for err in exc.errors(include_url=False)]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return InvalidRequest(message or "invalid request", details={"fields": fields})


def field_error(field: str, message: str) -> InvalidRequest:
    """A 422 for one field checked by hand (path parameters, cross-field rules)."""
    return InvalidRequest(f"{field}: {message}", details={"fields": [{"field": field, "message": message}]})


def _path(loc: Sequence[Any], where: str) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and "[" in p and p.endswith("]"))]
    path = ".".join(parts)
    if where and path:
        return path  # field names are unique enough; the location is in `where`
    return path or where or "body"


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    got = err.get("input")
    shown = f" (got {_short(got)})" if got is not None and kind not in ("missing", "extra_forbidden", "model_type", "dict_type") else ""
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()))
        if kind == "greater_than" and str(bound) == "0":
            return f"must be positive{shown}"
        return f"must be {op} {bound}{shown}"
    if kind in ("decimal_parsing", "decimal_type", "finite_number", "decimal_max_digits", "decimal_max_places"):
        return f"{err['msg'][0].lower()}{err['msg'][1:]}{shown}" if kind.startswith("decimal_max") else f"must be a finite number{shown}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer{shown}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false{shown}"
    if kind in ("enum", "literal_error"):
        return f"must be one of {ctx.get('expected')}{shown}"
    if kind in ("string_type",):
        return f"must be a string{shown}"
    if kind == "string_pattern_mismatch":
        return f"has an invalid format{shown}"
    return f"{err['msg'][0].lower()}{err['msg'][1:]}{shown}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
