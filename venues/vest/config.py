"""Config keys of Vest venues and accounts.

A Vest account trades with a **signing key** (a delegate the primary wallet approved) and
an **API key** with its **account group**, both returned by `POST /register`. Either give
the API key and group you registered once (`api_key`, `account_group`), or let perpd
register the signing key on every connect (`register_on_connect = true` with the
`primary_key`, which then signs only the SignerProof). Keys are references, never values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from perpd.config import AccountConfig, SecretRef, VenueConfig
from venues.vest.constants import MAX_RECV_WINDOW_MS

EthAddress = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]


class VestVenueConfig(VenueConfig):
    kind: Literal["vest"] = "vest"
    # Vest publishes no request limits: pace conservatively unless told otherwise.
    requests_per_min: Annotated[int, Field(gt=0)] = 600
    market_slippage_bps: Annotated[Decimal, Field(gt=0, le=5000)] = Decimal(100)  # market orders' limitPrice
    recv_window_ms: Annotated[int, Field(gt=0, le=MAX_RECV_WINDOW_MS)] = 60_000
    verifying_contract: EthAddress | None = None  # default from network (register only)


class VestAccountConfig(AccountConfig):
    signing_key: SecretRef  # the delegate key that signs orders and cancels
    api_key: SecretRef | None = None  # from POST /register
    account_group: Annotated[int, Field(ge=0)] | None = None  # `accGroup` from POST /register
    register_on_connect: bool = False  # register signing_key with primary_key on each connect
    primary_key: SecretRef | None = None  # the wallet key; signs the SignerProof only
    signer_expiry_days: Annotated[int, Field(ge=1, le=365)] = 7  # how long a registration lasts

    @model_validator(mode="after")
    def _credentials(self) -> VestAccountConfig:
        # Each problem names its own key, so `perpd check` says which one to fix.
        problems: list[tuple[str, str]] = []
        if self.register_on_connect:
            if self.primary_key is None:
                problems.append(("primary_key", "required when register_on_connect = true (it signs the SignerProof)"))
            if self.api_key is not None:
                problems.append(("api_key", "leave it out when register_on_connect = true (registering returns a new one)"))
            if self.account_group is not None:
                problems.append(("account_group", "leave it out when register_on_connect = true (registering returns it)"))
        else:
            if self.api_key is None:
                problems.append(("api_key", "required (the apiKey from POST /register), or set register_on_connect = true"))
            if self.account_group is None:
                problems.append(("account_group", "required (the accGroup from POST /register), or set register_on_connect = true"))
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [InitErrorDetails(type=PydanticCustomError("value_error", text, {"error": text}), loc=(key,), input=None)
                 for key, text in problems],
            )
        return self
