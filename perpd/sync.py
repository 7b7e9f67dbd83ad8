"""Keeping the engine's view true: streams in, resyncs, unknown-outcome resolution.

- `venue_stream`: public market data (books, tickers, trades, funding) into MarketData.
- `account_stream`: private events into the account state and the journal; any gap or
  reconnect triggers `resync`, because venues do not replay what was missed.
- `resync`: open orders, our orders' fates, positions, balance and fills since the last
  one journaled, all fetched fresh before the account trades again.
- `resolve_unknown`: orders whose outcome is unknown (timeouts, 5xx, 429, a crash between
  journal and send) are looked up by client id — never re-sent under a new id.
- `watchdog_loop`: refreshes dead man's switches; cancels everything on an account the
  venue has not been heard from for too long.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING

import orjson

from perpd.errors import OutcomeUnknown, PerpdError
from perpd.model import (
    BalanceUpdate,
    BookUpdate,
    Fill,
    FillUpdate,
    FundingUpdate,
    Order,
    OrderStatus,
    OrderUpdate,
    PositionUpdate,
    StreamGap,
    TickerUpdate,
    TradingState,
    TradeUpdate,
)
from policies.pnl import window_start
from venues.base import AccountSession, Channel, Venue

if TYPE_CHECKING:
    from perpd.engine import Engine
    from perpd.state import AccountState
    from policies.risk import Trip

log = logging.getLogger("perpd.sync")

RECONNECT_SECS = (0.5, 1, 2, 5, 10)
PNL_CURSOR = "pnl_baselines"
ACKS_CURSOR = "loss_acknowledgements"


def watched_symbols(engine: Engine, venue: str) -> list[str]:
    """Symbols to stream for a venue: everything it lists, capped for very large venues to
    those the config mentions (targets, standing orders, leverage, routes)."""
    listed = sorted(s for (v, s) in engine.portfolio.market_data.markets if v == venue)
    if len(listed) <= 20:
        return listed
    cfg = engine.config
    wanted = {t.symbol for t in cfg.targets} | {o.symbol for o in cfg.orders}
    for account in cfg.accounts.values():
        if account.venue == venue:
            wanted |= set(account.leverage)
    return [s for s in listed if s in wanted]


async def venue_stream(engine: Engine, venue: Venue) -> None:
    """Consume a venue's public stream forever, reconnecting with backoff."""
    failures = 0
    data = engine.portfolio.market_data
    while True:
        symbols = watched_symbols(engine, venue.name)
        channels = [Channel(kind, s) for s in symbols for kind in ("book", "ticker", "trades", "funding")]
        try:
            async for event in venue.watch(channels):
                failures = 0
                if isinstance(event, BookUpdate):
                    book = data.book(venue.name, event.symbol)
                    if not book.apply(event):
                        log.warning("book gap on %s %s; resubscribing", venue.name, event.symbol)
                        break
                    engine.bus.publish("book", book, key=f"{venue.name}:{event.symbol}")
                elif isinstance(event, TickerUpdate):
                    data.tickers[(venue.name, event.ticker.symbol)] = event.ticker
                    engine.bus.publish("ticker", event.ticker, key=f"{venue.name}:{event.ticker.symbol}")
                elif isinstance(event, TradeUpdate):
                    engine.bus.publish("trades", event.trade)
                elif isinstance(event, FundingUpdate):
                    data.funding[(venue.name, event.funding.symbol)] = event.funding
                    engine.bus.publish("funding", event.funding, key=f"{venue.name}:{event.funding.symbol}")
                elif isinstance(event, StreamGap):
                    log.warning("public stream gap on %s: %s", venue.name, event.reason)
                    for (v, s), book in list(data.books.items()):
                        if v == venue.name:
                            book.seq = -1
        except asyncio.CancelledError:
            raise
        except PerpdError as exc:
            log.warning("public stream on %s failed: %s", venue.name, exc.message)
        except Exception:  # noqa: BLE001 - a stream bug must not kill market data for good
            log.exception("public stream on %s crashed", venue.name)
        await asyncio.sleep(RECONNECT_SECS[min(failures, len(RECONNECT_SECS) - 1)])
        failures += 1


