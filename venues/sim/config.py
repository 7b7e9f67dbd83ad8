"""Config keys of the built-in `sim` venue and its paper accounts, and the exchange
settings (simex market specs, fees, flow) they stand for."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from perpd.config import AccountConfig, Model, NonNegativeDecimal, PositiveDecimal, Symbol, VenueConfig
from venues.simex.markets import MarketSpec, default_spec


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


def spec_from_config(entry: SimMarketConfig | str, maker_fee: Decimal, taker_fee: Decimal) -> MarketSpec:
    """Merge one `markets` entry of the venue config over the symbol's defaults."""
    if isinstance(entry, str):
        entry = SimMarketConfig(symbol=entry)
    base = default_spec(entry.symbol)
    start = entry.start_price if entry.start_price is not None else base.start_price
    tick = entry.tick_size if entry.tick_size is not None else base.tick_size
    lot = entry.lot_size if entry.lot_size is not None else base.lot_size
    return MarketSpec(
        symbol=base.symbol,
        start_price=start,
        tick_size=tick,
        lot_size=lot,
        min_size=entry.min_size if entry.min_size is not None else max(base.min_size, lot),
        min_notional=entry.min_notional if entry.min_notional is not None else base.min_notional,
        max_leverage=entry.max_leverage if entry.max_leverage is not None else base.max_leverage,
        volatility=entry.volatility if entry.volatility is not None else base.volatility,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
    )


def specs_from_config(config: SimVenueConfig) -> list[MarketSpec]:
    return [spec_from_config(m, config.maker_fee, config.taker_fee) for m in config.markets]


def exchange_options(config: SimVenueConfig) -> dict[str, Any]:
    """The `SimExchange` settings a venue config sets besides its markets (the seed of a
    restored exchange comes from its saved state instead)."""
    return {
        "seed": config.seed,
        "funding_interval_secs": config.funding_interval_secs,
        "step_ms": config.step_ms,
        "makers": config.makers,
        "takers": config.takers,
    }
