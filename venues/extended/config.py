"""Config keys of Extended venues and accounts.

An account trades with two credentials, both secret references: the API key (header
`X-Api-Key` on every private request and on the account stream) and the Stark private
key that signs every order. `vault` (Extended's `l2Vault`, the collateral position the
orders settle against) is read from the account at connect when not given; when given,
it must match. A builder fee is added to the signed fee only when the account opts in
with both `builder_id` and `builder_fee`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from perpd.config import AccountConfig, SecretRef, VenueConfig

MAX_EXPIRY_SECS = 28 * 86400  # testnet allows 28 days, mainnet 90: the smaller works on both


class ExtendedVenueConfig(VenueConfig):
    kind: Literal["extended"] = "extended"
    # StarknetDomain chain id of the order hash; default from `network` (SN_MAIN / SN_SEPOLIA).
    chain_id: Literal["SN_MAIN", "SN_SEPOLIA"] | None = None
    requests_per_min: Annotated[int, Field(gt=0)] = 1000  # Extended's default tier
    market_slippage_bps: Annotated[int, Field(gt=0, le=5000)] = 75  # the SDK's 0.75 %
    order_expiry_secs: Annotated[int, Field(ge=60, le=MAX_EXPIRY_SECS)] = 7 * 86400


class ExtendedAccountConfig(AccountConfig):
    api_key: SecretRef  # a reference such as "env:EXTENDED_API_KEY", never the key
    stark_private_key: SecretRef  # the account's L2 key: signs every order
    vault: Annotated[int, Field(ge=0)] | None = None  # l2Vault; read from the venue if absent
    builder_id: Annotated[int, Field(ge=0)] | None = None
    builder_fee: Annotated[Decimal, Field(ge=0, le=Decimal("0.01"), allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _builder(self) -> ExtendedAccountConfig:
        if (self.builder_id is None) != (self.builder_fee is None):
            raise ValueError("builder_id and builder_fee: give both (opt in to a builder fee) or neither")
        return self
