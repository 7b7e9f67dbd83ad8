"""The Hyperliquid venue and session against the emulator, over loopback HTTP and WS:
markets, signers and vaults, the account and public streams (trading verbs: test_hl_trading.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import anyio
import pytest
from hl_support import AGENT, MASTER, MASTER_KEY, cid, limit, rig, subscribed

from perpd.errors import ConfigError, PerpdError
from perpd.model import (
    BalanceUpdate,
    BookUpdate,
    FillUpdate,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    Side,
    TickerUpdate,
)
from venues.base import Channel

pytestmark = pytest.mark.anyio
D = Decimal


async def test_markets_come_from_meta_and_asset_contexts() -> None:
    async with rig() as r:
        markets = r.venue.markets
        assert set(markets) == {"BTC-PERP", "ETH-PERP", "SOL-PERP"}
        btc = markets["BTC-PERP"]
        assert (btc.venue_symbol, btc.lot_size, btc.tick_size, btc.min_notional, btc.max_leverage) == ("BTC", D("0.00001"), D(1), D(10), 40)
        assert r.venue.asset("ETH").index == 1
        ticker = await r.venue.fetch_ticker("ETH")
        assert ticker.mark_price > 0 and ticker.best_bid is not None and ticker.best_bid < ticker.best_ask
        book = await r.venue.fetch_order_book("SOL", depth=5)
        assert len(book.bids) == 5 and book.best_bid < book.best_ask
        assert (await r.venue.fetch_funding("BTC")).interval_secs == 3600


async def test_a_master_key_is_refused_unless_allowed() -> None:
    async with rig() as r:
        with pytest.raises(ConfigError, match="master key") as refused:
            r.session(key=MASTER_KEY)
        assert MASTER_KEY[2:] not in str(refused.value)
        s = r.session(key=MASTER_KEY, allow_master_key=True)
        order = await s.create_order(limit(70, Side.BUY, "0.001", "60000"))
        assert order.status is OrderStatus.OPEN


async def test_the_agent_signs_for_the_account_and_no_builder_fee_is_sent_by_default() -> None:
    async with rig() as r:
        s = r.session()
        assert s.signer_address == AGENT and s.user == MASTER
        await s.create_order(limit(80, Side.BUY, "0.001", "60000"))
        action = r.emulator.received[-1]["action"]
        assert "builder" not in action and r.emulator.received[-1]["vaultAddress"] is None
        builder = "0x" + "be" * 20
        b = r.session("b", builder_address=builder, builder_fee_tenths_bp=10)
        with pytest.raises(PerpdError, match="Builder fee has not been approved"):  # the master approves first
            await b.create_order(limit(81, Side.BUY, "0.001", "60000"))
        r.emulator.builder_fees[(MASTER.lower(), builder)] = 10  # as an approveBuilderFee of 0.01% would
        await b.create_order(limit(82, Side.BUY, "0.001", "60000"))
        assert r.emulator.received[-1]["action"]["builder"] == {"b": builder, "f": 10}


async def test_a_vault_is_traded_by_the_agent_of_its_leader() -> None:
    vault = "0x" + "7a" * 20
    async with rig() as r:
        s = r.session(vault_address=vault)
        await s.create_order(limit(90, Side.BUY, "0.001", "60000"))
        assert r.emulator.received[-1]["vaultAddress"] == vault
        assert [o.client_id for o in await s.fetch_open_orders()] == [cid(90)]
        assert await r.session().fetch_open_orders() == []  # the leader's own account is untouched


async def _take(stream: AsyncIterator[object], want: type, count: int = 1) -> list[object]:
    got: list[object] = []
    with anyio.fail_after(10):
        async for event in stream:
            if isinstance(event, want):
                got.append(event)
                if len(got) == count:
                    return got
    return got


async def test_the_account_stream_reports_orders_fills_positions_and_balance() -> None:
    async with rig() as r:
        s = r.session()
        stream = s.watch_account()
        events: list[object] = []
        async with anyio.create_task_group() as tg:
            async def collect() -> None:
                with anyio.fail_after(10):
                    async for event in stream:
                        events.append(event)
                        # Channels are not ordered among themselves: wait for each kind.
                        updated = {e.order.client_id for e in events if isinstance(e, OrderUpdate)}
                        if updated >= {cid(100), cid(101)} and any(isinstance(e, BalanceUpdate) for e in events):
                            tg.cancel_scope.cancel()

            tg.start_soon(collect)
            await subscribed(r.emulator, 2)  # orderUpdates and userFills, before trading
            await s.create_order(limit(100, Side.BUY, "0.001", "60000"))
            await s.create_order(OrderRequest(cid(101), "BTC-PERP", Side.BUY, OrderType.MARKET, D("0.001")))
        orders = [e.order for e in events if isinstance(e, OrderUpdate)]
        assert {o.client_id for o in orders} >= {cid(100), cid(101)}
        resting = next(o for o in orders if o.client_id == cid(100))
        assert resting.status is OrderStatus.OPEN and resting.type is OrderType.LIMIT
        # A fill may come twice: once from the catch-up that follows the subscription's
        # acknowledgement (REST) and once live; the journal keeps it once by trade id.
        fills = {e.fill.trade_id: e.fill for e in events if isinstance(e, FillUpdate)}
        assert [f.client_id for f in fills.values()] == [cid(101)]
        assert any(isinstance(e, PositionUpdate) and e.position.size == D("0.001") for e in events)
        await stream.aclose()  # type: ignore[attr-defined]


async def test_the_public_stream_pushes_full_books_with_increasing_seq_and_tickers() -> None:
    async with rig() as r:
        stream = r.venue.watch([Channel("book", "BTC"), Channel("ticker", "BTC")])
        books = await _take(stream, BookUpdate, 3)
        assert [b.seq for b in books] == [1, 2, 3] and all(b.snapshot and b.bids for b in books)  # type: ignore[attr-defined]
        (ticker,) = await _take(stream, TickerUpdate)
        assert ticker.ticker.symbol == "BTC-PERP"  # type: ignore[attr-defined]
        await stream.aclose()  # type: ignore[attr-defined]
