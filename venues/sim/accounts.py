"""Accounts, positions and the margin arithmetic of the sim exchange.

Cash amounts are Decimal, quantized to 1e-6 (USDC); entry prices to 1e-10. Every amount
credited to a wallet balance is the same value reported on the fill or funding payment
it came from, so `balance - deposits == realized - fees + funding` holds exactly.

Margin model (Hyperliquid-like, simplified):
- initial margin of a position = |size| x mark / leverage (cross) or the margin locked
  when it was opened (isolated, `iso_margin`);
- a resting order reserves (lots that would increase the position when it was accepted)
  x price / leverage;
- available = balance + cross unrealized PnL - cross margin - isolated margin - order margin;
- maintenance margin = notional x 1 / (2 x max leverage); below it, liquidation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from perpd.model import MarginMode

if TYPE_CHECKING:
    from venues.sim.markets import MarketState
    from venues.sim.orders import SimOrder

CASH = Decimal("0.000001")
ENTRY = Decimal("1e-10")
ZERO = Decimal(0)


def cash(value: Decimal) -> Decimal:
    return value.quantize(CASH, rounding=ROUND_HALF_EVEN)


def tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (65010, not 6.501E+4)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class Pos:
    __slots__ = ("lots", "entry", "realized", "funding", "iso_margin")

    def __init__(self) -> None:
        self.lots = 0  # signed
        self.entry = ZERO
        self.realized = ZERO
        self.funding = ZERO
        self.iso_margin = ZERO


class Account:
    """One trading account. House accounts (market makers, takers) skip all accounting."""

    __slots__ = (
        "id", "house", "balance", "deposits", "positions", "leverage", "default_leverage",
        "open", "by_oid", "by_cid", "history", "history_limit", "fills", "payments",
        "order_margin", "dms_deadline", "realized", "fees", "funding", "ro_count", "base",
    )

    def __init__(
        self,
        account_id: str,
        balance: Decimal,
        *,
        house: bool = False,
        default_leverage: int = 20,
        history_limit: int = 5000,
    ) -> None:
        self.id = account_id
        self.house = house
        self.balance = balance
        self.deposits = balance
        self.positions: dict[str, Pos] = {}
        self.leverage: dict[str, tuple[int, MarginMode]] = {}
        self.default_leverage = default_leverage
        self.open: dict[int, SimOrder] = {}  # live orders, resting or waiting for a trigger
        self.by_oid: dict[int, SimOrder] = {}  # live and remembered orders
        self.by_cid: dict[str, SimOrder] = {}
        self.history: deque[SimOrder] = deque()  # finished orders, oldest first
        self.history_limit = history_limit
        self.fills: deque = deque(maxlen=history_limit)
        self.payments: deque = deque(maxlen=history_limit)
        self.order_margin = ZERO  # sum of the margin reserved by resting orders
        self.dms_deadline: int | None = None
        self.realized = ZERO
        self.fees = ZERO
        self.funding = ZERO
        self.ro_count = 0  # live reduce-only orders (skip the post-fill sweep when 0)
        # balance + cross unrealized - position margin, cached between changes of the
        # balance, positions, leverage or marks (`base = None` invalidates it).
        self.base: Decimal | None = None

    def lev(self, m: MarketState) -> tuple[int, MarginMode]:
        setting = self.leverage.get(m.symbol)
        if setting is not None:
            return setting
        return min(self.default_leverage, m.max_leverage), MarginMode.CROSS

    def pos(self, m: MarketState) -> Pos:
        pos = self.positions.get(m.symbol)
        if pos is None:
            pos = self.positions[m.symbol] = Pos()
        return pos

    def lots(self, m: MarketState) -> int:
        pos = self.positions.get(m.symbol)
        return pos.lots if pos is not None else 0

    # ---------------------------------------------------------------- margin

    def margins(self, markets: Mapping[str, MarketState]) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """(unrealized, cross unrealized, position margin, isolated margin, order margin)."""
        upnl = cross_upnl = pos_margin = iso = ZERO
        for symbol, pos in self.positions.items():
            if not pos.lots:
                continue
            m = markets[symbol]
            pnl = m.size(pos.lots) * (m.mark_price - pos.entry)
            upnl += pnl
            leverage, mode = self.lev(m)
            if mode is MarginMode.ISOLATED:
                iso += pos.iso_margin
            else:
                cross_upnl += pnl
                pos_margin += m.size(abs(pos.lots)) * m.mark_price / leverage
        return upnl, cross_upnl, pos_margin + iso, iso, self.order_margin

    def available(self, markets: Mapping[str, MarketState]) -> Decimal:
        base = self.base
        if base is None:
            _, cross_upnl, used, _, _ = self.margins(markets)
            base = self.base = self.balance + cross_upnl - used
        return base - self.order_margin

    def increasing_lots(self, m: MarketState, is_buy: bool, lots: int) -> int:
        """How many of `lots` would grow the position rather than reduce it."""
        current = self.lots(m)
        if current == 0 or (current > 0) == is_buy:
            return lots
        return max(0, lots - abs(current))

    def reducible_lots(self, m: MarketState, is_buy: bool) -> int:
        """How many lots an order on `is_buy` may trade and still only reduce."""
        current = self.lots(m)
        if current == 0 or (current > 0) == is_buy:
            return 0
        return abs(current)

    def cross_shortfall(self, markets: Mapping[str, MarketState]) -> bool:
        """True when cross equity is below the maintenance margin of cross positions."""
        equity, maintenance, any_cross = self.balance, ZERO, False
        for symbol, pos in self.positions.items():
            if not pos.lots:
                continue
            m = markets[symbol]
            if self.lev(m)[1] is MarginMode.ISOLATED:
                equity -= pos.iso_margin
                continue
            any_cross = True
            equity += m.size(pos.lots) * (m.mark_price - pos.entry)
            maintenance += m.size(abs(pos.lots)) * m.mark_price * m.mmr
        return any_cross and equity < maintenance

    def isolated_shortfall(self, m: MarketState) -> bool:
        pos = self.positions.get(m.symbol)
        if pos is None or not pos.lots or self.lev(m)[1] is not MarginMode.ISOLATED:
            return False
        upnl = m.size(pos.lots) * (m.mark_price - pos.entry)
        return pos.iso_margin + upnl < m.size(abs(pos.lots)) * m.mark_price * m.mmr

    def liquidation_price(self, m: MarketState, markets: Mapping[str, MarketState]) -> Decimal | None:
        """Mark at which this position alone would hit maintenance (others held still)."""
        pos = self.positions.get(m.symbol)
        if pos is None or not pos.lots:
            return None
        size = m.size(pos.lots)
        if self.lev(m)[1] is MarginMode.ISOLATED:
            collateral = pos.iso_margin
        else:
            collateral = self.balance
            for symbol, other in self.positions.items():
                if symbol == m.symbol or not other.lots:
                    continue
                om = markets[symbol]
                if self.lev(om)[1] is MarginMode.ISOLATED:
                    collateral -= other.iso_margin
                else:
                    collateral += om.size(other.lots) * (om.mark_price - other.entry)
                    collateral -= om.size(abs(other.lots)) * om.mark_price * om.mmr
        sign = 1 if pos.lots > 0 else -1
        price = (size * pos.entry - collateral) / (size * (1 - sign * m.mmr))
        return price.quantize(m.tick) if price > 0 else None

    # ---------------------------------------------------------------- fills

    def apply_fill(self, m: MarketState, is_buy: bool, price_ticks: int, lots: int,
                   fee_rate: Decimal) -> tuple[Decimal, Decimal, int]:
        """Move the position and the balance for one fill: (realized, fee, lots before)."""
        pos = self.pos(m)
        start = pos.lots
        delta = lots if is_buy else -lots
        price = price_ticks * m.tick
        qty = lots * m.lot
        fee = cash(price * qty * fee_rate)
        realized = ZERO
        new = start + delta
        leverage, mode = self.lev(m)
        if start == 0 or (start > 0) == is_buy:
            old_qty = abs(start) * m.lot
            pos.entry = tidy(((pos.entry * old_qty + price * qty) / (old_qty + qty)).quantize(ENTRY))
            if mode is MarginMode.ISOLATED:
                pos.iso_margin = cash(pos.iso_margin + price * qty / leverage)
        else:
            closing = min(lots, abs(start))
            sign = 1 if start > 0 else -1
            realized = cash((price - pos.entry) * (closing * m.lot) * sign)
            if new == 0:
                pos.entry = ZERO
                pos.iso_margin = ZERO
            elif (new > 0) != (start > 0):  # flipped: the rest opens at this price
                pos.entry = price
                pos.iso_margin = cash(price * abs(new) * m.lot / leverage) if mode is MarginMode.ISOLATED else ZERO
            elif mode is MarginMode.ISOLATED:
                pos.iso_margin = cash(pos.iso_margin * abs(new) / abs(start))
        pos.lots = new
        self.base = None
        pos.realized += realized
        self.realized += realized
        self.fees += fee
        self.balance += realized - fee
        return realized, fee, start

    def apply_funding(self, m: MarketState, rate: Decimal) -> Decimal:
        """Settle one funding interval: longs pay shorts when `rate` > 0."""
        pos = self.positions.get(m.symbol)
        if pos is None or not pos.lots:
            return ZERO
        amount = cash(-(m.size(pos.lots) * m.mark_price * rate))
        self.base = None
        pos.funding += amount
        self.funding += amount
        self.balance += amount
        return amount
