"""Faults at the venue edge and daemon deaths: no order lost, none duplicated."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal as D

import pytest

from perpd.errors import ConfigError, NotSent
from perpd.model import ZERO, OrderSpec, OrderStatus, OrderType, Side, TimeInForce
from tests.engine.conftest import Harness
from tests.engine.faults import Killed

pytestmark = pytest.mark.anyio

STANDING = """
[[orders]]
name = "bid"
account = "paper"
symbol = "BTC"
side = "buy"
size = 0.01
price = 1000
"""


def bid(price="1000", size="0.01") -> OrderSpec:
    return OrderSpec(symbol="BTC", side=Side.BUY, size=D(size), price=D(price), account="paper")


def venue_orders(h: Harness, account: str = "paper"):
    """Every order the venue holds for an account, by client id (live ones first)."""
    exchange = h.exchange
    live = {o.client_id: o for o in exchange.open_orders(account)}
    return live


async def assert_consistent(h: Harness, account: str = "paper") -> None:
    """The journal and the venue agree: every venue order of ours is journaled with the
    venue's status, no client id was ever sent twice, and journaled fills sum to the
    venue's positions."""
    await h.quiesce()
    engine, exchange = h.engine, h.exchange
    session = h.sessions[account]
    sent = Counter(session.sent)
    assert all(n == 1 for n in sent.values()), f"a client id was sent twice: {sent}"
    # Write-ahead on every send path (first sends, re-placements, resumed obligations).
    assert all(record is not None for record in session.journal_at_send), "a send began before its journal record"
    for client_id, live in venue_orders(h, account).items():
        journaled = engine.journal.order(client_id)
        assert journaled is not None, f"venue order {client_id} is not in the journal"
        assert journaled.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
    fills = engine.journal.fills(account=account, limit=10_000)
    for symbol in {f.symbol for f in fills} | {p.symbol for p in exchange.positions(account)}:
        journaled = sum((f.signed_size for f in fills if f.symbol == symbol), ZERO)
        assert journaled == exchange.position(account, symbol).size, symbol


def rule_live(h: Harness, rule: str) -> list[str]:
    ids = h.engine.state.rule_intents.get(rule, [])
    cids = {c for i in ids for c in h.engine.state.intents[i].client_ids}
    return [cid for cid in venue_orders(h) if cid in cids]


async def test_accepted_then_timeout_is_unknown_and_resolved_by_client_id(rig):
    h = rig()
    engine = await h.start()
    h.sessions["paper"].faults.append("timeout-after-accept")
    (order,) = await engine.submit(bid())
    assert order.status is OrderStatus.UNKNOWN  # not rejected: it may exist
    await h.until(lambda: engine.order(order.client_id).status is OrderStatus.OPEN, what="resolution")
    assert h.sessions["paper"].sent == [order.client_id]  # never resent under a new id
    await assert_consistent(h)


@pytest.mark.parametrize("fault", ["429", "503"])
async def test_a_refused_send_is_unknown_then_found_never_to_have_arrived(rig, fault):
    h = rig()
    engine = await h.start()
    h.sessions["paper"].faults.append(fault)
    (order,) = await engine.submit(bid())
    assert order.status is OrderStatus.UNKNOWN
    await h.until(lambda: engine.journal.order(order.client_id).status is OrderStatus.REJECTED, what="resolution")
    final = engine.journal.order(order.client_id)
    assert final.status is OrderStatus.REJECTED and final.reason.startswith("perpd: not found")
    assert venue_orders(h) == {}
    await assert_consistent(h)


async def test_a_standing_order_is_not_doubled_while_its_outcome_is_unknown(rig):
    h = rig(STANDING)
    engine = await h.start()
    h.sessions["paper"].faults.extend(["timeout-after-accept"])
    await h.until(lambda: len(rule_live(h, "standing:bid")) == 1, what="standing order live")
    for _ in range(10):
        await engine.reconcile_once()
    assert len(rule_live(h, "standing:bid")) == 1
    assert len(h.sessions["paper"].sent) == 1
    await assert_consistent(h)


