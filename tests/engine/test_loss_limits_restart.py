"""Loss limits count the right losses after a restart: today's fills however long the
journal's history, and positions opened before the journal knew of them."""

from __future__ import annotations

import sqlite3
from decimal import Decimal as D

import pytest

from perpd.journal import codec
from perpd.model import Fill, Liquidity, OrderSpec, OrderType, Side, TimeInForce, TradingState

pytestmark = pytest.mark.anyio

LIMIT = """
[[policies]]
name = "daily"
scope = {{ accounts = ["paper"] }}
daily_loss_limit = {limit}
"""
DAY_MS = 86_400_000


def fill(n: int, side: Side, price: str, size: str, ts_ms: int, account: str = "paper", symbol: str = "BTC-PERP") -> Fill:
    return Fill(account, "sim", f"t-{n}", None, None, symbol, side, D(price), D(size), D(0), Liquidity.TAKER, ts_ms)


def insert(path, fills: list[Fill]) -> None:
    rows = [codec.row_of(f) for f in fills]
    columns = list(rows[0])
    with sqlite3.connect(path) as db:
        db.executemany(
            f"INSERT INTO fills ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [tuple(r.values()) for r in rows],
        )


async def test_todays_losses_count_however_long_the_history(rig):
    h = rig(LIMIT.format(limit=500))
    engine = await h.start()
    now = engine.clock.now_ms()
    await h.stop()
    # 100,001 fills from last week (another account), then today's round trip losing 1,000.
    old = [fill(n, Side.BUY if n % 2 else Side.SELL, "60000", "0.001", now - 7 * DAY_MS + n, "other") for n in range(100_001)]
    today = [fill(200_001, Side.BUY, "70000", "1", now - 1000), fill(200_002, Side.SELL, "69000", "1", now - 500)]
    insert(h.state_dir / "journal.sqlite", old + today)
    engine = await h.start()
    await engine.reconcile_once()
    state, reason = engine.trading.get("policy:daily", (TradingState.ACTIVE, ""))
    assert state is TradingState.HALTED, "today's loss was not counted after the restart"
    assert "daily_loss_limit" in reason


async def test_a_position_opened_before_the_journal_counts_toward_the_loss_limit(rig):
    h = rig(LIMIT.format(limit=50))
    engine = await h.start()
    await h.until(lambda: None not in (engine.portfolio.mark("sim", "BTC-PERP"), engine.portfolio.mark("sim", "ETH-PERP")), what="marks")
    eth = engine.portfolio.mark("sim", "ETH-PERP")
    await engine.submit(OrderSpec(symbol="BTC", side=Side.BUY, size=D("0.1"), type=OrderType.MARKET, tif=TimeInForce.IOC, account="paper"))
    await h.until(lambda: h.exchange.position("paper", "BTC-PERP").size == D("0.1"), what="long 0.1")
    await h.quiesce()
    await h.stop()
    now = engine.clock.now_ms()
    with sqlite3.connect(h.state_dir / "journal.sqlite") as db:  # a journal that predates the position
        db.execute("DELETE FROM fills")
    # ... and whose last fill is newer than the venue's history of it: nothing to catch up.
    insert(h.state_dir / "journal.sqlite", [fill(1, Side.BUY, str(eth), "0.01", now, symbol="ETH-PERP")])
    engine = await h.start()
    await h.until(lambda: engine.portfolio.mark("sim", "BTC-PERP") is not None, what="a mark")
    mark = engine.portfolio.mark("sim", "BTC-PERP")
    h.exchange.set_mark("BTC-PERP", (mark * D("0.95")).quantize(D(1)))  # -5%: about -325 on 0.1
    await h.until(lambda: engine.trading.get("policy:daily", (TradingState.ACTIVE,))[0] is TradingState.HALTED,
                  what="the kill switch on the adopted position's loss")
