"""Venue kinds -> venue classes: the registry lives in `perpd.plugins` (below both the
config and the venues); this module keeps the venue-side name for it."""

from perpd.plugins import GROUP, kinds, venue_class

__all__ = ["GROUP", "kinds", "venue_class"]
