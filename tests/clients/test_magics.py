"""The %perp magics in a real IPython shell against a real daemon: tables as DataFrames
(or HTML without pandas), a trade, a refusal as one line, %%perp cells, a live watch
display, and `perpd.connect()` for plain Python."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pandas
import pytest
from clients_support import RunningDaemon
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

import perpd.magics
from perpd.magics import Note, Tables
from perpd.model import Market, OrderStatus


@pytest.fixture
def shell(daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("PERPD_SOCKET", str(daemon.socket))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ipython = InteractiveShell.instance(config=config)
    ipython.run_line_magic("load_ext", "perpd")
    try:
        yield ipython
    finally:
        perpd.magics.use_pandas = None
        InteractiveShell.clear_instance()


def run(shell: InteractiveShell, source: str) -> tuple[Any, Any]:
    """Run a cell; return (its result, what it printed and displayed)."""
    with capture_output() as captured:
        result = shell.run_cell(source)
    assert result.success, (result.error_in_exec, captured.stderr)
    return result.result, captured


def test_a_line_returns_a_dataframe_with_exact_decimals(shell: InteractiveShell) -> None:
    frame, _ = run(shell, "%perp markets")
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns[:4]) == ["symbol", "venue", "venue symbol", "tick"]
    btc = frame[frame["symbol"] == "BTC-PERP"].iloc[0]
    assert btc["tick"] == Decimal(1) and isinstance(btc["lot"], Decimal)


def test_without_pandas_a_line_returns_an_html_table_holding_the_typed_value(shell: InteractiveShell) -> None:
    perpd.magics.use_pandas = False
    table, _ = run(shell, "%perp markets sim")
    assert isinstance(table, Tables)
    assert table._repr_html_().startswith('<table class="perpd"><caption')
    assert "<td style=\"text-align:left\">BTC-PERP</td>" in table._repr_html_()
    assert all(isinstance(m, Market) for m in table.value) and len(table) == len(table.value)


def test_a_trade_is_placed_and_a_refusal_is_one_line_that_does_not_fail_the_cell(shell: InteractiveShell) -> None:
    placed, _ = run(shell, "%perp buy 0.001 BTC @ 60000 on paper")
    row = placed.iloc[0]
    assert (row["side"], row["status"], row["price"]) == ("buy", "open", Decimal(60000))
    refused, captured = run(shell, "%perp buy 1 BTC @ 65000 on paper")
    assert refused is None
    assert captured.stderr.startswith('denied by policy "house"') and captured.stderr.count("\n") == 1
    cancelled, _ = run(shell, f"%perp cancel {row['id']}")
    assert cancelled.iloc[0]["status"] == "cancelled"


def test_a_cell_runs_one_verb_per_line_and_keeps_the_results(shell: InteractiveShell) -> None:
    _, captured = run(shell, "%%perp\nstatus\n# the kill switch, on one account\nhalt spare reason drill\nresume spare\n")
    results = shell.user_ns["_perp"]
    assert len(results) == 3
    assert isinstance(results[0], Tables) and len(results[0].frames) == len(results[0].tables) >= 2  # status: several
    assert "sim" in set(results[0].frames[0]["venue"]) and "<table" in results[0]._repr_html_()
    assert isinstance(results[1], Note) and results[1].text.startswith("account:spare: halted (drill)")
    assert results[2].value.state == "active"
    shown = [o.data.get("text/html", "") for o in captured.outputs]
    assert any("%perp halt spare reason drill" in html for html in shown)


def test_watch_updates_one_display_in_place(shell: InteractiveShell) -> None:
    value, captured = run(shell, "%perp watch book BTC depth 2 for 2")
    assert value is None
    first, *updates = captured.outputs
    assert first.transient["display_id"] and not first.update
    assert len(updates) == 3 and all(o.update for o in updates)  # the snapshot, then two updates
    assert {o.transient["display_id"] for o in updates} == {first.transient["display_id"]}
    assert "64" in updates[-1].data["text/html"] or "65" in updates[-1].data["text/html"]


def test_help_prints_the_verbs_and_connect_switches_the_daemon(shell: InteractiveShell, daemon: RunningDaemon) -> None:
    _, captured = run(shell, "%perp help buy")
    assert captured.stdout.startswith("buy SIZE SYMBOL [@ PRICE]")
    note, _ = run(shell, f"%perp connect {daemon.socket}")
    assert note.text == f"connected to unix:{daemon.socket}"


def test_perpd_connect_gives_notebook_code_the_typed_client(shell: InteractiveShell) -> None:
    orders, _ = run(shell, "import perpd\nperp = perpd.connect()\nperp.buy('0.01', 'ETH', 3300, account='spare')")
    assert orders[0].status is OrderStatus.OPEN
    left, _ = run(shell, "perp.cancel_all(account='spare')")
    assert left >= 1
