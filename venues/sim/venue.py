"""The sim venue: the venue contract over the in-process exchange (paper trading).

`SimVenue` owns one `SimExchange`. Creating it is cheap (no task, no I/O); `connect()`
starts a background task that steps the engine to the clock every `step_ms` of real
time. The task paces itself with real sleeps and reads the time from the clock: with a
`ManualClock` the world stands still until the test moves the clock and calls `step()`.

State (balances, positions, resting orders, order and fill history) lives in
`<state_dir>/sim-state.json` when `persist = true`: loaded at construction, written on
`close()` and every few seconds while accounts change, atomically (write + rename).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, ClassVar

import anyio
import orjson

from perpd.clock import Clock
from perpd.errors import InvalidRequest, NotFound, NotSupported
from perpd.model import (
    Balance,
    BookUpdate,
    Candle,
    Fill,
    FundingPayment,
    FundingRate,
    LeverageSetting,
    MarginMode,
    Market,
    Order,
    OrderBook,
    OrderRequest,
    OrderType,
    OrderUpdate,
    Position,
    Side,
    StreamGap,
    Ticker,
    TimeInForce,
    Trade,
)
from venues.base import (
    AccountSession,
    Capabilities,
    Channel,
    ClientIdFormat,
    EditMode,
    SecretResolver,
    Venue,
    check_against_market,
)
from venues.sim import convert
from venues.sim.config import SimAccountConfig, SimVenueConfig, exchange_options, specs_from_config
from venues.sim.errors import map_reject
from venues.sim.streams import EventStream
from venues.simex.events import OrderEvent, OrderView, SimReject
from venues.simex.exchange import SimExchange

log = logging.getLogger(__name__)

STATE_FILE = "sim-state.json"
ANSWERS_KEPT = 1024  # create_order answers awaiting their echo on the account stream
SAVE_INTERVAL_SECS = 5.0
CANDLE_INTERVALS_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000,
                       "1d": 86_400_000}


class SimVenue(Venue):
    """The built-in paper exchange; `kind = "sim"`."""

    kind: ClassVar[str] = "sim"
    config_model = SimVenueConfig
    account_model = SimAccountConfig
    capabilities: ClassVar[Capabilities] = Capabilities(
        order_types=frozenset(OrderType),
        tifs=frozenset(TimeInForce),
        reduce_only=True,
        edit=EditMode.NATIVE,
        edit_keeps_priority_on_shrink=True,
        batch_create=50,
        batch_cancel=50,
        dead_mans_switch=True,
        dead_mans_switch_min_secs=1,
        dead_mans_switch_max_secs=86_400,
        client_id_format=ClientIdFormat.STRING,
        margin_modes=frozenset({MarginMode.CROSS, MarginMode.ISOLATED}),
        async_acks=False,
        trigger_reference="mark",
        funding_payments=True,
    )
    stream_buffer: int = 10_000  # events a slow watcher may lag before a StreamGap

    def __init__(self, name: str, config: SimVenueConfig, *, clock: Clock | None = None,
                 state_dir: Path | None = None) -> None:
        super().__init__(name, config, clock=clock, state_dir=state_dir)
        self.config: SimVenueConfig = config
        self.engine = self._make_engine()
        self._markets = {spec.symbol: convert.market(name, spec) for spec in
                         (self.engine.spec(s) for s in self.engine.symbols)}
        self._task: asyncio.Task[None] | None = None
        self._dirty = False
        self.engine.subscribe(self._note_account_change)

    # ------------------------------------------------------------------ state

    @property
    def state_file(self) -> Path | None:
        if self.state_dir is None or not self.config.persist:
            return None
        return Path(self.state_dir) / STATE_FILE

    def _make_engine(self) -> SimExchange:
        path = self.state_file
        if path is not None and path.is_file():
            try:
                state = orjson.loads(path.read_bytes())
                engine = SimExchange.from_state(
                    state, clock=self.clock, markets=specs_from_config(self.config),
                    funding_interval_secs=self.config.funding_interval_secs, step_ms=self.config.step_ms,
                    makers=self.config.makers, takers=self.config.takers,
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                # A damaged file must not stop the daemon; keep it aside for a human.
                aside = path.with_suffix(".damaged")
                log.error("%s: cannot load %s (%s); starting fresh, old file kept as %s",
                          self.name, path, exc, aside.name)
                os.replace(path, aside)
            else:
                return engine
        return SimExchange(specs_from_config(self.config), clock=self.clock, **exchange_options(self.config))

    def _note_account_change(self, event: Any) -> None:
        if event.account is not None:
            self._dirty = True

    def save_state(self) -> None:
        """Write the engine state now (atomically); a no-op without a state dir."""
        path = self.state_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(self.engine.to_state()))
        os.replace(tmp, path)
        self._dirty = False

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"sim-{self.name}")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.save_state()

    async def _run(self) -> None:
        interval = self.config.step_ms / 1000
        last_save = anyio.current_time()
        while True:
            await anyio.sleep(interval)
            self.step()
            if self._dirty and anyio.current_time() - last_save >= SAVE_INTERVAL_SECS:
                last_save = anyio.current_time()
                try:
                    self.save_state()
                except OSError as exc:
                    log.error("%s: cannot save sim state: %s", self.name, exc)

    def step(self) -> None:
        """Advance the simulated market to the clock's time."""
        self.engine.step(self.clock.now_ms())

    # ------------------------------------------------------------------ public data

    async def load_markets(self) -> dict[str, Market]:
        return dict(self._markets)

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        return convert.order_book(self.name, self.engine.book(self.market(symbol).symbol, depth))

    async def fetch_ticker(self, symbol: str) -> Ticker:
        unified = self.market(symbol).symbol
        return convert.ticker(self.name, self.engine.market(unified), self.engine.book(unified, 1))

    async def fetch_trades(self, symbol: str, limit: int = 100) -> list[Trade]:
        return [convert.trade(self.name, t) for t in self.engine.recent_trades(self.market(symbol).symbol, limit)]

    async def fetch_funding(self, symbol: str) -> FundingRate:
        view = self.engine.market(self.market(symbol).symbol)
        return convert.funding(self.name, view, self.config.funding_interval_secs)

    async def fetch_candles(self, symbol: str, interval: str = "1m", start_ms: int | None = None,
                            end_ms: int | None = None, limit: int = 500) -> list[Candle]:
        step = CANDLE_INTERVALS_MS.get(interval)
        if step is None:
            raise InvalidRequest(f"{self.name}: candle interval must be one of {', '.join(CANDLE_INTERVALS_MS)}")
        unified = self.market(symbol).symbol
        return [
            Candle(self.name, unified, interval, c.open_ms, c.open, c.high, c.low, c.close, c.volume, c.trades)
            for c in self.engine.candles(unified, step, start_ms, end_ms, limit)
        ]

    def watch(self, channels: Sequence[Channel]) -> EventStream:  # type: ignore[override]
        """Book snapshots then deltas, trades, tickers, fundings; on overflow a StreamGap
        and fresh snapshots. Subscribed as soon as it is called."""
        wanted = {(c.kind, self.market(c.symbol).symbol) for c in channels}
        books = sorted(symbol for kind, symbol in wanted if kind == "book")
        interval = self.config.funding_interval_secs

        def accept(event: Any) -> bool:
            return event.account is None and (_CHANNELS.get(type(event).__name__), event.symbol) in wanted

        def resync() -> list[object]:
            gap = StreamGap(self.name, None, "sim stream consumer fell behind", self.clock.now_ms())
            return [gap, *(self._snapshot(s) for s in books)]

        return EventStream(
            self.engine.subscribe, accept,
            lambda event: convert.public_event(self.name, event, self.engine, interval),
            resync, self.stream_buffer, [self._snapshot(s) for s in books],
        )

    def _snapshot(self, symbol: str) -> BookUpdate:
        return convert.book_snapshot(self.name, self.engine.book(symbol))

    # ------------------------------------------------------------------ accounts

    def session(self, account: str, config: SimAccountConfig, secrets: SecretResolver) -> SimSession:  # type: ignore[override]
        return SimSession(self, account, config)


