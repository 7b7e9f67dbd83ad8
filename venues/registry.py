"""Venue kinds -> venue classes.

Built-in venues and third-party plug-ins load through the same path: the entry point
group `perpd.venues`, where each entry maps a `kind` to a `Venue` subclass
(`sim = "venues.sim.venue:SimVenue"`). A plug-in package declares its own entry in its
pyproject and is found once installed.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from perpd.errors import ConfigError

if TYPE_CHECKING:
    from venues.base import Venue

GROUP = "perpd.venues"


@cache
def _entries() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def kinds() -> list[str]:
    """Every venue kind that can be configured."""
    return sorted(_entries())


@cache
def venue_class(kind: str) -> type[Venue]:
    """Load the class for `kind`; ConfigError if no installed venue provides it."""
    from venues.base import Venue

    entry = _entries().get(kind)
    if entry is None:
        raise ConfigError(f"unknown venue kind {kind!r} (installed: {', '.join(kinds()) or 'none'})")
    cls = entry.load()  # type: ignore[attr-defined]
    if not (isinstance(cls, type) and issubclass(cls, Venue)):
        raise ConfigError(f"entry point {entry.value!r} for kind {kind!r} is not a Venue subclass")  # type: ignore[attr-defined]
    if getattr(cls, "kind", kind) != kind:
        raise ConfigError(f"{cls.__name__}.kind is {cls.kind!r} but it is registered as {kind!r}")
    return cls
