"""Alerts ([[alerts]], perpd/alerts.py) through the real daemon on the sim venue, posting to
a real webhook receiver on loopback (tests/alert_receiver.py): each format's body, retries
audited, a hanging receiver never holding up an order, the URL never leaking, reloads."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from alert_receiver import Receiver
from engine.faults import FaultySession

from perpd import cli
from perpd import config as config_mod
from perpd.api import create_app
from perpd.api.server import ApiServer
from perpd.daemon import Daemon
from perpd.errors import ConfigError, Unavailable
from perpd.model import AuditEvent
from venues.base import AccountSession

pytestmark = pytest.mark.anyio

CONFIG = """
[daemon]
state_dir = "{state}"
socket = "{socket}"
http = false
durability = "fast"
{daemon}
[venues.sim]
kind = "sim"
seed = 7

[accounts.paper]
venue = "sim"
leverage = {{ BTC = 10 }}
"""

RESTING = {"account": "paper", "symbol": "BTC", "side": "buy", "size": "0.001", "price": "50000"}


@dataclass
class Running:
    daemon: Daemon
    server: ApiServer
    socket: Path
    config: Path

    def http(self) -> httpx.AsyncClient:
        """The API on the Unix socket (no token)."""
        return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(self.socket)), base_url="http://localhost",
                                 timeout=10)

    async def events(self, **where: Any) -> list[AuditEvent]:
        journal = self.daemon.journal
        assert journal is not None
        await journal.flush()
        return journal.events(**where, limit=1000)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # AF_UNIX paths are limited to ~108 bytes: pytest's tmp_path is often longer.
    path = Path(tempfile.mkdtemp(prefix="pda-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def start(short_dir: Path) -> AsyncIterator[Callable[[str], Any]]:
    started: list[Running] = []

    async def run(alerts: str, wrap_session: Callable[[AccountSession], AccountSession] | None = None,
                  daemon: str = "") -> Running:
        path = short_dir / "perpd.toml"
        socket = short_dir / "run" / "perpd.sock"
        path.write_text(CONFIG.format(state=short_dir / "state", socket=socket, daemon=daemon) + alerts, encoding="utf-8")
        perpd = Daemon(path, wrap_session=wrap_session)
        await perpd.start()
        server = ApiServer(create_app(perpd), perpd.config.daemon, unix=socket)
        try:
            await server.start()
        except BaseException:
            await perpd.stop()
            raise
        running = Running(perpd, server, socket, path)
        started.append(running)
        return running

    yield run
    for running in started:
        await running.server.stop()
        await running.daemon.stop()


async def until(predicate: Callable[[], object], what: str, timeout_secs: float = 20.0) -> None:
    with anyio.move_on_after(timeout_secs):
        while not predicate():
            await anyio.sleep(0.02)
        return
    raise AssertionError(f"timed out waiting for {what}")


def alert(name: str, env: str, **keys: str) -> str:
    lines = ["\n[[alerts]]", f'name = "{name}"', f'url = "env:{env}"', *(f"{k} = {v}" for k, v in keys.items())]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- bodies


async def test_a_halt_and_a_resume_through_the_api_reach_each_format_with_its_body(
    start: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in ("json", "slack", "telegram"):
        monkeypatch.setenv(f"ALERT_{path.upper()}", receiver.url(f"hooks/{path}"))
    running = await start(
        alert("ops", "ALERT_JSON", on='["trading_state"]')
        + alert("slack", "ALERT_SLACK", format='"slack"', on='["trading_state"]')
        + alert("tg", "ALERT_TELEGRAM", format='"telegram"', chat_id='"-1001234"', on='["trading_state"]')
    )
    async with running.http() as http:
        assert (await http.post("/api/v1/halt", json={"reason": "drill"})).status_code == 200
        await until(lambda: all(receiver.bodies(f"hooks/{p}") for p in ("json", "slack", "telegram")), "halt alerts")
        assert (await http.post("/api/v1/resume", json={"reason": "drill over"})).status_code == 200
        await until(lambda: all(len(receiver.bodies(f"hooks/{p}")) == 2 for p in ("json", "slack", "telegram")),
                    "resume alerts")

    halted, resumed = receiver.bodies("hooks/json")
    assert halted["source"] == "perpd" and halted["alert"] == "ops" and halted["kind"] == "trading_state"
    assert halted["details"]["scope"] == "global" and halted["details"]["state"] == "halted"
    assert halted["details"]["reason"] == "drill"
    assert halted["text"] == "perpd: global halted by local (drill)"
    assert resumed["details"]["state"] == "active" and "resumed" in resumed["text"]
    assert receiver.bodies("hooks/slack") == [{"text": halted["text"]}, {"text": resumed["text"]}]
    assert receiver.bodies("hooks/telegram") == [
        {"chat_id": -1001234, "text": halted["text"]}, {"chat_id": -1001234, "text": resumed["text"]},
    ]
    delivered = await running.events(action="alert", result="delivered")
    assert sorted(e.rule for e in delivered) == ["alert:ops", "alert:ops", "alert:slack", "alert:slack", "alert:tg", "alert:tg"]


async def test_a_tripped_kill_switch_is_alerted_as_such(start: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_URL", receiver.url("risk"))
    running = await start(
        '\n[[policies]]\nname = "desk-loss"\ndaily_loss_limit = 5\n'
        + alert("risk", "ALERT_URL", on='["kill_switch"]')
    )
    engine = running.daemon.engine
    assert engine is not None
    await until(lambda: engine.portfolio.mark("sim", "BTC-PERP") is not None, "a mark")
    market = {"account": "paper", "symbol": "BTC", "size": "0.1", "type": "market", "tif": "ioc"}
    async with running.http() as http:
        # A round trip pays the spread and two taker fees: a loss over 5.
        assert (await http.post("/api/v1/orders", json={**market, "side": "buy"})).status_code == 201
        assert (await http.post("/api/v1/orders", json={**market, "side": "sell", "reduce_only": True})).status_code == 201
    await until(lambda: receiver.bodies("risk"), "the kill switch alert")
    [body] = receiver.bodies("risk")
    assert body["kind"] == "kill_switch"
    assert body["details"]["scope"] == "policy:desk-loss"
    assert "daily_loss_limit" in body["details"]["reason"]
    assert body["text"].startswith("perpd: kill switch tripped: policy:desk-loss halted")


async def test_an_order_a_venue_rejects_is_alerted_and_a_local_denial_is_not(
    start: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_URL", receiver.url("orders"))
    running = await start('\n[[policies]]\nname = "house"\nmax_order_notional = 50000\n'
                          + alert("orders", "ALERT_URL", on='["order_rejected"]'))
    engine = running.daemon.engine
    assert engine is not None
    await until(lambda: engine.portfolio.mark("sim", "BTC-PERP") is not None, "a mark")
    mark = engine.portfolio.mark("sim", "BTC-PERP")
    assert mark is not None
    crossing = {**RESTING, "price": str((mark * Decimal("1.05")).quantize(Decimal(1))), "post_only": True}
    async with running.http() as http:
        denied = await http.post("/api/v1/orders", json={**RESTING, "size": "10"})  # the house policy says no
        rejected = await http.post("/api/v1/orders", json=crossing)  # the venue says no
    assert denied.status_code == 403
    [order] = rejected.json()["orders"]
    assert order["status"] == "rejected"
    await until(lambda: receiver.bodies("orders"), "the rejection alert")
    [body] = receiver.bodies("orders")
    assert body["kind"] == "order_rejected"
    assert body["details"]["client_id"] == order["client_id"] and body["details"]["venue"] == "sim"
    assert body["details"]["reason"] == order["reason"]


async def test_a_position_near_liquidation_and_a_daily_pnl_below_threshold_are_alerted(
    start: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_URL", receiver.url("levels"))
    # Isolated at 10x, a long is ~10% from liquidation; a taker buy starts the day below zero.
    # (The first line still belongs to [accounts.paper].)
    running = await start('margin_mode = "isolated"\n' + alert(
        "levels", "ALERT_URL", on='["liquidation", "daily_pnl"]', liquidation_pct="50", daily_pnl_below="0"))
    engine = running.daemon.engine
    assert engine is not None
    await until(lambda: engine.portfolio.mark("sim", "BTC-PERP") is not None, "a mark")
    async with running.http() as http:
        buy = {"account": "paper", "symbol": "BTC", "side": "buy", "size": "0.1", "type": "market", "tif": "ioc"}
        assert (await http.post("/api/v1/orders", json=buy)).status_code == 201
    await until(lambda: {b["kind"] for b in receiver.bodies("levels")} == {"liquidation", "daily_pnl"}, "both alerts")
    by_kind = {b["kind"]: b for b in receiver.bodies("levels")}
    position = engine.portfolio.accounts["paper"].positions["BTC-PERP"]
    near = by_kind["liquidation"]["details"]
    assert near["symbol"] == "BTC-PERP" and Decimal(near["liquidation_price"]) == position.liquidation_price
    assert Decimal(near["distance_pct"]) < 50
    pnl = by_kind["daily_pnl"]["details"]
    assert pnl["account"] == "paper" and Decimal(pnl["pnl"]) < 0
    await anyio.sleep(2.5)  # two more looks: still true, but not sent again within min_interval_secs
    assert len(receiver.bodies("levels")) == 2


class SilentSession(FaultySession):
    """The real sim session, whose resyncs, balance reads and dead man's switch can be made to fail."""

    fail_resync = False
    fail_balance = False
    fail_switch = False
    silent = False  # the account stream delivers nothing

    def watch_account(self):  # type: ignore[no-untyped-def]
        return self._unless_silent(super().watch_account())

    async def _unless_silent(self, stream):  # type: ignore[no-untyped-def]
        async for event in stream:
            if not self.silent:
                yield event

    async def fetch_positions(self):  # type: ignore[no-untyped-def]
        if self.fail_resync:
            raise Unavailable("positions unavailable", venue=self.venue.name)
        return await super().fetch_positions()

    async def fetch_balance(self):  # type: ignore[no-untyped-def]
        if self.fail_balance:
            raise Unavailable("balance unavailable", venue=self.venue.name)
        return await super().fetch_balance()

    async def cancel_all_after(self, seconds):  # type: ignore[no-untyped-def]
        if self.fail_switch:
            raise Unavailable("schedule cancel unavailable", venue=self.venue.name)
        return await super().cancel_all_after(seconds)


