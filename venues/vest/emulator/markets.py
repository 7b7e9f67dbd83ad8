"""The emulator's markets, in Vest's terms (decimals, margin ratios, the flat taker fee).

BTC-PERP's decimals and ratios are the docs' example (4 size / 2 price, initial margin
0.1 there; 0.02 here so the leverage cap is a crypto-like 50x); the others are chosen
in the same style. The fee is the docs' flat 0.01 % (`takerFee: "0.0001"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from venues.simex.markets import MarketSpec
from venues.vest.markets import max_leverage

TAKER_FEE = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class MarketDef:
    symbol: str  # Vest's name: BTC-PERP
    base: str
    size_decimals: int
    price_decimals: int
    init_margin_ratio: Decimal
    maint_margin_ratio: Decimal
    start_price: Decimal
    volatility: float = 0.04
    taker_fee: Decimal = TAKER_FEE

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def lot(self) -> Decimal:
        return Decimal(1).scaleb(-self.size_decimals)

    @property
    def max_leverage(self) -> int:
        return max_leverage(self.init_margin_ratio)

    def spec(self) -> MarketSpec:
        """The sim exchange's spec: every user fill is a taker fill at Vest's fee."""
        return MarketSpec(
            symbol=self.symbol,
            start_price=self.start_price,
            tick_size=self.tick,
            lot_size=self.lot,
            min_size=self.lot,
            min_notional=Decimal(0),
            max_leverage=self.max_leverage,
            volatility=self.volatility,
            maker_fee=self.taker_fee,
            taker_fee=self.taker_fee,
        )

    def price(self, value: Decimal | None) -> str | None:
        """A price as Vest prints it: priceDecimals digits (more if an average needs them)."""
        return None if value is None else _digits(value, self.price_decimals)

    def size(self, value: Decimal) -> str:
        return _digits(value, self.size_decimals)


def _digits(value: Decimal, decimals: int) -> str:
    if value == value.quantize(Decimal(1).scaleb(-decimals)):
        return f"{value:.{decimals}f}"
    return format(value.normalize(), "f")


def usdc(value: Decimal) -> str:
    """Money as Vest prints it: 6 decimals (collateralDecimals)."""
    return f"{value:.6f}"


DEFAULT_MARKETS: tuple[MarketDef, ...] = (
    MarketDef("BTC-PERP", "BTC", 4, 2, Decimal("0.02"), Decimal("0.01"), Decimal(65000), 0.03),
    MarketDef("ETH-PERP", "ETH", 3, 2, Decimal("0.04"), Decimal("0.02"), Decimal(3500), 0.04),
    MarketDef("SOL-PERP", "SOL", 2, 3, Decimal("0.1"), Decimal("0.05"), Decimal(150), 0.05),
)
