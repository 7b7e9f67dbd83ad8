"""Config keys of Lighter venues and accounts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from perpd.config import AccountConfig, Model, SecretRef, VenueConfig


class LighterVenueConfig(VenueConfig):
    kind: Literal["lighter"] = "lighter"
    tier: Literal["standard", "premium"] = "standard"
    requests_per_min: Annotated[int, Field(gt=0)] | None = None  # default from tier
    tx_per_min: Annotated[int, Field(gt=0)] | None = None  # default from tier
    market_slippage_bps: Annotated[int, Field(gt=0, le=5000)] = 100
    signer_threads: Annotated[int, Field(ge=1, le=8)] = 1
    chain_id: Annotated[int, Field(gt=0)] | None = None  # default from network: 304 / 300
    auth_token_secs: Annotated[int, Field(ge=60, le=8 * 3600)] = 6 * 3600  # Lighter allows 8 h


class LighterApiKey(Model):
    index: Annotated[int, Field(ge=0, le=254)]
    secret: SecretRef


class LighterAccountConfig(AccountConfig):
    account_index: Annotated[int, Field(ge=0)]
    api_keys: tuple[LighterApiKey, ...]  # used round-robin for throughput

    @model_validator(mode="after")
    def _keys(self) -> LighterAccountConfig:
        if not self.api_keys:
            raise ValueError("api_keys: at least one API key is needed")
        indices = [k.index for k in self.api_keys]
        if len(set(indices)) != len(indices):
            raise ValueError("api_keys: an index is listed twice")
        return self
