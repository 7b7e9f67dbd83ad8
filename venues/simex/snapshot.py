"""Snapshot and restore of a SimExchange as JSON-able data (paper accounts survive restarts).

Saved: time, id counters, the random generator, per market the oracle/mark/premium state,
recent trades, candles and fundings; per account balances, settings, positions, live
orders (with their queue priority), remembered orders, fills and funding payments.
Not saved: the simulated makers' quotes (re-quoted around the restored mark on load).
Decimals are strings; orders keep integer ticks and lots.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpd.model import Liquidity, MarginMode, OrderStatus, OrderType, TimeInForce
from venues.simex.accounts import Account
from venues.simex.book import Book
from venues.simex.events import FundingEvent, FundingPayment, Reason
from venues.simex.markets import MarketSpec, MarketState
from venues.simex.orders import SimOrder

if TYPE_CHECKING:
    from venues.simex.exchange import SimExchange

VERSION = 1


def dump(engine: SimExchange) -> dict[str, Any]:
    version, internal, gauss_next = engine._rng.getstate()
    return {
        "version": VERSION,
        "seed": engine.seed,
        "t": engine._t,
        "next_oid": engine._next_oid,
        "next_tid": engine._next_tid,
        "next_prio": engine._next_prio,
        "next_funding": engine._next_funding,
        "rng": [version, list(internal), gauss_next],
        "markets": [_dump_market(m) for m in engine._markets.values()],
        "accounts": [_dump_account(a) for a in engine._accounts.values()],
    }


def specs_of(state: dict[str, Any]) -> list[MarketSpec]:
    out = []
    for entry in state["markets"]:
        s = entry["spec"]
        out.append(MarketSpec(
            s["symbol"], Decimal(s["start_price"]), Decimal(s["tick_size"]), Decimal(s["lot_size"]),
            Decimal(s["min_size"]), Decimal(s["min_notional"]), int(s["max_leverage"]),
            float(s["volatility"]), Decimal(s["maker_fee"]), Decimal(s["taker_fee"]),
        ))
    return out


def load(engine: SimExchange, state: dict[str, Any]) -> list[str]:
    """Replace the engine's books and accounts with the saved ones; returns warnings."""
    if state.get("version") != VERSION:
        raise ValueError(f"unsupported sim state version {state.get('version')!r}")
    warnings: list[str] = []
    engine._t = engine._ts = int(state["t"])
    engine._next_oid = int(state["next_oid"])
    engine._next_tid = int(state["next_tid"])
    engine._next_prio = int(state["next_prio"])
    engine._next_funding = int(state["next_funding"])
    version, internal, gauss_next = state["rng"]
    engine._rng.setstate((version, tuple(internal), gauss_next))
    engine._flow.forget()
    engine._orders.clear()
    engine._dms.clear()
    for m in engine._markets.values():
        m.book = Book()
        m.triggers.clear()
        m.holders.clear()
    for entry in state["markets"]:
        m = engine._markets.get(entry["spec"]["symbol"])
        if m is None:
            warnings.append(f"market {entry['spec']['symbol']} is no longer configured: its state is dropped")
            continue
        _load_market(m, entry)
    engine._accounts.clear()
    for entry in state["accounts"]:
        _load_account(engine, entry, warnings)
    for m in engine._markets.values():
        m.book.bids.changed.clear()
        m.book.asks.changed.clear()
    return warnings


# --------------------------------------------------------------------------- markets


def _dump_market(m: MarketState) -> dict[str, Any]:
    s = m.spec
    return {
        "spec": {
            "symbol": s.symbol, "start_price": str(s.start_price), "tick_size": str(s.tick_size),
            "lot_size": str(s.lot_size), "min_size": str(s.min_size), "min_notional": str(s.min_notional),
            "max_leverage": s.max_leverage, "volatility": s.volatility, "maker_fee": str(s.maker_fee),
            "taker_fee": str(s.taker_fee),
        },
        "seq": m.book.seq,
        "mark": m.mark,
        "index": m.index,
        "index_float": m.index_float,
        "premium": m.premium,
        "premium_sum": m.premium_sum,
        "premium_n": m.premium_n,
        "funding_rate": str(m.funding_rate),
        "last_price": m.last_price,
        "trades": [list(row) for row in m.trades],
        "candles": [list(c) for c in m.candles],
        "fundings": [[str(f.rate), str(f.mark_price), str(f.index_price), f.ts_ms, f.next_funding_ms]
                     for f in m.fundings],
    }


def _load_market(m: MarketState, e: dict[str, Any]) -> None:
    m.book.seq = int(e["seq"])
    m.mark, m.index = int(e["mark"]), int(e["index"])
    m.index_float, m.premium = float(e["index_float"]), float(e["premium"])
    m.premium_sum, m.premium_n = float(e["premium_sum"]), int(e["premium_n"])
    m.funding_rate = Decimal(e["funding_rate"])
    m.last_price = e["last_price"]
    m.trades.clear()
    m.trades.extend(tuple(row) for row in e["trades"])
    m.candles.clear()
    m.candles.extend(list(c) for c in e["candles"])
    m.fundings.clear()
    m.fundings.extend(
        FundingEvent(m.symbol, Decimal(r), Decimal(mk), Decimal(ix), ts, nxt)
        for r, mk, ix, ts, nxt in e["fundings"]
    )


# --------------------------------------------------------------------------- accounts


