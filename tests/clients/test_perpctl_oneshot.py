"""`perpctl VERB ...` as a real process: the daemon found through the config, tables on
stdout, `--json` for scripts, one error line on stderr with exit 1 (refused) or 2 (usage),
a script of verbs on stdin, and a watch without a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

from clients_support import RunningDaemon

PERPCTL = [sys.executable, "-m", "perpd.perpctl"]


def perpctl(daemon: RunningDaemon, *words: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPD_")}
    env["NO_COLOR"] = "1"
    return subprocess.run([*PERPCTL, "-c", str(daemon.config), *words], input=stdin if stdin is not None else "",
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def test_accounts_prints_a_table_of_the_daemon_found_through_the_config(daemon: RunningDaemon) -> None:
    done = perpctl(daemon, "accounts")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "accounts" and lines[1].split()[:4] == ["account", "venue", "health", "state"]
    assert {line.split()[0] for line in lines[2:]} == {"paper", "spare"}
    assert "\x1b[" not in done.stdout  # no colour off a terminal


def test_json_buy_then_cancel_round_trips_the_typed_order(daemon: RunningDaemon) -> None:
    placed = perpctl(daemon, "--json", "buy", "0.001", "BTC", "@", "60000", "on", "paper", "post")
    assert placed.returncode == 0, placed.stderr
    order = json.loads(placed.stdout)[0]
    assert (order["side"], order["status"], order["tif"]) == ("buy", "open", "post_only")
    assert Decimal(order["price"]) == 60000 and Decimal(order["size"]) == Decimal("0.001")
    cancelled = perpctl(daemon, "cancel", order["client_id"], "--json")  # the flag may follow the verb
    assert cancelled.returncode == 0 and json.loads(cancelled.stdout)["status"] == "cancelled"


def test_a_refused_order_is_one_line_on_stderr_and_exit_1(daemon: RunningDaemon) -> None:
    done = perpctl(daemon, "buy", "1", "BTC", "@", "65000", "on", "paper")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith('denied by policy "house"') and done.stderr.count("\n") == 1


def test_bad_usage_is_exit_2_and_says_what_was_expected(daemon: RunningDaemon) -> None:
    done = perpctl(daemon, "buy", "BTC", "0.1")
    assert done.returncode == 2
    assert done.stderr == "usage: size: expected a number (got 'BTC')\n"


def test_a_script_on_stdin_runs_every_line_and_reports_the_failures(daemon: RunningDaemon) -> None:
    script = "# a morning check\nstatus\nfrob\nbalance spare\n"
    done = perpctl(daemon, stdin=script)
    assert done.returncode == 2, done.stderr
    assert "config revision" in done.stdout and "spare" in done.stdout and "USDC" in done.stdout
    assert done.stderr == "usage: no verb 'frob'; `help` lists them\n"


def test_watch_without_a_terminal_prints_each_state_until_n_updates(daemon: RunningDaemon) -> None:
    done = perpctl(daemon, "watch", "book", "ETH", "depth", "2", "for", "2")
    assert done.returncode == 0, done.stderr
    views = [v for v in done.stdout.split("\n\n") if v.strip()]
    assert len(views) == 3  # the snapshot, then two updates
    assert all(v.splitlines()[0] == "ETH-PERP on sim" and len(v.splitlines()) == 4 for v in views)


def test_no_daemon_is_one_line_and_exit_1(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPD_")}
    done = subprocess.run([*PERPCTL, "--socket", str(tmp_path / "none.sock"), "status"], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("daemon_unreachable: no daemon is listening on unix:") and done.stderr.count("\n") == 1


def test_watch_fills_prints_the_blotter_then_each_new_fill(daemon: RunningDaemon) -> None:
    """A fill journaled while the view is open shows on top; spare's fills never show."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPD_")}
    env["NO_COLOR"] = "1"
    watching = subprocess.Popen([*PERPCTL, "-c", str(daemon.config), "watch", "fills", "on", "spare", "for", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert watching.stdout is not None
        first = watching.stdout.readline()  # the snapshot's title: the view is subscribed
        assert first == "fills\n", first + (watching.stderr.read() if watching.stderr else "")
        with daemon.client() as perp:
            perp.buy("0.01", "ETH", account="paper")  # another account's: not in this view
            (order,) = perp.buy("0.01", "ETH", account="spare")
        out, err = watching.communicate(timeout=60)
    finally:
        watching.kill()
    assert watching.returncode == 0, err
    states = (first + out).split("fills\n")[1:]  # each state starts with the table's title
    assert len(states) == 2 and order.client_id not in states[0]  # the snapshot, then the fill
    last = [line for line in states[1].splitlines() if line.strip()]
    assert last[0].split()[:3] == ["time", "account", "symbol"]
    assert order.client_id in last[1] and last[1].split()[1] == "spare"  # newest first
    assert all(line.split()[1] == "spare" for line in last[1:])
