"""The emulator's markets, Extended-shaped: `BTC-USD` names, tradingConfig steps and an
l2Config per market (synthetic asset ids spelled as Extended spells them: the ASCII of
`BTC-6` -- asset and resolution exponent -- left-aligned in 15 bytes; collateral `0x1`,
USD with 6 decimals). Fees are Extended's standard tier: 0 % maker, 0.025 % taker.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from venues.simex.markets import MarketSpec

COLLATERAL_ID = "0x1"
COLLATERAL_RESOLUTION = 1_000_000
MAKER_FEE = Decimal("0.00000")
TAKER_FEE = Decimal("0.00025")


@dataclass(frozen=True, slots=True)
class MarketDef:
    asset: str  # BTC
    asset_precision: int
    tick: Decimal  # minPriceChange
    lot: Decimal  # minOrderSizeChange
    min_size: Decimal  # minOrderSize
    max_leverage: int
    start_price: Decimal
    volatility: float = 0.04
    synthetic_resolution_exp: int = 6

    @property
    def name(self) -> str:
        return f"{self.asset}-USD"

    @property
    def symbol(self) -> str:
        return f"{self.asset}-PERP"

    @property
    def synthetic_resolution(self) -> int:
        return 10**self.synthetic_resolution_exp

    @property
    def synthetic_id(self) -> str:
        raw = f"{self.asset}-{self.synthetic_resolution_exp}".encode().ljust(15, b"\0")
        return "0x" + raw.hex()

    def spec(self) -> MarketSpec:
        """The sim exchange's spec of this market (no minimum notional on Extended)."""
        return MarketSpec(
            symbol=self.symbol, start_price=self.start_price, tick_size=self.tick, lot_size=self.lot,
            min_size=self.min_size, min_notional=Decimal(0), max_leverage=self.max_leverage,
            volatility=self.volatility, maker_fee=MAKER_FEE, taker_fee=TAKER_FEE,
        )

    def price(self, value: Decimal | None) -> str:
        """A price as Extended prints it: on the tick's scale."""
        return format((value or Decimal(0)).quantize(self.tick), "f")

    def size(self, value: Decimal | None) -> str:
        return format((value or Decimal(0)).quantize(self.lot), "f")


DEFAULT_MARKETS: tuple[MarketDef, ...] = (
    MarketDef("BTC", 5, Decimal(1), Decimal("0.00001"), Decimal("0.0001"), 50, Decimal(65000), 0.03, 6),
    MarketDef("ETH", 3, Decimal("0.1"), Decimal("0.001"), Decimal("0.01"), 50, Decimal(3500), 0.04, 5),
    MarketDef("SOL", 2, Decimal("0.01"), Decimal("0.01"), Decimal("0.1"), 20, Decimal(150), 0.05, 3),
)


def risk_factors(market: MarketDef) -> list[dict[str, str]]:
    rf = Decimal(1) / market.max_leverage
    return [{"upperBound": "4000000", "riskFactor": format(rf.normalize(), "f")},
            {"upperBound": "1000000000", "riskFactor": "1"}]


def market_json(market: MarketDef, stats: dict[str, Any]) -> dict[str, Any]:
    """One row of GET /info/markets, with every field SDK 2.6.0's MarketModel requires."""
    return {
        "name": market.name,
        "uiName": market.name,
        "category": "Crypto",
        "type": "PERPETUAL",
        "assetName": market.asset,
        "assetPrecision": market.asset_precision,
        "collateralAssetName": "USD",
        "collateralAssetPrecision": 6,
        "active": True,
        "status": "ACTIVE",
        "isRfq": False,
        "isOffHours": False,
        "tradingHours": "CONTINUOUS",
        "marketStats": stats,
        "tradingConfig": {
            "minOrderSize": format(market.min_size, "f"),
            "minOrderSizeChange": format(market.lot, "f"),
            "minPriceChange": format(market.tick, "f"),
            "maxMarketOrderValue": "3000000",
            "maxLimitOrderValue": "15000000",
            "maxPositionValue": "60000000",
            "maxLeverage": f"{market.max_leverage}.00",
            "maxNumOrders": "200",
            "limitPriceCap": "0.05",
            "limitPriceFloor": "0.05",
            "riskFactorConfig": risk_factors(market),
        },
        "l2Config": {
            "type": "STARKX",
            "collateralId": COLLATERAL_ID,
            "syntheticId": market.synthetic_id,
            "syntheticResolution": market.synthetic_resolution,
            "collateralResolution": COLLATERAL_RESOLUTION,
        },
        "visibleOnUi": True,
        "createdAt": 1752829532673,
    }
