"""The emulator's markets: Lighter-shaped (market ids, integer scales, margin fractions).

Ids and scales follow mainnet (ETH is market 0 with 4 size / 2 price decimals, BTC
market 1 with 5 / 1, SOL market 2 with 3 / 3); fees are premium-like so fee paths are
exercised (Lighter's standard tier pays none).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from venues.lighter.constants import MARGIN_FRACTION_SCALE
from venues.sim.markets import MarketSpec


@dataclass(frozen=True, slots=True)
class MarketDef:
    market_id: int
    base: str  # Lighter's `symbol`: ETH
    size_decimals: int
    price_decimals: int
    min_base_amount: Decimal
    min_quote_amount: Decimal
    default_imf: int  # 1/10,000: 500 = 5% = 20x
    min_imf: int
    start_price: Decimal
    volatility: float = 0.04
    maker_fee: Decimal = Decimal("0.00002")  # fraction of notional (0.2 bps)
    taker_fee: Decimal = Decimal("0.0002")  # 2 bps

    @property
    def symbol(self) -> str:
        return f"{self.base}-PERP"

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def lot(self) -> Decimal:
        return Decimal(1).scaleb(-self.size_decimals)

    @property
    def max_leverage(self) -> int:
        return MARGIN_FRACTION_SCALE // self.min_imf

    def spec(self) -> MarketSpec:
        """The sim engine's spec of this market."""
        return MarketSpec(
            symbol=self.symbol,
            start_price=self.start_price,
            tick_size=self.tick,
            lot_size=self.lot,
            min_size=self.min_base_amount,
            min_notional=self.min_quote_amount,
            max_leverage=self.max_leverage,
            volatility=self.volatility,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
        )

    def price(self, wire: int) -> Decimal:
        return Decimal(wire).scaleb(-self.price_decimals)

    def size(self, wire: int) -> Decimal:
        return Decimal(wire).scaleb(-self.size_decimals)

    def wire_price(self, price: Decimal) -> int:
        return int(price.scaleb(self.price_decimals))

    def wire_size(self, size: Decimal) -> int:
        return int(size.scaleb(self.size_decimals))

    def fmt_price(self, price: Decimal | None) -> str:
        return f"{price or 0:.{self.price_decimals}f}"

    def fmt_size(self, size: Decimal | None) -> str:
        return f"{size or 0:.{self.size_decimals}f}"


DEFAULT_MARKETS: tuple[MarketDef, ...] = (
    MarketDef(0, "ETH", 4, 2, Decimal("0.0050"), Decimal(10), 500, 200, Decimal("3500.00")),
    MarketDef(1, "BTC", 5, 1, Decimal("0.00020"), Decimal(10), 500, 200, Decimal("65000.0"), volatility=0.03),
    MarketDef(2, "SOL", 3, 3, Decimal("0.050"), Decimal(10), 1000, 500, Decimal("150.000"), volatility=0.05),
)
