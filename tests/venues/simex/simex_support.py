"""Builders shared by the sim exchange tests (not a test module)."""

from __future__ import annotations

from decimal import Decimal

from perpd.clock import ManualClock
from venues.simex.exchange import SimExchange
from venues.simex.market_makers import FlowParams
from venues.simex.markets import MarketSpec, default_spec

D = Decimal
BTC = "BTC-PERP"


def still_spec(symbol: str = BTC) -> MarketSpec:
    """A default market whose oracle does not move on its own."""
    spec = default_spec(symbol)
    return MarketSpec(spec.symbol, spec.start_price, spec.tick_size, spec.lot_size, spec.min_size,
                      spec.min_notional, spec.max_leverage, 0.0, spec.maker_fee, spec.taker_fee)


def quiet_engine(*, makers: bool = False, takers: bool = False, clock: ManualClock | None = None,
                 **options: object) -> SimExchange:
    """An engine with a still oracle, no premium noise and (by default) no simulated flow:
    the book holds exactly what the test puts in it."""
    return SimExchange(
        [still_spec(BTC), still_spec("ETH-PERP")],
        clock=clock or ManualClock(),
        makers=makers,
        takers=takers,
        flow=FlowParams(premium_std=0.0),
        **options,  # type: ignore[arg-type]
    )
