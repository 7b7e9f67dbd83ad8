"""The venue template stays in step with the contract it teaches, and every venue
package has the template's shape."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from venues import base
from venues._template.session import TemplateSession
from venues._template.trading import TemplateTrading
from venues._template.venue import TemplateVenue
from venues.base import AccountSession, Venue
from venues.registry import kinds

VENUES = Path(base.__file__).parent
TEMPLATE = VENUES / "_template"
NOT_VENUES = {"_template", "sim", "simex", "common", "__pycache__"}  # sim: the contract over simex, in process; common: shared parts
# A file of the template a venue may name after its own API instead.
ALTERNATIVES = {"emulator/rest.py": ("emulator/rest.py", "emulator/info.py")}
TRADING_VERBS = {"create_order", "create_orders", "create_bracket", "cancel_order", "cancel_orders", "cancel_all_orders",
                 "edit_order", "set_leverage", "cancel_all_after"}


def verbs(*classes: type) -> set[str]:
    """Public methods defined by these classes themselves (not inherited from the contract)."""
    return {name for cls in classes for name, member in vars(cls).items()
            if inspect.isfunction(member) and not name.startswith("_")}


def shape(package: Path) -> set[str]:
    """Every .py file of a package, relative to it."""
    return {p.relative_to(package).as_posix() for p in package.rglob("*.py") if "__pycache__" not in p.parts}


def venue_packages() -> list[str]:
    return sorted(p.name for p in VENUES.iterdir()
                  if p.is_dir() and p.name not in NOT_VENUES and (p / "__init__.py").is_file())


def test_the_template_implements_every_abstract_verb_of_the_contract():
    assert Venue.__abstractmethods__ <= verbs(TemplateVenue)
    assert AccountSession.__abstractmethods__ <= verbs(TemplateSession, TemplateTrading)
    assert not inspect.isabstract(TemplateVenue) and not inspect.isabstract(TemplateSession)


def test_the_template_shows_the_optional_verbs_too():
    assert {"fetch_candles"} <= verbs(TemplateVenue)
    assert {"create_orders", "cancel_orders", "edit_order", "cancel_all_after"} <= verbs(TemplateTrading)


def test_every_verb_in_the_contract_table_is_in_the_template():
    table = re.findall(r"^(Venue|Session)\.(\w+)(?: / (\w+))?", base.__doc__ or "", re.M)
    assert table, "the verb table of venues/base.py moved"
    for owner, *names in table:
        where = verbs(TemplateVenue) if owner == "Venue" else verbs(TemplateSession, TemplateTrading)
        for name in filter(None, names):
            assert name in where, f"{owner}.{name} is in the contract table but not in the template"


def test_the_template_verbs_take_the_contract_parameters():
    for template, contract in ((TemplateVenue, Venue), (TemplateSession, AccountSession), (TemplateTrading, AccountSession)):
        for name in verbs(template):
            if name in ("session", "connect", "close") or not hasattr(contract, name):
                continue
            ours = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(template, name)).parameters.values()]
            theirs = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(contract, name)).parameters.values()]
            assert ours == theirs, f"{template.__name__}.{name}"


def test_trading_verbs_live_in_trading_and_state_in_session():
    assert verbs(TemplateTrading) == TRADING_VERBS
    assert not verbs(TemplateSession) & TRADING_VERBS


def test_the_template_is_not_a_registered_venue():
    assert "template" not in kinds()


def test_the_template_holds_every_file_of_the_shape():
    assert shape(TEMPLATE) == {
        "__init__.py", "config.py", "errors.py", "parse.py", "transport.py", "signing.py", "session.py",
        "trading.py", "venue.py", "emulator/__init__.py", "emulator/app.py", "emulator/exchange.py",
        "emulator/rest.py", "emulator/ws.py", "emulator/shapes.py",
    }
    assert (TEMPLATE / "README.md").is_file()


@pytest.mark.parametrize("path", sorted(shape(TEMPLATE)))
def test_every_template_module_says_what_it_must_do_and_imports_cleanly(path: str) -> None:
    source = (TEMPLATE / path).read_text()
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring, f"_template/{path} has no docstring"
    parts = [part for part in Path(path).with_suffix("").parts if part != "__init__"]
    importlib.import_module(".".join(["venues", "_template", *parts]))


def test_the_template_emulator_builds_an_app():
    from venues._template.emulator import DEFAULT_PORT, create_app

    assert create_app().state.emulator is not None and DEFAULT_PORT > 0


def test_there_are_venue_packages_to_check():
    assert {"hyperliquid", "lighter"} <= set(venue_packages())


@pytest.mark.parametrize("kind", venue_packages())
def test_every_venue_package_holds_every_file_of_the_template(kind: str) -> None:
    """Extras are allowed; a missing file of the shape is not (`sim` and `simex` aside)."""
    have = shape(VENUES / kind)
    missing = sorted(f for f in shape(TEMPLATE) if not any(alt in have for alt in ALTERNATIVES.get(f, (f,))))
    assert missing == [], f"venues/{kind} lacks {missing}"
