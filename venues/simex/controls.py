"""`POST /_emulator/faults`: how a test tells an emulator what to do wrong next.

The body sets the emulator's fault counters by name (`{"rate_limited": 2}`, each value
coerced to its field's type) and may name one `action` (`drop_ws` everywhere, and what
the venue adds: Lighter's `desync_nonce`, Vest's `hold_orders`). The answer is the
counters as they now are; an unknown counter is a 400 in the venue's error shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

# An action: (the emulator, the rest of the body, which it may consume) -> fields of the answer.
Action = Callable[[Any, dict[str, Any]], Mapping[str, Any] | None]


def drop_ws(emulator: Any, body: dict[str, Any]) -> Mapping[str, Any]:
    """Close every WebSocket of the emulator (clients see the socket end)."""
    return {"dropped": emulator.drop_ws()}


def unknown_fault(name: str) -> Any:
    return {"error": f"unknown fault {name!r}"}


def faults_endpoint(emulator_of: Callable[[Request], Any], actions: Mapping[str, Action] | None = None, *,
                    settings: Mapping[str, Callable[[Any, Any], None]] | None = None,
                    refusal: Callable[[str], Any] = unknown_fault) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint for the emulator `emulator_of(request)`: `drop_ws` and `actions`, the
    `settings` (names that set something other than a counter: `setting(emulator, value)`),
    then the counters on its `faults`; `refusal(name)` is the body of the 400 for an unknown one."""
    table: dict[str, Action] = {"drop_ws": drop_ws, **(actions or {})}

    async def faults(request: Request) -> Response:
        emulator = emulator_of(request)
        body = orjson.loads(await request.body() or b"{}")
        action = table.get(body.pop("action", None) or "")
        result = dict(action(emulator, body) or {}) if action is not None else {}
        for name, setting in (settings or {}).items():
            if name in body:
                setting(emulator, body.pop(name))
        for name, value in body.items():
            if not hasattr(emulator.faults, name):
                return _json(refusal(name), 400)
            setattr(emulator.faults, name, type(getattr(emulator.faults, name))(value))
        return _json({"ok": True, **result, "faults": vars(emulator.faults)})

    return faults


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")