_CHANNELS = {"BookDelta": "book", "TradeEvent": "trades", "MarkEvent": "ticker", "FundingEvent": "funding"}


class SimSession(AccountSession):
    """One paper account; its engine account id is the perpd account name."""

    venue: SimVenue

    def __init__(self, venue: SimVenue, account: str, config: SimAccountConfig) -> None:
        super().__init__(venue, account, config)
        self.engine = venue.engine
        self.engine.ensure_account(account, config.starting_balance)
        # create_order's answers by client id, until the account stream brings the same
        # view (simex hands one object to both): our own order's echo is not converted
        # again. Kept for a few orders at most: an answer nobody echoes is let go.
        self._answered: dict[str, tuple[OrderView, Order]] = {}

    @property
    def _name(self) -> str:
        return self.venue.name

    # ------------------------------------------------------------------ state

    async def fetch_balance(self) -> Balance:
        return convert.balance(self._name, self.engine.balance(self.account))

    async def fetch_positions(self) -> list[Position]:
        return [convert.position(self._name, p) for p in self.engine.positions(self.account)]

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        unified = self.venue.market(symbol).symbol if symbol is not None else None
        return [convert.order(self._name, o) for o in self.engine.open_orders(self.account, unified)]

    async def fetch_order(self, client_id: str) -> Order | None:
        view = self.engine.order(self.account, client_id=client_id)
        return convert.order(self._name, view) if view is not None else None

    async def fetch_fills(self, since_ms: int = 0) -> list[Fill]:
        return [convert.fill(self._name, f) for f in self.engine.fills(self.account, since_ms)]

    async def fetch_funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        return [convert.funding_payment(self._name, p) for p in self.engine.funding_payments(self.account, since_ms)]

    # ------------------------------------------------------------------ trading

    async def create_order(self, request: OrderRequest) -> Order:
        self.capabilities.check(request, self._name)
        market = self.venue.market(request.symbol)
        check_against_market(request, market)
        price = request.price
        if request.type is OrderType.MARKET and price is None and request.slippage_bps is not None:
            price = _worst_price(self.engine.market(market.symbol).mark_price, request.side,
                                 request.slippage_bps, market.tick_size)
        try:
            view = self.engine.place(
                self.account, market.symbol, request.side, request.size, type=request.type, price=price,
                trigger_price=request.trigger_price, tif=request.tif, reduce_only=request.reduce_only,
                client_id=request.client_id,
            )
        except SimReject as exc:
            raise map_reject(exc, self._name) from exc
        order = convert.order(self._name, view)
        if len(self._answered) >= ANSWERS_KEPT:
            self._answered.clear()
        self._answered[order.client_id] = (view, order)
        return order

    def _account_event(self, event: object) -> object | None:
        if type(event) is OrderEvent:
            view = event.order  # type: ignore[attr-defined]
            answered = self._answered.pop(convert.client_id_of(view), None)
            if answered is not None and answered[0] is view:
                return OrderUpdate(answered[1])
        return convert.account_event(self._name, event)

    async def cancel_order(self, client_id: str) -> bool:
        return self.engine.cancel(self.account, client_id=client_id) is not None

    async def cancel_all_orders(self, symbol: str | None = None) -> int:
        unified = self.venue.market(symbol).symbol if symbol is not None else None
        return len(self.engine.cancel_all(self.account, unified))

    async def edit_order(self, client_id: str, *, new_client_id: str, price: Decimal | None = None,
                         size: Decimal | None = None) -> Order:
        """Amend in place (EditMode.NATIVE): the order keeps `client_id`; `new_client_id`
        is not used."""
        if self.capabilities.edit is EditMode.NONE:
            raise NotSupported(f"{self._name} does not support editing orders")
        if price is None and size is None:
            raise InvalidRequest(f"{self._name}: an edit needs a new price or size")
        current = self.engine.order(self.account, client_id=client_id)
        if current is None or not current.status.is_live:
            raise NotFound(f"{self._name}: no live order with client id {client_id!r}")
        market = self.venue.market(current.symbol)
        if price is not None and not _on_grid(price, market.tick_size):
            raise InvalidRequest(f"{self._name}: price {price} is not a multiple of tick {market.tick_size}")
        if size is not None and not _on_grid(size, market.lot_size):
            raise InvalidRequest(f"{self._name}: size {size} is not a multiple of lot {market.lot_size}")
        try:
            view = self.engine.edit(self.account, client_id=client_id, price=price, size=size)
        except SimReject as exc:
            raise map_reject(exc, self._name) from exc
        return convert.order(self._name, view)

    async def fetch_leverage(self, symbol: str) -> LeverageSetting:
        unified = self.venue.market(symbol).symbol
        leverage, mode = self.engine.leverage(self.account, unified)
        return LeverageSetting(unified, leverage, mode)

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:
        unified = self.venue.market(symbol).symbol
        if margin_mode not in self.capabilities.margin_modes:
            raise NotSupported(f"{self._name} does not support {margin_mode.value} margin")
        try:
            self.engine.set_leverage(self.account, unified, leverage, margin_mode)
        except SimReject as exc:
            raise map_reject(exc, self._name) from exc

    async def cancel_all_after(self, seconds: int) -> None:
        caps = self.capabilities
        if not caps.dead_mans_switch:
            raise NotSupported(f"{self._name} has no dead man's switch")
        if seconds == 0:
            self.engine.cancel_all_after(self.account, None)
            return
        if not caps.dead_mans_switch_min_secs <= seconds <= caps.dead_mans_switch_max_secs:
            raise InvalidRequest(
                f"{self._name}: dead man's switch takes {caps.dead_mans_switch_min_secs}.."
                f"{caps.dead_mans_switch_max_secs} seconds (got {seconds})"
            )
        self.engine.cancel_all_after(self.account, self.venue.clock.now_ms() + seconds * 1000)

    def watch_account(self) -> EventStream:  # type: ignore[override]
        """Order, fill, position and balance updates of this account; StreamGap on
        overflow (then resync with the fetch_* verbs). Subscribed as soon as it is called."""
        account = self.account

        def resync() -> list[object]:
            return [StreamGap(self._name, account, "sim account stream consumer fell behind",
                              self.venue.clock.now_ms())]

        return EventStream(
            self.engine.subscribe, lambda event: event.account == account,  # type: ignore[attr-defined]
            self._account_event, resync, self.venue.stream_buffer,
        )


def _on_grid(value: Decimal, step: Decimal) -> bool:
    return value > 0 and value % step == 0


def _worst_price(mark: Decimal, side: Side, slippage_bps: Decimal, tick: Decimal) -> Decimal:
    """The slippage cap of a market order, rounded to the tick toward the mark."""
    factor = 1 + (slippage_bps / 10_000 if side is Side.BUY else -slippage_bps / 10_000)
    units = (mark * factor / tick).to_integral_value(rounding=ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)
    return max(units, Decimal(1)) * tick

