"""Builders for the policy tests: real perpd.model and perpd.portfolio objects, no mocks.

The standard world is two sim venues (`sim-a`, `sim-b`) and three accounts: `alpha` and
`beta` on sim-a, `gamma` on sim-b, all trading BTC-PERP and ETH-PERP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from perpd.config import PolicyConfig, PolicyScope
from perpd.model import (
    Balance,
    BookLevel,
    BookUpdate,
    Fill,
    Liquidity,
    Market,
    Order,
    OrderSpec,
    OrderStatus,
    OrderType,
    Position,
    Side,
    Ticker,
)
from perpd.portfolio import AccountState, Portfolio
from policies.risk import OrderCheck

D = Decimal
ACCOUNTS = {"alpha": "sim-a", "beta": "sim-a", "gamma": "sim-b"}


def market(venue: str, symbol: str = "BTC-PERP", *, lot: str = "0.001", tick: str = "0.1", taker_fee: str = "0") -> Market:
    base = symbol.removesuffix("-PERP")
    return Market(
        venue=venue,
        symbol=symbol,
        venue_symbol=base,
        base=base,
        quote="USDC",
        tick_size=D(tick),
        lot_size=D(lot),
        min_size=D(lot),
        min_notional=D(0),
        max_leverage=50,
        maker_fee=D(0),
        taker_fee=D(taker_fee),
    )


def world(*, equity: str = "100000") -> Portfolio:
    """The standard two-venue, three-account portfolio, flat, with BTC and ETH markets."""
    portfolio = Portfolio()
    for venue in ("sim-a", "sim-b"):
        for symbol in ("BTC-PERP", "ETH-PERP"):
            portfolio.market_data.markets[(venue, symbol)] = market(venue, symbol)
    for name, venue in ACCOUNTS.items():
        state = portfolio.accounts[name] = AccountState(name, venue, synced=True)
        state.balance = Balance(name, venue, "USDC", equity=D(equity), available=D(equity))
    return portfolio


def set_mark(portfolio: Portfolio, venue: str, symbol: str, mark: str | Decimal) -> None:
    portfolio.market_data.tickers[(venue, symbol)] = Ticker(venue, symbol, D(mark))


def set_book(
    portfolio: Portfolio,
    venue: str,
    symbol: str,
    bids: Iterable[tuple[str, str]],
    asks: Iterable[tuple[str, str]],
) -> None:
    """Load a book snapshot (best first) through the real LocalBook."""
    update = BookUpdate(
        venue,
        symbol,
        tuple(BookLevel(D(p), D(s)) for p, s in bids),
        tuple(BookLevel(D(p), D(s)) for p, s in asks),
        seq=1,
        snapshot=True,
    )
    assert portfolio.market_data.book(venue, symbol).apply(update)


def set_position(portfolio: Portfolio, account: str, symbol: str, size: str | Decimal, entry: str | None = None) -> None:
    state = portfolio.accounts[account]
    state.set_position(Position(account, state.venue, symbol, D(size), entry_price=D(entry) if entry else None))


def add_order(
    portfolio: Portfolio,
    account: str,
    symbol: str,
    side: Side,
    size: str | Decimal,
    *,
    client_id: str,
    price: str = "100",
    status: OrderStatus = OrderStatus.OPEN,
    filled: str = "0",
) -> Order:
    state = portfolio.accounts[account]
    order = Order(
        account,
        state.venue,
        client_id,
        symbol,
        side,
        OrderType.LIMIT,
        D(size),
        status,
        price=D(price),
        filled_size=D(filled),
    )
    state.orders[client_id] = order  # direct, so a terminal order is kept to prove it is ignored
    return order


def check(
    account: str,
    side: Side,
    size: str | Decimal,
    price: str | Decimal,
    *,
    symbol: str = "BTC-PERP",
    mark: str | Decimal | None = None,
    now_ms: int = 0,
    replaces: str | None = None,
    portfolio: Portfolio | None = None,
) -> OrderCheck:
    """An OrderCheck for `account`; the mark defaults to the portfolio's for that venue."""
    venue = ACCOUNTS[account]
    spec = OrderSpec(symbol, side, D(size), price=D(price), account=account)
    if mark is None and portfolio is not None:
        mark = portfolio.mark(venue, spec.symbol)
    return OrderCheck(
        spec=spec,
        venue=venue,
        market=market(venue, spec.symbol),
        price=D(price),
        mark=D(mark) if mark is not None else None,
        now_ms=now_ms,
        replaces=replaces,
    )


def policy(
    name: str = "house",
    *,
    accounts: Sequence[str] = ("*",),
    venues: Sequence[str] = ("*",),
    symbols: Sequence[str] = ("*",),
    **limits: object,
) -> PolicyConfig:
    """A validated PolicyConfig, built the way the config loader builds it."""
    scope = PolicyScope.model_validate({"accounts": accounts, "venues": venues, "symbols": symbols})
    return PolicyConfig.model_validate({"name": name, "scope": scope, **limits})


def fill(
    account: str,
    side: Side,
    size: str,
    price: str,
    *,
    ts_ms: int,
    trade_id: str,
    fee: str = "0",
    realized_pnl: str | None = None,
    symbol: str = "BTC-PERP",
) -> Fill:
    return Fill(
        account=account,
        venue=ACCOUNTS[account],
        trade_id=trade_id,
        client_id=None,
        venue_order_id=None,
        symbol=symbol,
        side=side,
        price=D(price),
        size=D(size),
        fee=D(fee),
        liquidity=Liquidity.TAKER,
        ts_ms=ts_ms,
        realized_pnl=D(realized_pnl) if realized_pnl is not None else None,
    )
