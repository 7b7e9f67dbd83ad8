"""Config keys of the venue and its accounts (template).

Must: subclass `VenueConfig` and `AccountConfig` (frozen pydantic, `extra="forbid"`),
set `kind` as a Literal, and hold credentials as `SecretRef` fields — references such as
`env:TEMPLATE_API_KEY`, never the secret itself. Venue-wide keys (rate-limit tier,
market slippage cap, network) go on the venue; per-account keys on the account.
`rest_url` / `ws_url` overrides come from `VenueConfig`, so the venue can point at its
emulator, a testnet or mainnet. Every key appears in `perpd.toml.example`.
"""

from __future__ import annotations

from typing import Literal

from perpd.config import AccountConfig, SecretRef, VenueConfig


class TemplateVenueConfig(VenueConfig):
    kind: Literal["template"] = "template"
    # venue-wide keys: rate-limit tier, market slippage cap, ...


class TemplateAccountConfig(AccountConfig):
    api_key: SecretRef  # a reference such as "env:TEMPLATE_API_KEY", never the key
