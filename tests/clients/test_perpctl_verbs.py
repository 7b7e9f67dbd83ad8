"""Every perpctl verb through the one grammar against a real daemon: what each line does
to the daemon, read back through the typed client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from decimal import Decimal

import pytest
from clients_support import RunningDaemon, wait_until

from perpd.errors import InvalidRequest, NotFound
from perpd.model import OrderStatus, OrderType, Side, TimeInForce
from perpd.perpctl.render import result_json, result_text
from perpd.perpctl.verbs import VERBS, Session


@pytest.fixture
def session(daemon: RunningDaemon) -> Iterator[Session]:
    with daemon.client() as client:
        yield Session(client)


@pytest.fixture
def own_session() -> Iterator[Session]:
    """A daemon of this test's own: for verbs that change the config file."""
    running = RunningDaemon()
    try:
        with running.client() as client:
            yield Session(client)
    finally:
        running.stop()


def run(session: Session, line: str):  # type: ignore[no-untyped-def]
    result = session.run(line)
    assert result is not None
    result_text(result)  # every result renders
    result_json(result)
    return result


def test_reads_render_and_carry_typed_values(session: Session) -> None:
    assert {m.symbol for m in run(session, "markets sim").value} >= {"BTC-PERP", "SOL-PERP"}
    assert len(run(session, "book BTC sim depth 2").tables[0].rows) == 2
    assert all(t.symbol == "ETH-PERP" for t in run(session, "trades ETH limit 5").value)
    assert {f.symbol for f in run(session, "funding").value} >= {"BTC-PERP", "ETH-PERP", "SOL-PERP"}
    assert [b.account for b in run(session, "balance on spare").value] == ["spare"]
    assert set(run(session, "status").value.accounts) == {"paper", "spare"}
    assert "buy SIZE SYMBOL" in run(session, "help").message and run(session, "help modify").message.startswith("modify ID")
    assert run(session, "plan").message.endswith("no actions")
    assert run(session, "reload").message == "reloaded: no change"


def test_stop_and_take_profit_lines_place_trigger_orders(session: Session, daemon: RunningDaemon) -> None:
    stop = run(session, "stop buy 0.001 BTC at 70000 on spare").value[0]
    tp = run(session, "tp sell 0.001 BTC at 70000 @ 69900 on spare").value[0]
    assert (stop.type, stop.side, stop.trigger_price, stop.price) == (OrderType.STOP_MARKET, Side.BUY, 70000, None)
    assert (tp.type, tp.trigger_price, tp.price) == (OrderType.TAKE_PROFIT_LIMIT, 70000, 69900)
    assert run(session, "cancel all BTC on spare").value >= 2
    with daemon.client() as perp:
        assert {perp.order(o.client_id).status for o in (stop, tp)} == {OrderStatus.CANCELLED}


def test_modify_moves_a_resting_order(session: Session) -> None:
    order = run(session, "buy 0.001 BTC @ 60000 on spare post").value[0]
    assert order.tif is TimeInForce.POST_ONLY
    moved = run(session, f"modify {order.client_id} @ 60100 size 0.002").value
    assert (moved.price, moved.size) == (Decimal(60100), Decimal("0.002"))
    assert run(session, f"cancel {order.client_id}").value.status is OrderStatus.CANCELLED


def test_a_market_buy_then_close_flattens_the_position(session: Session, daemon: RunningDaemon) -> None:
    bought = run(session, "buy 0.1 SOL on spare").value[0]
    assert bought.type is OrderType.MARKET and bought.status is OrderStatus.FILLED
    with daemon.client() as perp:
        wait_until(lambda: any(p.symbol == "SOL-PERP" for p in perp.positions("spare")), what="the SOL position")
        closing = run(session, "close SOL on spare").value
        assert closing and all(o.reduce_only and o.side is Side.SELL for o in closing)
        wait_until(lambda: not any(p.symbol == "SOL-PERP" and p.size for p in perp.positions("spare")),
                   what="the SOL position closed")
    listed = run(session, "orders SOL on spare all limit 5").value
    assert {o.client_id for o in closing} <= {o.client_id for o in listed}


def test_a_route_takes_the_order_to_one_of_its_accounts(session: Session) -> None:
    order = run(session, "buy 0.001 BTC @ 60000 on btc-best").value[0]
    assert order.account in {"paper", "spare"}
    run(session, f"cancel {order.client_id}")


def test_halt_reduce_only_and_resume_a_scope_by_its_bare_name(session: Session) -> None:
    halted = run(session, "halt spare reduce keep reason drill").value
    try:
        assert (halted.scope, halted.state, halted.reason) == ("account:spare", "reduce_only", "drill")
        assert run(session, "accounts").value[1].trading_state == "reduce_only"
    finally:
        resumed = run(session, "resume spare").value
    assert resumed.state == "active"
    last = run(session, "events 1 action resume").value[-1]
    assert (last.rule, last.actor, last.result) == ("account:spare", "local", "ok")


def test_leverage_shows_the_configured_values_and_sets_them_through_the_config(own_session: Session) -> None:
    session = own_session
    rows = run(session, "leverage on paper").value
    assert ("paper", "BTC-PERP", 5) == rows[0][:3]
    change = run(session, "leverage ETH 3 on paper").value
    assert change["accounts"]["changed"] == ["paper"]
    rows = run(session, "leverage ETH on paper").value
    assert ("paper", "ETH-PERP", 3) == rows[0][:3]
    assert 'ETH = 3' in Path(session.client.config().path).read_text()  # the file stays the source of truth
    with pytest.raises(InvalidRequest, match="leverage"):
        session.run("leverage ETH 1000 on paper")  # beyond the market's maximum


def test_a_name_that_is_neither_account_nor_route_is_not_found_before_sending(session: Session) -> None:
    with pytest.raises(NotFound, match="no account or route named 'nope'"):
        session.run("buy 0.001 BTC @ 60000 on nope")


def test_with_two_accounts_an_order_must_say_where(session: Session) -> None:
    with pytest.raises(NotFound, match="say where: on ACCOUNT or on ROUTE"):
        session.run("buy 0.001 BTC @ 60000")


def test_every_verb_but_watch_runs_in_a_session() -> None:
    assert [v.name for v in VERBS.values() if v.run is None] == ["watch"]


def test_an_entry_with_tp_and_sl_gets_both_exits_once_it_fills(own_session: Session) -> None:
    session = own_session
    book = session.client.order_book("BTC", "sim", depth=1).books[0]
    mark = (book.bids[0].price + book.asks[0].price) / 2
    tp, sl = int(mark * Decimal("1.05")), int(mark * Decimal("0.95"))
    (entry,) = run(session, f"buy 0.01 BTC on paper tp {tp} sl {sl}").value
    wait_until(lambda: sorted(o.type.value for o in session.client.orders(live=True) if o.reduce_only)
               == ["stop_market", "take_profit_market"], what="both exits working")
    exits = {o.type: o for o in session.client.orders(live=True) if o.reduce_only}
    assert exits[OrderType.TAKE_PROFIT_MARKET].trigger_price == tp and exits[OrderType.STOP_MARKET].trigger_price == sl
    assert all(o.side is Side.SELL and o.size == entry.size for o in exits.values())
