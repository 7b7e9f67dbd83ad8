"""The journal: exact round trips, idempotency, dedupe, group commit, crash safety, migrations."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import textwrap
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlite_utils
from pydantic import SecretStr

from perpd.clock import ManualClock
from perpd.errors import InvalidRequest, NotFound
from perpd.journal import (
    SCHEMA_VERSION,
    IntentState,
    Journal,
    JournalClosed,
    JournalVersionError,
    codec,
    schema,
)
from perpd.model import (
    Fill,
    Liquidity,
    Order,
    OrderSpec,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradingState,
)

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000
SPEC = OrderSpec(
    symbol="BTC", side=Side.BUY, size=Decimal("0.00100"), price=Decimal("97123.50"),
    type=OrderType.STOP_LIMIT, trigger_price=Decimal("9.7E+4"), tif=TimeInForce.POST_ONLY,
    reduce_only=True, route="majors", client_tag="ladder-3", slippage_bps=Decimal("12.5"),
)


def order(client_id: str = "pd-1", **changes: object) -> Order:
    base = Order(
        account="hl-main", venue="hl", client_id=client_id, symbol="BTC-PERP", side=Side.SELL,
        type=OrderType.LIMIT, size=Decimal("1.2500"), status=OrderStatus.PENDING,
        price=Decimal("100000.1"), tif=TimeInForce.GTC, created_ms=T0, updated_ms=T0,
    )
    return base.evolve(**changes)


def fill(trade_id: str = "t-1", **changes: object) -> Fill:
    base = Fill(
        account="hl-main", venue="hl", trade_id=trade_id, client_id="pd-1", venue_order_id="77",
        symbol="BTC-PERP", side=Side.SELL, price=Decimal("100000.1"), size=Decimal("0.0001"),
        fee=Decimal("-0.00000250"), liquidity=Liquidity.MAKER, ts_ms=T0 + 5, realized_pnl=Decimal("0E-8"),
    )
    return Fill(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, **changes})


_GATES: list[Gate] = []


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    opened = await Journal.open(tmp_path / "journal.sqlite", clock=ManualClock(T0))
    yield opened
    for gate in _GATES:  # a failed test must not leave the writer held (close would wait)
        gate.release.set()
    _GATES.clear()
    await opened.close()


class Gate:
    """A write that holds the writer thread until released, to shape transactions."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        _GATES.append(self)

    def __call__(self, conn: sqlite3.Connection) -> str:
        self.entered.set()
        self.release.wait()
        return "gate"

    async def hold(self, journal: Journal) -> asyncio.Task[str]:
        task = asyncio.create_task(journal.write(self))
        await asyncio.to_thread(self.entered.wait)
        return task


