"""perpctl's REPL through prompt-toolkit's pipe input (DummyOutput) against a real daemon:
Tab completion from the daemon's names, a trade, errors that cost one line, persistent
history, and watch views."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from clients_support import RunningDaemon, wait_until
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from perpd.client.locate import Endpoint
from perpd.model import OrderStatus
from perpd.perpctl.repl import Repl, VerbCompleter, history_path
from perpd.perpctl.verbs import Session


class Terminal:
    """A REPL in a thread, typed at through a pipe; what it prints collects in `out`."""

    def __init__(self, repl: Repl, pipe: object) -> None:
        self.repl = repl
        self.pipe = pipe
        self._out: io.StringIO = repl.out  # type: ignore[assignment]

    @property
    def out(self) -> str:
        return self._out.getvalue()

    def type(self, text: str) -> None:
        self.pipe.send_text(text)  # type: ignore[attr-defined]

    def run(self, line: str, expect: str) -> str:
        """Type a line and Enter; wait until `expect` shows; return what the line printed."""
        before = len(self.out)
        self.type(line + "\n")
        wait_until(lambda: expect in self.out[before:], what=f"{expect!r} after {line!r}:\n{self.out[before:]}")
        return self.out[before:]


@contextmanager
def terminal(daemon: RunningDaemon, history: Path) -> Iterator[Terminal]:
    with create_pipe_input() as pipe, daemon.client() as client:
        repl = Repl(Session(client), io.StringIO(), history=FileHistory(str(history)), color=False,
                    input=pipe, output=DummyOutput())
        status: list[int] = []
        thread = threading.Thread(target=lambda: status.append(repl.run()), daemon=True)
        thread.start()
        term = Terminal(repl, pipe)
        wait_until(lambda: "perpctl on unix:" in term.out, what="the banner")
        try:
            yield term
        finally:
            pipe.send_text("\x04")  # Ctrl-D leaves
            thread.join(timeout=10)
        assert status == [0], term.out


def test_tab_completes_the_verb_and_the_symbol_and_the_order_is_placed(daemon: RunningDaemon, tmp_path: Path) -> None:
    with terminal(daemon, tmp_path / "history") as term:
        term.type("bu\t")
        wait_until(lambda: term.repl.prompt.default_buffer.text == "buy", what="buy completed")
        term.type(" 0.1 SO\t")
        wait_until(lambda: term.repl.prompt.default_buffer.text == "buy 0.1 SOL", what="SOL completed")
        term.type(" @ 140 on pap\t")
        wait_until(lambda: term.repl.prompt.default_buffer.text.endswith("on paper"), what="paper completed")
        printed = term.run("", "placed")
    assert "SOL-PERP" in printed and "open" in printed
    client_id = next(w for w in printed.split() if w.startswith("pd-"))
    with daemon.client() as perp:
        order = perp.order(client_id)
        assert order.status is OrderStatus.OPEN and order.price == Decimal(140) and order.account == "paper"
        perp.cancel(client_id)


def test_the_completer_offers_live_order_ids_to_cancel(daemon: RunningDaemon) -> None:
    with daemon.client() as perp:
        order = perp.buy("0.001", "BTC", 60000, account="spare")[0]
        completer = VerbCompleter(Session(perp))
        offered = [c.text for c in completer.get_completions(Document("cancel pd-"), CompleteEvent())]
        perp.cancel(order.client_id)
    assert order.client_id in offered and "all" not in offered


def test_refused_and_mistyped_lines_print_one_line_and_the_repl_goes_on(daemon: RunningDaemon, tmp_path: Path) -> None:
    with terminal(daemon, tmp_path / "history") as term:
        denied = term.run("buy 1 BTC @ 65000 on paper", "denied")
        unknown = term.run("frob", "usage")
        quotes = term.run('halt "unclosed', "usage")
        missing = term.run("cancel pd-nope", "not_found")
        nowhere = term.run("buy 0.001 BTC @ 60000 on nowhere", "not_found")
        alive = term.run("status", "config revision")
    assert denied.startswith('denied by policy "house": max_order_notional 50000') and denied.count("\n") == 1
    assert unknown == "usage: no verb 'frob'; `help` lists them\n"
    assert quotes.startswith("usage: cannot read that line") and quotes.count("\n") == 1
    assert missing == "not_found: no order with id 'pd-nope'\n"
    assert "no account or route named 'nowhere'" in nowhere and "routes: btc-best" in nowhere
    assert "paper" in alive and "synced" in alive


def test_history_persists_across_sessions_and_up_arrow_recalls_it(daemon: RunningDaemon, tmp_path: Path) -> None:
    history = tmp_path / "perpctl_history"
    with terminal(daemon, history) as term:
        term.run("markets sim", "SOL-PERP")
        term.run("balance paper", "equity")
    assert "+markets sim" in history.read_text() and "+balance paper" in history.read_text()
    with terminal(daemon, history) as term:
        term.type("\x1b[A\x1b[A")  # up twice: `markets sim`
        wait_until(lambda: term.repl.prompt.default_buffer.text == "markets sim", what="history recalled")
        printed = term.run("", "SOL-PERP")
    assert "tick" in printed


def test_watch_shows_a_live_book_for_n_updates_and_ctrl_c_stops_a_view(daemon: RunningDaemon, tmp_path: Path) -> None:
    with daemon.client() as perp:
        resting = perp.buy("0.001", "BTC", 60000, account="paper")[0]
    with terminal(daemon, tmp_path / "history") as term:
        book = term.run("watch book BTC depth 3 for 2", "ask size")
        before = len(term.out)
        term.type("watch orders on paper\n")
        wait_until(term.repl.watching.is_set, what="the orders view")
        term.type("\x03")  # Ctrl-C
        wait_until(lambda: "live orders" in term.out[before:], what="the view's last state")
        alive = term.run("status", "config revision")
    assert book.splitlines()[0] == "BTC-PERP on sim" and len(book.strip().splitlines()) == 5
    assert "bid size    bid    ask  ask size" in book
    view = term.out[before:]
    assert view.startswith("live orders\nid ") and resting.client_id in view
    assert "synced" in alive
    with daemon.client() as perp:
        perp.cancel(resting.client_id)


def test_history_lives_in_the_state_dir_the_daemon_was_found_through(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PERPCTL_HISTORY", raising=False)
    assert history_path(Endpoint(socket=tmp_path / "run" / "s.sock", state_dir=tmp_path)) == tmp_path / "perpctl_history"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert history_path(Endpoint(socket=tmp_path / "s.sock")) == tmp_path / "xdg" / "perpd" / "perpctl_history"
