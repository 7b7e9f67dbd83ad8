"""Plain-data conversion of the domain model for JSON (API, journal details, bus).

Decimals become strings (exact), enums their values, dataclasses dicts of their fields.
"""

from __future__ import annotations

import dataclasses
import enum
from decimal import Decimal
from typing import Any


def to_data(value: Any) -> Any:
    """Convert model objects (dataclasses, Decimals, enums, containers) to JSON-able data."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_data(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)
