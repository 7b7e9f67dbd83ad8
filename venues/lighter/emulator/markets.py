"""The emulator's markets: Lighter-shaped (market ids, integer scales, margin fractions).

Ids and scales follow mainnet (ETH is market 0 with 4 size / 2 price decimals, BTC
market 1 with 5 / 1, SOL market 2 with 3 / 3); fees are premium-like so fee paths are
exercised (Lighter's standard tier pays none).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from venues.lighter.constants import MARGIN_FRACTION_SCALE, MIN_ORDER_INDEX
from venues.simex.events import RestingOrder
from venues.simex.markets import MarketSpec

USDC_ASSET_ID = 3
USDC_ASSET: dict[str, Any] = {  # assetDetails (rest_assetDetails.resp.ccxt.json)
    "asset_id": USDC_ASSET_ID,
    "symbol": "USDC",
    "l1_decimals": 6,
    "decimals": 6,
    "min_transfer_amount": "1.000000",
    "min_withdrawal_amount": "1.000000",
    "margin_mode": "enabled",
    "index_price": "1.000000",
    "l1_address": "0x95Fd23d5110f9D89A4b0B7d63D78F5B5Ea5074D1",
}
HUNDRED = Decimal(100)


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
        """The sim exchange's spec of this market."""
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


# --------------------------------------------------------------------------- JSON


def market_details_json(market: MarketDef, stats: dict[str, Any]) -> dict[str, Any]:
    """A `PerpsOrderBookDetail` (orderBookDetails)."""
    return {
        **order_book_json(market, stats),
        "size_decimals": market.size_decimals,
        "price_decimals": market.price_decimals,
        "quote_multiplier": 1,
        "default_initial_margin_fraction": market.default_imf,
        "min_initial_margin_fraction": market.min_imf,
        "maintenance_margin_fraction": market.min_imf * 3 // 5,
        "closeout_margin_fraction": market.min_imf * 2 // 5,
        "last_trade_price": float(stats["last_trade_price"]),
        "daily_trades_count": 0,
        "daily_base_token_volume": 0,
        "daily_quote_token_volume": 0,
        "daily_price_low": float(stats["mark_price"]),
        "daily_price_high": float(stats["mark_price"]),
        "daily_price_change": 0,
        "daily_chart": {},
        "market_config": {
            "market_margin_mode": 0,
            "insurance_fund_account_index": 281474976710655,
            "liquidation_mode": 0,
            "force_reduce_only": False,
            "funding_fee_discounts_enabled": False,
            "trading_hours": "",
            "hidden": False,
            "rfq_enabled": False,
        },
        "strategy_index": 0,
        "funding_clamp_small": "0.0500",
        "funding_clamp_big": "4.0000",
        "base_interest_rate": "0.0100",
        "mark_price": stats["mark_price"],
        "index_price": stats["index_price"],
        "market_flags": 0,
        "funding_premium_multiplier": 0,
        "open_interest": float(stats["open_interest"]),  # a number here, a string in orderBooks
    }


def order_book_json(market: MarketDef, stats: dict[str, Any]) -> dict[str, Any]:
    """An `OrderBook` (orderBooks); also the common part of a details row."""
    return {
        "symbol": market.base,
        "market_id": market.market_id,
        "market_type": "perp",
        "base_asset_id": 0,
        "quote_asset_id": USDC_ASSET_ID,
        "status": "active",
        "taker_fee": f"{market.taker_fee * HUNDRED:.4f}",
        "maker_fee": f"{market.maker_fee * HUNDRED:.4f}",
        "liquidation_fee": "1.0000",
        "min_base_amount": market.fmt_size(market.min_base_amount),
        "min_quote_amount": f"{market.min_quote_amount:.6f}",
        "supported_size_decimals": market.size_decimals,
        "supported_price_decimals": market.price_decimals,
        "supported_quote_decimals": 6,
        "order_quote_limit": "281474976.710655",
        "is_maker_fee_enabled": True,
        "is_taker_fee_enabled": True,
        "created_at": "0",
        "multiplier": "1",
        "start_timestamp": 0,
        "end_timestamp": 0,
        "settlement_type": 0,
        "settlement_price": 0,
        "settlement_cap": 0,
        "outcome": 0,
        "default_price": 0,
        "operator_account_index": 0,
        "is_frozen": False,
        "open_interest": stats["open_interest"],
    }


def simple_order_json(market: MarketDef, order: RestingOrder, owner: int, expiry_ms: int) -> dict[str, Any]:
    """A `SimpleOrder` of orderBookOrders: one resting order and its owner."""
    idx = MIN_ORDER_INDEX + order.oid
    return {
        "order_index": idx,
        "order_id": str(idx),
        "owner_account_index": owner,
        "initial_base_amount": market.fmt_size(order.size),
        "remaining_base_amount": market.fmt_size(order.remaining),
        "price": market.fmt_price(order.price),
        "order_expiry": expiry_ms,
        "transaction_time": 0,  # what the live capture shows
    }