async def account_stream(engine: Engine, session: AccountSession, stream: AsyncIterator[object] | None = None) -> None:
    """Consume an account's private stream forever; resync after any gap or reconnect.

    `stream` is the first subscription, opened by the caller *before* its initial resync,
    so nothing that happens between the resync and the subscription is missed.
    """
    failures = 0
    name = session.account
    while True:
        events, stream = stream or session.watch_account(), None
        try:
            first = True
            async for event in events:
                state = engine.portfolio.accounts.get(name)
                if state is None:
                    return
                state.last_contact_ms = engine.clock.now_ms()
                if first and failures:
                    await resync(engine, name)  # reconnected: what we missed is not replayed
                first = False
                failures = 0
                await apply_account_event(engine, name, event)
        except asyncio.CancelledError:
            raise
        except PerpdError as exc:
            log.warning("account stream %s failed: %s", name, exc.message)
        except Exception:  # noqa: BLE001
            log.exception("account stream %s crashed", name)
        if name in engine.portfolio.accounts:
            engine.portfolio.accounts[name].synced = False
        await asyncio.sleep(RECONNECT_SECS[min(failures, len(RECONNECT_SECS) - 1)])
        failures += 1
        try:
            await resync(engine, name)
        except PerpdError as exc:
            log.warning("resync of %s failed: %s", name, exc.message)


async def apply_account_event(engine: Engine, account: str, event: object) -> None:
    state = engine.portfolio.accounts[account]
    if isinstance(event, OrderUpdate):
        await on_order(engine, event.order)
    elif isinstance(event, FillUpdate):
        if await record_fill(engine, state, event.fill):
            engine.bus.publish("fills", event.fill)
            engine.wake()
    elif isinstance(event, PositionUpdate):
        state.set_position(event.position, engine.clock.now_ms())
        engine.bus.publish("positions", event.position, key=f"{account}:{event.position.symbol}")
        engine.wake()
    elif isinstance(event, BalanceUpdate):
        state.balance = event.balance
        engine.bus.publish("balance", event.balance, key=account)
    elif isinstance(event, StreamGap):
        state.synced = False
        await resync(engine, account)


async def record_fill(engine: Engine, state: AccountState, fill: Fill) -> bool:
    """Journal a fill once (by venue trade id); count it in the ledger and the loss
    tracker only if it is new. True if it was."""
    row = await engine.journal.insert_fill(fill)
    if row is None:
        return False
    state.add_fill(fill, engine.clock.now_ms(), row)
    if engine.pnl is not None:
        engine.pnl.on_fill(fill)
    return True


async def on_order(engine: Engine, order: Order) -> None:
    """An order report from a venue: ours goes through the lifecycle, others are foreign."""
    if engine.is_ours(order.client_id):
        await engine.record_order(order)
        return
    foreign = engine.foreign.setdefault(order.account, {})
    if order.status.is_terminal:
        foreign.pop(order.client_id, None)
    else:
        foreign[order.client_id] = order
    engine.bus.publish("orders", order, key=order.client_id)


async def resync(engine: Engine, account: str) -> None:
    """Fetch everything about an account afresh, then mark it synced (ready to trade)."""
    session = engine.sessions.get(account)
    state = engine.portfolio.accounts.get(account)
    if session is None or state is None:
        return
    state.synced = False
    open_orders = await session.fetch_open_orders()
    seen = set()
    foreign: dict[str, Order] = {}
    for order in open_orders:
        seen.add(order.client_id)
        if engine.is_ours(order.client_id):
            await engine.record_order(order)
        else:
            foreign[order.client_id] = order
    engine.foreign[account] = foreign
    for order in [o for o in engine.orders.values() if o.account == account and o.status.is_live]:
        if order.client_id not in seen:
            await _settle(engine, session, order, listed_open=False)
    # Fills before positions: a trade the snapshot already shows is then matched by it
    # (perpd/ledger.py); the other way round it would be counted on top of it.
    since = engine.journal.last_fill_ms(account) or 0
    for fill in await session.fetch_fills(since):
        await record_fill(engine, state, fill)
    state.replace_positions(await session.fetch_positions(), engine.clock.now_ms())
    state.balance = await session.fetch_balance()
    for symbol in engine.config.accounts[account].leverage:
        if engine.portfolio.market_data.market(state.venue, symbol) is not None:
            try:
                engine.leverage[(account, symbol)] = await session.fetch_leverage(symbol)
            except PerpdError as exc:
                log.warning("fetch_leverage %s %s failed: %s", account, symbol, exc.message)
    state.last_contact_ms = engine.last_resync[account] = engine.clock.now_ms()
    state.synced = True
    engine.wake()


