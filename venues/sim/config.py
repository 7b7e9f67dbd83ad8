"""Config keys of the built-in `sim` venue and its paper accounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from perpd.config import AccountConfig, Model, NonNegativeDecimal, PositiveDecimal, Symbol, VenueConfig


class SimMarketConfig(Model):
    """One synthetic market; unset keys take the defaults of a real-looking market."""

    symbol: Symbol
    start_price: PositiveDecimal | None = None
    tick_size: PositiveDecimal | None = None
    lot_size: PositiveDecimal | None = None
    min_size: PositiveDecimal | None = None
    min_notional: NonNegativeDecimal | None = None
    max_leverage: Annotated[int, Field(gt=0, le=200)] | None = None
    volatility: Annotated[float, Field(ge=0, le=1)] | None = None  # daily, as a fraction

    @model_validator(mode="after")
    def _on_the_grid(self) -> SimMarketConfig:
        # Checked here so a bad market names its TOML path instead of failing at start-up.
        from venues.sim.markets import spec_from_config

        spec = spec_from_config(self, Decimal(0), Decimal(0))
        if spec.start_price % spec.tick_size:
            raise ValueError(f"start_price {spec.start_price} is not a multiple of tick_size {spec.tick_size}")
        if spec.min_size % spec.lot_size:
            raise ValueError(f"min_size {spec.min_size} is not a multiple of lot_size {spec.lot_size}")
        return self


class SimVenueConfig(VenueConfig):
    kind: Literal["sim"] = "sim"
    seed: int = 7
    markets: tuple[SimMarketConfig | Symbol, ...] = ("BTC-PERP", "ETH-PERP", "SOL-PERP")
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    funding_interval_secs: Annotated[int, Field(gt=0)] = 3600
    step_ms: Annotated[int, Field(gt=0, le=60_000)] = 250  # simulation tick
    makers: bool = True  # simulated market makers keep liquidity around the mark
    takers: bool = True  # simulated takers trade against the book
    persist: bool = True  # keep paper balances and positions in the state dir


class SimAccountConfig(AccountConfig):
    starting_balance: PositiveDecimal = Decimal(100_000)
