"""Results of verbs as tables: typed values in, rows of cells out.

A `Result` keeps the typed value (what `--json`, the magics and scripts use) next to the
tables a person reads. Cells stay typed (Decimal, int, str, None); the renderers
(`perpd.perpctl.render`) format, align and colour them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from perpd.client.results import (
    Account,
    AuditRecord,
    Books,
    FillRecord,
    FundingPaymentRecord,
    PnlLine,
    PnlReport,
    Positions,
    Status,
)
from perpd.model import BPS, Balance, Fill, FundingRate, Market, Order, OrderStatus, Trade


@dataclass
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    title: str = ""

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column (what a DataFrame is built from)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class Result:
    """What a verb returns: the typed value, its tables, and/or a line to say."""

    value: Any = None
    tables: list[Table] = field(default_factory=list)
    message: str = ""


def when(ts_ms: int | None) -> str:
    """Milliseconds since the epoch as UTC `HH:MM:SS` (the date too if not today)."""
    if not ts_ms:
        return ""
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    today = datetime.now(tz=UTC).date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%Y-%m-%d %H:%M:%S")


def orders(items: Sequence[Order], title: str = "orders") -> Table:
    rows = [
        (o.client_id, o.account, o.symbol, o.side.value, o.type.value, o.size, o.filled_size, o.price,
         o.trigger_price, o.tif.value + (" reduce" if o.reduce_only else ""), o.status.value, _why(o))
        for o in items
    ]
    return Table(("id", "account", "symbol", "side", "type", "size", "filled", "price", "trigger", "tif", "status", "reason"),
                 rows, title)


def _why(order: Order) -> str:
    if order.parent_client_id and order.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
        return f"held by the venue until {order.parent_client_id} fills"  # a native bracket's exit
    return order.reason or ""


def positions(value: Positions) -> list[Table]:
    """Positions; with several accounts also the net exposure by asset."""
    rows = [
        (p.account, p.venue, p.symbol, p.size, p.entry_price, p.mark_price, p.unrealized_pnl, p.realized_pnl,
         p.liquidation_price, p.leverage)
        for p in value.positions
    ]
    main = Table(("account", "venue", "symbol", "size", "entry", "mark", "upnl", "rpnl", "liq", "lev"), rows, "positions")
    if len({p.account for p in value.positions}) < 2:
        return [main]
    by_asset = [(e.asset, e.size, e.notional, ", ".join(e.accounts)) for e in value.by_asset]
    return [main, Table(("asset", "net size", "notional", "accounts"), by_asset, "by asset")]


def balances(items: Iterable[Balance]) -> Table:
    rows = [(b.account, b.venue, b.asset, b.equity, b.available, b.margin_used, b.unrealized_pnl) for b in items]
    return Table(("account", "venue", "asset", "equity", "available", "margin", "upnl"), rows, "balance")


def accounts(items: Sequence[Account]) -> Table:
    rows = [
        (a.name, a.venue, _health(a.connected, a.synced, a.enabled), a.trading_state, a.open_orders,
         a.balance.equity if a.balance else None, len(a.positions), a.reason)
        for a in items
    ]
    return Table(("account", "venue", "health", "state", "orders", "equity", "positions", "reason"), rows, "accounts")


def _health(connected: bool, synced: bool, enabled: bool = True) -> str:
    if not enabled:
        return "disabled"
    return "synced" if synced else ("connected" if connected else "down")


def markets(items: Sequence[Market]) -> Table:
    rows = [(m.symbol, m.venue, m.venue_symbol, m.tick_size, m.lot_size, m.min_notional, m.max_leverage,
             m.maker_fee, m.taker_fee) for m in items]
    return Table(("symbol", "venue", "venue symbol", "tick", "lot", "min notional", "max lev", "maker", "taker"),
                 rows, "markets")


def book(value: Books, venue: str | None, depth: int) -> Table:
    """One venue's book, or the merged one when several venues list the symbol."""
    if venue is not None or len(value.books) == 1:
        src = value.venue(venue) if venue else value.books[0]
        return ladder(f"{value.symbol} on {src.venue}", [(lv.price, lv.size) for lv in src.bids],
                      [(lv.price, lv.size) for lv in src.asks], depth)
    return ladder(f"{value.symbol} merged across {', '.join(b.venue for b in value.books)}",
                  [(lv.price, lv.size) for lv in value.merged.bids], [(lv.price, lv.size) for lv in value.merged.asks], depth)


def ladder(title: str, bids: Sequence[tuple[Decimal, Decimal]], asks: Sequence[tuple[Decimal, Decimal]], depth: int) -> Table:
    """Bids and asks side by side, best first: (price, size) pairs in."""
    rows = []
    for i in range(min(depth, max(len(bids), len(asks)))):
        bid = bids[i] if i < len(bids) else (None, None)
        ask = asks[i] if i < len(asks) else (None, None)
        rows.append((bid[1], bid[0], ask[0], ask[1]))
    return Table(("bid size", "bid", "ask", "ask size"), rows, title)


