"""Venue kinds -> venue classes, through the entry point group `perpd.venues`.

Built-in venues and third-party plug-ins load through the same path: each entry maps a
`kind` to a `Venue` subclass (`sim = "venues.sim.venue:SimVenue"`); a plug-in package
declares its own entry in its pyproject and is found once installed. Nothing is imported
until a kind is asked for, so the config can validate venue sections without importing
any venue module itself.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol

from perpd.errors import ConfigError

GROUP = "perpd.venues"


class VenueKind(Protocol):
    """What the config needs of a venue class: its models and its capabilities."""

    kind: str
    config_model: Any
    account_model: Any
    capabilities: Any


@cache
def _entries() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def kinds() -> list[str]:
    """Every venue kind that can be configured."""
    return sorted(_entries())


@cache
def venue_class(kind: str) -> Any:
    """Load the class for `kind`; ConfigError if no installed venue provides it."""
    entry = _entries().get(kind)
    if entry is None:
        raise ConfigError(f"unknown venue kind {kind!r} (installed: {', '.join(kinds()) or 'none'})")
    cls = entry.load()
    if not (isinstance(cls, type) and all(hasattr(cls, a) for a in ("config_model", "account_model", "capabilities", "session"))):
        raise ConfigError(f"entry point {entry.value!r} for kind {kind!r} is not a Venue subclass")
    if getattr(cls, "kind", kind) != kind:
        raise ConfigError(f"{cls.__name__}.kind is {cls.kind!r} but it is registered as {kind!r}")
    return cls
