"""Accounts, positions and the margin arithmetic of the sim exchange.

Positions keep their cost basis as an exact integer (`cost` = signed ticks x lots paid
for the open size), so entry prices, realized and unrealized PnL never round: a partial
close takes its proportional share of the cost (integer division; the remainder stays
with what is still open and is realized with it). Cash amounts are Decimal: realized PnL
is exact (units x tick x lot), fees and funding are quantized to 1e-6 (USDC). Every
amount credited to the wallet is the value reported on the fill or funding payment it
came from, so `balance - deposits == realized - fees + funding` holds exactly.

Margin model (Hyperliquid-like, simplified):
- initial margin of a position = |size| x mark / leverage (cross), or the margin locked
  when it was opened (isolated, `iso_margin`);
- a resting order reserves (lots that would increase the position when it was accepted)
  x price / leverage;
- available = balance + cross unrealized PnL - position margin - order margin;
- maintenance margin = notional / (2 x max leverage); below it, liquidation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, NamedTuple

from perpd.model import MarginMode

if TYPE_CHECKING:
    from venues.simex.markets import MarketState
    from venues.simex.orders import SimOrder

CASH = Decimal("0.000001")
ENTRY = Decimal("1e-10")
ZERO = Decimal(0)
_CROSS, _ISOLATED = MarginMode.CROSS, MarginMode.ISOLATED
_new = tuple.__new__


def cash(value: Decimal) -> Decimal:
    return value.quantize(CASH, rounding=ROUND_HALF_EVEN)


def tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (65010, not 6.501E+4)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class PositionFigures(NamedTuple):
    """One position record of an account at one instant: plain values, never changed."""

    m: MarketState
    lots: int  # signed
    cost: int  # signed ticks x lots of the open size
    realized: Decimal
    funding: Decimal
    iso_margin: Decimal
    leverage: int
    mode: MarginMode
    k: Decimal  # initial margin of one tick x lot at this leverage
    mark: int  # ticks


def position_sums(rows: Iterable[PositionFigures]) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(unrealized PnL, cross unrealized PnL, cross position margin, isolated margin) of
    the open positions among `rows`."""
    upnl = cross_upnl = pos_margin = iso = ZERO
    for row in rows:
        lots = row.lots
        if not lots:
            continue
        mark = row.mark
        pnl = (lots * mark - row.cost) * row.m.unit
        upnl += pnl
        if row.mode is _ISOLATED:
            iso += row.iso_margin
        else:
            cross_upnl += pnl
            pos_margin += abs(lots) * mark * row.k
    return upnl, cross_upnl, pos_margin, iso


class Pos:
    __slots__ = ("lots", "cost", "realized", "funding", "iso_margin")

    def __init__(self) -> None:
        self.lots = 0  # signed
        self.cost = 0  # signed ticks x lots of the open size (same sign as lots)
        self.realized = ZERO
        self.funding = ZERO
        self.iso_margin = ZERO


