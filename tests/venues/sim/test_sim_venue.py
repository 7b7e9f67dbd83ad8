"""The sim venue beyond the contract: persistence, stream overflow, stepping, config, errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from perpd.clock import ManualClock
from perpd.config import loads
from perpd.errors import ConfigError, InvalidRequest, NotFound, PerpdError, VenueRejected
from perpd.model import (
    BookUpdate,
    FundingUpdate,
    MarginMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    StreamGap,
    TickerUpdate,
)
from tests.contract import eventually, next_matching
from venues.base import Channel
from venues.registry import venue_class
from venues.sim.config import SimAccountConfig, SimVenueConfig
from venues.sim.errors import ERRORS, map_reject
from venues.sim.venue import STATE_FILE, SimSession, SimVenue
from venues.simex.events import Reason, SimReject

pytestmark = pytest.mark.anyio
D = Decimal
BTC = "BTC-PERP"


def no_secrets(reference: str) -> object:
    raise AssertionError("the sim venue needs no secrets")


def make(tmp_path: Path | None, clock: ManualClock | None = None, **config: object) -> SimVenue:
    return SimVenue("sim", SimVenueConfig(**config), clock=clock or ManualClock(), state_dir=tmp_path)


def session_of(venue: SimVenue, account: str = "paper", **config: object) -> SimSession:
    return venue.session(account, SimAccountConfig(venue="sim", **config), no_secrets)


def limit(client_id: str, price: str, size: str = "0.01", side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(client_id, BTC, side, OrderType.LIMIT, D(size), price=D(price))


async def test_a_restarted_venue_finds_its_paper_balances_positions_and_resting_orders(tmp_path: Path) -> None:
    clock = ManualClock()
    venue = make(tmp_path, clock)
    await venue.connect()
    session = session_of(venue)
    await session.set_leverage(BTC, 7, MarginMode.ISOLATED)
    await session.create_order(OrderRequest("bought", BTC, Side.BUY, OrderType.MARKET, D("0.02")))
    await session.create_order(limit("resting", "60000"))
    clock.advance(5_000)
    venue.step()
    before = (await session.fetch_balance(), await session.fetch_positions(), await session.fetch_open_orders(),
              await session.fetch_fills(), await session.fetch_order("bought"), await session.fetch_leverage(BTC))
    await venue.close()
    assert (tmp_path / STATE_FILE).is_file()

    again = make(tmp_path, clock)
    await again.connect()
    restored = session_of(again)
    after = (await restored.fetch_balance(), await restored.fetch_positions(), await restored.fetch_open_orders(),
             await restored.fetch_fills(), await restored.fetch_order("bought"), await restored.fetch_leverage(BTC))
    assert after == before
    assert before[1][0].size == D("0.02") and before[2][0].client_id == "resting"
    with pytest.raises(VenueRejected):  # the client id is still remembered after the restart
        await restored.create_order(limit("resting", "60000"))
    await again.close()


async def test_starting_balance_applies_only_to_a_new_account(tmp_path: Path) -> None:
    venue = make(tmp_path)
    rich = session_of(venue, "rich", starting_balance=D(5_000_000))
    assert (await rich.fetch_balance()).equity == D(5_000_000)
    await venue.close()
    again = make(tmp_path)
    assert (await session_of(again, "rich", starting_balance=D(1)).fetch_balance()).equity == D(5_000_000)


async def test_without_persist_nothing_is_written(tmp_path: Path) -> None:
    venue = make(tmp_path, persist=False)
    await session_of(venue).create_order(limit("a", "60000"))
    await venue.close()
    assert list(tmp_path.iterdir()) == []


async def test_a_damaged_state_file_is_kept_aside_and_the_venue_starts_fresh(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    venue = make(tmp_path)
    assert (await session_of(venue).fetch_balance()).equity == D(100_000)
    assert (tmp_path / "sim-state.damaged").read_text() == "{not json"


async def test_a_slow_book_watcher_gets_a_gap_then_a_fresh_snapshot_then_deltas_in_sequence() -> None:
    venue = make(None)
    venue.stream_buffer = 5
    session = session_of(venue)
    stream = venue.watch([Channel("book", BTC)])
    first = await stream.__anext__()
    assert isinstance(first, BookUpdate) and first.snapshot
    for i in range(20):  # twenty deltas while nobody reads
        await session.create_order(limit(f"o{i}", str(60000 + i)))
    gap = await stream.__anext__()
    assert isinstance(gap, StreamGap) and gap.account is None
    snapshot = await stream.__anext__()
    assert isinstance(snapshot, BookUpdate) and snapshot.snapshot
    assert snapshot.seq == venue.engine.book(BTC).seq and D(60019) in {lvl.price for lvl in snapshot.bids}
    await session.cancel_order("o19")
    delta = await stream.__anext__()
    assert isinstance(delta, BookUpdate) and not delta.snapshot and delta.seq == snapshot.seq + 1
    assert [(lvl.price, lvl.size) for lvl in delta.bids] == [(D(60019), 0)]
    await stream.aclose()


async def test_a_slow_account_watcher_gets_a_gap() -> None:
    venue = make(None)
    venue.stream_buffer = 3
    session = session_of(venue)
    stream = session.watch_account()
    for i in range(5):
        await session.create_order(limit(f"o{i}", "60000"))
    gap = await stream.__anext__()
    assert isinstance(gap, StreamGap) and gap.account == "paper"
    await session.cancel_order("o0")
    update = await stream.__anext__()
    assert isinstance(update, OrderUpdate) and update.order.status is OrderStatus.CANCELLED
    await stream.aclose()


async def test_the_echo_of_a_placed_order_is_the_answer_create_order_gave() -> None:
    venue = make(None)
    session = session_of(venue)
    stream = session.watch_account()
    answer = await session.create_order(limit("echo", "60000"))
    update = await next_matching(stream, lambda e: isinstance(e, OrderUpdate), 5, "the order's update")
    assert isinstance(update, OrderUpdate) and update.order is answer  # not converted a second time
    await session.cancel_order("echo")
    cancelled = await next_matching(stream, lambda e: isinstance(e, OrderUpdate), 5, "the cancel's update")
    assert isinstance(cancelled, OrderUpdate) and cancelled.order.client_id == "echo" and cancelled.order.status is OrderStatus.CANCELLED
    await stream.aclose()


async def test_a_closed_stream_ends_and_stops_listening() -> None:
    venue = make(None)
    stream = venue.watch([Channel("trades", BTC)])
    listeners = len(venue.engine._listeners)
    await stream.aclose()
    assert len(venue.engine._listeners) == listeners - 1
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


async def test_a_connected_venue_steps_the_engine_to_the_clock() -> None:
    clock = ManualClock()
    venue = make(None, clock, step_ms=5)
    await venue.connect()
    clock.advance(60_000)

    async def caught_up() -> bool:
        return venue.engine.now_ms == clock.now_ms()

    await eventually(caught_up, 5.0, "the background task to step the engine")
    await venue.close()
    clock.advance(60_000)
    await anyio.sleep(0.05)
    assert venue.engine.now_ms == clock.now_ms() - 60_000  # closed: no more steps


async def test_kind_sim_in_a_config_file_builds_a_sim_venue_and_paper_accounts() -> None:
    config = loads('[venues.paper-exchange]\nkind = "sim"\nseed = 3\n'
                   '[accounts.paper]\nvenue = "paper-exchange"\nstarting_balance = 2500\n')
    assert venue_class("sim") is SimVenue
    venue = SimVenue("paper-exchange", config.venues["paper-exchange"])
    session = venue.session("paper", config.accounts["paper"], no_secrets)  # type: ignore[arg-type]
    assert (await session.fetch_balance()).equity == D(2500)
    assert sorted(await venue.load_markets()) == [BTC, "ETH-PERP", "SOL-PERP"]


async def test_a_market_order_honours_the_requested_slippage_cap() -> None:
    venue = make(None)
    session = session_of(venue)
    tight = OrderRequest("tight", BTC, Side.BUY, OrderType.MARKET, D("0.01"), slippage_bps=D("0.5"))
    order = await session.create_order(tight)  # the best ask is 1.5 bp over the mark
    assert order.status is OrderStatus.CANCELLED and order.filled_size == 0 and order.reason == "no_liquidity"
    wide = OrderRequest("wide", BTC, Side.BUY, OrderType.MARKET, D("0.01"), slippage_bps=D(10))
    assert (await session.create_order(wide)).status is OrderStatus.FILLED


async def test_refusals_map_to_the_error_tree() -> None:
    venue = make(None)
    session = session_of(venue)
    with pytest.raises(VenueRejected) as info:
        await session.create_order(limit("huge", "60000", size="100"))
    assert info.value.code == "insufficient_margin" and info.value.venue == "sim"
    with pytest.raises(InvalidRequest):  # off the tick grid: refused locally, never sent
        await session.create_order(limit("tick", "60000.5"))
    with pytest.raises(NotFound):
        await session.create_order(OrderRequest("x", "DOGE", Side.BUY, OrderType.LIMIT, D(1), price=D(1)))
    with pytest.raises(NotFound):
        await session.edit_order("never", new_client_id="n", price=D(60000))
    with pytest.raises(InvalidRequest):
        await session.cancel_all_after(10 ** 9)


def test_every_engine_refusal_has_a_row_in_the_error_table() -> None:
    assert set(ERRORS) == {r for r in Reason if r.is_rejection}
    for reason, cls in ERRORS.items():
        error = map_reject(SimReject(reason, "because"), "sim")
        assert type(error) is cls and isinstance(error, PerpdError) and "because" in error.message


async def test_candles_are_built_from_trades() -> None:
    clock = ManualClock()
    venue = make(None, clock)
    for _ in range(3):
        clock.advance(60_000)
        venue.step()
    candles = await venue.fetch_candles(BTC, "1m")
    assert candles and all(c.low <= c.open <= c.high and c.low <= c.close <= c.high for c in candles)
    assert [c.open_ms for c in candles] == sorted({c.open_ms for c in candles})
    with pytest.raises(InvalidRequest):
        await venue.fetch_candles(BTC, "7m")


async def test_ticker_and_funding_streams_follow_the_simulation() -> None:
    clock = ManualClock()
    venue = make(None, clock, funding_interval_secs=1)
    stream = venue.watch([Channel("ticker", BTC), Channel("funding", BTC)])
    clock.advance(2_000)
    venue.step()
    ticker = await stream.__anext__()
    assert isinstance(ticker, TickerUpdate) and ticker.ticker.symbol == BTC and ticker.ticker.mark_price > 0
    funding = await next_matching(stream, lambda e: isinstance(e, FundingUpdate), 1.0, "a funding update")
    assert funding.funding.symbol == BTC and funding.funding.interval_secs == 1  # type: ignore[attr-defined]
    await stream.aclose()


def test_a_market_off_its_own_grid_is_a_config_error_naming_its_path() -> None:
    with pytest.raises(ConfigError) as info:
        loads('[venues.s]\nkind = "sim"\nmarkets = [{symbol = "DOGE", start_price = 0.1, tick_size = 0.03}]\n')
    assert "venues.s.markets[0]: start_price 0.1 is not a multiple of tick_size 0.03" in info.value.problems
