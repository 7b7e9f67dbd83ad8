"""Sim accounts: positions, PnL, fees, margin modes, leverage, funding, liquidation."""

from __future__ import annotations

import pytest
from simex_support import BTC, D, quiet_engine

from perpd.model import Liquidity, MarginMode, OrderStatus, OrderType, Side
from venues.simex.events import FundingEvent, FundingPaymentEvent, Reason, SimReject

BUY, SELL = Side.BUY, Side.SELL


def with_liquidity(**options: object):
    engine = quiet_engine(**options)
    engine.place("mm", BTC, SELL, D(5), price=D(65010))
    engine.place("mm", BTC, BUY, D(5), price=D(64990))
    return engine


def test_a_round_trip_realizes_the_price_difference_and_pays_taker_fees() -> None:
    engine = with_liquidity()
    engine.place("a", BTC, BUY, D("0.1"), type=OrderType.MARKET)
    position = engine.position("a", BTC)
    assert (position.size, position.entry_price) == (D("0.1"), D(65010))
    assert position.unrealized_pnl == D("0.1") * (65000 - 65010)
    engine.place("a", BTC, SELL, D("0.1"), type=OrderType.MARKET)
    fills = engine.fills("a")
    assert [f.liquidity for f in fills] == [Liquidity.TAKER, Liquidity.TAKER]
    assert fills[1].realized_pnl == D("0.1") * (64990 - 65010) == D(-2)
    assert [f.fee for f in fills] == [D("3.250500"), D("3.249500")]  # 0.05 % of notional
    balance = engine.balance("a")
    assert balance.balance == D(100_000) - 2 - D("3.2505") - D("3.2495")
    assert engine.positions("a") == []


def test_partial_closes_share_the_cost_basis_exactly() -> None:
    engine = with_liquidity()
    engine.place("mm", BTC, SELL, D(1), price=D(65011))
    engine.place("a", BTC, BUY, D("0.00017"), type=OrderType.MARKET)
    engine.place("a", BTC, BUY, D(5), type=OrderType.MARKET)  # sweeps into 65011
    for _ in range(3):
        engine.place("a", BTC, SELL, D("1.00001"), type=OrderType.MARKET)
    engine.place("mm", BTC, BUY, D(5), price=D(64990))
    assert engine.position("a", BTC).size == D("2.00014")
    engine.place("a", BTC, SELL, D("2.00014"), type=OrderType.MARKET)
    fills = engine.fills("a")
    assert engine.positions("a") == []
    cash_flow = sum(-f.size * f.price * (1 if f.side is BUY else -1) for f in fills)
    assert sum(f.realized_pnl for f in fills) == cash_flow  # no rounding anywhere


def test_maker_pays_the_maker_fee() -> None:
    engine = quiet_engine()
    engine.place("a", BTC, BUY, D("0.1"), price=D(65000))
    engine.place("t", BTC, SELL, D("0.1"), type=OrderType.MARKET)
    (fill,) = engine.fills("a")
    assert fill.liquidity is Liquidity.MAKER and fill.fee == D("1.300000")  # 0.02 %


def test_resting_orders_reserve_margin_and_release_it_when_cancelled() -> None:
    engine = quiet_engine()
    engine.set_leverage("a", BTC, 10)
    engine.place("a", BTC, BUY, D(1), price=D(60000), client_id="o")
    balance = engine.balance("a")
    assert balance.order_margin == D(6000) and balance.available == D(94_000)
    engine.cancel("a", client_id="o")
    assert engine.balance("a").available == D(100_000)


def test_an_order_that_only_reduces_needs_no_margin() -> None:
    engine = with_liquidity()
    engine.place("a", BTC, BUY, D(1), type=OrderType.MARKET)
    engine.deposit("a", -engine.balance("a").available + D(1))  # almost nothing free
    engine.place("a", BTC, SELL, D(1), price=D(66000))  # closes, does not open: accepted
    with pytest.raises(SimReject) as info:
        engine.place("a", BTC, SELL, D("1.1"), price=D(66000))
    assert info.value.reason is Reason.INSUFFICIENT_MARGIN


def test_isolated_margin_is_locked_per_position_and_mode_cannot_change_while_open() -> None:
    engine = with_liquidity()
    engine.set_leverage("a", BTC, 10, MarginMode.ISOLATED)
    engine.place("a", BTC, BUY, D("0.1"), type=OrderType.MARKET)
    position = engine.position("a", BTC)
    assert position.margin_mode is MarginMode.ISOLATED and position.margin_used == D("650.1")
    assert engine.balance("a").available == engine.balance("a").balance - D("650.1")
    with pytest.raises(SimReject) as info:
        engine.set_leverage("a", BTC, 10, MarginMode.CROSS)
    assert info.value.reason is Reason.POSITION_OPEN
    with pytest.raises(SimReject):
        engine.set_leverage("a", BTC, 5)  # lowering an open isolated position's leverage
    engine.set_leverage("a", BTC, 20)
    assert engine.leverage("a", BTC) == (20, MarginMode.ISOLATED)