async def _settle(engine: Engine, session: AccountSession, order: Order, *, listed_open: bool) -> None:
    """Find out what became of one of our live/pending/unknown orders, by client id.

    A lookup that fails (still unknown, refused, unparseable) settles nothing: the
    order keeps its state, the account's lookups back off, and the error shows in
    status; it never stops another order's or another account's work."""
    try:
        fresh = await session.fetch_order(order.client_id)
    except OutcomeUnknown:
        return  # still unknown; try again on a later pass
    except PerpdError as exc:
        engine.note_account_error(session.account, f"lookup of {order.client_id}: {exc.type_name}: {exc.message}")
        return
    if fresh is not None:
        await engine.record_order(fresh)
        return
    age = engine.clock.now_ms() - order.updated_ms
    if order.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN) and age < _grace_ms(engine):
        return  # may still be in flight (asynchronous acknowledgement)
    if order.client_id in engine.obligations:
        await engine.finish_obligation(order)  # journaled before a restart, never sent
        return
    # The venue has never heard of it: the send never arrived (or never happened).
    await engine.record_order(
        order.evolve(
            status=OrderStatus.REJECTED,
            reason=f"perpd: not found on {order.venue} after {order.status.value} outcome",
            updated_ms=engine.clock.now_ms(),
        )
    )


def _grace_ms(engine: Engine) -> int:
    """How long a sent order may stay invisible on the venue before it never arrived."""
    return int(engine.config.daemon.unknown_grace_secs * 1000)


async def resolve_unknown(engine: Engine) -> None:
    """Resolve orders whose outcome is unknown, by client id (one lookup each per pass)."""
    now = engine.clock.now_ms()
    for client_id in list(engine.unresolved):
        order = engine.orders.get(client_id)
        if order is None:
            engine.unresolved.discard(client_id)
        elif order.status is OrderStatus.UNKNOWN or (
            order.status is OrderStatus.PENDING and now - order.updated_ms >= _grace_ms(engine)
        ):
            session = engine.sessions.get(order.account)
            if session is None or engine.backing_off(order.account, now):
                continue
            try:
                await _settle(engine, session, order, listed_open=False)
            except Exception as exc:  # noqa: BLE001 - a bug on one order must not stop the rest
                log.exception("resolving %s failed", client_id)
                engine.note_account_error(order.account, f"resolving {client_id}: {exc!r}")


async def check_loss_limits(engine: Engine) -> None:
    """Trip the kill switch of every policy whose loss limit is breached.

    A trip halts the whole scope of the policy (`policy:NAME`), cancels its orders and
    journals why; it stays tripped, across restarts, until an operator resumes it.
    """
    if engine.risk is None or engine.pnl is None:
        return
    now = engine.clock.now_ms()
    engine.pnl.on_marks(engine.portfolio, now)
    for trip in engine.risk.loss_trips(engine.portfolio, engine.pnl, now):
        if _acknowledged(engine, trip, now):
            continue
        scope = f"policy:{trip.policy}"
        current = engine.trading.get(scope)
        if current is not None and current[0] is TradingState.HALTED:
            continue
        await engine.set_trading_state(scope, TradingState.HALTED, f"{trip.limit}: {trip.reason}", actor="risk")
    saved = orjson.dumps([b.to_dict() for b in engine.pnl.baselines()]).decode()
    if saved != engine.pnl_saved:
        # Baselines (window starts and peaks) let a restart measure losses from the
        # same reset mark as before; written only when they change.
        await engine.journal.set_cursor(PNL_CURSOR, saved)
        engine.pnl_saved = saved


def _ack_key(trip: Trip) -> str:
    return f"{trip.policy}|{trip.limit}|{trip.account}"


