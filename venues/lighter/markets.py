"""Lighter markets: `orderBookDetails` rows -> perpd Markets with Lighter's integer scales.

Pure; no I/O. Tick = 10^-price_decimals, lot = 10^-size_decimals, minimums from
`min_base_amount` / `min_quote_amount`, max leverage = 10,000 / min initial margin
fraction; fees in `orderBookDetails` are percentages ("0.0200" = 2 bps).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpd.model import ZERO, Market, normalize_symbol
from venues.lighter.constants import MARGIN_FRACTION_SCALE

HUNDRED = Decimal(100)


def dec(value: Any, default: Decimal | None = ZERO) -> Decimal | None:
    """A Lighter number (string or JSON number) as Decimal; "" and None give `default`."""
    if value is None or value == "":
        return default
    if isinstance(value, float):
        return Decimal(repr(value))  # shortest repr, not the binary expansion
    return Decimal(value)


@dataclass(frozen=True, slots=True)
class LighterMarket:
    """A perp market with the integer scales Lighter's txs use."""

    market: Market
    market_id: int
    size_decimals: int
    price_decimals: int
    default_initial_margin_fraction: int
    min_initial_margin_fraction: int

    @property
    def symbol(self) -> str:
        return self.market.symbol

    def to_wire_size(self, size: Decimal) -> int:
        """Size -> BaseAmount; raises ValueError unless `size` is a whole lot."""
        return _scaled(size, self.size_decimals, "size")

    def to_wire_price(self, price: Decimal) -> int:
        """Price -> Price integer; raises ValueError unless `price` is a whole tick."""
        return _scaled(price, self.price_decimals, "price")

    def from_wire_size(self, amount: int) -> Decimal:
        return Decimal(amount).scaleb(-self.size_decimals)

    def from_wire_price(self, price: int) -> Decimal:
        return Decimal(price).scaleb(-self.price_decimals)


def _scaled(value: Decimal, decimals: int, label: str) -> int:
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{label} {value} has more than {decimals} decimals")
    return int(scaled)


def parse_markets(body: Mapping[str, Any], venue: str) -> list[LighterMarket]:
    """`GET /api/v1/orderBookDetails` (or `orderBooks`) -> active perp markets."""
    rows = body.get("order_book_details")
    if rows is None:
        rows = body.get("order_books") or []
    out = []
    for row in rows:
        if row.get("market_type", "perp") != "perp" or row.get("status", "active") != "active":
            continue
        out.append(parse_market(row, venue))
    return out


def parse_market(row: Mapping[str, Any], venue: str) -> LighterMarket:
    size_decimals = int(row.get("size_decimals", row.get("supported_size_decimals")))
    price_decimals = int(row.get("price_decimals", row.get("supported_price_decimals")))
    default_imf = int(row.get("default_initial_margin_fraction") or 0)
    min_imf = int(row.get("min_initial_margin_fraction") or 0) or default_imf
    max_leverage = MARGIN_FRACTION_SCALE // min_imf if min_imf else 1
    base = str(row["symbol"]).upper()
    lot = Decimal(1).scaleb(-size_decimals)
    market = Market(
        venue=venue,
        symbol=normalize_symbol(base),
        venue_symbol=str(row["market_id"]),
        base=base,
        quote="USDC",
        tick_size=Decimal(1).scaleb(-price_decimals),
        lot_size=lot,
        min_size=max(dec(row.get("min_base_amount"), lot) or lot, lot),
        min_notional=dec(row.get("min_quote_amount")) or ZERO,
        max_leverage=max(max_leverage, 1),
        # orderBookDetails fees are percentages ("0.0200" = 2 bps).
        maker_fee=(dec(row.get("maker_fee")) or ZERO) / HUNDRED,
        taker_fee=(dec(row.get("taker_fee")) or ZERO) / HUNDRED,
    )
    return LighterMarket(market, int(row["market_id"]), size_decimals, price_decimals, default_imf, min_imf)
