"""A refusal the emulator answers with Vest's error body `{"code", "msg"}`.

Codes are errors.py's constants, so the emulator and the connector speak one language.
HTTP statuses are not documented: 401 for a missing or unknown API key, 429 when
throttled, 400 for everything else.
"""

from __future__ import annotations

from typing import Any


class VestError(Exception):
    """Refuse a request: nothing happened."""

    def __init__(self, code: int, msg: str, *, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}