class Account:
    """One trading account. House accounts (market makers, takers) skip all accounting."""

    __slots__ = (
        "id", "house", "balance", "deposits", "positions", "leverage", "default_leverage",
        "open", "by_oid", "by_cid", "history", "history_limit", "fills", "payments",
        "order_units", "dms_deadline", "realized", "fees", "funding", "ro_count", "base",
        "_k", "_mc",
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
        self.leverage: dict[str, tuple[int, MarginMode]] = {}  # explicit settings only
        self.default_leverage = default_leverage
        self.open: dict[int, SimOrder] = {}  # live orders, resting or waiting for a trigger
        self.by_oid: dict[int, SimOrder] = {}  # live and remembered orders
        self.by_cid: dict[str, SimOrder] = {}
        self.history: deque[SimOrder] = deque()  # finished orders, oldest first
        self.history_limit = history_limit
        self.fills: deque[tuple] = deque(maxlen=history_limit)  # raw rows, see MatchingCore._clear
        self.payments: deque = deque(maxlen=history_limit)
        self.order_units: dict[str, int] = {}  # symbol -> ticks x lots reserved by orders
        self.dms_deadline: int | None = None
        self.realized = ZERO
        self.fees = ZERO
        self.funding = ZERO
        self.ro_count = 0  # live reduce-only orders (skip the post-fill sweep when 0)
        # balance + cross unrealized - position margin, cached between changes of the
        # balance, positions, leverage or marks (`base = None` invalidates it).
        self.base: Decimal | None = None
        self._k: dict[str, Decimal] = {}  # symbol -> tick x lot / leverage
        self._mc: tuple[Decimal, Decimal, Decimal, Decimal] | None = None  # valid while base is

    def lev(self, m: MarketState) -> tuple[int, MarginMode]:
        setting = self.leverage.get(m.symbol)
        if setting is not None:
            return setting
        return min(self.default_leverage, m.max_leverage), _CROSS

    def set_lev(self, m: MarketState, leverage: int, mode: MarginMode) -> None:
        self.leverage[m.symbol] = (leverage, mode)
        self._k.pop(m.symbol, None)
        self.base = None

    def k(self, m: MarketState) -> Decimal:
        """Initial margin of one tick x lot of notional on `m` at this account's leverage."""
        k = self._k.get(m.symbol)
        if k is None:
            k = self._k[m.symbol] = m.unit / self.lev(m)[0]
        return k

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
        cached = self._mc
        if cached is None or self.base is None:
            upnl, cross_upnl, pos_margin, iso = position_sums(self.position_figures(markets))
            cached = self._mc = (upnl, cross_upnl, pos_margin + iso, iso)
            self.base = self.balance + cross_upnl - pos_margin - iso
        return (*cached, self.order_margin(markets))

    def position_figures(self, markets: Mapping[str, MarketState], symbols: Iterable[str] = ()) -> list[PositionFigures]:
        """Each position record as it stands now (and a flat one for each of `symbols` without one)."""
        positions, settings, ks, default = self.positions, self.leverage, self._k, self.default_leverage
        rows = []
        # lev(), k() and the NamedTuple constructor inlined (tuple.__new__ is what it calls):
        # this runs for every account a fill touches while someone listens.
        for symbol, pos in positions.items():
            m = markets[symbol]
            setting = settings.get(symbol)
            if setting is None:
                leverage, mode = (default if default < m.max_leverage else m.max_leverage), _CROSS
            else:
                leverage, mode = setting
            rows.append(_new(PositionFigures, (m, pos.lots, pos.cost, pos.realized, pos.funding, pos.iso_margin,
                                               leverage, mode, ks.get(symbol) or self.k(m), m.mark)))
        for symbol in symbols:
            if symbol not in positions:
                m = markets[symbol]
                leverage, mode = self.lev(m)
                rows.append(_new(PositionFigures, (m, 0, 0, ZERO, ZERO, ZERO, leverage, mode, self.k(m), m.mark)))
        return rows

    def order_margin(self, markets: Mapping[str, MarketState]) -> Decimal:
        total = ZERO
        for symbol, units in self.order_units.items():
            if units:
                total += units * self.k(markets[symbol])
        return total

    def available(self, markets: Mapping[str, MarketState]) -> Decimal:
        base = self.base
        if base is None:
            _, cross_upnl, used, _, _ = self.margins(markets)
            base = self.base = self.balance + cross_upnl - used
        for symbol, units in self.order_units.items():
            if units:
                base -= units * self.k(markets[symbol])
        return base

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
            if self.lev(m)[1] is _ISOLATED:
                equity -= pos.iso_margin
                continue
            any_cross = True
            equity += (pos.lots * m.mark - pos.cost) * m.unit
            maintenance += abs(pos.lots) * m.mark * m.unit * m.mmr
        return any_cross and equity < maintenance

    def isolated_shortfall(self, m: MarketState) -> bool:
        pos = self.positions.get(m.symbol)
        if pos is None or not pos.lots or self.lev(m)[1] is not _ISOLATED:
            return False
        upnl = (pos.lots * m.mark - pos.cost) * m.unit
        return pos.iso_margin + upnl < abs(pos.lots) * m.mark * m.unit * m.mmr

    # ---------------------------------------------------------------- fills

    def apply_fill(self, m: MarketState, is_buy: bool, price: int, lots: int,
                   fee_unit: Decimal) -> tuple[Decimal, Decimal, int]:
        """Move the position and the balance for one fill: (realized, fee, lots before).

        `fee_unit` is the fee of one tick x lot of notional (tick x lot x fee rate)."""
        pos = self.positions.get(m.symbol)
        if pos is None:
            pos = self.positions[m.symbol] = Pos()
        start = pos.lots
        delta = lots if is_buy else -lots
        fee = (price * lots * fee_unit).quantize(CASH)  # the default context rounds half-even
        new = start + delta
        if start == 0 or (start > 0) == is_buy:  # opening or adding
            pos.cost += delta * price
            realized = ZERO
            if self.leverage.get(m.symbol, (0, _CROSS))[1] is _ISOLATED:
                pos.iso_margin = cash(pos.iso_margin + price * lots * self.k(m))
        else:
            closing = lots if lots < abs(start) else abs(start)
            cost = pos.cost
            share = abs(cost) * closing // abs(start)
            removed = share if cost > 0 else -share
            units = (closing * price if start > 0 else -closing * price) - removed
            realized = units * m.unit if units else ZERO
            if new == 0:
                pos.cost = 0
                pos.iso_margin = ZERO
            elif (new > 0) != (start > 0):  # flipped: the rest opens at this price
                pos.cost = new * price
                if self.lev(m)[1] is _ISOLATED:
                    pos.iso_margin = cash(abs(new) * price * self.k(m))
            else:
                pos.cost = cost - removed
                if pos.iso_margin:
                    pos.iso_margin = cash(pos.iso_margin * abs(new) / abs(start))
            pos.realized += realized
            self.realized += realized
        pos.lots = new
        self.base = None
        self.fees += fee
        self.balance += realized - fee
        return realized, fee, start

    def apply_funding(self, m: MarketState, rate: Decimal) -> Decimal:
        """Settle one funding interval at the mark: longs pay shorts when `rate` > 0."""
        pos = self.positions.get(m.symbol)
        if pos is None or not pos.lots:
            return ZERO
        amount = cash(-(pos.lots * m.mark * m.unit * rate))
        self.base = None
        pos.funding += amount
        self.funding += amount
        self.balance += amount
        return amount
