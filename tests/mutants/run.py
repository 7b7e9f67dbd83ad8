"""The mutation check: the safety tests must fail on deliberately broken copies of perpd.

Each mutant is one small edit that breaks one promise the README makes (re-send a
timed-out order under a new client id, skip the write-ahead await, ...). The script copies
the tracked files to a temporary directory, applies one mutant, runs the tests named for
it there, and expects them to FAIL. A mutant the tests do not kill is a hole in the suite.

    .venv/bin/python tests/mutants/run.py            # every mutant (a few minutes)
    .venv/bin/python tests/mutants/run.py late-double unknown-rejected   # some
    .venv/bin/python tests/mutants/run.py reported-only --tests tests/engine/test_state_machine.py

Exit status 0 only if every mutant chosen was killed. CI runs it after the suite
(`.ci/run`). When a defect is fixed, add its mutant here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str  # the promise it breaks
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    more: tuple[tuple[str, str], ...] = ()  # further (old, new) edits in the same file


MUTANTS = (
    Mutant(
        "resend-new-id", "a timed-out order is re-sent under a new client id",
        "perpd/engine/desk.py",
        "            answer = await session.create_order(request)\n",
        "            try:\n                answer = await session.create_order(request)\n"
        "            except OutcomeUnknown:\n                answer = await session.create_order(replace(request, client_id=request.client_id + 'x'))\n",
        ("tests/engine/test_faults.py",),
    ),
    Mutant(
        "no-write-ahead", "a re-placement is sent before its journal record is committed",
        "perpd/engine/desk.py",
        "        await self._journal.insert_order(pending, intent_id=intent.id, attempt=attempt)\n",
        "        asyncio.ensure_future(self._journal.insert_order(pending, intent_id=intent.id, attempt=attempt))\n",
        ("tests/engine/test_faults.py",),
    ),
    Mutant(
        "reduce-only-flag", "an order admitted under reduce-only is sent without the flag",
        "perpd/engine/desk.py",
        "            request = replace(request, reduce_only=True)  # the venue holds the line too\n",
        "            pass\n",
        ("tests/engine/test_safety_states.py",),
    ),
    Mutant(
        "reported-only", "a target counts only the reported position",
        "perpd/portfolio.py",
        "    def position_size(self, symbol: str) -> Decimal:\n        return self.ledger.size(symbol)\n",
        "    def position_size(self, symbol: str) -> Decimal:\n"
        "        position = self.positions.get(symbol)\n        return position.size if position is not None else ZERO\n",
        ("tests/engine/test_targets.py",),
    ),
    Mutant(
        "system-cancel-retires", "a halt's cancel retires standing orders like an operator's",
        "perpd/engine/controls.py",
        "        if intent is not None and retire:\n",
        "        if intent is not None and (retire or actor != 'reconciler'):\n",
        ("tests/engine/test_safety_states.py",),
    ),
    Mutant(
        "no-fill-dedupe", "a fill seen twice is counted twice",
        "perpd/engine/sync.py",
        "        if row is None:\n            return False\n",
        "        if row is None:\n            row = 0\n",
        ("tests/engine/test_targets.py",),
    ),
    Mutant(
        "unknown-rejected", "an unknown outcome is taken for a rejection",
        "perpd/engine/desk.py",
        "            result = pending.evolve(status=OrderStatus.UNKNOWN, reason=answer.message, updated_ms=now)\n",
        "            result = pending.evolve(status=OrderStatus.REJECTED, reason=answer.message, updated_ms=now)\n",
        ("tests/engine/test_faults.py",),
    ),
    Mutant(
        "late-double", "a send that lands after the grace doubles a standing order",
        "perpd/reconcile.py",
        "            for o in live[1:]\n",
        "            for o in live[99:]\n",
        ("tests/engine/test_faults.py",),
    ),
    Mutant(
        "obligation-dropped", "an order journaled but never sent is dropped after a restart",
        "perpd/engine/sync.py",
        "            await self._desk.finish_obligation(order)  # journaled before a restart, never sent\n            return\n",
        "            pass\n",
        ("tests/engine/test_faults.py",),
    ),
    Mutant(
        "lookup-unguarded", "a lookup's error escapes its order and account",
        "perpd/engine/sync.py",
        "        except PerpdError as exc:\n            self.note_account_error(session.account, f\"lookup of {order.client_id}: {exc.type_name}: {exc.message}\")\n            return\n",
        "",
        ("tests/engine/test_safety_states.py",),
        more=(("                except Exception as exc:  # noqa: BLE001 - a bug on one order must not stop the rest\n"
               "                    log.exception(\"resolving %s failed\", client_id)\n"
               "                    self.note_account_error(order.account, f\"resolving {client_id}: {exc!r}\")\n",
               "                except ZeroDivisionError:\n                    pass\n"),),
    ),
    Mutant(
        "bracket-forgets-standing", "a standing order whose bracket finished is placed again",
        "perpd/engine/desk.py",
        "            if intent.source.startswith(\"standing:\"):\n"
        "                state.touch(intent.source)  # a standing rule's latest intent stays: filled, it is not placed again\n"
        "            else:\n                self._forget(intent)\n",
        "            self._forget(intent)\n",
        ("tests/engine/test_brackets.py",),
    ),
    Mutant(
        "snapshot-incomplete", "a symbol a resync left out is not flat: its first report is taken as history",
        "perpd/ledger.py",
        "            ledger = self.symbols[symbol] = SymbolLedger(ZERO if self.complete else None)\n",
        "            ledger = self.symbols[symbol] = SymbolLedger(None)\n",
        ("tests/test_ledger.py",),
    ),
    Mutant(
        "native-exit-alone", "an exit the venue holds for its entry is judged lost while the entry rests",
        "perpd/engine/sync.py",
        "            if entry is not None and entry.status.is_live:\n                return\n",
        "",
        ("tests/venues/hyperliquid/test_hl_native_brackets.py",),
    ),
    Mutant(
        "retired-forgotten", "an order whose operator cancel failed is nobody's after a restart",
        "perpd/engine/reload.py",
        "        restored += [i for i in journal.intents_with_live_orders() if i.state.value != \"open\"]\n",
        "",
        ("tests/engine/test_safety_states.py",),
    ),
    Mutant(
        "settled-with-work", "a standing rule is skipped as settled while it still has an action to take",
        "perpd/reconcile.py",
        "        if not planned and state is not None and state.asks_for(desired) and (state.live() or state.finished):\n",
        "        if state is not None and state.asks_for(desired) and (state.live() or state.finished):\n",
        ("tests/test_reconcile.py",),
    ),
)


def copy_tree(target: Path) -> None:
    """The tracked files as they are in the working tree (uncommitted edits included)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            dest = target / name.decode()
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)


