"""The emulator's contracts and coins, and the `getMetaData` answer that describes them.

Ids and shapes follow the recorded metadata (contract 10000001 BTC, quote coin 1000);
the V2 fields the SDK needs before it signs (`global.nativeChainId`/`chainId`,
`global.contractAddress`, contract and coin `resolution`) are set to the values of the
SDK's own unit tests (chain 33431, contract 0x1ae1...19b1): production's are not
published, and both sides read them from this answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from venues.simex.markets import MarketSpec

CHAIN_ID = 33431
CONTRACT_ADDRESS = "0x1ae109ea449cfe0bed08bfe8911e968a49a919b1"
QUOTE_COIN_ID = "1000"
QUOTE_COIN = "USDC"
QUOTE_RESOLUTION = Decimal(1_000_000)
FUNDING_INTERVAL_MIN = 240
DEFAULT_LEVERAGE = 20


@dataclass(frozen=True, slots=True)
class ContractDef:
    contract_id: str
    base: str  # the base coin's name: BTC
    base_coin_id: str
    tick: Decimal
    step: Decimal
    min_size: Decimal
    max_leverage: int
    start_price: Decimal
    volatility: float = 0.04
    taker_fee: Decimal = Decimal("0.00055")
    maker_fee: Decimal = Decimal("0.0002")
    resolution: Decimal = Decimal(1_000_000)

    @property
    def symbol(self) -> str:
        return f"{self.base}-PERP"

    @property
    def name(self) -> str:
        return f"{self.base}USD"

    def spec(self) -> MarketSpec:
        """The sim exchange's spec of this contract (EdgeX has no minimum value)."""
        return MarketSpec(
            symbol=self.symbol, start_price=self.start_price, tick_size=self.tick, lot_size=self.step,
            min_size=self.min_size, min_notional=Decimal(0), max_leverage=self.max_leverage,
            volatility=self.volatility, maker_fee=self.maker_fee, taker_fee=self.taker_fee,
        )

    def price(self, value: Decimal | None) -> str:
        """A price as EdgeX prints it: the tick's decimals ("65000.0")."""
        return _fixed(value or Decimal(0), self.tick)

    def size(self, value: Decimal) -> str:
        return _fixed(value, self.step)


def _fixed(value: Decimal, step: Decimal) -> str:
    exponent = step.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{value:.{places}f}"


def cash(value: Decimal) -> str:
    """A collateral amount: 6 decimals, as EdgeX prints USD amounts."""
    return f"{value:.6f}"


DEFAULT_CONTRACTS: tuple[ContractDef, ...] = (
    ContractDef("10000001", "BTC", "1001", Decimal("0.1"), Decimal("0.001"), Decimal("0.001"), 100,
                Decimal(65000), 0.03),
    ContractDef("10000002", "ETH", "1002", Decimal("0.01"), Decimal("0.01"), Decimal("0.01"), 50,
                Decimal(3500), 0.04),
    ContractDef("10000003", "SOL", "1003", Decimal("0.001"), Decimal("0.1"), Decimal("0.1"), 20,
                Decimal(150), 0.05),
)


def coin_json(coin_id: str, name: str, step: str, resolution: Decimal | None) -> dict[str, Any]:
    return {
        "coinId": coin_id, "coinName": name, "stepSize": step, "showStepSize": step,
        "iconUrl": f"https://static.edgex.exchange/icons/coin/{name}.svg",
        "starkExAssetId": None, "starkExResolution": None,
        "resolution": str(resolution) if resolution is not None else None,
    }


def contract_json(c: ContractDef) -> dict[str, Any]:
    leverage = str(c.max_leverage)
    return {
        "contractId": c.contract_id, "contractName": c.name, "baseCoinId": c.base_coin_id,
        "quoteCoinId": QUOTE_COIN_ID, "tickSize": str(c.tick), "stepSize": str(c.step),
        "minOrderSize": str(c.min_size), "maxOrderSize": str(c.min_size * 100_000),
        "maxOrderBuyPriceRatio": "0.05", "minOrderSellPriceRatio": "0.05",
        "maxPositionSize": str(c.min_size * 200_000), "maxMarketPositionSize": str(c.min_size * 100_000),
        "riskTierList": [{"tier": 1, "positionValueUpperBound": "1000000", "maxLeverage": leverage,
                          "maintenanceMarginRate": str(Decimal(1) / (2 * c.max_leverage)),
                          "starkExRisk": "0", "starkExUpperBound": "0"}],
        "defaultTakerFeeRate": str(c.taker_fee), "defaultMakerFeeRate": str(c.maker_fee),
        "defaultLeverage": str(min(DEFAULT_LEVERAGE, c.max_leverage)), "liquidateFeeRate": "0.01",
        "enableTrade": True, "enableDisplay": True, "enableOpenPosition": True,
        "fundingInterestRate": "0.0003", "fundingImpactMarginNotional": "10",
        "fundingMaxRate": "0.000234", "fundingMinRate": "-0.000234",
        "fundingRateIntervalMin": str(FUNDING_INTERVAL_MIN), "displayDigitMerge": str(c.tick),
        "displayMaxLeverage": leverage, "displayMinLeverage": "1",
        "displayNewIcon": False, "displayHotIcon": False, "matchServerName": "perpd-edgex-emulator",
        "starkExSyntheticAssetId": None, "starkExResolution": None, "resolution": str(c.resolution),
        "isStock": False, "isFx": False,
    }


def metadata_json(contracts: tuple[ContractDef, ...]) -> dict[str, Any]:
    """`getMetaData` data: global, coinList, contractList."""
    coins = [coin_json(QUOTE_COIN_ID, QUOTE_COIN, "0.000001", QUOTE_RESOLUTION)]
    coins += [coin_json(c.base_coin_id, c.base, str(c.step), None) for c in contracts]
    return {
        "global": {
            "appName": "edgeX", "appEnv": "emulator", "appOnlySignOn": "",
            "chainId": str(CHAIN_ID), "nativeChainId": str(CHAIN_ID), "contractAddress": CONTRACT_ADDRESS,
            "feeAccountId": "0", "maintenanceReason": "",
        },
        "coinList": coins,
        "contractList": [contract_json(c) for c in contracts],
    }
