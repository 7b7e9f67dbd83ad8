"""Venues sit below the engine: what venues/ may import, and that each module imports alone.

Layers, bottom up: perpd's domain modules (model, errors, clock, ratelimit, config's
base models, secrets, wire) < venues/simex (the exchange) and venues/common (the adapter
parts every venue shares) < each venue package < the
engine, the API, the daemon and the clients. A venue that reached up into the engine
would tie every adapter to the daemon's internals; a venue that reached into another
venue would make them one package. Imports are read with `ast`, including those inside
functions and `TYPE_CHECKING` blocks: a type-only import still points the wrong way.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENUES = ROOT / "venues"

# What venues must never import (the brief of issue 16, and everything above them).
FORBIDDEN = (
    "perpd.engine", "perpd.api", "perpd.daemon", "perpd.preview", "perpd.portfolio", "perpd.ledger", "perpd.turnover",
    "perpd.reconcile", "perpd.journal", "perpd.bus", "perpd.cli", "perpd.client", "perpd.perpctl",
    "perpd.magics", "policies",
)
# The perpd modules below venues: the only ones a venue module may import.
BELOW_VENUES = ("perpd.model", "perpd.errors", "perpd.clock", "perpd.ratelimit", "perpd.config",
                "perpd.secrets", "perpd.wire", "perpd.plugins")
SHARED = ("venues.base", "venues.registry", "venues.simex", "venues.common")  # what every venue package may use


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def venue_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(VENUES.rglob("*.py")) if "__pycache__" not in p.parts}


def imports_of(module: str, path: Path) -> set[str]:
    """Every module `module` imports, anywhere in its body; `from a import b` counts as a.b
    (b may be a module) and as a."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_venue_module_imports_the_engine_the_api_or_the_daemon():
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in venue_modules().items()
        for name in imports_of(module, path)
        if within(name, FORBIDDEN)
    )
    assert offenders == []


def test_venues_import_only_the_perpd_modules_below_them():
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in venue_modules().items()
        for name in imports_of(module, path)
        if name.startswith("perpd.") and not within(name, BELOW_VENUES)
    )
    assert offenders == []


def test_simex_imports_no_venue():
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in venue_modules().items() if within(module, ("venues.simex",))
        for name in imports_of(module, path)
        if name.startswith("venues") and not within(name, ("venues.simex",)) and name != "venues"
    )
    assert offenders == []


def test_the_shared_venue_parts_import_no_venue():
    """venues/common sits below every venue package: what it shares takes the venue's data
    as arguments instead of importing it."""
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in venue_modules().items() if within(module, ("venues.common",))
        for name in imports_of(module, path)
        if name.startswith("venues") and not within(name, ("venues.common", "venues.base")) and name != "venues"
    )
    assert offenders == []


def test_a_venue_package_imports_no_other_venue_package():
    offenders = []
    for module, path in venue_modules().items():
        parts = module.split(".")
        if len(parts) < 3 or within(module, SHARED):
            continue
        own = ".".join(parts[:2])
        offenders += [
            f"{module} imports {name}"
            for name in imports_of(module, path)
            if within(name, ("venues",)) and name != "venues" and not within(name, (own, *SHARED))
        ]
    assert sorted(offenders) == []


def modules_under(package: str) -> dict[str, Path]:
    folder = ROOT / package.replace(".", "/")
    return {module_name(p): p for p in sorted(folder.rglob("*.py")) if "__pycache__" not in p.parts}


def test_the_config_imports_no_venue():
    """Config and venues stop importing each other: the base models sit below both, and
    venue kinds reach the loader through the plug-in registry (perpd.plugins)."""
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in {**modules_under("perpd.config"), "perpd.plugins": ROOT / "perpd/plugins.py"}.items()
        for name in imports_of(module, path)
        if within(name, ("venues", "perpd.engine", "perpd.api", "perpd.daemon"))
    )
    assert offenders == []


def test_engine_modules_import_each_other_one_way_only():
    """No cycle among perpd/engine/ modules, type-only imports included."""
    modules = modules_under("perpd.engine")
    graph = {m: {i for i in imports_of(m, p) if i in modules and i != m} for m, p in modules.items()}
    graph["perpd.engine"] = set()  # the package wires them all; nothing imports it back
    seen: dict[str, int] = {}

    def visit(node: str, path: tuple[str, ...]) -> None:
        if seen.get(node) == 1:
            raise AssertionError(f"import cycle: {' -> '.join((*path, node))}")
        if seen.get(node) == 2:
            return
        seen[node] = 1
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))
        seen[node] = 2

    for module in modules:
        visit(module, ())
    assert not any(i == "perpd.engine" for m, deps in graph.items() for i in deps), "an engine module imports the package"


def test_the_import_reader_sees_nested_type_only_and_relative_imports(tmp_path: Path):
    path = tmp_path / "module.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from perpd.engine import Engine\n"
        "def f():\n    import perpd.api.app\n"
        "from . import parse\n"
    )
    found = imports_of("venues.probe.module", path)
    assert {"perpd.engine", "perpd.api.app", "venues.probe.parse"} <= found
    assert within("perpd.engine.desk", FORBIDDEN) and not within("perpd.engineering", FORBIDDEN)


def test_every_module_imports_on_its_own():
    """As `python -c "import X"` would, one fresh interpreter state per module: every
    module of venues/, perpd/ and policies/."""
    modules = sorted(m for m in {*venue_modules(), *modules_under("perpd"), *modules_under("policies")} if not m.endswith("__main__"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "import_each.py"), *modules],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    failures = json.loads(result.stdout)
    assert failures == {}, "\n\n".join(f"{m}:\n{tb}" for m, tb in failures.items())
