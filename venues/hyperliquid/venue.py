"""The Hyperliquid venue (to be completed)."""

from __future__ import annotations

from typing import ClassVar

from venues.base import Venue
from venues.hyperliquid.config import HyperliquidAccountConfig, HyperliquidVenueConfig


class HyperliquidVenue(Venue):
    kind: ClassVar[str] = "hyperliquid"
    config_model = HyperliquidVenueConfig
    account_model = HyperliquidAccountConfig
