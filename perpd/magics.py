"""IPython `%perp` / `%%perp` magics: perpctl's verbs in a notebook (`%load_ext perpd`).

    %perp positions                      a table (a pandas DataFrame if pandas is installed)
    %perp buy 0.1 BTC @ 60000 on paper   the placed order(s), as a table
    %perp watch book BTC for 20          a display that updates live (interrupt to stop)
    %perp connect /path/perpd.sock       talk to another daemon (a socket or a URL)

    %%perp
    positions
    orders all limit 5                   one verb per line; each result is displayed

The grammar is perpctl's (`perpd.perpctl.grammar`), the daemon is the same running one
(found as perpctl finds it), so every order passes its risk gate and lands in its audit
log. A line the daemon refuses prints one error line and returns None; the cell goes on.
Results of `%%perp` are kept in the notebook's `_perp` list.
"""

from __future__ import annotations

import html
import importlib.util
import sys
from collections.abc import Iterator
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from perpd.errors import PerpdError
from perpd.perpctl.grammar import split
from perpd.perpctl.render import error_text, result_text, table_html, table_text
from perpd.perpctl.tables import Result, Table
from perpd.perpctl.verbs import Session
from perpd.perpctl.watch import follow, view_for

use_pandas: bool | None = None  # None: when pandas is installed; False forces HTML tables


def _pandas() -> Any:
    if use_pandas is False or (use_pandas is None and importlib.util.find_spec("pandas") is None):
        return None
    import pandas

    return pandas


class Tables:
    """Several tables (or one, without pandas): HTML in a notebook, text elsewhere.

    `.value` is the typed result; `.frames` the tables as DataFrames (pandas installed).
    """

    def __init__(self, tables: list[Table], value: Any = None) -> None:
        self.tables = tables
        self.value = value

    @property
    def frames(self) -> list[Any]:
        return [as_displayable(t) for t in self.tables] if _pandas() is not None else []

    def records(self) -> list[dict[str, Any]]:
        """The first table's rows as dicts."""
        return self.tables[0].records() if self.tables else []

    def __len__(self) -> int:
        return len(self.tables[0].rows) if self.tables else 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records())

    def _repr_html_(self) -> str:
        if _pandas() is not None:
            return "".join(frame._repr_html_() for frame in self.frames)
        return "".join(table_html(t) for t in self.tables)

    def __repr__(self) -> str:
        return "\n\n".join(table_text(t) for t in self.tables)


class Note:
    """A result that is a sentence (halt, reload, cancel all); `.value` is the typed result."""

    def __init__(self, text: str, value: Any = None) -> None:
        self.text = text
        self.value = value

    def __repr__(self) -> str:
        return self.text


def as_displayable(table: Table) -> Any:
    """A DataFrame when pandas is there (Decimals kept exact, as objects), else HTML."""
    pandas = _pandas()
    if pandas is None:
        return Tables([table])
    frame = pandas.DataFrame.from_records(table.records(), columns=list(table.columns))
    # The title ("BTC-PERP on sim-a") shows in the header's corner, and travels with the frame.
    frame.columns.name = table.title or None
    return frame


def notebook_value(result: Result) -> Any:
    """What `%perp` returns: one table as a DataFrame (pandas) or `Tables`; several
    tables (status, positions across accounts) as `Tables`; a sentence as a `Note`."""
    if not result.tables:
        return Note(result.message or result_text(result), result.value)
    if len(result.tables) == 1 and _pandas() is not None:
        return as_displayable(result.tables[0])
    return Tables(result.tables, result.value)


class Heading:
    """The line of a `%%perp` cell above its result."""

    def __init__(self, line: str) -> None:
        self.line = line.strip()

    def _repr_html_(self) -> str:
        return f"<code>%perp {html.escape(self.line)}</code>"

    def __repr__(self) -> str:
        return f"%perp {self.line}"


@magics_class
class PerpMagics(Magics):
    """`%perp VERB ...` and `%%perp` (one verb per line)."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            from perpd import connect

            self._session = Session(connect())
        return self._session

    @line_cell_magic
    def perp(self, line: str, cell: str | None = None) -> Any:
        """%perp VERB [WORDS...]  /  %%perp then one verb per line. `%perp help` lists verbs."""
        if cell is None:
            return self._line(line)
        results = []
        for text in [line, *cell.splitlines()]:
            if not split_safely(text):
                continue
            display(Heading(text))
            value = self._line(text)
            if value is not None:
                display(value)
            results.append(value)
        self.shell.user_ns["_perp"] = results
        return None

    def _line(self, line: str) -> Any:
        words = split_safely(line)
        if words and words[0].lower() == "connect":
            return self._connect(words[1:])
        try:
            parsed = self.session.parse(line)
            if parsed is None:
                return None
            verb, args = parsed
            if verb.name == "watch":
                return self._watch(args)
            if verb.name == "help":
                print(verb.run(self.session, args).message)  # type: ignore[misc]
                return None
            result = verb.run(self.session, args)  # type: ignore[misc]
            if verb.name == "pnl" and args.get("curve"):
                plot_curve(result.value)
            return notebook_value(result)
        except (PerpdError, OSError) as exc:
            print(error_text(exc), file=sys.stderr)
            return None

    def _connect(self, words: list[str]) -> Note:
        from perpd import connect

        target = words[0] if words else None
        client = connect(url=target) if target and target.startswith(("http://", "https://")) else connect(target)
        if self._session is not None:
            self._session.client.close()  # type: ignore[attr-defined]
        self._session = Session(client)
        return Note(f"connected to {client.endpoint.describe()}")

    def _watch(self, args: dict[str, Any]) -> None:
        view = view_for(args)
        handle = display(Tables([Table(("waiting",), [], "waiting for the daemon...")]), display_id=True)

        def changed() -> None:
            handle.update(as_displayable(view.table()))

        try:
            follow(self.session.client, view, args.get("updates"), changed)
        except KeyboardInterrupt:
            pass  # the kernel was interrupted: the last state stays on screen


def plot_curve(report: Any) -> Any:
    """Show the booked PnL curve of a `pnl ... curve` report, one step line per account,
    when matplotlib is installed (optional); the figure, or None without matplotlib."""
    if importlib.util.find_spec("matplotlib") is None or not report.curve:
        return None
    from datetime import UTC, datetime

    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 3))
    for account in sorted({p.account for p in report.curve}):
        points = [p for p in report.curve if p.account == account]
        times = [datetime.fromtimestamp(p.ts_ms / 1000, tz=UTC) for p in points]
        axes.step(times, [float(p.booked) for p in points], where="post", label=account)  # a picture: float is fine
    axes.set_title(f"booked PnL ({report.period}): realized - fees + funding")
    axes.axhline(0, color="#888", linewidth=0.5)
    axes.legend(loc="best")
    figure.autofmt_xdate()
    display(figure)
    pyplot.close(figure)  # shown once, here; not again at the end of the cell
    return figure


def split_safely(line: str) -> list[str]:
    try:
        return split(line)
    except PerpdError:
        return line.split()


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext perpd` (or `perpd.magics`)."""
    ipython.register_magics(PerpMagics)
