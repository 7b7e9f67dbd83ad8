"""Brackets: an entry's take profit and stop loss, kept working for what it filled, one
cancelling the other, across restarts. Judged by the sim exchange's own books."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpd.model import Bracket, OrderSpec, OrderType, Side, TimeInForce

pytestmark = pytest.mark.anyio


def exits(h, account: str = "paper") -> list:
    return [o for o in h.exchange.open_orders(account) if o.reduce_only]


async def entry_with_exits(h, size: str = "0.01"):
    engine = h.engine
    await h.until(lambda: engine.portfolio.mark("sim", "BTC-PERP") is not None, what="a mark")
    mark = engine.portfolio.mark("sim", "BTC-PERP")
    tp, sl = (mark * D("1.02")).quantize(D(1)), (mark * D("0.98")).quantize(D(1))
    spec = OrderSpec(symbol="BTC", side=Side.BUY, size=D(size), type=OrderType.MARKET, tif=TimeInForce.IOC,
                     account="paper", take_profit=Bracket(tp), stop_loss=Bracket(sl, sl - 50))
    (entry,) = await engine.submit(spec)
    return entry, tp, sl


async def standing_entry_filled(harness, stop_limit_offset: int | None = None):
    """A standing buy with both exits, put in the config just above the mark so that it
    crosses the book and fills; returns once both exits are working."""
    engine = await harness.start()
    await harness.until(lambda: engine.portfolio.mark("sim", "BTC-PERP") is not None, what="a mark")
    mark = engine.portfolio.mark("sim", "BTC-PERP")
    entry, tp, sl = (mark * D("1.01")).quantize(D(1)), (mark * D("1.05")).quantize(D(1)), (mark * D("0.97")).quantize(D(1))
    limit = f", price = {sl - stop_limit_offset}" if stop_limit_offset is not None else ""
    harness.write(f'\n[[orders]]\nname = "dip"\naccount = "paper"\nsymbol = "BTC"\nside = "buy"\nsize = 0.01\n'
                  f'price = {entry}\ntake_profit = {{ trigger_price = {tp} }}\nstop_loss = {{ trigger_price = {sl}{limit} }}\n')
    await harness.daemon.reload(actor="test")
    await harness.until(lambda: len(exits(harness)) == 2, what="both exits working")
    return engine, tp, sl


async def test_exits_are_placed_for_what_the_entry_filled_and_one_cancels_the_other(harness):
    engine = await harness.start()
    entry, tp, sl = await entry_with_exits(harness)
    await harness.until(lambda: len(exits(harness)) == 2, what="both exits working")
    by_type = {o.type: o for o in exits(harness)}
    assert by_type[OrderType.TAKE_PROFIT_MARKET].trigger_price == tp and by_type[OrderType.TAKE_PROFIT_MARKET].size == D("0.01")
    assert by_type[OrderType.STOP_LIMIT].trigger_price == sl and by_type[OrderType.STOP_LIMIT].side is Side.SELL
    harness.exchange.set_mark("BTC-PERP", tp + 100)  # the take profit fires and fills
    await harness.until(lambda: harness.exchange.position("paper", "BTC-PERP").size == 0, what="the position closed")
    await harness.until(lambda: exits(harness) == [], what="the stop loss cancelled")
    await harness.until(lambda: not engine.state.bracket_parents, what="the bracket finished")
    for _ in range(5):
        await engine.reconcile_once()
    assert exits(harness) == [] and harness.exchange.position("paper", "BTC-PERP").size == 0
    assert engine.journal.intent(engine.journal.intent_id_of(entry.client_id)).state.value == "done"


async def test_exits_survive_a_restart_once(harness):
    engine = await harness.start()
    await entry_with_exits(harness)
    await harness.until(lambda: len(exits(harness)) == 2, what="both exits working")
    before = sorted(o.client_id for o in exits(harness))
    engine = await harness.restart()
    for _ in range(5):
        await engine.reconcile_once()
    assert sorted(o.client_id for o in exits(harness)) == before  # the same two, not doubled
    harness.exchange.set_mark("BTC-PERP", (engine.portfolio.mark("sim", "BTC-PERP") * D("0.9")).quantize(D(1)))  # the stop fires
    await harness.until(lambda: harness.exchange.position("paper", "BTC-PERP").size == 0 and not exits(harness),
                        what="stopped out, take profit cancelled")


async def test_a_partly_filled_entry_is_protected_for_what_filled_and_resized_as_it_fills(rig):
    harness = rig(venue="makers = false")  # nobody else on the book: only our taker fills the entry
    engine = await harness.start()
    await harness.until(lambda: engine.portfolio.mark("sim", "BTC-PERP") is not None, what="a mark")
    price = (engine.portfolio.mark("sim", "BTC-PERP") - 100).quantize(D(1))  # rests just under the mark
    spec = OrderSpec(symbol="BTC", side=Side.BUY, size=D("0.02"), price=price, account="paper",
                     take_profit=Bracket(price + 2000), stop_loss=Bracket(price - 2000))
    await engine.submit(spec)
    harness.exchange.place("other", "BTC-PERP", Side.SELL, D("0.01"), type=OrderType.LIMIT, price=price, tif=TimeInForce.IOC)
    await harness.until(lambda: len(exits(harness)) == 2 and all(o.size == D("0.01") for o in exits(harness)), what="exits for 0.01")
    harness.exchange.place("other", "BTC-PERP", Side.SELL, D("0.01"), type=OrderType.LIMIT, price=price, tif=TimeInForce.IOC)
    await harness.until(lambda: len(exits(harness)) == 2 and all(o.size - o.filled == D("0.02") for o in exits(harness)),
                        what="exits resized to 0.02")


def test_an_exit_on_the_wrong_side_of_the_entry_is_refused():
    with pytest.raises(ValueError, match="take_profit trigger 900 must be above the entry price 1000"):
        OrderSpec(symbol="BTC", side=Side.BUY, size=D("0.01"), price=D(1000), account="paper", take_profit=Bracket(D(900)))


async def test_a_standing_order_from_the_config_carries_its_exits(harness):
    engine, tp, sl = await standing_entry_filled(harness, stop_limit_offset=50)
    by_type = {o.type: o for o in exits(harness)}
    assert by_type[OrderType.TAKE_PROFIT_MARKET].trigger_price == tp and by_type[OrderType.STOP_LIMIT].price == sl - 50
    assert all(o.size == D("0.01") and o.side is Side.SELL for o in exits(harness))
    for _ in range(5):  # the filled standing order is done: not placed again, its exits not doubled
        await engine.reconcile_once()
    assert len(exits(harness)) == 2 and harness.exchange.position("paper", "BTC-PERP").size == D("0.01")


def test_a_standing_order_whose_exit_is_on_the_wrong_side_is_a_config_error(tmp_path):
    from perpd.config.load import load
    from perpd.errors import ConfigError

    path = tmp_path / "perpd.toml"
    path.write_text('[venues.sim]\nkind = "sim"\n[accounts.paper]\nvenue = "sim"\n[[orders]]\nname = "dip"\n'
                    'account = "paper"\nsymbol = "BTC"\nside = "buy"\nsize = 0.01\nprice = 1000\n'
                    'stop_loss = { trigger_price = 1200 }\n')
    with pytest.raises(ConfigError, match="stop_loss trigger 1200 must be below the entry price 1000"):
        load(path)


async def test_a_standing_orders_exits_are_still_managed_after_a_restart(harness):
    engine, tp, sl = await standing_entry_filled(harness)
    engine = await harness.restart()
    (stop,) = [o for o in exits(harness) if o.type is OrderType.STOP_MARKET]
    harness.exchange.cancel("paper", client_id=stop.client_id)  # the venue drops an exit: perpd puts it back
    await harness.until(lambda: len(exits(harness)) == 2, what="the stop loss working again")
    harness.exchange.set_mark("BTC-PERP", tp + 100)  # the take profit fires and fills
    await harness.until(lambda: harness.exchange.position("paper", "BTC-PERP").size == 0 and not exits(harness),
                        what="taken profit, stop loss cancelled")
    await harness.until(lambda: not engine.state.bracket_parents, what="the bracket finished")


async def test_a_standing_order_is_not_placed_again_once_its_bracket_is_finished(harness):
    engine, tp, sl = await standing_entry_filled(harness)
    harness.exchange.set_mark("BTC-PERP", tp + 100)  # the take profit fires and fills
    await harness.until(lambda: not engine.state.bracket_parents and not harness.exchange.open_orders("paper"),
                        what="the bracket finished")
    for _ in range(5):  # filled once: the standing order is done, not an entry again (and again)
        await engine.reconcile_once()
    assert harness.exchange.open_orders("paper") == [] and harness.exchange.position("paper", "BTC-PERP").size == 0
    assert len([f for f in harness.exchange.fills("paper") if f.side is Side.BUY]) == 1
