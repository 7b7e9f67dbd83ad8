"""The sim venue: the contract over the in-process exchange (to be completed)."""

from __future__ import annotations

from typing import ClassVar

from venues.base import Venue
from venues.sim.config import SimAccountConfig, SimVenueConfig


class SimVenue(Venue):
    kind: ClassVar[str] = "sim"
    config_model = SimVenueConfig
    account_model = SimAccountConfig
