"""The interactive perpctl: prompt-toolkit with completion from the live daemon, persistent
history, coloured tables, and `watch` views. Bad input costs one line, never the session."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from prompt_toolkit.output import Output

from perpd.client.locate import Endpoint
from perpd.perpctl.grammar import candidates
from perpd.perpctl.render import error_text, result_text, table_text
from perpd.perpctl.verbs import SYNTAXES, Session
from perpd.perpctl.watch import View, follow, view_for

HISTORY_NAME = "perpctl_history"
EXIT_WORDS = frozenset({"exit", "quit"})


class VerbCompleter(Completer):
    """Completes verbs, then whatever the grammar says comes next, from the live daemon."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        before = document.text_before_cursor
        word = document.get_word_before_cursor(WORD=True)
        for text in candidates(SYNTAXES, before, self.session.catalog):
            yield Completion(text, start_position=-len(word))


def history_path(endpoint: Endpoint) -> Path:
    """$PERPCTL_HISTORY, else the state dir the daemon was found through, else
    $XDG_STATE_HOME/perpd (~/.local/state/perpd)."""
    explicit = os.environ.get("PERPCTL_HISTORY")
    if explicit:
        return Path(explicit).expanduser()
    if endpoint.state_dir is not None:
        return endpoint.state_dir / HISTORY_NAME
    state_home = Path(os.environ.get("XDG_STATE_HOME") or "~/.local/state").expanduser()
    return state_home / "perpd" / HISTORY_NAME


def open_history(path: Path | None) -> History:
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600, exist_ok=True)
    except OSError:
        return InMemoryHistory()  # a read-only home must not stop the REPL
    return FileHistory(str(path))


class Repl:
    """Read lines until `exit`, `quit` or Ctrl-D; Ctrl-C clears the line or stops a watch.

    `input`/`output` are prompt-toolkit's (a pipe and DummyOutput in tests); results and
    errors are written to `out`. `watching` is set while a watch view is on screen.
    """

    def __init__(self, session: Session, out: TextIO, *, history: History, color: bool = True,
                 input: Input | None = None, output: Output | None = None) -> None:
        self.session = session
        self.out = out
        self.color = color
        self.input = input
        self.output = output
        self.watching = threading.Event()
        self.prompt: PromptSession[str] = PromptSession(
            history=history, completer=VerbCompleter(session), auto_suggest=AutoSuggestFromHistory(),
            complete_while_typing=False, input=input, output=output,
        )

    def run(self) -> int:
        where = getattr(self.session.client, "endpoint", None)
        label = where.describe() if where is not None else "the daemon"
        self.out.write(f"perpctl on {label}: `help` lists the verbs, Tab completes, Ctrl-D leaves\n")
        while True:
            try:
                line = self.prompt.prompt("perpd> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                return 0
            if line.strip().lower() in EXIT_WORDS:
                return 0
            self.run_line(line)

    def run_line(self, line: str) -> bool:
        """Run one line, print its result or one error line; False if it failed."""
        try:
            parsed = self.session.parse(line)
            if parsed is None:
                return True
            verb, args = parsed
            if verb.name == "watch":
                self.watch(view_for(args), args.get("updates"))
                return True
            result = verb.run(self.session, args) if verb.run else None
        except KeyboardInterrupt:
            self.out.write("interrupted\n")
            return False
        except Exception as exc:  # noqa: BLE001 - one line, and the session goes on
            self.out.write(error_text(exc, color=self.color) + "\n")
            return False
        if result is not None:
            text = result_text(result, color=self.color)
            if text:
                self.out.write(text + "\n")
        return True

    def watch(self, view: View, updates: int | None) -> None:
        """Show `view` live until Ctrl-C / q (or `updates` changes), then print its last state."""
        text = ["waiting for the daemon..."]
        failure: list[BaseException] = []
        stop = threading.Event()
        keys = KeyBindings()

        @keys.add("c-c")
        @keys.add("q")
        @keys.add("escape")
        def _quit(event: Any) -> None:
            event.app.exit()

        control = FormattedTextControl(lambda: ANSI(text[0] + "\n\n(Ctrl-C or q to stop)"))
        app: Application[None] = Application(layout=Layout(Window(control)), key_bindings=keys, erase_when_done=True,
                                             input=self.input, output=self.output)

        def changed() -> None:
            text[0] = table_text(view.table(), color=self.color)
            app.invalidate()

        def reader() -> None:
            try:
                follow(self.session.client, view, updates, changed, stop)
            except BaseException as exc:  # noqa: BLE001 - shown by the REPL after the view closes
                failure.append(exc)
            if not stop.is_set() and app.loop is not None:
                app.loop.call_soon_threadsafe(lambda: app.exit() if app.is_running and not app.future.done() else None)

        thread = threading.Thread(target=reader, name="perpctl-watch", daemon=True)

        def started() -> None:
            thread.start()
            self.watching.set()

        app.pre_run_callables.append(started)
        try:
            app.run()
        finally:
            self.watching.clear()
            stop.set()
            thread.join(timeout=5)
        if failure:
            raise failure[0]
        self.out.write(table_text(view.table(), color=self.color) + "\n")


def print_watch(session: Session, view: View, updates: int | None, out: TextIO) -> None:
    """A watch without a terminal (a pipe, a log): each state printed, until `updates` or Ctrl-C."""

    def changed() -> None:
        out.write(table_text(view.table()) + "\n\n")
        out.flush()

    try:
        follow(session.client, view, updates, changed)
    except KeyboardInterrupt:
        pass
