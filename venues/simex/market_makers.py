"""The simulated world around the book: an oracle random walk, market makers, takers.

All randomness comes from the engine's one `random.Random(seed)`, consumed in a fixed
order (markets in config order, walk then makers then takers), so a seed and a sequence
of `step()` times reproduce the same market exactly.

- Index (oracle): geometric random walk with the market's daily volatility.
- Mark: index x (1 + premium); the premium is a mean-reverting (Ornstein-Uhlenbeck)
  process of a few basis points, which is what funding is paid on.
- Makers: `levels` quotes per side around the mark, a few bps apart, sized in notional,
  re-quoted every step; a quote that would cross a user's resting order trades with it,
  which is how resting orders get filled as the market moves.
- Takers: Poisson arrivals of market orders of exponential notional, random side.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from perpd.model import OrderType, TimeInForce
from venues.simex.accounts import Account
from venues.simex.events import Reason
from venues.simex.markets import MarketState
from venues.simex.orders import SimOrder

if TYPE_CHECKING:
    from venues.simex.exchange import SimExchange

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class FlowParams:
    maker_levels: int = 10
    maker_half_spread_bps: float = 1.5  # mark to the best quote
    maker_level_gap_bps: float = 1.0
    maker_level_notional: float = 25_000.0  # top level; deeper levels grow 25 % each
    taker_trades_per_min: float = 6.0  # per market
    taker_mean_notional: float = 3_000.0
    taker_slippage_bps: int = 50
    premium_std: float = 0.0003  # stationary std of mark / index - 1
    premium_half_life_secs: float = 300.0


class MarketFlow:
    """Drives the oracle, the makers and the takers of every market of one engine."""

    def __init__(self, engine: SimExchange, rng: random.Random, params: FlowParams,
                 makers: bool, takers: bool, maker: Account, taker: Account) -> None:
        self.engine = engine
        self.rng = rng
        self.params = params
        self.makers = makers
        self.takers = takers
        self.maker = maker
        self.taker = taker
        self._quotes: dict[str, tuple[dict[int, SimOrder], dict[int, SimOrder]]] = {}

    # ---------------------------------------------------------------- oracle

    def walk(self, m: MarketState, dt_ms: int) -> bool:
        """Advance index and premium by `dt_ms`; True if the mark (in ticks) moved."""
        vol = m.spec.volatility
        gauss = self.rng.gauss
        if vol > 0:
            sigma = vol * math.sqrt(dt_ms / DAY_MS)
            m.index_float *= math.exp(sigma * gauss(0.0, 1.0) - 0.5 * sigma * sigma)
        p = self.params
        if p.premium_std > 0:
            theta = math.log(2) / p.premium_half_life_secs * (dt_ms / 1000)
            theta = min(theta, 1.0)
            noise = p.premium_std * math.sqrt(theta * (2 - theta))
            m.premium += -theta * m.premium + noise * gauss(0.0, 1.0)
        old = m.mark
        m.index = max(1, round(m.index_float))
        m.mark = max(1, round(m.index_float * (1.0 + m.premium)))
        return m.mark != old

    # ---------------------------------------------------------------- makers

    def quote(self, m: MarketState) -> None:
        """Keep `levels` quotes per side around the mark; re-place thin or stale ones."""
        if not self.makers:
            return
        bids, asks = self._quotes.setdefault(m.symbol, ({}, {}))
        p = self.params
        mark = m.mark
        half = max(1, round(mark * p.maker_half_spread_bps / 10_000))
        gap = max(1, round(mark * p.maker_level_gap_bps / 10_000))
        unit = float(m.unit)
        want_bids: dict[int, int] = {}
        want_asks: dict[int, int] = {}
        for k in range(p.maker_levels):
            scale = p.maker_level_notional * (1 + 0.25 * k)
            bid = mark - half - k * gap
            ask = mark + half + k * gap
            if bid > 0:
                want_bids[bid] = max(m.min_lots, int(scale * (0.8 + 0.4 * self.rng.random()) / (bid * unit)))
            want_asks[ask] = max(m.min_lots, int(scale * (0.8 + 0.4 * self.rng.random()) / (ask * unit)))
        # Cancel everything stale on both sides first, so a new quote never meets an old one.
        self._prune(bids, want_bids)
        self._prune(asks, want_asks)
        self._fill_in(m, True, bids, want_bids)
        self._fill_in(m, False, asks, want_asks)

    def _prune(self, quotes: dict[int, SimOrder], wanted: dict[int, int]) -> None:
        engine = self.engine
        for price, o in list(quotes.items()):
            want = wanted.get(price)
            if not o.live or want is None or 2 * (o.size - o.filled) < want:
                if o.live:
                    engine._cancel(o, Reason.USER)
                del quotes[price]

    def _fill_in(self, m: MarketState, is_buy: bool, quotes: dict[int, SimOrder], wanted: dict[int, int]) -> None:
        engine = self.engine
        for price, lots in wanted.items():
            if price in quotes:
                continue
            o = engine._new_order(self.maker, m, is_buy, OrderType.LIMIT, TimeInForce.GTC,
                                  price, None, lots, False, None)
            engine._execute(o)
            if o.live:
                quotes[price] = o

    def forget(self) -> None:
        """Drop the makers' quote index (after the books were rebuilt from state)."""
        self._quotes.clear()

    # ---------------------------------------------------------------- takers

    def take(self, m: MarketState, dt_ms: int) -> None:
        if not self.takers:
            return
        p = self.params
        rng = self.rng
        chance = p.taker_trades_per_min * dt_ms / 60_000
        if rng.random() >= chance:
            return
        is_buy = rng.random() < 0.5
        notional = rng.expovariate(1.0 / p.taker_mean_notional)
        lots = max(m.min_lots, int(notional / (m.mark * float(m.unit))))
        bps = p.taker_slippage_bps
        worst = m.mark * (10_000 + bps) // 10_000 if is_buy else max(1, m.mark * (10_000 - bps) // 10_000)
        engine = self.engine
        o = engine._new_order(self.taker, m, is_buy, OrderType.MARKET, TimeInForce.IOC,
                              worst, None, lots, False, None)
        engine._execute(o)


def funding_rate(avg_premium: float, interval_ms: int) -> Decimal:
    """Hyperliquid's formula scaled to the interval: premium + clamp(interest - premium,
    +/- 0.05 %) per 8 hours, capped at 4 % per hour."""
    hours = interval_ms / 3_600_000
    interest = 0.0001  # per 8 hours
    rate8 = avg_premium + max(-0.0005, min(0.0005, interest - avg_premium))
    rate = rate8 / 8 * hours
    cap = 0.04 * hours
    rate = max(-cap, min(cap, rate))
    return Decimal(repr(round(rate, 8))).quantize(Decimal("1e-8"))