def _acknowledged(engine: Engine, trip: Trip, now_ms: int) -> bool:
    """A loss an operator resumed over re-trips only when it deepens by another full
    limit, and only until the policy's next daily reset."""
    ack = engine.loss_acks.get(_ack_key(trip))
    if ack is None:
        return False
    reset = next(p.reset_time_utc for p in engine.config.policies if p.name == trip.policy)
    if ack["ts_ms"] < window_start(now_ms, reset):
        return False
    return trip.value <= Decimal(ack["value"]) + trip.limit_value


async def acknowledge_losses(engine: Engine, policy: str) -> None:
    """Record the losses an operator accepted by resuming `policy:NAME` (journaled)."""
    if engine.risk is None or engine.pnl is None:
        return
    now = engine.clock.now_ms()
    for trip in engine.risk.loss_trips(engine.portfolio, engine.pnl, now):
        if trip.policy == policy:
            engine.loss_acks[_ack_key(trip)] = {"value": str(trip.value), "ts_ms": now}
    await engine.journal.set_cursor(ACKS_CURSOR, orjson.dumps(engine.loss_acks).decode())


async def rebuild_pnl(engine: Engine) -> None:
    """Replay journaled fills (and saved baselines) into the loss tracker on start."""
    if engine.pnl is None:
        return
    from policies.pnl import Baseline

    saved = engine.journal.cursor(PNL_CURSOR)
    baselines = [Baseline.from_dict(d) for d in orjson.loads(saved)] if saved else []
    acks = engine.journal.cursor(ACKS_CURSOR)
    engine.loss_acks = orjson.loads(acks) if acks else {}
    now = engine.clock.now_ms()
    # Replay the fills of the longest loss window (every one, however many); what the
    # accounts held before it is seeded from the start-up resync (`seed_pnl`).
    since = min((window_start(now, reset) for reset in engine.pnl.reset_times), default=now)
    engine.pnl.rebuild(engine.journal.iter_fills(since), now, baselines=baselines)
    engine.pnl_saved = saved


def seed_pnl(engine: Engine) -> None:
    """Book, at the venue's entry price, the part of each position the replayed fills do
    not explain (opened before the loss window or the journal): from then on its mark
    moves count toward the loss limits. Call after the start-up resync."""
    if engine.pnl is not None:
        engine.pnl.adopt(engine.portfolio, engine.clock.now_ms())


async def watchdog_loop(engine: Engine, period_secs: float = 5.0) -> None:
    """Dead man's switches: arm/refresh where the venue has one; else a local watchdog.

    Wakes often enough to refresh the shortest switch at a third of its horizon."""
    while True:
        horizons = [a.dead_mans_switch_secs for a in engine.config.accounts.values() if a.dead_mans_switch_secs]
        await asyncio.sleep(min([period_secs, *(h / 3 for h in horizons)]))
        for name in list(engine.sessions):
            try:
                await watchdog_check(engine, name)
            except PerpdError as exc:
                log.warning("watchdog on %s: %s", name, exc.message)


async def watchdog_check(engine: Engine, name: str) -> None:
    session = engine.sessions.get(name)
    cfg = engine.config.accounts.get(name)
    state = engine.portfolio.accounts.get(name)
    if session is None or cfg is None or state is None:
        return
    now = engine.clock.now_ms()
    every_ms = int(engine.config.daemon.resync_secs * 1000)
    if every_ms and now - engine.last_resync.get(name, now) >= every_ms:
        await resync(engine, name)  # the safety net under streams: periodic snapshots
    horizon = cfg.dead_mans_switch_secs
    if horizon and session.capabilities.dead_mans_switch:
        # Refresh at a third of the horizon: two refreshes can fail before it fires.
        if now >= engine.dms_refreshed.get(name, 0) + horizon * 1000 // 3:
            await session.cancel_all_after(horizon)
            engine.dms_refreshed[name] = now
            state.last_contact_ms = now
    limit_ms = engine.config.daemon.watchdog_secs * 1000
    if not limit_ms or not any(state.live_orders()):
        return
    if now - state.last_contact_ms > limit_ms // 2:
        # Quiet is not silence: ask the venue something cheap before concluding.
        try:
            state.balance = await session.fetch_balance()
            state.last_contact_ms = engine.clock.now_ms()
        except PerpdError:
            pass
    if now - state.last_contact_ms > limit_ms:
        log.warning("no contact with %s for %ss: cancelling all", name, limit_ms // 1000)
        await engine.cancel_all(account=name, actor="watchdog")
