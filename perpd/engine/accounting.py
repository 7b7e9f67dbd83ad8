"""What a trader reads about money: fills, funding payments and PnL, from the journal.

Fills and payments come from the journal (read-your-writes: queued writes are flushed
first), with each fill's intent and the market's quote currency. PnL is
`policies.pnl`'s, the code the kill switch reads:

- today: the loss tracker's own figures since each account's daily reset (the reset of
  the first loss-limit policy covering the account, else 00:00 UTC): the numbers the
  kill switch acts on.
- a window (since / until) or since inception: the same tracker replaying the journal
  (`policies.pnl.statement`), open positions valued at the tracker's marks now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from perpd.clock import Clock
from perpd.engine.state import EngineState
from perpd.errors import NotFound
from perpd.journal import Journal
from perpd.journal.money import JournaledFill
from perpd.model import Fill, FundingPayment, base_asset
from perpd.wire import FillPage, FillRecord, FundingPage, FundingPaymentRecord, PnlLine, PnlPoint, PnlReport
from policies.pnl import DEFAULT_RESET, NO_PNL, PnlParts, curve, statement, total

Key = tuple[str, str, str]  # account, venue, symbol


class Accounting:
    def __init__(self, state: EngineState, journal: Journal, clock: Clock) -> None:
        self._state = state
        self._journal = journal
        self._clock = clock

    def _known(self, account: str | None) -> None:
        if account is not None and account not in self._state.config.accounts:
            raise NotFound(f"no account named {account!r}", details={"field": "account"})

    def _quote(self, venue: str, symbol: str) -> str | None:
        market = self._state.portfolio.market_data.market(venue, symbol)
        return market.quote if market is not None else None

    # ------------------------------------------------------------------ fills, funding

    async def fills(self, *, account: str | None = None, **filters: Any) -> FillPage:
        """A page of fills (filters: symbol, since_ms, until_ms, cursor, limit, newest_first)."""
        self._known(account)
        await self._journal.flush()  # fills are journaled as they come: read what was written
        page, cursor = self._journal.fill_page(account=account, **filters)
        return FillPage(fills=[self._fill(j) for j in page], next_cursor=cursor)

    def _fill(self, journaled: JournaledFill) -> FillRecord:
        f = journaled.fill
        return FillRecord(
            account=f.account, venue=f.venue, symbol=f.symbol, side=f.side, price=f.price, size=f.size, fee=f.fee,
            fee_currency=self._quote(f.venue, f.symbol), liquidity=f.liquidity, trade_id=f.trade_id,
            client_id=f.client_id, venue_order_id=f.venue_order_id, intent_id=journaled.intent_id,
            source=journaled.source, realized_pnl=f.realized_pnl, ts_ms=f.ts_ms,
        )

    async def funding_payments(self, *, account: str | None = None, **filters: Any) -> FundingPage:
        """A page of funding payments, filtered like `fills`."""
        self._known(account)
        await self._journal.flush()
        page, cursor = self._journal.funding_page(account=account, **filters)
        return FundingPage(funding_payments=[self._payment(p) for p in page], next_cursor=cursor)

    def _payment(self, p: FundingPayment) -> FundingPaymentRecord:
        return FundingPaymentRecord(
            account=p.account, venue=p.venue, symbol=p.symbol, payment_id=p.payment_id, amount=p.amount,
            currency=self._quote(p.venue, p.symbol), rate=p.rate, position=p.position, ts_ms=p.ts_ms,
        )

    # ------------------------------------------------------------------ PnL

    def reset_of(self, account: str) -> str:
        """The daily reset the account's loss limits use (the first such policy's)."""
        venue = self._state.config.accounts[account].venue
        for policy in self._state.risk.policies:
            limited = policy.daily_loss_limit is not None or policy.max_drawdown is not None
            if limited and policy.scope.covers(account, venue, None):
                return policy.reset_time_utc
        return DEFAULT_RESET

    async def pnl(self, *, account: str | None = None, period: str = "today", since_ms: int | None = None,
                  until_ms: int | None = None, with_curve: bool = False) -> PnlReport:
        """PnL per account, venue, asset and in total: `today`, `window` or `inception`."""
        self._known(account)
        state, now = self._state, self._clock.now_ms()
        state.pnl.on_marks(state.portfolio, now)  # what a loop pass does before the kill switch reads
        accounts = [account] if account is not None else sorted(state.config.accounts)
        resets: dict[str, int] = {}
        parts: dict[Key, PnlParts] = {}
        if period == "today":
            for name in accounts:
                venue = state.config.accounts[name].venue
                resets[name], by_symbol = state.pnl.breakdown(name, self.reset_of(name), now)
                parts.update({(name, venue, symbol): p for symbol, p in by_symbol.items()})
            since_ms = min(resets.values(), default=None)
        else:
            await self._journal.flush()
            fills, payments = self._events(accounts)
            parts = statement(fills, payments, since_ms=since_ms, until_ms=until_ms, marks=state.pnl.marks)
        report = _report(period, since_ms, until_ms, resets, accounts, parts, state.config.accounts)
        if not with_curve:
            return report
        await self._journal.flush()
        points: list[PnlPoint] = []
        for name in accounts:  # today: each account from its own reset
            fills, payments = self._events([name])
            start = resets.get(name, since_ms)
            points += [PnlPoint(ts_ms=ts, account=a, booked=_plain(v))
                       for ts, a, v in curve(fills, payments, since_ms=start, until_ms=until_ms)]
        return report.model_copy(update={"curve": sorted(points, key=lambda p: (p.ts_ms, p.account))})

    def _events(self, accounts: list[str]) -> tuple[list[Fill], list[FundingPayment]]:
        """Every journaled fill and payment of these accounts (the replay starts at inception:
        a window's start needs the positions held then)."""
        wanted = set(accounts)
        return ([f for f in self._journal.iter_fills(0) if f.account in wanted],
                [p for p in self._journal.iter_funding(0) if p.account in wanted])


def _report(period: str, since_ms: int | None, until_ms: int | None, resets: dict[str, int], accounts: list[str],
            parts: dict[Key, PnlParts], configured: Any) -> PnlReport:
    parts = {k: p for k, p in parts.items() if p != NO_PNL}
    lines = [_line(p, account=a, venue=v, asset=base_asset(s), symbol=s) for (a, v, s), p in sorted(parts.items())]

    def grouped(key: Callable[[Key], str], names: Iterable[str], field: str) -> list[PnlLine]:
        groups: dict[str, list[PnlParts]] = {name: [] for name in names}
        for k, p in parts.items():
            groups.setdefault(key(k), []).append(p)
        return [_line(total(ps), **{field: name}) for name, ps in sorted(groups.items())]

    return PnlReport(
        period=period, since=since_ms, until=until_ms, resets=resets, lines=lines,
        by_account=grouped(lambda k: k[0], accounts, "account"),
        by_venue=grouped(lambda k: k[1], sorted({configured[a].venue for a in accounts}), "venue"),
        by_asset=grouped(lambda k: base_asset(k[2]), (), "asset"),
        total=_line(total(parts.values())),
    )


def _line(p: PnlParts, **where: str) -> PnlLine:
    return PnlLine(**where, realized=_plain(p.realized), fees=_plain(p.fees), funding=_plain(p.funding),
                   unrealized=_plain(p.unrealized), net=_plain(p.net))


def _plain(value: Decimal) -> Decimal:
    """Exact, without a negative zero or a trailing exponent (0E-8 reads as 0)."""
    return Decimal(format(value.normalize(), "f")) if value else Decimal(0)
