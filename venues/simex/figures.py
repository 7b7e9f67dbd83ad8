"""An account's money and positions frozen at one instant, and the views built from them.

`freeze` copies what the position and balance views of an account need (integers and
Decimals, which never change) into an AccountFigures, its positions as the rows the
margin arithmetic of accounts.py reads; `position_view` and `balance_view` build the
views from it. The engine answers `position()` and `balance()` this way, and a position
or balance event holds the figures of its instant and builds its view only if a
listener reads it (events.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NamedTuple

from perpd.model import MarginMode
from venues.simex.accounts import (
    ENTRY,
    ZERO,
    Account,
    PositionFigures,
    cash,
    position_sums,
    tidy,
)
from venues.simex.events import BalanceView, PositionView
from venues.simex.markets import MarketState

_ISOLATED = MarginMode.ISOLATED
_new = tuple.__new__


class AccountFigures(NamedTuple):
    account: str
    balance: Decimal
    order_margin: Decimal
    positions: tuple[PositionFigures, ...]  # every position record, in the account's order
    ts_ms: int


def freeze(acct: Account, markets: Mapping[str, MarketState], symbols: Iterable[str], ts_ms: int) -> AccountFigures:
    """The figures of `acct` now, with a row for each of its positions and each of `symbols`."""
    rows = tuple(acct.position_figures(markets, symbols))
    return _new(AccountFigures, (acct.id, acct.balance, acct.order_margin(markets), rows, ts_ms))


def balance_view(f: AccountFigures) -> BalanceView:
    # The sums Account.margins() makes, of these rows, made when the view is read rather
    # than in freeze(): a listener that never reads a balance does not pay for them.
    upnl, cross_upnl, pos_margin, iso = position_sums(f.positions)
    balance, used, orders = f.balance, pos_margin + iso, f.order_margin
    return BalanceView(f.account, balance, cash(balance + upnl), cash(balance + cross_upnl - used - orders),
                       cash(used), cash(orders), cash(upnl), f.ts_ms)


def position_view(f: AccountFigures, m: MarketState) -> PositionView:
    for row in f.positions:
        if row.m is m:
            break
    else:
        raise KeyError(m.symbol)
    lots = row.lots
    if lots:
        entry = entry_price(row.cost, lots, m.tick)
        upnl = cash((lots * row.mark - row.cost) * m.unit)
        margin = row.iso_margin if row.mode is _ISOLATED else cash(abs(lots) * row.mark * row.k)
        liq = liquidation_price(f, row)
    else:
        entry, upnl, margin, liq = None, ZERO, ZERO, None
    return PositionView(f.account, m.symbol, lots * m.lot, entry, row.mark * m.tick, upnl, row.realized,
                        row.funding, row.leverage, row.mode, margin, liq, f.ts_ms)


def entry_price(cost: int, lots: int, tick: Decimal) -> Decimal:
    """Average entry of an open position: exact when whole ticks, else to 1e-10."""
    whole, rest = divmod(cost, lots)
    if not rest:
        return whole * tick
    return tidy((Decimal(cost) * tick / lots).quantize(ENTRY))


def liquidation_price(f: AccountFigures, row: PositionFigures) -> Decimal | None:
    """Mark at which this position alone would hit maintenance (others held still)."""
    m = row.m
    if row.mode is _ISOLATED:
        collateral = row.iso_margin
    else:
        collateral = f.balance
        for other in f.positions:
            if other.m is m or not other.lots:
                continue
            om = other.m
            if other.mode is _ISOLATED:
                collateral -= other.iso_margin
            else:
                collateral += (other.lots * other.mark - other.cost) * om.unit
                collateral -= abs(other.lots) * other.mark * om.unit * om.mmr
    # collateral + size x (p - entry) = |size| x p x mmr, solved for p
    size = row.lots * m.lot
    sign = 1 if row.lots > 0 else -1
    price = (row.cost * m.unit - collateral) / (size * (1 - sign * m.mmr))
    return price.quantize(m.tick) if price > 0 else None
