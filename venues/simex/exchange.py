"""The sim exchange: a perpetual-futures exchange in process, synchronous and pure Python.

One `SimExchange` is one exchange. The sim venue drives it directly; each venue emulator
wraps one behind its venue's wire protocol and maps its own account ids (an address, an
account index) to exchange account ids (any string not starting with "~").
Nothing in here is async or does I/O: callers decide when to `step()`.

Quick reference (every price/size is a Decimal; ids are ints; times are ms)::

    engine = SimExchange(clock=ManualClock(), seed=7)        # BTC, ETH, SOL by default
    engine = SimExchange([MarketSpec(...)], clock=clock)     # markets.py; the sim venue's come from its config
    engine.ensure_account("alice")                           # starting balance; also on first use
    view = engine.place("alice", "BTC-PERP", Side.BUY, Decimal("0.01"),
                        type=OrderType.LIMIT, price=Decimal(64000), tif=TimeInForce.GTC,
                        reduce_only=False, trigger_price=None, client_id="c-1")  # -> OrderView
    engine.cancel("alice", client_id="c-1")                  # -> OrderView | None (None: no live order)
    engine.cancel_all("alice", symbol=None)                  # -> [OrderView]
    engine.edit("alice", oid=view.oid, price=..., size=...)  # -> OrderView (same oid)
    engine.cancel_all_after("alice", deadline_ms)            # dead man's switch; None disarms
    engine.set_leverage("alice", "BTC-PERP", 10, MarginMode.ISOLATED)
    engine.order("alice", client_id="c-1")                   # also after fill/cancel (bounded history)
    engine.open_orders("alice"); engine.fills("alice", since_ms); engine.funding_payments("alice")
    engine.balance("alice"); engine.positions("alice"); engine.position("alice", "BTC-PERP")
    engine.book("BTC-PERP", depth=20); engine.market("BTC-PERP"); engine.recent_trades("BTC-PERP")
    engine.level_counts("BTC-PERP", depth=20)                # orders per level, as book() lists them
    engine.book_orders("BTC-PERP", limit=100)                # each resting order, price-time order
    engine.candles("BTC-PERP", interval_ms=60_000); engine.funding_history("BTC-PERP")
    unsubscribe = engine.subscribe(callback)                 # every event, see events.py
    engine.step(now_ms)                                      # advance the world to now_ms
    engine.set_mark("BTC-PERP", Decimal(60000))              # test/scenario seam: move the mark now
    state = engine.to_state(); engine = SimExchange.from_state(state, clock=clock)

Refusals raise `SimReject(reason, message)` (`events.Reason`) and change nothing.
Accepted orders always get an `oid`; market/IOC/FOK remainders end CANCELLED with reason
IOC_UNFILLED / NO_LIQUIDITY / FOK_UNFILLABLE. Orders: market (IOC at a worst price, the
mark +/- `market_slippage_bps` by default), limit gtc/ioc/fok/post_only, reduce-only, and
stop/take-profit, market or limit, triggered on the mark price (a buy stop fires when
mark >= trigger, a buy take-profit when mark <= trigger; sells mirror). An edit keeps
time priority only when the price is unchanged and the size does not grow.

Events are delivered synchronously to every listener after each call, in order: fills
and public trades as they happen, order updates (one per order touched, its state at
that point; an incoming order's update comes after its fills), then one book delta per
changed market (seq +1), then for each account whose position or balance moved (fills,
funding, leverage, deposits, liquidation) its positions and balance. Placing or
cancelling alone does not emit balance updates: `balance()` has the new `available`.
`book()` returns the seq it reflects, so a snapshot plus the deltas after it is exact.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from itertools import islice
from decimal import Decimal
from typing import Any

from perpd.clock import Clock, SystemClock
from perpd.model import MarginMode, OrderType, Side, TimeInForce
from venues.simex.accounts import ZERO, Account
from venues.simex.book import BookSide
from venues.simex.events import (
    BalanceView,
    BookOrders,
    BookSnapshot,
    CandleView,
    FundingEvent,
    FundingPayment,
    MarketView,
    OrderView,
    PositionView,
    PublicTrade,
    Reason,
    RestingOrder,
    SimFill,
    SimReject,
)
from venues.simex.figures import balance_view, position_view
from venues.simex.market_makers import FlowParams, MarketFlow, funding_rate
from venues.simex.markets import MarketSpec, MarketState, default_specs
from venues.simex.matching import fill_view, public_trade
from venues.simex.orders import SimOrder
from venues.simex.snapshot import dump, load, specs_of
from venues.simex.timeline import Timeline
from venues.simex.trading import Trading

HOUSE_PREFIX = "~"
MAX_SUBSTEPS = 500  # a long gap (a restart after days) costs at most this many steps


class SimExchange(Trading, Timeline):
    """One in-process exchange. See the module docstring for the whole API."""

    def __init__(
        self,
        markets: Iterable[MarketSpec] | None = None,
        *,
        clock: Clock | None = None,
        seed: int = 7,
        starting_balance: Decimal = Decimal(100_000),
        funding_interval_secs: int = 3600,
        step_ms: int = 250,
        makers: bool = True,
        takers: bool = True,
        default_leverage: int = 20,
        market_slippage_bps: int = 500,
        history_limit: int = 5000,
        flow: FlowParams | None = None,
    ) -> None:
        self._init_core(clock or SystemClock(), market_slippage_bps)
        specs = list(markets) if markets is not None else default_specs()
        self._markets = {spec.symbol: MarketState(spec) for spec in specs}
        self._accounts: dict[str, Account] = {}
        self.seed = seed
        self.starting_balance = starting_balance
        self.default_leverage = default_leverage
        self.history_limit = history_limit
        self.step_ms = step_ms
        self.funding_interval_ms = funding_interval_secs * 1000
        self._next_funding = (self._t // self.funding_interval_ms + 1) * self.funding_interval_ms
        self._dms: dict[Account, int] = {}
        self._rng = random.Random(seed)
        self._maker = Account(HOUSE_PREFIX + "maker", ZERO, house=True)
        self._taker = Account(HOUSE_PREFIX + "taker", ZERO, house=True)
        self._liquidator = HOUSE_PREFIX + "liquidator"
        self._flow = MarketFlow(self, self._rng, flow or FlowParams(), makers, takers,
                                self._maker, self._taker)
        self._requote()

    # ------------------------------------------------------------------ listeners

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call `callback(event)` for every event from now on; returns the unsubscriber."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    # ------------------------------------------------------------------ markets

    @property
    def now_ms(self) -> int:
        """The simulated time reached so far (the clock's, once stepped)."""
        return self._t

    @property
    def symbols(self) -> list[str]:
        return list(self._markets)

    def spec(self, symbol: str) -> MarketSpec:
        return self._market(symbol).spec

    def book(self, symbol: str, depth: int | None = None) -> BookSnapshot:
        m = self._market(symbol)
        tick, lot = m.tick, m.lot
        return BookSnapshot(
            m.symbol, m.book.seq,
            tuple((p * tick, s * lot) for p, s in m.book.bids.depth(depth)),
            tuple((p * tick, s * lot) for p, s in m.book.asks.depth(depth)),
            max(self._t, self._clock.now_ms()),
        )

    def level_counts(self, symbol: str, depth: int | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """How many orders rest at each level `book(symbol, depth)` lists: (bids, asks)."""
        book = self._market(symbol).book
        return _counts(book.bids, depth), _counts(book.asks, depth)

    def book_orders(self, symbol: str, limit: int | None = None) -> BookOrders:
        """Every resting order (at most `limit` per side): best price first, then time priority."""
        m = self._market(symbol)
        return BookOrders(m.symbol, m.book.seq, _resting(m, m.book.bids, limit), _resting(m, m.book.asks, limit),
                          max(self._t, self._clock.now_ms()))

    def market(self, symbol: str) -> MarketView:
        m = self._market(symbol)
        return self._market_view(m)

    def _market_view(self, m: MarketState) -> MarketView:
        avg = m.premium_sum / m.premium_n if m.premium_n else m.premium
        oi = sum(a.positions[m.symbol].lots for a in m.holders if a.positions[m.symbol].lots > 0)
        return MarketView(
            m.symbol, m.mark_price, m.index_price,
            m.last_price * m.tick if m.last_price is not None else None,
            funding_rate(avg, self.funding_interval_ms), self._next_funding, oi * m.lot, self._t,
        )

    def recent_trades(self, symbol: str, limit: int = 100) -> list[PublicTrade]:
        """Public trades, oldest first, at most `limit` (the newest ones)."""
        m = self._market(symbol)
        rows = list(m.trades)[-limit:] if limit > 0 else []
        return [public_trade(m, row) for row in rows]

    def candles(self, symbol: str, interval_ms: int = 60_000, start_ms: int | None = None,
                end_ms: int | None = None, limit: int = 500) -> list[CandleView]:
        """Trade candles (from 1-minute buckets kept for a day), oldest first."""
        m = self._market(symbol)
        if interval_ms < 60_000 or interval_ms % 60_000:
            raise ValueError("candle interval must be a whole number of minutes")
        out: list[list[int]] = []
        for minute, o, h, low, c, v, n in m.candles:
            if start_ms is not None and minute < start_ms - start_ms % interval_ms:
                continue
            if end_ms is not None and minute > end_ms:
                continue
            bucket = minute - minute % interval_ms
            if out and out[-1][0] == bucket:
                row = out[-1]
                row[2], row[3], row[4] = max(row[2], h), min(row[3], low), c
                row[5] += v
                row[6] += n
            else:
                out.append([bucket, o, h, low, c, v, n])
        tick, lot = m.tick, m.lot
        return [CandleView(m.symbol, r[0], r[1] * tick, r[2] * tick, r[3] * tick, r[4] * tick, r[5] * lot, r[6])
                for r in out[-limit:]]

    def funding_history(self, symbol: str, start_ms: int = 0) -> list[FundingEvent]:
        m = self._market(symbol)
        return [f for f in m.fundings if f.ts_ms >= start_ms]

    # ------------------------------------------------------------------ accounts

    def ensure_account(self, account: str, balance: Decimal | None = None) -> bool:
        """Create `account` with `balance` (default: the starting balance); False if it exists."""
        if account in self._accounts:
            return False
        self._account(account, balance)
        return True

    def has_account(self, account: str) -> bool:
        return account in self._accounts

    def accounts(self) -> list[str]:
        return list(self._accounts)

    def deposit(self, account: str, amount: Decimal) -> BalanceView:
        """Add (or with a negative amount, withdraw) collateral."""
        self._begin()
        try:
            acct = self._account(account)
            acct.balance += amount
            acct.deposits += amount
            acct.base = None
            self._touch(acct)
            return balance_view(self._figures(acct))
        finally:
            self._end()

    def _account(self, account: str, balance: Decimal | None = None) -> Account:
        acct = self._accounts.get(account)
        if acct is None:
            if not account or account.startswith(HOUSE_PREFIX):
                raise ValueError(f"invalid account id {account!r}")
            acct = Account(account, self.starting_balance if balance is None else balance,
                           default_leverage=self.default_leverage, history_limit=self.history_limit)
            self._accounts[account] = acct
        return acct

    def balance(self, account: str) -> BalanceView:
        return balance_view(self._figures(self._account(account)))

    def positions(self, account: str) -> list[PositionView]:
        """Non-zero positions, in market order."""
        acct = self._account(account)
        figures = self._figures(acct)
        return [position_view(figures, m) for m in self._markets.values() if acct.lots(m)]

    def position(self, account: str, symbol: str) -> PositionView:
        m = self._market(symbol)
        return position_view(self._figures(self._account(account), (m.symbol,)), m)

    def leverage(self, account: str, symbol: str) -> tuple[int, MarginMode]:
        return self._account(account).lev(self._market(symbol))

    # ------------------------------------------------------------------ order queries

    def order(self, account: str, *, oid: int | None = None, client_id: str | None = None) -> OrderView | None:
        """An order of `account` by engine id or client id, live or remembered; else None."""
        acct = self._accounts.get(account)
        if acct is None:
            return None
        o = acct.by_cid.get(client_id) if client_id is not None else acct.by_oid.get(oid)  # type: ignore[arg-type]
        return o.view() if o is not None else None

    def order_by_oid(self, oid: int) -> OrderView | None:
        o = self._orders.get(oid)
        return o.view() if o is not None else None

    def open_orders(self, account: str, symbol: str | None = None) -> list[OrderView]:
        acct = self._accounts.get(account)
        if acct is None:
            return []
        m = self._market(symbol) if symbol is not None else None
        return [o.view() for o in sorted(acct.open.values(), key=_oid) if m is None or o.m is m]

    def fills(self, account: str, since_ms: int = 0) -> list[SimFill]:
        acct = self._accounts.get(account)
        if acct is None:
            return []
        return [fill_view(acct.id, row) for row in acct.fills if row[11] >= since_ms]

    def funding_payments(self, account: str, since_ms: int = 0) -> list[FundingPayment]:
        acct = self._accounts.get(account)
        return [p for p in acct.payments if p.ts_ms >= since_ms] if acct is not None else []

    # ------------------------------------------------------------------ persistence

    def to_state(self) -> dict[str, Any]:
        """Everything needed to resume this exchange, as JSON-able data."""
        return dump(self)

    @classmethod
    def from_state(cls, state: dict[str, Any], *, clock: Clock | None = None, **options: Any) -> SimExchange:
        """An exchange resumed from `to_state()` (markets from the state unless given)."""
        markets = options.pop("markets", None)
        makers = options.pop("makers", True)
        options.setdefault("seed", state.get("seed", 7))
        # Build without makers, so the restored user orders take their queue places first.
        engine = cls(markets if markets is not None else specs_of(state), clock=clock,
                     makers=False, **options)
        load(engine, state)
        engine._flow.makers = makers
        engine._requote()
        return engine

    def restore(self, state: dict[str, Any]) -> list[str]:
        """Load accounts, orders and market state into this engine; returns warnings
        (orders of markets this engine does not have are dropped)."""
        self._flow.forget()
        warnings = load(self, state)
        self._requote()
        return warnings

    def _requote(self) -> None:
        self._begin()
        try:
            for m in self._markets.values():
                self._flow.quote(m)
        finally:
            self._end()


def _counts(side: BookSide, depth: int | None) -> tuple[int, ...]:
    levels = side.levels
    prices = reversed(side.prices) if side.is_bid else side.prices
    return tuple(len(levels[p].orders) for p in islice(prices, depth))


def _resting(m: MarketState, side: BookSide, limit: int | None) -> tuple[RestingOrder, ...]:
    out: list[RestingOrder] = []
    for price in reversed(side.prices) if side.is_bid else side.prices:
        for o in side.levels[price].orders.values():  # dict order is time priority
            if limit is not None and len(out) >= limit:
                return tuple(out)
            out.append(RestingOrder(o.oid, o.acct.id, o.client_id, Side.BUY if o.is_buy else Side.SELL,
                                    m.price(price), m.size(o.size), m.size(o.size - o.filled), o.created_ms))
    return tuple(out)


def _oid(o: SimOrder) -> int:
    return o.oid


def _account_id(acct: Account) -> str:
    return acct.id


__all__ = ["MarginMode", "OrderType", "OrderView", "Reason", "Side", "SimExchange", "SimReject", "TimeInForce"]
