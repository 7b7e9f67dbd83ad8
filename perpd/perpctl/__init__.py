"""`perpctl`: the daemon's REPL, and the same verbs as one-shot commands.

    perpctl                              the REPL (completion, history, watch views)
    perpctl positions                    one verb, then exit
    perpctl buy 0.1 BTC @ 60000 on paper
    perpctl --json orders                the typed result as JSON, for scripts
    perpctl < script.txt                 one verb per line, from a file or a pipe

Modules: grammar (the one grammar, shared with the %perp magics), verbs (the list of
verbs), catalog (names for completion), tables / render (results as tables: text, HTML,
JSON), watch (live views), repl (prompt-toolkit).

Exit status of a one-shot command: 0 done, 1 the daemon refused or failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence

from perpd.client import Client
from perpd.client.locate import locate
from perpd.errors import PerpdError
from perpd.perpctl.grammar import UsageError
from perpd.perpctl.render import error_text, result_json, result_text
from perpd.perpctl.verbs import Session

USAGE_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perpctl", description="Talk to the running perpd daemon: a REPL, or one verb and exit.",
        epilog="Verbs: `perpctl help`. The daemon is found through $PERPD_SOCKET, $PERPD_URL (+ $PERPD_TOKEN, "
               "and $PERPD_STREAM_URL for an [api.fanout] port), or the config's state dir.",
    )
    parser.add_argument("-c", "--config", metavar="FILE", help="the daemon's config (default: $PERPD_CONFIG, ./perpd.toml)")
    parser.add_argument("--state-dir", metavar="DIR", help="the daemon's state dir (also $PERPD_STATE_DIR)")
    parser.add_argument("--socket", metavar="PATH", help="the daemon's Unix socket (also $PERPD_SOCKET)")
    parser.add_argument("--url", metavar="URL", help="the daemon's HTTP(S) API; the token comes from $PERPD_TOKEN")
    parser.add_argument("--json", action="store_true", help="print results as JSON (for scripts)")
    parser.add_argument("--no-color", action="store_true", help="plain text (also $NO_COLOR)")
    parser.add_argument("--csv", action="store_true", help="fills / payments as CSV (the verb's `csv` word)")
    parser.add_argument("verb", nargs=argparse.REMAINDER, help="a verb and its words; none starts the REPL")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `perpctl` console script."""
    args = build_parser().parse_args(argv)
    for flag, name in (("--json", "json"), ("--no-color", "no_color")):
        if flag in args.verb:  # `perpctl orders --json` means what `perpctl --json orders` does
            args.verb = [w for w in args.verb if w != flag]
            setattr(args, name, True)
    if "--csv" in args.verb:  # `perpctl fills --csv`: the verb's `csv` word
        args.verb = [w if w != "--csv" else "csv" for w in args.verb]
    color = not args.no_color and not args.json and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
    try:
        endpoint = locate(args.socket, url=args.url, config=args.config, state_dir=args.state_dir)
    except ValueError as exc:
        print(f"perpctl: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if args.csv and args.verb:
        args.verb.append("csv")
    with Client(endpoint) as client:
        session = Session(client)
        if args.verb:
            return one_shot(session, " ".join(_quote(w) for w in args.verb), json_out=args.json, color=color)
        if not sys.stdin.isatty():
            return script(session, sys.stdin, json_out=args.json)
        from perpd.perpctl.repl import Repl, history_path, open_history

        return Repl(session, sys.stdout, history=open_history(history_path(endpoint)), color=color).run()


def _quote(word: str) -> str:
    # argv words are already split: keep a word with spaces (a halt reason) as one.
    import shlex

    return shlex.quote(word) if any(c.isspace() for c in word) or not word else word


def one_shot(session: Session, line: str, *, json_out: bool, color: bool) -> int:
    """Run one line; print the result to stdout or one error line to stderr."""
    try:
        parsed = session.parse(line)
        if parsed is not None and parsed[0].name == "watch":
            from perpd.perpctl.repl import print_watch
            from perpd.perpctl.watch import view_for

            print_watch(session, view_for(parsed[1]), parsed[1].get("updates"), sys.stdout)
            return 0
        result = session.run(line)
    except UsageError as exc:
        print(error_text(exc), file=sys.stderr)
        return USAGE_ERROR
    except PerpdError as exc:
        print(error_text(exc), file=sys.stderr)
        return 1
    except OSError as exc:
        print(error_text(exc), file=sys.stderr)
        return 1
    if result is not None:
        text = result_json(result) if json_out else result_text(result, color=color)
        if text:
            print(text)
    return 0


def script(session: Session, lines: Iterable[str], *, json_out: bool) -> int:
    """One verb per line from a pipe: results to stdout, one error line each to stderr.
    Keeps going after a failed line; exits 1 if any failed (2 if only usage was wrong)."""
    statuses = [one_shot(session, line, json_out=json_out, color=False)
                for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return 1 if 1 in statuses else max(statuses, default=0)
