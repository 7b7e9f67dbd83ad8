"""Import each named module on its own, as `python -c "import X"` would (not a test module).

    python tests/import_each.py venues.base venues.sim.venue ...   # from the repository root

prints a JSON object {module: traceback} of the modules that failed (empty when all
import). Each module is imported in a forked child of an interpreter that has loaded
only third-party packages, so no first-party module (perpd, venues, policies) is
imported before the one under test: an import cycle or a module that works only after
another was imported fails here, as it would in a fresh `python -c`. Forking after the
third-party imports is what keeps this at milliseconds per module instead of a whole
interpreter start. Children run in parallel, one per CPU.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import sys
import traceback
from pathlib import Path

FIRST_PARTY = {"perpd", "venues", "policies", "tests", "__future__"}
# Go-backed or thread-starting packages must not be loaded before a fork.
NOT_PRELOADED = {"lighter"}


def source_of(module: str, root: Path) -> Path | None:
    """The file of a first-party module, found without importing its packages."""
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def third_party_of(modules: list[str], root: Path) -> set[str]:
    """Top-level packages the modules import that are not ours."""
    found: set[str] = set()
    for name in modules:
        path = source_of(name, root)
        if path is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - FIRST_PARTY - NOT_PRELOADED


def preload(packages: set[str]) -> None:
    for package in sorted(packages):
        try:
            importlib.import_module(package)
        except Exception:  # noqa: BLE001 - the child will report it against the module
            continue


def _child(module: str, write_fd: int) -> None:
    try:
        importlib.import_module(module)
    except BaseException:  # noqa: BLE001 - reported to the parent
        os.write(write_fd, traceback.format_exc()[-4000:].encode())
        os._exit(1)
    os._exit(0)


def import_each(modules: list[str], parallel: int) -> dict[str, str]:
    failures: dict[str, str] = {}
    running: dict[int, tuple[str, int]] = {}
    pending = list(modules)
    while pending or running:
        while pending and len(running) < parallel:
            module = pending.pop(0)
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                _child(module, write_fd)
            os.close(write_fd)
            running[pid] = (module, read_fd)
        pid, status = os.wait()
        module, read_fd = running.pop(pid)
        with os.fdopen(read_fd, "rb") as pipe:  # a child writes little: the pipe never fills
            output = pipe.read().decode(errors="replace")
        if status != 0:
            failures[module] = output or f"exit status {status}"
    return failures


def main(argv: list[str]) -> int:
    # Resolve imports from the repository root, as `python -c` there would; the script's
    # own directory (tests/) would make tests/venues shadow the venues package.
    sys.path[0] = os.getcwd()
    modules = argv[1:]
    preload(third_party_of(modules, Path.cwd()))
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in FIRST_PARTY - {"__future__"})
    if loaded:  # a preloaded package pulled ours in: the children would not start clean
        raise SystemExit(f"first-party modules loaded before forking: {loaded}")
    failures = import_each(modules, parallel=os.cpu_count() or 2)
    json.dump(failures, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
