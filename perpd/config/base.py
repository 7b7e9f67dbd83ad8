"""What every config model is built on, below both perpd's config and the venues: the
value types (secret references, symbols, names, decimals), the frozen `Model`, and the
keys every venue and every account has. A venue kind subclasses `VenueConfig` and
`AccountConfig` with its own keys."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt

from perpd.model import MarginMode, normalize_symbol

# --------------------------------------------------------------------------- value types

_REFERENCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|keystore:[A-Za-z0-9_.-]+)$")


def _secret_reference(value: str) -> str:
    if not _REFERENCE.match(value):
        # Never echo the value: it may be the secret itself.
        raise ValueError(
            "must be a secret reference (env:NAME, file:/path or keystore:NAME), "
            "not a literal value"
        )
    return value


SecretRef = Annotated[str, AfterValidator(_secret_reference)]
"""A reference to a secret. The config never holds the secret itself."""

Symbol = Annotated[str, AfterValidator(normalize_symbol)]
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


def _symbol_or_star(value: str) -> str:
    return "*" if value == "*" else normalize_symbol(value)


SymbolOrStar = Annotated[str, AfterValidator(_symbol_or_star)]


class Model(BaseModel):
    """Base for every config model: frozen, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class VenueConfig(Model):
    """Keys every venue has; a venue kind subclasses this with its own keys."""

    kind: str
    network: Literal["mainnet", "testnet"] = "mainnet"
    rest_url: str | None = None
    ws_url: str | None = None
    timeout_secs: Annotated[float, Field(gt=0, le=120)] = 10.0
    enabled: bool = True


class AccountConfig(Model):
    """Keys every account has; a venue kind subclasses this with its credentials."""

    venue: Name
    enabled: bool = True
    adopt: bool = False
    leverage: dict[Symbol, PositiveInt] = Field(default_factory=dict)
    margin_mode: MarginMode = MarginMode.CROSS
    on_exit: Literal["leave", "cancel_all"] = "leave"
    dead_mans_switch_secs: Annotated[int, Field(ge=0)] = 0  # 0 = off
    max_target_slices_per_minute: PositiveInt = 60  # every target on the account together


