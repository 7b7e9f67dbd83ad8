"""The OpenAPI 3.1 document, generated from the endpoint declarations, and a docs page.

OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what pydantic emits, so every model
is used as is; `$defs` are hoisted into `components.schemas`. The docs page is a small
self-contained HTML file that fetches the JSON and renders it: no CDN, works offline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter

from perpd.api.endpoint import Endpoint
from perpd.api.models import Error

_REF = "#/components/schemas/{model}"
_STATUS_TEXT = {
    200: "OK", 201: "Created",
    400: "The request does not match this document (details.fields names each field)",
    401: "Missing or invalid token",
    403: "Forbidden: the token lacks the scope, Host or Origin not allowed, or denied by a trading state or policy",
    404: "Not found", 409: "Conflict",
    422: "Matches this document but refused on its merits (a rule of the market, the config, the venue)",
    429: "Rate limited (Retry-After)", 502: "The venue answered with an error", 503: "Unavailable",
    504: "The venue did not answer in time: the outcome is unknown",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, t: Any, mode: str) -> dict[str, Any]:
        schema = TypeAdapter(t).json_schema(mode=mode, ref_template=_REF)  # type: ignore[arg-type]
        self.components.update(schema.pop("$defs", {}))
        title = schema.get("title")
        if schema.get("type") == "object" and isinstance(title, str):
            self.components[title] = schema
            return {"$ref": _REF.format(model=title)}
        return schema


def document(endpoints: Iterable[Endpoint], *, version: str, metrics_public: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `endpoints`; `metrics_public`: /metrics needs no token."""
    schemas = _Schemas()
    error_ref = schemas.ref(Error, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    every = list(endpoints)
    for ep in every:
        metrics = ep.full_path == "/metrics"
        op: dict[str, Any] = {"summary": ep.summary, "operationId": _operation_id(ep), "tags": [ep.tag] if ep.tag else []}
        params = [
            {"name": name, "in": "path", "required": True, "schema": _param(adapter.json_schema(mode="validation"))}
            for name, adapter in ep.path_params.items()
        ]
        params += [
            {"name": p.name, "in": place, "required": p.required, "schema": _param(p.schema),
             **({"description": p.schema["description"]} if "description" in p.schema else {})}
            for place, group in (("query", ep.query_params), ("header", ep.header_params))
            for p in group.values()
        ]
        if params:
            op["parameters"] = params
        if ep.body is not None:
            content = {"application/json": {"schema": schemas.ref(ep.body, "validation")}}
            if ep.body_text:
                text = {"schema": {"type": "string", "description": "the config file's text"}}
                content |= {"application/toml": text, "text/plain": text}
            op["requestBody"] = {"required": ep.body_required, "content": content}
        responses: dict[str, Any] = {}
        for status in (ep.status, *ep.also):
            if ep.response is not None:
                responses[str(status)] = {
                    "description": _STATUS_TEXT.get(status, "OK"),
                    "content": {"application/json": {"schema": schemas.ref(ep.response, "serialization")},
                                **{media: {"schema": {"type": "string"}} for media in ep.text_formats}},
                }
        if ep.raw and ep.response is None:
            raw = {"type": "object"} if ep.media_type == "application/json" else {"type": "string"}
            responses[str(ep.status)] = {"description": "OK", "content": {ep.media_type: {"schema": raw}}}
        if ep.links:
            for status in (ep.status, *ep.also):
                responses[str(status)]["links"] = _links(ep, every)
        codes = set(ep.error_statuses) | ({401, 429} if metrics and not metrics_public else set())
        for code in sorted(codes):
            responses[str(code)] = {
                "description": _STATUS_TEXT.get(code, "Error"),
                "content": {"application/json": {"schema": error_ref}},
                **({"headers": _RETRY_AFTER} if code == 429 else {}),
            }
        op["responses"] = responses
        scope = "read" if metrics and not metrics_public else ep.scope
        if scope:
            op["security"] = [{"bearer": []}]
            op["x-scope"] = scope
            op["description"] = f"Needs a token with the `{scope}` scope (or the Unix socket)."
        paths.setdefault(ep.full_path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "perpd API",
            "version": version,
            "description": "REST under /api/v1; WebSocket streams under /ws/v1 (see docs/api.md). "
            "Every error is {\"error\": {\"type\", \"message\", \"details\"}}: 400 when a request does not match "
            "this document, 422 when it does but is refused on its merits.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.components.items())), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _links(ep: Endpoint, endpoints: list[Endpoint]) -> dict[str, Any]:
    """OpenAPI links from `ep`'s success to every operation on the paths its `links` name."""
    return {
        _operation_id(target): {"operationId": _operation_id(target), "parameters": {name: expression for name in target.path_params}}
        for path, expression in ep.links
        for target in endpoints
        if target.path == path and target.prefix == ep.prefix
    }


def _param(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("title", "description")}


def _operation_id(ep: Endpoint) -> str:
    words = [w.strip("{}") for w in ep.path.split("/") if w]
    return "_".join([ep.method.lower(), *words])


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>perpd API</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;margin-top:2em;text-transform:capitalize}
details{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.3em .6em}
summary{cursor:pointer}code,pre{font:12px ui-monospace,monospace}
pre{background:#f6f6f6;padding:.6em;overflow:auto;max-height:30em}
.m{display:inline-block;width:4.5em;font-weight:bold}.GET{color:#06c}.POST{color:#080}.DELETE{color:#c00}.PATCH{color:#a60}
.scope{float:right;color:#666}table{border-collapse:collapse}td{padding:.1em .8em .1em 0;vertical-align:top}
</style></head><body>
<h1>perpd API</h1><p id="info">Loading <a href="openapi.json">openapi.json</a>&hellip;</p><div id="out"></div>
<script>
const esc = s => String(s).replace(/[&<>]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
fetch('openapi.json').then(r => r.json()).then(doc => {
  const schemas = doc.components.schemas, groups = {};
  document.getElementById('info').innerHTML = esc(doc.info.description) + ' Version ' + esc(doc.info.version) +
    '. Raw document: <a href="openapi.json">openapi.json</a>.';
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) (groups[op.tags[0] || 'other'] ||= []).push([method.toUpperCase(), path, op]);
  const schema = s => { if (!s) return ''; const ref = s.$ref && s.$ref.split('/').pop();
    return '<pre>' + (ref ? esc(ref) + ' = ' : '') + esc(JSON.stringify(ref ? schemas[ref] : s, null, 2)) + '</pre>'; };
  let html = '';
  for (const [tag, ops] of Object.entries(groups)) {
    html += '<h2>' + esc(tag) + '</h2>';
    for (const [method, path, op] of ops) {
      html += '<details><summary><span class="m ' + method + '">' + method + '</span><code>' + esc(path) + '</code> &mdash; ' +
        esc(op.summary) + '<span class="scope">' + esc(op['x-scope'] || 'public') + '</span></summary>';
      if (op.parameters) html += '<table>' + op.parameters.map(p => '<tr><td><code>' + esc(p.name) + '</code></td><td>' + esc(p.in) +
        (p.required ? ', required' : '') + '</td><td><code>' + esc(JSON.stringify(p.schema)) + '</code></td></tr>').join('') + '</table>';
      if (op.requestBody) html += '<p>Body:</p>' + schema(Object.values(op.requestBody.content)[0].schema);
      for (const [code, r] of Object.entries(op.responses)) {
        const c = r.content && Object.values(r.content)[0];
        html += '<p>' + esc(code) + ' ' + esc(r.description) + '</p>' + (code < 400 && c ? schema(c.schema) : '');
      }
      html += '</details>';
    }
  }
  document.getElementById('out').innerHTML = html;
});
</script></body></html>
"""