def test_leverage_is_bounded_by_the_market() -> None:
    engine = quiet_engine()
    with pytest.raises(SimReject) as info:
        engine.set_leverage("a", BTC, 41)
    assert info.value.reason is Reason.BAD_LEVERAGE
    assert engine.leverage("a", BTC) == (20, MarginMode.CROSS)


def test_funding_is_paid_from_longs_to_shorts_on_the_premium() -> None:
    engine = with_liquidity(funding_interval_secs=60)
    engine.place("long", BTC, BUY, D("0.5"), type=OrderType.MARKET)
    engine.place("short", BTC, SELL, D("0.5"), type=OrderType.MARKET)
    events: list[object] = []
    engine.subscribe(events.append)
    engine.set_mark(BTC, D(65065), index=D(65000))  # mark 0.1 % over the index
    before = {a: engine.balance(a).balance for a in ("long", "short")}
    engine.step(engine.now_ms + 60_000)
    (settled,) = [e for e in events if isinstance(e, FundingEvent) and e.symbol == BTC]
    assert settled.rate > 0 and engine.funding_history(BTC) == [settled]
    payments = {e.account: e.payment for e in events if isinstance(e, FundingPaymentEvent)}
    assert payments["long"].amount < 0 < payments["short"].amount
    for account, size in (("long", D("0.5")), ("short", D("-0.5"))):
        payment = payments[account]
        assert payment.amount == (-size * payment.mark_price * payment.rate).quantize(D("0.000001"))
        assert engine.balance(account).balance - before[account] == payment.amount
        assert engine.funding_payments(account) == [payment]
        assert engine.position(account, BTC).funding == payment.amount


def test_cross_account_below_maintenance_is_liquidated_at_the_mark() -> None:
    engine = with_liquidity()
    engine.deposit("r", D(-99_000))  # 1,000 of collateral
    engine.set_leverage("r", BTC, 40)
    engine.place("r", BTC, BUY, D("0.5"), type=OrderType.MARKET)
    engine.place("r", BTC, BUY, D("0.01"), price=D(60000), client_id="resting")
    engine.set_mark(BTC, D(64000))  # loses 505: still above maintenance
    assert engine.position("r", BTC).size == D("0.5")
    engine.set_mark(BTC, D(63200))
    assert engine.positions("r") == []
    last = engine.fills("r")[-1]
    assert last.liquidation and last.price == D(63200) and last.side is SELL
    assert engine.order("r", client_id="resting").reason is Reason.LIQUIDATION
    liquidation = engine.order("r", oid=last.oid)
    assert liquidation.status is OrderStatus.FILLED and liquidation.reason is Reason.LIQUIDATION


def test_isolated_liquidation_leaves_the_rest_of_the_account_alone() -> None:
    engine = with_liquidity()
    engine.place("mm", "ETH-PERP", SELL, D(5), price=D(3501))
    engine.set_leverage("i", BTC, 10, MarginMode.ISOLATED)
    engine.place("i", BTC, BUY, D("0.1"), type=OrderType.MARKET)
    engine.place("i", "ETH-PERP", BUY, D(1), type=OrderType.MARKET)
    engine.set_mark(BTC, D(59500))
    assert engine.position("i", BTC).size == D("0.1")
    engine.set_mark(BTC, D(58800))
    assert engine.position("i", BTC).size == 0
    assert engine.position("i", "ETH-PERP").size == D(1)
    assert engine.fills("i")[-1].realized_pnl == D("0.1") * (58800 - 65010)


def test_isolated_margin_can_be_added_and_removed_down_to_the_initial_margin() -> None:
    engine = quiet_engine(makers=True)
    engine.set_leverage("iso", BTC, 10, MarginMode.ISOLATED)
    engine.place("iso", BTC, Side.BUY, D("0.1"), type=OrderType.MARKET)
    before = engine.position("iso", BTC)
    available = engine.balance("iso").available
    engine.adjust_isolated_margin("iso", BTC, D(100))
    assert engine.position("iso", BTC).margin_used == before.margin_used + 100
    assert engine.balance("iso").available == available - 100
    engine.adjust_isolated_margin("iso", BTC, D(-100))
    assert engine.position("iso", BTC).margin_used == before.margin_used
    with pytest.raises(SimReject) as refused:
        engine.adjust_isolated_margin("iso", BTC, -before.margin_used)
    assert refused.value.reason is Reason.INSUFFICIENT_MARGIN
    with pytest.raises(SimReject):
        engine.adjust_isolated_margin("flat", BTC, D(10))