async def test_a_standing_order_refused_with_429_is_placed_once_after_resolution(rig):
    h = rig(STANDING)
    engine = await h.start()
    h.sessions["paper"].faults.extend(["429", "503"])
    await h.until(lambda: len(rule_live(h, "standing:bid")) == 1, what="standing order live")
    for _ in range(5):
        await engine.reconcile_once()
    assert len(rule_live(h, "standing:bid")) == 1
    await assert_consistent(h)


async def test_a_fill_during_a_dropped_stream_is_recovered_by_resync(rig):
    h = rig(venue="makers = false")
    engine = await h.start()
    (order,) = await engine.submit(bid())
    h.sessions["paper"].drop_stream()
    h.exchange.place("other", "BTC-PERP", Side.SELL, D("0.01"), type=OrderType.LIMIT, price=D(1000), tif=TimeInForce.IOC)
    assert h.exchange.order("paper", client_id=order.client_id).status is OrderStatus.FILLED
    await h.until(lambda: engine.order(order.client_id).status is OrderStatus.FILLED, what="fill recovered")
    await h.until(lambda: engine.portfolio.accounts["paper"].position_size("BTC-PERP") == D("0.01"), what="position")
    await h.until(lambda: engine.journal.fills(account="paper") != [], what="fill journaled")
    for _ in range(5):
        await engine.reconcile_once()  # the stream may also deliver it now: still once
    fills = engine.journal.fills(account="paper")
    assert [f.size for f in fills] == [D("0.01")]  # journaled once, whichever path saw it first
    await assert_consistent(h)


async def test_killed_between_journal_commit_and_send_then_restarted(rig):
    """What the journal holds is an obligation: the standing order's journaled send is
    made after the restart, under its own client id, once; nothing else is placed."""
    h = rig(STANDING)
    engine = await h.start()
    h.sessions["paper"].faults.append("kill-before-send")
    await engine.reconcile_once()  # the lane dies inside the send
    (pending,) = [o for o in engine.journal.orders() if o.status is OrderStatus.PENDING]
    engine = await h.restart()
    await h.until(lambda: len(rule_live(h, "standing:bid")) == 1, what="sent after restart")
    assert rule_live(h, "standing:bid") == [pending.client_id]
    for _ in range(5):
        await engine.reconcile_once()
    assert len(rule_live(h, "standing:bid")) == 1
    await assert_consistent(h)


async def test_killed_after_the_venue_accepted_then_restarted(rig):
    h = rig(STANDING)
    engine = await h.start()
    h.sessions["paper"].faults.append("kill-after-accept")
    await engine.reconcile_once()
    (sent,) = h.sessions["paper"].sent
    engine = await h.restart()
    await h.until(lambda: engine.order(sent).status is OrderStatus.OPEN, what="found again")
    for _ in range(5):
        await engine.reconcile_once()
    assert rule_live(h, "standing:bid") == [sent]  # the same order, not a second one
    await assert_consistent(h)


async def test_an_api_order_killed_before_send_is_sent_after_restart_and_a_retry_says_so(rig):
    h = rig()
    engine = await h.start()
    h.sessions["paper"].faults.append("kill-before-send")
    with pytest.raises(Killed):
        await engine.submit(bid(), idempotency_key="k-1")
    (pending,) = engine.journal.orders()
    engine = await h.restart()
    await h.until(lambda: pending.client_id in venue_orders(h), what="sent after restart")
    assert h.sessions["paper"].sent == [pending.client_id]  # once, under its own client id
    (again,) = await engine.submit(bid(), idempotency_key="k-1")  # the retry tells the truth
    assert again.client_id == pending.client_id and again.status is OrderStatus.OPEN
    await assert_consistent(h)