def fresh_count(path: Path, sql: str) -> int:
    """Count through a brand-new connection: what any other process would see."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


# --------------------------------------------------------------------------- round trips


async def test_an_intent_round_trips_with_its_exact_decimals(journal: Journal) -> None:
    intent_id = await journal.insert_intent(SPEC, source="standing:btc-bid", config_revision=3)
    intent = journal.intent(intent_id)
    assert intent is not None
    assert intent.spec == SPEC
    assert str(intent.spec.size) == "0.00100" and str(intent.spec.trigger_price) == "9.7E+4"
    assert (intent.source, intent.config_revision, intent.state) == ("standing:btc-bid", 3, IntentState.OPEN)
    assert intent.created_ms == intent.updated_ms == T0
    assert journal.intent(intent_id + 1) is None


async def test_an_idempotency_key_returns_the_first_intent(journal: Journal) -> None:
    first = await journal.insert_intent(SPEC, source="api", idempotency_key="req-1")
    again = await journal.insert_intent(SPEC, source="api", idempotency_key="req-1")
    other = await journal.insert_intent(SPEC, source="api", idempotency_key="req-2")
    assert again == first != other
    assert await journal.ensure_intent(SPEC, source="api", idempotency_key="req-1") == (first, False)
    assert journal.intent_by_key("req-2").id == other  # type: ignore[union-attr]
    assert journal.intent_by_key("req-3") is None
    assert [i.id for i in journal.open_intents()] == [first, other]


async def test_intent_states_move_and_open_intents_follow(journal: Journal) -> None:
    a = await journal.insert_intent(SPEC, source="api")
    b = await journal.insert_intent(SPEC, source="api")
    await journal.set_intent_state(a, IntentState.DONE)
    await journal.set_intent_state(b, "cancelled")
    assert journal.open_intents() == []
    assert journal.intent(a).state is IntentState.DONE  # type: ignore[union-attr]
    with pytest.raises(NotFound, match="no intent 999"):
        await journal.set_intent_state(999, "done")
    with pytest.raises(ValueError):
        await journal.set_intent_state(a, "exploded")


async def test_the_latest_intent_of_a_source_is_the_newest_whatever_its_state(journal: Journal) -> None:
    assert journal.latest_intent("standing:btc-bid") is None
    first = await journal.insert_intent(SPEC, source="standing:btc-bid")
    await journal.insert_intent(SPEC, source="api")
    second = await journal.insert_intent(SPEC, source="standing:btc-bid")
    await journal.set_intent_state(second, IntentState.CANCELLED)
    assert journal.latest_intent("standing:btc-bid").id == second != first  # type: ignore[union-attr]


async def test_an_order_round_trips_exactly_and_links_to_its_intent(journal: Journal) -> None:
    intent_id = await journal.insert_intent(SPEC, source="api")
    sent = order(trigger_price=Decimal("99000.00"), reduce_only=True, tif=TimeInForce.IOC, type=OrderType.STOP_LIMIT)
    assert await journal.insert_order(sent, intent_id=intent_id, attempt=1)
    assert journal.order("pd-1") == sent
    assert journal.intent_id_of("pd-1") == intent_id
    assert journal.attempts_of(intent_id) == [(1, "pd-1")]
    assert journal.order("pd-2") is None and journal.intent_id_of("pd-2") is None


async def test_the_write_ahead_order_is_not_replaced_by_a_replay(journal: Journal) -> None:
    intent_id = await journal.insert_intent(SPEC, source="api")
    assert await journal.insert_order(order(), intent_id=intent_id)
    assert not await journal.insert_order(order(size=Decimal(9)), intent_id=intent_id)
    assert journal.order("pd-1").size == Decimal("1.2500")  # type: ignore[union-attr]


async def test_update_order_records_progress_and_keeps_the_known_venue_id(journal: Journal) -> None:
    intent_id = await journal.insert_intent(SPEC, source="api")
    await journal.insert_order(order(), intent_id=intent_id)
    await journal.update_order(order(status=OrderStatus.OPEN, venue_order_id="77", updated_ms=T0 + 1))
    done = order(
        status=OrderStatus.FILLED, filled_size=Decimal("1.2500"), avg_fill_price=Decimal("100000.10"),
        updated_ms=T0 + 2, reason="filled", venue_order_id=None,
    )
    await journal.update_order(done)
    stored = journal.order("pd-1")
    assert stored == done.evolve(venue_order_id="77")
    assert journal.intent_id_of("pd-1") == intent_id
    assert journal.order_by_venue_id("hl", "77") == stored


async def test_update_order_adopts_an_order_it_has_never_seen(journal: Journal) -> None:
    await journal.update_order(order("foreign", status=OrderStatus.OPEN, venue_order_id="5"))
    assert journal.order("foreign").status is OrderStatus.OPEN  # type: ignore[union-attr]
    assert journal.intent_id_of("foreign") is None


async def test_orders_filter_by_account_symbol_status_liveness_and_time(journal: Journal) -> None:
    rows = [
        order("a", status=OrderStatus.OPEN, created_ms=T0 + 1, updated_ms=T0 + 1),
        order("b", status=OrderStatus.FILLED, created_ms=T0 + 2, updated_ms=T0 + 20),
        order("c", status=OrderStatus.UNKNOWN, symbol="ETH-PERP", created_ms=T0 + 3, updated_ms=T0 + 3),
        order("d", status=OrderStatus.OPEN, account="paper", venue="sim", created_ms=T0 + 4, updated_ms=T0 + 4),
    ]
    for row in rows:
        await journal.insert_order(row, intent_id=None)

    def ids(**filters: object) -> list[str]:
        return [o.client_id for o in journal.orders(**filters)]  # type: ignore[arg-type]

    assert ids() == ["d", "c", "b", "a"]  # newest first
    assert ids(account="hl-main") == ["c", "b", "a"]
    assert ids(symbol="ETH-PERP") == ["c"]
    assert ids(status=OrderStatus.OPEN) == ["d", "a"]
    assert ids(status=["filled", OrderStatus.UNKNOWN]) == ["c", "b"]
    assert ids(live=True, account="hl-main") == ["c", "a"]
    assert ids(live=False) == ["b"]
    assert ids(since_ms=T0 + 4) == ["d", "b"]
    assert ids(limit=2, offset=1) == ["c", "b"]


async def test_a_fill_is_recorded_once_per_venue_trade_id(journal: Journal) -> None:
    assert await journal.insert_fill(fill("t-1"))
    assert not await journal.insert_fill(fill("t-1", price=Decimal(1)))
    assert await journal.insert_fill(fill("t-1", account="other"))  # same id, another account
    assert await journal.insert_fill(fill("t-2", ts_ms=T0 + 9, realized_pnl=None))
    assert journal.fills(account="hl-main") == [fill("t-1"), fill("t-2", ts_ms=T0 + 9, realized_pnl=None)]
    assert str(journal.fills(account="hl-main")[0].fee) == "-0.00000250"
    assert journal.fills(account="hl-main", since_ms=T0 + 6) == [fill("t-2", ts_ms=T0 + 9, realized_pnl=None)]
    assert journal.last_fill_ms("hl-main") == T0 + 9
    assert journal.last_fill_ms("nobody") is None


async def test_audit_events_round_trip_filter_and_tail(journal: Journal) -> None:
    first = await journal.record_event(
        "place", actor="api:terminal", account="hl-main", venue="hl", symbol="BTC-PERP",
        client_id="pd-1", config_revision=2, rule="standing:btc-bid",
        details={"price": Decimal("97123.50"), "key": SecretStr("hunter2")},
    )
    second = await journal.record_event("halt", actor="daemon", result="denied", details=None, ts_ms=T0 + 7)
    (event,) = journal.events(action="place")
    assert (event.id, event.actor, event.rule, event.config_revision) == (first, "api:terminal", "standing:btc-bid", 2)
    assert event.details == {"key": "**********", "price": "97123.50"}
    assert [e.id for e in journal.events(since_id=first)] == [second]
    assert [e.id for e in journal.events(newest_first=True, limit=1)] == [second]
    assert journal.events(result="denied")[0].ts_ms == T0 + 7
    assert journal.events(account="nobody") == []


async def test_trading_states_are_kept_per_scope(journal: Journal) -> None:
    await journal.set_trading_state("global", TradingState.ACTIVE)
    await journal.set_trading_state("account:hl-main", "halted", "daily loss limit 5000 reached")
    await journal.set_trading_state("account:hl-main", TradingState.REDUCE_ONLY, "operator")
    assert journal.trading_states() == {
        "account:hl-main": (TradingState.REDUCE_ONLY, "operator"),
        "global": (TradingState.ACTIVE, None),
    }
    with pytest.raises(InvalidRequest, match="KIND:NAME"):
        await journal.set_trading_state("hl-main", "halted")


async def test_config_revisions_number_up_and_keep_diff_and_config(journal: Journal) -> None:
    from perpd.config import config_hash, diff, loads

    old = loads('[venues.sim]\nkind = "sim"\n')
    new = loads('[venues.sim]\nkind = "sim"\n[accounts.paper]\nvenue = "sim"\n')
    assert journal.latest_config_revision() is None
    one = await journal.add_config_revision(config_hash(old), source="start", config=old)
    two = await journal.add_config_revision(config_hash(new), source="reload", config=new, diff=diff(old, new))
    assert (one, two) == (1, 2)
    latest = journal.latest_config_revision()
    assert latest is not None and latest.revision == 2 and latest.hash == config_hash(new)
    assert latest.diff == {"accounts": {"added": ["paper"], "changed": [], "removed": []}}
    assert latest.config["accounts"]["paper"]["starting_balance"] == "100000"
    assert journal.config_revision(1).diff is None  # type: ignore[union-attr]


async def test_cursors_remember_the_last_value(journal: Journal) -> None:
    assert journal.cursor("hl-main:fills") is None
    await journal.set_cursor("hl-main:fills", "1700000000123")
    await journal.set_cursor("hl-main:fills", "1700000000456")
    assert journal.cursor("hl-main:fills") == "1700000000456"


# --------------------------------------------------------------------------- the writer


async def test_a_caller_returns_only_after_the_commit_holding_its_rows(journal: Journal) -> None:
    gate = Gate()
    held = await gate.hold(journal)
    waiting = asyncio.create_task(journal.insert_intent(SPEC, source="api"))
    await asyncio.sleep(0)
    assert not waiting.done()
    assert fresh_count(journal.path, "SELECT COUNT(*) FROM intents") == 0
    gate.release.set()
    await held
    intent_id = await waiting
    assert fresh_count(journal.path, f"SELECT COUNT(*) FROM intents WHERE id = {intent_id}") == 1


async def test_writes_queued_during_a_commit_share_the_next_transaction(journal: Journal) -> None:
    gate = Gate()
    held = await gate.hold(journal)
    before = journal.commits
    writers = [asyncio.create_task(journal.insert_intent(SPEC, source="api")) for _ in range(64)]
    await asyncio.sleep(0)  # every writer has queued its write
    gate.release.set()
    await held
    ids = await asyncio.gather(*writers)
    assert len(set(ids)) == 64
    assert journal.commits == before + 2  # the gate's transaction, then one for all 64


async def test_many_concurrent_writers_need_fewer_commits_than_writes(journal: Journal) -> None:
    async def writer(n: int) -> None:
        for i in range(10):
            await journal.insert_intent(SPEC, source="api", idempotency_key=f"{n}-{i}")

    await asyncio.gather(*(writer(n) for n in range(64)))
    assert fresh_count(journal.path, "SELECT COUNT(*) FROM intents") == 640
    assert journal.writes == 640
    assert journal.commits < 640


async def test_a_failing_write_fails_only_its_own_caller(journal: Journal) -> None:
    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO cursors (name, value, updated_ms) VALUES ('bad', 'x', 0)")
        raise RuntimeError("boom")

    existing = await journal.insert_intent(SPEC, source="api")
    gate = Gate()
    held = await gate.hold(journal)
    before = journal.commits
    good1 = asyncio.create_task(journal.set_cursor("good1", "1"))
    failing = asyncio.create_task(journal.write(bad))
    good2 = asyncio.create_task(journal.set_cursor("good2", "2"))
    duplicate = asyncio.create_task(journal.write(lambda c: c.execute(
        "INSERT INTO intents (id, spec, source, state, created_ms, updated_ms) VALUES (?, '{}', 'x', 'open', 0, 0)",
        (existing,))))
    await asyncio.sleep(0)
    gate.release.set()
    await held
    results = await asyncio.gather(good1, failing, good2, duplicate, return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RuntimeError) and str(results[1]) == "boom"
    assert isinstance(results[3], sqlite3.IntegrityError)
    assert journal.commits == before + 2  # all four shared one transaction
    assert (journal.cursor("good1"), journal.cursor("good2"), journal.cursor("bad")) == ("1", "2", None)
    assert journal.intent(existing).source == "api"  # type: ignore[union-attr]


async def test_the_writes_of_one_loop_turn_nobody_waits_on_reach_the_writer_together_and_fail_alone(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    before = journal.writes
    journal.set_cursor_soon("a", "1")
    journal.write_soon(lambda c: c.execute("INSERT INTO cursors (name, value, updated_ms) VALUES ('bad', 'x', 'soon')"), "bad")
    journal.set_cursor_soon("b", "2")
    seen: list[tuple[str | None, ...]] = []
    committed = asyncio.Event()

    def after() -> None:
        seen.append((journal.cursor("a"), journal.cursor("b"), journal.cursor("bad")))
        committed.set()

    journal.when_committed(after)
    await committed.wait()
    assert seen == [("1", "2", None)]  # committed before the callback ran; the bad one alone lost
    assert journal.writes == before + 1  # one hand-over to the writer for the turn
    assert "journal write of bad failed" in caplog.text


async def test_a_write_awaited_after_one_nobody_waits_on_lands_after_it(journal: Journal) -> None:
    await journal.insert_order(order(), intent_id=None)
    journal.update_order_soon(order(status=OrderStatus.OPEN, updated_ms=T0 + 1))
    await journal.update_order(order(status=OrderStatus.FILLED, filled_size=Decimal("1.25"), updated_ms=T0 + 2))
    await journal.flush()
    assert journal.order("pd-1") == order(status=OrderStatus.FILLED, filled_size=Decimal("1.25"), updated_ms=T0 + 2)


@pytest.mark.parametrize("record", [
    order(), order(status=OrderStatus.FILLED, filled_size=Decimal("1.25"), avg_fill_price=Decimal("1E+5"),
                   venue_order_id="v-9", reason="done", reduce_only=True, parent_client_id="pd-0"),
    fill(), fill(client_id=None, realized_pnl=Decimal("-0.50")),
])
def test_a_record_s_values_are_its_row_s(record: object) -> None:
    assert codec.columns_of(type(record)) == tuple(codec.row_of(record))
    assert codec.values_of(record) == tuple(codec.row_of(record).values())


async def test_a_constraint_violation_is_raised_to_its_caller(journal: Journal) -> None:
    await journal.write(lambda c: c.execute(
        "INSERT INTO intents (id, spec, source, state, created_ms, updated_ms) VALUES (5, '{}', 'x', 'open', 0, 0)"))
    with pytest.raises(sqlite3.IntegrityError):
        await journal.write(lambda c: c.execute(
            "INSERT INTO intents (id, spec, source, state, created_ms, updated_ms) VALUES (5, '{}', 'y', 'open', 0, 0)"))
    with pytest.raises(sqlite3.IntegrityError, match="cannot store TEXT value in INTEGER column"):  # STRICT
        await journal.write(lambda c: c.execute("INSERT INTO cursors (name, value, updated_ms) VALUES ('n', 'v', 'soon')"))
    assert fresh_count(journal.path, "SELECT COUNT(*) FROM intents WHERE id = 5 AND source = 'x'") == 1


async def test_a_cancelled_caller_does_not_disturb_the_writer(journal: Journal) -> None:
    gate = Gate()
    held = await gate.hold(journal)
    abandoned = asyncio.create_task(journal.set_cursor("abandoned", "1"))
    await asyncio.sleep(0)
    abandoned.cancel()
    gate.release.set()
    await held
    await journal.set_cursor("after", "2")
    assert journal.cursor("after") == "2"
    assert journal.cursor("abandoned") == "1"  # queued before the cancel: it still committed


async def test_close_lets_queued_writes_commit_then_refuses_more(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path)
    assert journal.path == tmp_path / "journal.sqlite"
    pending = [asyncio.create_task(journal.set_cursor(f"c{i}", str(i))) for i in range(100)]
    await asyncio.sleep(0)
    await journal.close()
    await asyncio.gather(*pending)
    assert fresh_count(journal.path, "SELECT COUNT(*) FROM cursors") == 100
    with pytest.raises(JournalClosed):
        await journal.set_cursor("late", "x")
    await journal.close()  # idempotent


@pytest.mark.parametrize(("durability", "synchronous"), [("full", 2), ("fast", 1)])
async def test_durability_sets_wal_and_the_synchronous_level(tmp_path: Path, durability: str, synchronous: int) -> None:
    async with Journal.open(tmp_path, durability=durability) as journal:  # type: ignore[arg-type]
        pragmas = await journal.write(lambda c: (
            c.execute("PRAGMA journal_mode").fetchone()[0], c.execute("PRAGMA synchronous").fetchone()[0]))
    assert pragmas == ("wal", synchronous)


# --------------------------------------------------------------------------- crash safety

CRASHER = textwrap.dedent("""
    import asyncio, sys, time
    from decimal import Decimal
    from perpd.journal import Journal
    from perpd.model import OrderSpec, Side

    async def main(path, count):
        journal = await Journal.open(path)
        spec = OrderSpec(symbol="BTC", side=Side.BUY, size=Decimal("0.001"), price=Decimal("1"), account="a")
        async def writer(n):
            for i in range(count // 4):
                await journal.insert_intent(spec, source="api", idempotency_key=f"{n}-{i}")
        await asyncio.gather(*(writer(n) for n in range(4)))
        print("committed", flush=True)

        def big(conn):
            for i in range(40000):
                conn.execute("INSERT INTO events (ts_ms, actor, action, result, details) VALUES (0, 't', 'big', 'ok', ?)",
                             ("x" * 300,))
            print("inside", flush=True)
            time.sleep(600)  # SIGKILLed here, mid-transaction

        await journal.write(big)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
""")


def test_a_crash_mid_transaction_loses_no_committed_row(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    child = subprocess.Popen([sys.executable, "-c", CRASHER, str(path), "400"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "committed\n"
        assert child.stdout.readline() == "inside\n"
        wal = path.with_name(path.name + "-wal").stat().st_size
        child.kill()
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    # The big transaction outgrew the page cache, so its uncommitted pages were in the WAL
    # when the process died: recovery must drop exactly those.
    assert wal > 8 * 1024 * 1024
    assert fresh_count(path, "SELECT COUNT(*) FROM intents") == 400
    assert fresh_count(path, "SELECT COUNT(DISTINCT idempotency_key) FROM intents") == 400
    assert fresh_count(path, "SELECT COUNT(*) FROM events") == 0
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


# --------------------------------------------------------------------------- migrations


async def test_a_new_file_is_migrated_to_strict_tables(tmp_path: Path) -> None:
    async with Journal.open(tmp_path / "new.sqlite") as journal:
        assert journal.schema_version == SCHEMA_VERSION
    db = sqlite_utils.Database(tmp_path / "new.sqlite", execute_plugins=False)
    tables = {"intents", "orders", "fills", "events", "trading_state", "config_revisions", "cursors"}
    assert tables <= set(db.table_names())
    assert all(db.table(name).strict for name in tables)
    assert {tuple(i.columns) for i in db.table("orders").indexes} >= {("account", "status"), ("venue_order_id",)}
    assert any(i.unique and tuple(i.columns) == ("account", "venue", "trade_id") for i in db.table("fills").indexes)
    db.close()


async def test_a_state_dir_that_does_not_exist_yet_gets_a_journal_inside(tmp_path: Path) -> None:
    async with Journal.open(tmp_path / "state" / "perpd") as journal:
        assert journal.path == tmp_path / "state" / "perpd" / "journal.sqlite"
    assert journal.path.is_file()
    assert (tmp_path / "state" / "perpd").stat().st_mode & 0o777 == 0o700


async def test_reopening_keeps_rows_and_does_not_migrate_again(tmp_path: Path) -> None:
    async with Journal.open(tmp_path) as journal:
        await journal.set_cursor("c", "1")
    async with Journal.open(tmp_path) as journal:
        assert journal.cursor("c") == "1"
        assert journal.schema_version == SCHEMA_VERSION


def test_a_later_migration_applies_once_and_atomically(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "j.sqlite", isolation_level=None)
    assert schema.migrate(conn) == SCHEMA_VERSION
    extra = schema.Migration(SCHEMA_VERSION + 1, "notes", lambda db: db.execute("CREATE TABLE notes (t TEXT) STRICT"))
    broken = schema.Migration(SCHEMA_VERSION + 2, "broken", lambda db: db.execute("CREATE TABLE nope (syntax error"))
    with pytest.raises(sqlite3.OperationalError):
        schema.migrate(conn, (*schema.MIGRATIONS, extra, broken))
    assert schema.version(conn) == SCHEMA_VERSION  # nothing of the failed run stayed
    assert "notes" not in sqlite_utils.Database(conn, execute_plugins=False).table_names()
    assert schema.migrate(conn, (*schema.MIGRATIONS, extra)) == SCHEMA_VERSION + 1
    assert schema.migrate(conn, (*schema.MIGRATIONS, extra)) == SCHEMA_VERSION + 1
    conn.close()


async def test_a_journal_from_a_newer_perpd_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "journal.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(JournalVersionError, match="newer than this perpd"):
        await Journal.open(tmp_path)
