"""The example notebooks, executed top to bottom in a real ipykernel (nbclient), against
`perpd run` on the configs they name: configs/sim.toml and configs/multi-sim.toml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from clients_support import ROOT, RunningDaemon
from nbclient import NotebookClient

NOTEBOOKS = ROOT / "notebooks"


def execute(name: str, daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run every cell (an error in any fails the test); return each code cell's output text."""
    monkeypatch.setenv("PERPD_SOCKET", str(daemon.socket))  # the kernel inherits the environment
    monkeypatch.delenv("PERPD_CONFIG", raising=False)
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return [_text(cell) for cell in book.cells if cell.cell_type == "code"]


def _text(cell: Any) -> str:
    parts = []
    for output in cell.outputs:
        assert output.output_type != "error", f"{output.ename}: {output.evalue}"
        if output.output_type == "stream":
            parts.append(output.text)
        else:
            parts += [output.data.get("text/plain", ""), output.data.get("text/html", "")]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningDaemon]:
    running = RunningDaemon(config_file=ROOT / "configs" / "sim.toml")
    try:
        yield running
    finally:
        running.stop()


def test_quickstart_reads_markets_places_and_cancels_and_shows_positions_fills_and_pnl(sim, monkeypatch) -> None:
    out = execute("quickstart.ipynb", sim, monkeypatch)
    assert "paper" in out[0] and "synced" in out[0]
    assert "BTC-PERP" in out[1] and "bid size" in out[2]
    assert "BTC-PERP on sim" in out[3] and out[3].count("<tr>") >= 5  # the watched book, last state
    placed, listed, cancelled = out[5], out[6], out[7]
    assert "open" in placed and "post_only" in placed
    assert "cancelled" in cancelled and "ETH-PERP" in listed
    assert "BTC-PERP" in out[8]  # the 0.05 BTC target, held
    assert "place" in out[11] and "local" in out[11]
    fills, pnl, curve, total = out[12], out[13], out[14], out[15]
    assert "BTC-PERP" in fills and "target:" in fills and "taker" in fills  # the target's slices, each with its intent
    assert all(word in pnl for word in ("realized", "fees", "funding", "unrealized", "net"))
    assert "<Figure" in curve and "booked" in curve  # the cumulative PnL plot (matplotlib), then its table
    assert "Decimal(" in total


def test_risk_shows_denials_then_trips_and_resumes_the_kill_switch(sim, monkeypatch) -> None:
    out = execute("risk.ipynb", sim, monkeypatch)
    assert 'denied by policy "paper-house": max_order_notional 50000' in out[1]
    assert out[2].startswith("paper-house max_order_notional |")
    assert "price_band_bps 1000" in out[3]
    assert "global: halted (notebook drill)" in out[4]
    assert "trading is halted" in out[5]
    assert "halted" in out[6] and "notebook drill" in out[6]
    assert "global: active (drill over)" in out[7]
    assert "CANCELLED" in out[8]
    assert "halted" in out[9] and "resume" in out[10]


def test_cross_venue_compares_books_and_funding_and_routes_an_order() -> None:
    running = RunningDaemon(config_file=ROOT / "configs" / "multi-sim.toml")
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            out = execute("cross-venue.ipynb", running, monkeypatch)
    finally:
        running.stop()
    assert {"alpha", "beta", "gamma"} <= set(out[0].split())
    assert "BTC-PERP merged across sim-a, sim-b" in out[1]
    assert "BTC-PERP on sim-a" in out[2] and "BTC-PERP on sim-b" in out[2]
    assert "best bid on sim-" in out[3]
    assert "sim-a" in out[4] and "sim-b" in out[4]
    routed = out[7]
    assert ("alpha" in routed) != ("gamma" in routed) and "open" in routed
    assert "cancelled" in out[8]
    assert "BTC" in out[10]


def test_the_notebooks_are_valid_and_load_the_magics_in_their_first_cell() -> None:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        first = next(c for c in book.cells if c.cell_type == "code")
        assert "%load_ext perpd" in first.source and "perpd.connect()" in first.source, path.name