async def test_an_api_order_killed_before_send_that_went_stale_expires_and_a_retry_says_so(rig):
    h = rig(daemon="resume_pending_secs = 0")
    engine = await h.start()
    h.sessions["paper"].faults.append("kill-before-send")
    with pytest.raises(Killed):
        await engine.submit(bid(), idempotency_key="k-1")
    (pending,) = engine.journal.orders()
    engine = await h.restart()
    await h.until(lambda: engine.journal.order(pending.client_id).status is OrderStatus.EXPIRED, what="expired")
    final = engine.journal.order(pending.client_id)
    assert final.reason.startswith("perpd: not sent before restart")
    assert venue_orders(h) == {} and h.sessions["paper"].sent == []
    with pytest.raises(NotSent) as refused:
        await engine.submit(bid(), idempotency_key="k-1")
    assert refused.value.details["orders"][0]["client_id"] == pending.client_id
    await assert_consistent(h)


TARGET = """
[[targets]]
account = "paper"
symbol = "BTC"
position = {position}
max_slice = 0.01
limit_bps = 30
"""


async def test_reload_in_the_middle_of_a_target_moves_it(rig):
    h = rig(TARGET.format(position="0.04"))
    engine = await h.start()
    await h.until(lambda: engine.portfolio.accounts["paper"].position_size("BTC-PERP") >= D("0.02"), what="target underway")
    h.write(TARGET.format(position="0.01"))
    change = await h.daemon.reload(actor="test")
    assert change["targets"]["changed"] == ["paper:BTC-PERP"]
    await h.until(lambda: engine.portfolio.accounts["paper"].position_size("BTC-PERP") == D("0.01"), what="new target")
    for _ in range(5):
        await engine.reconcile_once()
    assert engine.portfolio.accounts["paper"].position_size("BTC-PERP") == D("0.01")
    await assert_consistent(h)


async def test_a_bad_reload_keeps_the_old_config_running(rig):
    h = rig(STANDING)
    engine = await h.start()
    revision = engine.revision
    h.path.write_text(h.path.read_text() + "\n[accounts.broken]\nvenue = \"nope\"\n")
    with pytest.raises(ConfigError, match="accounts.broken.venue"):
        await h.daemon.reload(actor="test")
    assert engine.revision == revision and "broken" not in engine.config.accounts
    await h.until(lambda: len(rule_live(h, "standing:bid")) == 1, what="still trading")


async def test_a_reload_whose_new_account_cannot_start_is_refused_and_the_old_keeps_trading(rig):
    from perpd.errors import AuthError

    h = rig(STANDING)
    engine = await h.start()
    await h.until(lambda: len(rule_live(h, "standing:bid")) == 1, what="trading")
    revision = engine.revision
    h.connect_errors["newbie"] = AuthError("401 Unauthorized: bad key", venue="sim")
    h.write(STANDING + '\n[accounts.newbie]\nvenue = "sim"\n')
    with pytest.raises(ConfigError, match=r"reload refused, the old config keeps running: accounts\.newbie: cannot start: 401"):
        await h.daemon.reload(actor="test")
    assert engine.revision == revision and "newbie" not in engine.config.accounts and "newbie" not in engine.sessions
    await engine.journal.flush()
    (refused,) = engine.journal.events(action="reload", result="rejected")
    assert refused.details["problems"] == ["accounts.newbie: cannot start: 401 Unauthorized: bad key"]
    (live,) = rule_live(h, "standing:bid")
    h.exchange.cancel("paper", client_id=live)  # the old account still trades: re-placed
    await h.until(lambda: len(rule_live(h, "standing:bid")) == 1, what="still trading")
    await assert_consistent(h)


async def test_a_send_that_arrives_after_the_grace_does_not_double_a_standing_order(rig):
    """perpd concludes the send never arrived and re-places; when the late one lands, the
    standing order is live twice for a moment: the surplus is cancelled."""
    h = rig(STANDING)
    engine = await h.start()
    session = h.sessions["paper"]
    session.late_secs = 1.6  # after the grace (0.3 s) and the 1 s backoff: after the re-placement
    session.faults.append("late-arrival")
    await h.until(lambda: len(rule_live(h, "standing:bid")) == 1, what="re-placed after the grace")
    await h.until(lambda: len(session.sent) == 2, what="the late one landed")
    await h.until(lambda: len(rule_live(h, "standing:bid")) == 1, what="back to one live order")
    for _ in range(10):
        await engine.reconcile_once()
    assert len(rule_live(h, "standing:bid")) == 1
    await assert_consistent(h)