def trades(items: Sequence[Trade]) -> Table:
    rows = [(when(t.ts_ms), t.venue, t.symbol, t.side.value, t.price, t.size) for t in items]
    return Table(("time", "venue", "symbol", "side", "price", "size"), rows, "trades")


def funding(items: Sequence[FundingRate]) -> Table:
    rows = [
        (f.symbol, f.venue, f.rate, (f.rate * BPS).normalize(), f.interval_secs // 3600 if f.interval_secs else None,
         f.mark_price, when(f.next_funding_ms))
        for f in items
    ]
    return Table(("symbol", "venue", "rate", "bps", "hours", "mark", "next"), rows, "funding")


def events(items: Sequence[AuditRecord]) -> Table:
    rows = [
        (e.id, when(e.ts_ms), e.actor, e.action, e.account or "", e.symbol or "", e.result, e.rule or "",
         _details(e.details))
        for e in items
    ]
    return Table(("id", "time", "actor", "action", "account", "symbol", "result", "rule", "details"), rows, "events")


def _details(details: Any) -> str:
    if isinstance(details, dict):
        return " ".join(f"{k}={v}" for k, v in details.items() if v not in (None, "", [], {}))
    return "" if details is None else str(details)


def status(value: Status) -> list[Table]:
    venues = [(name, v.get("kind"), "up" if v.get("connected") else "down", v.get("markets")) for name, v in value.venues.items()]
    accts = [
        (name, a.get("venue"), _health(bool(a.get("connected")), bool(a.get("synced")), bool(a.get("enabled", True))),
         a.get("trading_state"), a.get("open_orders"), a.get("reason") or "")
        for name, a in value.accounts.items()
    ]
    out = [
        Table(("venue", "kind", "health", "markets"), venues, f"config revision {value.config_revision} ({value.config_hash})"),
        Table(("account", "venue", "health", "state", "orders", "reason"), accts, "accounts"),
    ]
    halted = [(scope, s.get("state"), s.get("reason") or "") for scope, s in value.trading_states.items()]
    halted += [(f"blocked {rule}", "blocked", reason) for rule, reason in value.blocked.items()]
    if halted:
        out.append(Table(("scope", "state", "reason"), halted, "trading states"))
    return out


def fills(items: Sequence[FillRecord], title: str = "fills") -> Table:
    rows = [
        (when(f.ts_ms), f.account, f.symbol, f.side.value, f.size, f.price, f.fee, f.fee_currency or "",
         f.liquidity.value, f.realized_pnl, f.trade_id, f.client_id or "", f.intent_id, f.source or "")
        for f in items
    ]
    return Table(("time", "account", "symbol", "side", "size", "price", "fee", "ccy", "liquidity", "rpnl", "trade id",
                  "client id", "intent", "source"), rows, title)


def live_fills(items: Sequence[Fill], title: str = "fills") -> Table:
    """Fills as the stream carries them (`watch fills`): no intent, which `fills` reads from the journal."""
    rows = [(when(f.ts_ms), f.account, f.symbol, f.side.value, f.size, f.price, f.fee, f.liquidity.value,
             f.realized_pnl, f.trade_id, f.client_id or "") for f in items]
    return Table(("time", "account", "symbol", "side", "size", "price", "fee", "liquidity", "rpnl", "trade id", "client id"),
                 rows, title)


def funding_payments(items: Sequence[FundingPaymentRecord], title: str = "funding payments") -> Table:
    rows = [(when(p.ts_ms), p.account, p.venue, p.symbol, p.position, p.rate, p.amount, p.currency or "", p.payment_id)
            for p in items]
    return Table(("time", "account", "venue", "symbol", "position", "rate", "amount", "ccy", "payment id"), rows, title)


PNL_COLUMNS = ("realized", "fees", "funding", "unrealized", "net")


def pnl(value: PnlReport) -> list[Table]:
    """Per account, venue and symbol; then by account, by asset and the total (several
    accounts or symbols only)."""
    title = f"pnl {value.period}" + (f" since {when(value.since)}" if value.since else "") + (
        f" until {when(value.until)}" if value.until else "")

    def figures(line: PnlLine) -> tuple[Any, ...]:
        return tuple(getattr(line, c) for c in PNL_COLUMNS)

    main = Table(("account", "venue", "symbol", *PNL_COLUMNS), [(l.account, l.venue, l.symbol, *figures(l)) for l in value.lines],
                 title)
    if len(value.lines) < 2 and len(value.by_account) < 2:
        return [main]
    return [
        main,
        Table(("account", *PNL_COLUMNS), [(l.account, *figures(l)) for l in value.by_account], "by account"),
        Table(("asset", *PNL_COLUMNS), [(l.asset, *figures(l)) for l in value.by_asset], "by asset"),
        Table(PNL_COLUMNS, [figures(value.total)], "total"),
    ]


def pnl_curve(value: PnlReport) -> Table:
    rows = [(when(p.ts_ms), p.ts_ms, p.account, p.booked) for p in value.curve or ()]
    return Table(("time", "ts_ms", "account", "booked"), rows, f"booked pnl {value.period}")
