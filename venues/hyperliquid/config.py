"""Config keys of Hyperliquid venues and accounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from perpd.config import AccountConfig, SecretRef, VenueConfig

EthAddress = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]


class HyperliquidVenueConfig(VenueConfig):
    kind: Literal["hyperliquid"] = "hyperliquid"
    market_slippage_bps: Annotated[Decimal, Field(gt=0, le=5000)] = Decimal(500)  # market = IOC limit
    ip_weight_per_min: Annotated[int, Field(gt=0)] = 1200

    @model_validator(mode="after")
    def _network_matches(self) -> HyperliquidVenueConfig:
        # Signing follows `network`: mainnet's URL with testnet signatures is always refused.
        if self.rest_url and self.rest_url.rstrip("/") == "https://api.hyperliquid.xyz" and self.network != "mainnet":
            raise ValueError('rest_url is mainnet\'s: set network = "mainnet"')
        return self


class HyperliquidAccountConfig(AccountConfig):
    account_address: EthAddress  # the master account whose positions are traded
    signer: SecretRef  # agent (API) wallet private key
    vault_address: EthAddress | None = None  # trade a vault / sub-account
    allow_master_key: bool = False  # refuse a signer whose address is the account's
    builder_address: EthAddress | None = None
    builder_fee_tenths_bp: Annotated[int, Field(ge=0, le=1000)] | None = None
