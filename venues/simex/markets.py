"""Synthetic markets: their rules (MarketSpec) and their live state (MarketState).

Defaults look like Hyperliquid's: BTC tick 1 / lot 0.00001, ETH tick 0.1 / lot 0.0001,
SOL tick 0.01 / lot 0.01, a $10 minimum notional. Inside the engine a price is an
integer number of ticks and a size an integer number of lots, so matching never does
Decimal arithmetic; conversions happen at the API edge.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from perpd.model import normalize_symbol
from venues.simex.book import Book


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """The rules and the simulation parameters of one synthetic market."""

    symbol: str  # unified: BTC-PERP
    start_price: Decimal
    tick_size: Decimal
    lot_size: Decimal
    min_size: Decimal
    min_notional: Decimal
    max_leverage: int
    volatility: float  # daily, as a fraction (0.03 = 3 %)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")

    @property
    def base(self) -> str:
        return self.symbol[: -len("-PERP")]


_DEFAULTS: dict[str, MarketSpec] = {
    spec.symbol: spec
    for spec in (
        MarketSpec("BTC-PERP", Decimal(65000), Decimal(1), Decimal("0.00001"), Decimal("0.00001"),
                   Decimal(10), 40, 0.03),
        MarketSpec("ETH-PERP", Decimal(3500), Decimal("0.1"), Decimal("0.0001"), Decimal("0.0001"),
                   Decimal(10), 25, 0.04),
        MarketSpec("SOL-PERP", Decimal(150), Decimal("0.01"), Decimal("0.01"), Decimal("0.01"),
                   Decimal(10), 20, 0.05),
    )
}


def default_spec(symbol: str) -> MarketSpec:
    """The default spec of a symbol: a known one, or a generic one priced at 10."""
    unified = normalize_symbol(symbol)
    known = _DEFAULTS.get(unified)
    if known is not None:
        return known
    return MarketSpec(unified, Decimal(10), Decimal("0.0001"), Decimal("0.1"), Decimal("0.1"),
                      Decimal(10), 10, 0.05)


def default_specs(symbols: Iterable[str] = ("BTC-PERP", "ETH-PERP", "SOL-PERP")) -> list[MarketSpec]:
    return [default_spec(s) for s in symbols]


_CACHE_LIMIT = 100_000


class MarketState:
    """One market inside the engine: book, mark/index, triggers, trades, funding sums."""

    __slots__ = (
        "spec", "symbol", "tick", "lot", "unit", "min_lots", "min_notional", "max_leverage",
        "mmr", "maker_fee", "taker_fee", "book", "mark", "index", "index_float", "premium",
        "premium_sum", "premium_n", "funding_rate", "triggers", "trades", "candles",
        "holders", "last_price", "fundings", "maker_fee_unit", "taker_fee_unit", "min_units",
        "_ticks", "_lots", "_prices", "_sizes",
    )

    def __init__(self, spec: MarketSpec) -> None:
        if spec.min_size % spec.lot_size:
            raise ValueError(f"{spec.symbol}: min_size {spec.min_size} is not a multiple of lot")
        if spec.start_price % spec.tick_size:
            raise ValueError(f"{spec.symbol}: start_price {spec.start_price} is not a multiple of tick")
        self.spec = spec
        self.symbol = spec.symbol
        self.tick = spec.tick_size
        self.lot = spec.lot_size
        self.unit = spec.tick_size * spec.lot_size  # quote value of 1 tick x 1 lot
        self.min_lots = int(spec.min_size / spec.lot_size)
        self.min_notional = spec.min_notional
        # min notional in ticks x lots, so the check is one integer comparison
        self.min_units = int((spec.min_notional / self.unit).to_integral_value(rounding="ROUND_CEILING"))
        self.max_leverage = spec.max_leverage
        # Maintenance margin is half the initial margin at max leverage (Hyperliquid's rule).
        self.mmr = Decimal(1) / (2 * spec.max_leverage)
        self.maker_fee = spec.maker_fee
        self.taker_fee = spec.taker_fee
        self.maker_fee_unit = self.unit * spec.maker_fee  # fee of one tick x lot
        self.taker_fee_unit = self.unit * spec.taker_fee
        self.book = Book()
        start = int(spec.start_price / spec.tick_size)
        self.mark = start  # ticks
        self.index = start  # ticks (the oracle)
        self.index_float = float(start)
        self.premium = 0.0  # mark / index - 1, mean-reverting
        self.premium_sum = 0.0
        self.premium_n = 0
        self.funding_rate = Decimal(0)  # last settled rate
        self.triggers: dict[int, object] = {}  # oid -> SimOrder waiting for its trigger
        self.trades: deque = deque(maxlen=1000)
        self.candles: deque = deque(maxlen=1440)  # 1m candles built from trades
        self.holders: set = set()  # accounts with a non-zero position
        self.last_price: int | None = None
        self.fundings: deque = deque(maxlen=1000)  # FundingEvent, oldest first

        # Decimal <-> int conversions cost ~1 us each (int(Decimal) is slow); prices and
        # sizes repeat, so they are memoized (bounded: cleared when they grow large).
        self._ticks: dict[Decimal, int | None] = {}
        self._lots: dict[Decimal, int | None] = {}
        self._prices: dict[int, Decimal] = {}
        self._sizes: dict[int, Decimal] = {}

    # conversions ---------------------------------------------------------------------

    def price(self, ticks: int) -> Decimal:
        out = self._prices.get(ticks)
        if out is None:
            if len(self._prices) > _CACHE_LIMIT:
                self._prices.clear()
            out = self._prices[ticks] = ticks * self.tick
        return out

    def size(self, lots: int) -> Decimal:
        out = self._sizes.get(lots)
        if out is None:
            if len(self._sizes) > _CACHE_LIMIT:
                self._sizes.clear()
            out = self._sizes[lots] = lots * self.lot
        return out

    def ticks_of(self, price: Decimal) -> int | None:
        """Integer ticks of `price`, or None if it is not on the tick grid."""
        try:
            return self._ticks[price]
        except KeyError:
            pass
        q = price / self.tick
        i = int(q) if q.is_finite() else None
        out = i if i == q else None
        if len(self._ticks) > _CACHE_LIMIT:
            self._ticks.clear()
        self._ticks[price] = out
        return out

    def lots_of(self, size: Decimal) -> int | None:
        try:
            return self._lots[size]
        except KeyError:
            pass
        q = size / self.lot
        i = int(q) if q.is_finite() else None
        out = i if i == q else None
        if len(self._lots) > _CACHE_LIMIT:
            self._lots.clear()
        self._lots[size] = out
        return out

    @property
    def mark_price(self) -> Decimal:
        return self.mark * self.tick

    @property
    def index_price(self) -> Decimal:
        return self.index * self.tick
