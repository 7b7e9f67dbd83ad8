"""Vest's markets: `GET /exchangeInfo` -> perpd Markets, and the wire format of numbers.

Rules from the docs: the contract (lot) size and the minimum size are 1e-sizeDecimals;
prices carry priceDecimals (taken as the tick); leverage is capped by the initial margin
ratio (max = 1 / initMarginRatio); `isolated: false` means cross margin only. There is
no minimum notional in exchangeInfo, so none is assumed. Every fill is against Vest
itself (no maker side), so the maker fee is the taker fee.

Vest names crypto markets `BTC-PERP` (perpd's own form, `kBONK-PERP` upper-cased) and
equities, indices and FX `AAPL-USD-PERP`, which become `AAPL_USD-PERP` in perpd.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from perpd.errors import InvalidRequest
from perpd.model import ZERO, Market, normalize_symbol


def dec(value: Any, default: Decimal | None = ZERO) -> Decimal | None:
    """A Vest decimal string (or number) as Decimal; None/"" -> `default`."""
    if value is None or value == "":
        return default
    return Decimal(str(value))


def unified_symbol(venue_symbol: str) -> str:
    """`BTC-PERP` -> `BTC-PERP`, `kBONK-PERP` -> `KBONK-PERP`, `AAPL-USD-PERP` -> `AAPL_USD-PERP`."""
    base = venue_symbol[: -len("-PERP")] if venue_symbol.upper().endswith("-PERP") else venue_symbol
    return normalize_symbol(base.replace("-", "_"))


@dataclass(frozen=True, slots=True)
class VestMarket:
    """A Vest market: the perpd Market and the decimals its numbers are written with."""

    market: Market
    size_decimals: int
    price_decimals: int
    init_margin_ratio: Decimal
    maint_margin_ratio: Decimal
    isolated: bool = False

    @property
    def symbol(self) -> str:
        return self.market.symbol

    @property
    def venue_symbol(self) -> str:
        return self.market.venue_symbol

    def fmt_size(self, size: Decimal) -> str:
        """A size as sent and signed: exactly sizeDecimals digits (`0.1000`)."""
        return _fixed(size, self.size_decimals)

    def fmt_price(self, price: Decimal) -> str:
        """A price as sent and signed: exactly priceDecimals digits (`30000.00`)."""
        return _fixed(price, self.price_decimals)


def _fixed(value: Decimal, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    fixed = value.quantize(quantum)
    if fixed != value:
        raise InvalidRequest(f"vest: {value} has more than {decimals} decimals")
    return f"{fixed:.{decimals}f}"


def max_leverage(init_margin_ratio: Decimal) -> int:
    if init_margin_ratio <= 0:
        return 1
    return max(1, int((Decimal(1) / init_margin_ratio).to_integral_value(rounding=ROUND_FLOOR)))


def parse_market(row: Mapping[str, Any], venue: str) -> VestMarket:
    size_decimals = int(row["sizeDecimals"])
    price_decimals = int(row["priceDecimals"])
    lot = Decimal(1).scaleb(-size_decimals)
    imr = dec(row.get("initMarginRatio")) or ZERO
    fee = dec(row.get("takerFee")) or ZERO
    venue_symbol = str(row["symbol"])
    return VestMarket(
        market=Market(
            venue=venue,
            symbol=unified_symbol(venue_symbol),
            venue_symbol=venue_symbol,
            base=str(row.get("base") or venue_symbol.split("-")[0]),
            quote=str(row.get("quote") or "USDC"),
            tick_size=Decimal(1).scaleb(-price_decimals),
            lot_size=lot,
            min_size=lot,
            min_notional=ZERO,
            max_leverage=max_leverage(imr),
            maker_fee=fee,
            taker_fee=fee,
        ),
        size_decimals=size_decimals,
        price_decimals=price_decimals,
        init_margin_ratio=imr,
        maint_margin_ratio=dec(row.get("maintMarginRatio")) or ZERO,
        isolated=bool(row.get("isolated", False)),
    )


def parse_markets(body: Mapping[str, Any], venue: str) -> list[VestMarket]:
    """`GET /exchangeInfo` -> markets (rows that are not perpetuals are skipped)."""
    rows: Iterable[Mapping[str, Any]] = body.get("symbols") or ()
    return [parse_market(row, venue) for row in rows if str(row.get("symbol", "")).upper().endswith("-PERP")]
