"""A config's meaning as plain data: its hash (what revision is running) and the diff
between two configs (what a reload changes)."""

from __future__ import annotations

import enum
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from collections.abc import Mapping

from perpd.config.schema import Config

# --------------------------------------------------------------------------- hash and diff


def canonical(config: Config) -> dict[str, Any]:
    """The config as plain data with one spelling per meaning, for hashing and diffing:
    sets sorted (their iteration order changes with PYTHONHASHSEED), decimals normalised
    ("0.50" and "0.5" are one value)."""
    data = config.model_dump(exclude={"venues", "accounts"})
    data["venues"] = {n: v.model_dump() for n, v in config.venues.items()}
    data["accounts"] = {n: a.model_dump() for n, a in config.accounts.items()}
    return _canonical_value(data)


def _canonical_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical_value(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical_value(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [_canonical_value(v) for v in value]
    if isinstance(value, Decimal):
        # normalize() drops trailing zeros; `:f` keeps 100 as "100", not "1E+2".
        return f"{value.normalize():f}" if value.is_finite() else str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def config_hash(config: Config) -> str:
    """A short stable hash of the meaning of a config (not its formatting)."""
    text = json.dumps(canonical(config), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


SECTIONS = ("daemon", "api", "venues", "accounts", "policies", "routes", "targets", "orders", "alerts")


def _keyed(config: Config, section: str) -> dict[str, Any]:
    data = canonical(config)[section]
    if section in ("daemon", "api"):
        return {section: data}
    if isinstance(data, dict):
        return data
    items = getattr(config, section)
    return {item.key if hasattr(item, "key") else item.name: dumped for item, dumped in zip(items, data, strict=True)}


def diff(old: Config, new: Config) -> dict[str, dict[str, list[str]]]:
    """Per section, the names added, changed and removed between two configs.

    Sections with no difference are left out; an empty dict means no change.
    """
    out: dict[str, dict[str, list[str]]] = {}
    for section in SECTIONS:
        before, after = _keyed(old, section), _keyed(new, section)
        change = {
            "added": sorted(set(after) - set(before)),
            "changed": sorted(k for k in set(after) & set(before) if after[k] != before[k]),
            "removed": sorted(set(before) - set(after)),
        }
        if any(change.values()):
            out[section] = change
    return out