def _dump_account(a: Account) -> dict[str, Any]:
    orders = sorted({**{o.oid: o for o in a.history}, **a.open}.values(), key=lambda o: o.oid)
    return {
        "id": a.id,
        "balance": str(a.balance),
        "deposits": str(a.deposits),
        "realized": str(a.realized),
        "fees": str(a.fees),
        "funding": str(a.funding),
        "dms_deadline": a.dms_deadline,
        "leverage": {s: [lev, mode.value] for s, (lev, mode) in a.leverage.items()},
        "positions": {
            s: [p.lots, p.cost, str(p.realized), str(p.funding), str(p.iso_margin)]
            for s, p in a.positions.items() if p.lots or p.realized or p.funding
        },
        "orders": [_dump_order(o, o.oid in a.open) for o in orders],
        "fills": [_dump_fill(row) for row in a.fills],
        "payments": [[p.symbol, str(p.amount), str(p.rate), str(p.position), str(p.mark_price), p.ts_ms]
                     for p in a.payments],
    }


def _dump_order(o: SimOrder, live: bool) -> dict[str, Any]:
    """An order's saved form; an ended order never changes, so its form is built once
    (the history holds thousands: the periodic save must not rebuild them each time)."""
    if not live and o.dumped is not None:
        return o.dumped
    dumped = {
        "oid": o.oid, "symbol": o.m.symbol, "buy": o.is_buy, "type": o.type.value, "tif": o.tif.value,
        "price": o.price, "trigger": o.trigger, "size": o.size, "filled": o.filled,
        "notional": o.notional, "status": o.status.value, "reduce_only": o.reduce_only,
        "client_id": o.client_id, "created_ms": o.created_ms, "updated_ms": o.updated_ms,
        "reason": o.reason.value if o.reason is not None else None, "triggered": o.triggered,
        "inc": o.inc, "prio": o.prio, "live": live,
    }
    if not live:
        o.dumped = dumped
    return dumped


def _dump_fill(row: tuple) -> list[Any]:
    m, tid, oid, cid, is_buy, price, lots, fee, liquidity, realized, start, ts, liquidation = row
    return [m.symbol, tid, oid, cid, is_buy, price, lots, str(fee), liquidity.value, str(realized), start,
            ts, liquidation]


def _load_account(engine: SimExchange, e: dict[str, Any], warnings: list[str]) -> None:
    markets = engine._markets
    acct = Account(e["id"], Decimal(e["balance"]), default_leverage=engine.default_leverage,
                   history_limit=engine.history_limit)
    acct.deposits = Decimal(e["deposits"])
    acct.realized, acct.fees, acct.funding = Decimal(e["realized"]), Decimal(e["fees"]), Decimal(e["funding"])
    engine._accounts[acct.id] = acct
    for symbol, (lev, mode) in e["leverage"].items():
        if symbol in markets:
            acct.leverage[symbol] = (int(lev), MarginMode(mode))
    for symbol, (lots, cost, realized, funding, iso) in e["positions"].items():
        if symbol not in markets:
            if lots:
                warnings.append(f"{acct.id}: position of {lots} lots on {symbol} dropped (market gone)")
            continue
        pos = acct.pos(markets[symbol])
        pos.lots, pos.cost, pos.realized = int(lots), int(cost), Decimal(realized)
        pos.funding, pos.iso_margin = Decimal(funding), Decimal(iso)
        if pos.lots:
            markets[symbol].holders.add(acct)
    live: list[SimOrder] = []
    for d in e["orders"]:
        m = markets.get(d["symbol"])
        if m is None:
            if d["live"]:
                warnings.append(f"{acct.id}: order {d['oid']} on {d['symbol']} dropped (market gone)")
            continue
        o = SimOrder(d["oid"], acct, m, d["buy"], OrderType(d["type"]), TimeInForce(d["tif"]), d["price"],
                     d["trigger"], d["size"], d["reduce_only"], d["client_id"], d["created_ms"])
        o.filled, o.notional, o.status = d["filled"], d["notional"], OrderStatus(d["status"])
        o.updated_ms, o.triggered, o.inc, o.prio = d["updated_ms"], d["triggered"], d["inc"], d["prio"]
        o.reason = Reason(d["reason"]) if d["reason"] is not None else None
        engine._remember(o)
        if d["live"]:
            live.append(o)
        else:
            acct.history.append(o)
    for o in sorted(live, key=lambda o: o.prio):
        acct.open[o.oid] = o
        if o.reduce_only:
            acct.ro_count += 1
        if o.trigger is not None and not o.triggered:
            o.m.triggers[o.oid] = o
        else:
            o.m.book.side(o.is_buy).add(o)
            engine._reserve(o)
    for symbol, tid, oid, cid, is_buy, price, lots, fee, liq, realized, start, ts, liquidation in e["fills"]:
        if symbol in markets:
            acct.fills.append((markets[symbol], tid, oid, cid, is_buy, price, lots, Decimal(fee), Liquidity(liq),
                               Decimal(realized), start, ts, liquidation))
    acct.payments = deque(
        (FundingPayment(acct.id, s, Decimal(a), Decimal(r), Decimal(p), Decimal(mk), ts)
         for s, a, r, p, mk, ts in e["payments"]),
        maxlen=engine.history_limit,
    )
    if e["dms_deadline"] is not None:
        acct.dms_deadline = int(e["dms_deadline"])
        engine._dms[acct] = acct.dms_deadline
