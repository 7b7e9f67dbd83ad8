"""The Lighter venue (to be completed)."""

from __future__ import annotations

from typing import ClassVar

from venues.base import Venue
from venues.lighter.config import LighterAccountConfig, LighterVenueConfig


class LighterVenue(Venue):
    kind: ClassVar[str] = "lighter"
    config_model = LighterVenueConfig
    account_model = LighterAccountConfig
