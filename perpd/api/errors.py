"""The API's errors and the one JSON error shape: {"error": {"type", "message", "details"}}.

Everything a handler raises is a `PerpdError` by the time it leaves the endpoint wrapper,
answered with its `http_status`, except where the API's own rule differs (`API_STATUS`).
The rule for the client's mistakes:

    400  the request does not match the OpenAPI document: malformed JSON, a field or
         parameter of the wrong type or out of bounds, unknown or repeated parameters,
         unknown fields (details.fields names each)
    422  the request matches the document but is refused on its merits: a price off the
         tick, a config the daemon will not load, a verb the venue lacks, the venue's no

Anything else is a bug, answered with a bare 500 that leaks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.responses import Response

from perpd.errors import (  # noqa: F401 - re-exported for the API modules
    ConfigError,
    Conflict,
    Forbidden,
    InvalidRequest,
    MalformedRequest,
    MethodNotAllowed,
    NotSupported,
    PerpdError,
    TooManyRequests,
    Unauthorized,
)


# The API's own refusals (Unauthorized, Forbidden, ...) live in the one error tree,
# perpd.errors, shared with the client.


class RouteNotFound(PerpdError):
    http_status = 404
    type_name = "not_found"


class SchemaViolation(InvalidRequest):
    """The request does not match the OpenAPI document (a client catches InvalidRequest)."""

    http_status = 400


# Errors whose default status would say "malformed" (400) although the request matched the
# document: a config refused by validation, a verb the venue lacks. At this API they are 422.
API_STATUS: dict[type[PerpdError], int] = {ConfigError: 422, NotSupported: 422}

INTERNAL = PerpdError("internal error; see the daemon log")


def status_of(exc: PerpdError) -> int:
    for cls in type(exc).__mro__:
        if cls in API_STATUS:
            return API_STATUS[cls]
    return exc.http_status if 400 <= exc.http_status < 600 else 500


def error_body(exc: PerpdError) -> bytes:
    return orjson.dumps(exc.to_dict(), default=str)


def error_response(exc: PerpdError) -> Response:
    """The one error shape, with the error's status (and Retry-After when it has one)."""
    headers = {}
    retry = getattr(exc, "retry_after_secs", None)
    if retry is not None:
        headers["Retry-After"] = str(max(1, round(retry)))
    return Response(error_body(exc), status_code=status_of(exc), media_type="application/json", headers=headers)


# --------------------------------------------------------------------------- validation


def invalid(exc: ValidationError, *, prefix: str = "") -> SchemaViolation:
    """A 400 naming every field that failed: `size: must be positive (got '-1')`."""
    fields = [{"field": _path(err["loc"], prefix), "message": _message(err)} for err in exc.errors(include_url=False)]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return SchemaViolation(message or "invalid request", details={"fields": fields})


def schema_error(field: str, message: str) -> SchemaViolation:
    """A 400 for one field that breaks the document (a repeated or unknown parameter)."""
    return SchemaViolation(f"{field}: {message}", details={"fields": [{"field": field, "message": message}]})


def field_error(field: str, message: str) -> InvalidRequest:
    """A 422 naming one field that matches the document but is refused on its merits
    (a leverage above the market's maximum, fields valid alone but not together)."""
    return InvalidRequest(f"{field}: {message}", details={"fields": [{"field": field, "message": message}]})


def _path(loc: Sequence[Any], prefix: str = "") -> str:
    # pydantic names validators in locations ("function-after[...]"): not a field.
    parts = [str(p) for p in loc if not (isinstance(p, str) and "[" in p and p.endswith("]"))]
    return ".".join(p for p in (prefix, *parts) if p) or "body"


_COMPARISONS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
_PLAIN = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "model_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}
_KINDS = {
    "decimal_parsing": "must be a finite number",
    "decimal_type": "must be a finite number",
    "finite_number": "must be a finite number",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "string_pattern_mismatch": "has an invalid format",
}


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    shown = f" (got {_short(err.get('input'))})"
    if kind in _COMPARISONS:
        bound = next(iter(ctx.values()))
        if kind == "greater_than" and str(bound) == "0":
            return f"must be positive{shown}"
        return f"must be {_COMPARISONS[kind]} {bound}{shown}"
    if kind in ("enum", "literal_error"):
        return f"must be one of {ctx.get('expected')}{shown}"
    if kind in _KINDS:
        return _KINDS[kind] + shown
    return f"{err['msg'][0].lower()}{err['msg'][1:]}{shown}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