def run(mutant: Mutant) -> tuple[bool, float, str]:
    """(killed, seconds, the tail of the output)."""
    with tempfile.TemporaryDirectory(prefix=f"perpd-mutant-{mutant.name}-") as tmp:
        copy = Path(tmp)
        copy_tree(copy)
        path = copy / mutant.path
        text = path.read_text()
        for old, new in ((mutant.old, mutant.new), *mutant.more):
            if text.count(old) != 1:
                raise SystemExit(f"mutant {mutant.name}: its anchor is not found exactly once in {mutant.path}; update the mutant")
            text = text.replace(old, new)
        path.write_text(text)
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:logging", *mutant.tests],
            cwd=copy, env=env, capture_output=True, text=True, timeout=900,
        )
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-3:])
        # Killed means a test failed (exit 1), not that the mutant broke collection or imports.
        return result.returncode == 1 and " failed" in tail, time.monotonic() - started, tail


def main(argv: list[str]) -> int:
    # `--tests PATH ...` runs the chosen mutants against other tests (e.g. only the state machine).
    names, tests = (argv[: argv.index("--tests")], tuple(argv[argv.index("--tests") + 1:])) if "--tests" in argv else (argv, ())
    chosen = [replace(m, tests=tests or m.tests) for m in MUTANTS if not names or m.name in names]
    if names and len(chosen) != len(names):
        raise SystemExit(f"unknown mutant(s): {sorted(set(names) - {m.name for m in MUTANTS})}")
    survivors = []
    for mutant in chosen:
        killed, secs, tail = run(mutant)
        print(f"{'killed  ' if killed else 'SURVIVED'} {mutant.name:<22} {secs:5.1f} s  {mutant.what}", flush=True)
        if not killed:
            survivors.append(mutant.name)
            print("    " + tail.replace("\n", "\n    "))
    print(f"{len(chosen) - len(survivors)}/{len(chosen)} mutants killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