async def test_a_dropped_stream_and_a_failing_resync_are_alerted(
    start: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_URL", receiver.url("venue"))
    sessions: list[SilentSession] = []
    running = await start(alert("venue", "ALERT_URL", on='["disconnected", "resync_failed"]'),
                          wrap_session=lambda inner: sessions.append(SilentSession(inner)) or sessions[-1])
    [session] = sessions
    session.fail_resync = True
    session.drop_stream()
    await until(lambda: {b["kind"] for b in receiver.bodies("venue")} == {"disconnected", "resync_failed"}, "both alerts")
    engine = running.daemon.engine
    assert engine is not None
    await until(lambda: len(engine.journal.events(action="resync_failed")) == 1, "the failure audited")
    by_kind = {b["kind"]: b for b in receiver.bodies("venue")}
    assert by_kind["disconnected"]["details"] == {"venue": "sim", "account": "paper", "stream": "account",
                                                  "error": "account stream dropped"}
    assert by_kind["resync_failed"]["text"] == "perpd: resync of paper failing: positions unavailable"
    assert len(receiver.bodies("venue")) == 2


async def test_a_silent_venue_fails_then_fires_the_dead_mans_switch_and_the_watchdog_cancels(
    start: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_URL", receiver.url("safety"))
    sessions: list[SilentSession] = []
    running = await start(
        # (The first lines still belong to [accounts.paper].)
        "dead_mans_switch_secs = 3\n" + alert("safety", "ALERT_URL", on='["watchdog", "dead_mans_switch"]'),
        wrap_session=lambda inner: sessions.append(SilentSession(inner)) or sessions[-1],
        daemon="watchdog_secs = 1\n",
    )
    [session] = sessions
    engine = running.daemon.engine
    assert engine is not None
    async with running.http() as http:
        placed = (await http.post("/api/v1/orders", json=RESTING)).json()["orders"][0]
    await until(lambda: "paper" in engine.state.dms_refreshed, "the switch armed")
    session.fail_switch = session.fail_balance = session.silent = True
    await until(lambda: {b["details"]["result"] for b in receiver.bodies("safety") if b["kind"] == "dead_mans_switch"}
                == {"refresh_failed", "fired"}, "the switch failing, then fired")
    await until(lambda: any(b["kind"] == "watchdog" for b in receiver.bodies("safety")), "the watchdog alert")
    [watchdog] = [b for b in receiver.bodies("safety") if b["kind"] == "watchdog"]
    assert watchdog["details"]["account"] == "paper" and watchdog["details"]["cancelled"] == 1
    assert engine.order(placed["client_id"]).status.value == "cancelled"


# --------------------------------------------------------------------------- delivery


async def test_a_receiver_answering_500_twice_gets_the_alert_once_with_each_attempt_audited(
    start: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_URL", receiver.url("flaky"))
    receiver.plan.extend(["500", "500"])
    running = await start(alert("flaky", "ALERT_URL", on='["trading_state"]', backoff_secs="0.05"))
    async with running.http() as http:
        await http.post("/api/v1/halt", json={"reason": "drill"})
    await until(lambda: any(r.answered == "200" for r in receiver.requests), "a delivery")
    await until(lambda: running.daemon.journal is not None and running.daemon.journal.events(action="alert", result="delivered"),
                "the delivery audited")
    assert [r.answered for r in receiver.requests] == ["500", "500", "200"]
    assert receiver.requests[0].body == receiver.requests[2].body  # the same alert, sent again
    attempts = await running.events(action="alert")
    assert [(e.result, e.details["attempt"]) for e in attempts] == [("retrying", 1), ("retrying", 2), ("delivered", 3)]
    assert attempts[0].details["error"] == "HTTP 500" and attempts[0].rule == "alert:flaky"


async def test_a_hanging_receiver_does_not_hold_up_orders_and_a_full_queue_drops_the_oldest(
    start: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_URL", receiver.url("slow"))
    receiver.plan.append("hang")
    running = await start(alert("slow", "ALERT_URL", on='["trading_state"]', queue_size="1", timeout_secs="60"))
    async with running.http() as http:
        await http.post("/api/v1/halt", json={"reason": "first"})
        await until(lambda: receiver.hanging == 1, "the receiver holding the first alert")
        await http.post("/api/v1/resume", json={"reason": "second"})
        await http.post("/api/v1/halt", json={"reason": "third"})  # the queue holds one: "second" is dropped
        await http.post("/api/v1/resume", json={"reason": "fourth"})  # ... then "third"
        placed = await http.post("/api/v1/orders", json=RESTING)
        # Acknowledged by the venue while the receiver still holds the first alert.
        assert placed.status_code == 201 and placed.json()["orders"][0]["status"] == "open"
        assert receiver.hanging == 1
        status = (await http.get("/api/v1/status")).json()
    assert status["stats"]["alerts_dropped"] == 2
    dropped = await running.events(action="alert", result="dropped")
    assert [e.details["text"] for e in dropped] == ["perpd: global resumed by local (second)", "perpd: global halted by local (third)"]
    receiver.release()
    await until(lambda: len(receiver.requests) == 2, "the queued alert delivered")
    assert [r.body["details"]["reason"] for r in receiver.requests] == ["first", "fourth"]


async def test_the_webhook_url_never_appears_in_the_log_or_the_journal(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    from clients.clients_support import CONFIG as CLIENT_CONFIG
    from clients.clients_support import RunningDaemon, wait_until

    token = "T0KEN-d4e5f6a7b8c9"
    receiver.plan.extend(["500", "hang"])
    hooks = alert("ops", "PERPD_TEST_ALERT_URL", on='["trading_state"]', backoff_secs="0.05", timeout_secs="0.5",
                  max_attempts="3")
    monkeypatch.setenv("PERPD_TEST_ALERT_URL", receiver.url(f"bot{token}/sendMessage"))
    daemon = RunningDaemon(CLIENT_CONFIG + hooks)
    try:
        with daemon.client() as client:
            client.halt(reason="drill")
        wait_until(lambda: len(receiver.requests) == 3, what="three attempts")  # 500, a timeout, then 200
        daemon.proc.send_signal(signal.SIGTERM)
        daemon.proc.wait(timeout=30)
        journal = daemon.state_dir / "journal.sqlite"
        conn = sqlite3.connect(journal)
        try:
            audited = [row[0] for row in conn.execute("SELECT result FROM events WHERE action = 'alert' ORDER BY id")]
            dumped = "\n".join(conn.iterdump())
        finally:
            conn.close()
        output = daemon.output()
    finally:
        daemon.stop()
    assert audited == ["retrying", "retrying", "delivered"]
    assert "PERPD_TEST_ALERT_URL" in dumped  # the reference is journaled with the config
    assert token not in dumped and token not in output
    assert "127.0.0.1:" + str(receiver.port) not in output


# --------------------------------------------------------------------------- config


def test_an_unknown_alert_kind_is_a_config_error_naming_it_and_a_literal_url_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as bad_kind:
        config_mod.loads(alert("ops", "HOOK", on='["kill_switch", "kil_switch"]'))
    assert bad_kind.value.problems == [
        ("alerts[0].on: unknown alert kind 'kil_switch' (one of kill_switch, trading_state, disconnected, "
         "resync_failed, watchdog, dead_mans_switch, order_rejected, liquidation, daily_pnl)")
    ]
    literal = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    with pytest.raises(ConfigError) as bad_url:
        config_mod.loads(f'[[alerts]]\nname = "ops"\nurl = "{literal}"\n')
    assert "alerts[0].url: must be a secret reference" in bad_url.value.message
    assert "XXXXSECRET" not in bad_url.value.message
    with pytest.raises(ConfigError, match='needs a chat_id'):
        config_mod.loads(alert("ops", "HOOK", format='"telegram"'))
    with pytest.raises(ConfigError, match="set liquidation_pct"):
        config_mod.loads(alert("ops", "HOOK", on='["liquidation"]'))


def test_perpd_check_lists_the_alerts_by_reference(tmp_path: Path) -> None:
    config = config_mod.loads(alert("ops", "PERPD_TEST_UNSET_HOOK", format='"slack"', on='["kill_switch", "watchdog"]'))
    out = __import__("io").StringIO()
    cli.print_summary(tmp_path / "perpd.toml", config, out)
    assert "alerts (1)\n  ops              slack  url=env:PERPD_TEST_UNSET_HOOK (missing)  on=kill_switch,watchdog\n" in out.getvalue()


async def test_a_reload_follows_changed_alerts_and_refuses_an_unresolvable_url(
    start: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_A", receiver.url("a"))
    monkeypatch.setenv("ALERT_B", receiver.url("b"))
    running = await start(alert("ops", "ALERT_A", on='["trading_state"]'))
    text = running.config.read_text(encoding="utf-8")
    running.config.write_text(text.replace("env:ALERT_A", "env:ALERT_MISSING"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alerts\[0\].url: env:ALERT_MISSING: environment variable ALERT_MISSING is not set"):
        await running.daemon.reload()
    running.config.write_text(text.replace("env:ALERT_A", "env:ALERT_B"), encoding="utf-8")
    change = await running.daemon.reload()
    assert change == {"alerts": {"added": [], "changed": ["ops"], "removed": []}}
    async with running.http() as http:
        await http.post("/api/v1/halt", json={"reason": "after reload"})
    await until(lambda: receiver.bodies("b"), "the alert at the new URL")
    assert receiver.bodies("a") == []
    refused = await running.events(action="reload", result="rejected")
    assert len(refused) == 1 and "ALERT_MISSING" in str(refused[0].details)
