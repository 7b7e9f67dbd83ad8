"""Config keys of the venue and its accounts (template)."""

from __future__ import annotations

from typing import Literal

from perpd.config import AccountConfig, SecretRef, VenueConfig


class TemplateVenueConfig(VenueConfig):
    kind: Literal["template"] = "template"
    # venue-wide keys: rate-limit tier, market slippage cap, ...


class TemplateAccountConfig(AccountConfig):
    api_key: SecretRef  # a reference such as "env:TEMPLATE_API_KEY", never the key
