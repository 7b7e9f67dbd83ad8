"""Loading: a TOML file (or text, or plain data) -> a validated `Config`, or a ConfigError
listing every problem by its TOML path. Venue and account sections are validated by the
models their venue kind declares, looked up through `kinds` (default: the installed
plug-ins, `perpd.plugins`), so config never imports a venue."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from perpd.config.base import AccountConfig, Model, VenueConfig
from perpd.config.schema import Config, Overrides
from perpd.errors import ConfigError
from perpd.plugins import VenueKind, venue_class

Kinds = Callable[[str], VenueKind]

# --------------------------------------------------------------------------- loading


def discover(path: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: `-c`, then `$PERPD_CONFIG`, then `./perpd.toml`."""
    candidate = path or os.environ.get("PERPD_CONFIG") or "perpd.toml"
    resolved = Path(candidate).expanduser()
    if not resolved.is_file():
        raise ConfigError(f"{resolved}: no such config file (use -c FILE or $PERPD_CONFIG)")
    return resolved


def load(
    path: str | os.PathLike[str],
    *,
    state_dir: str | os.PathLike[str] | None = None,
    http: str | None = None,
) -> Config:
    """Read, parse and validate a config file; ConfigError lists every problem."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read ({exc.strerror})") from None
    return loads(text, source=file, state_dir=state_dir, http=http)


def loads(
    text: str,
    *,
    source: Path | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    http: str | None = None,
    kinds: Kinds = venue_class,
) -> Config:
    label = str(source) if source else "<config>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: TOML syntax error: {exc}") from None
    env = Overrides()
    _apply_overrides(raw, state_dir or env.state_dir, http or env.http)
    return from_dict(raw, base_dir=source.parent if source else Path.cwd(), label=label, kinds=kinds)


def _apply_overrides(raw: dict[str, Any], state_dir: Any, http: str | None) -> None:
    daemon = raw.setdefault("daemon", {})
    if not isinstance(daemon, dict):
        return
    if state_dir is not None:
        daemon["state_dir"] = str(state_dir)
    if http is not None:
        daemon["http"] = False if http.lower() in ("false", "off", "no", "0") else http


def from_dict(
    raw: Mapping[str, Any], *, base_dir: Path | None = None, label: str = "<config>", kinds: Kinds = venue_class
) -> Config:
    """Validate plain data (as parsed from TOML) into a Config; `kinds` gives each venue
    kind's models and capabilities."""
    problems: list[str] = []
    data = dict(raw)

    venues: dict[str, VenueConfig] = {}
    for name, section in _table(data.pop("venues", {}), "venues", problems).items():
        path = f"venues.{name}"
        kind = section.get("kind") if isinstance(section, dict) else None
        if not isinstance(kind, str):
            problems.append(f"{path}.kind: required (one of the installed venue kinds)")
            continue
        try:
            model = kinds(kind).config_model
        except ConfigError as exc:
            problems.append(f"{path}.kind: {exc.message}")
            continue
        venue = _validate(model, section, path, problems)
        if venue is not None:
            venues[name] = venue

    accounts: dict[str, AccountConfig] = {}
    for name, section in _table(data.pop("accounts", {}), "accounts", problems).items():
        path = f"accounts.{name}"
        venue_name = section.get("venue") if isinstance(section, dict) else None
        if not isinstance(venue_name, str):
            problems.append(f"{path}.venue: required (the name of a [venues.NAME] section)")
            continue
        if venue_name not in venues:
            if venue_name not in _table(raw.get("venues", {}), "venues", []):
                problems.append(f"{path}.venue: no venue named {venue_name!r}")
            continue
        venue_cls = kinds(venues[venue_name].kind)
        account = _validate(venue_cls.account_model, section, path, problems)
        if account is not None:
            accounts[name] = account
            problems.extend(_check_switch(account, venue_cls.capabilities, path, venues[venue_name].kind))

    data["venues"] = venues
    data["accounts"] = accounts
    config = _validate(Config, data, "", problems)
    if config is not None:
        # Check references against every *declared* name, so an account that failed its
        # own validation is reported once, not again by each route that names it.
        declared_accounts = set(_table(raw.get("accounts", {}), "accounts", []))
        declared_venues = set(_table(raw.get("venues", {}), "venues", []))
        problems.extend(_cross_check(config, declared_accounts | set(config.accounts), declared_venues | set(config.venues)))
    if problems:
        raise ConfigError(f"{label}: {len(problems)} problem(s)\n  " + "\n  ".join(problems), problems=problems)
    assert config is not None
    return _resolve_paths(config, base_dir or Path.cwd())


def _check_switch(account: AccountConfig, capabilities: Any, path: str, kind: str) -> list[str]:
    """A dead man's switch the venue cannot arm would only ever be logged: refuse it."""
    secs = account.dead_mans_switch_secs
    if not secs:
        return []
    if not capabilities.dead_mans_switch:
        return [f"{path}.dead_mans_switch_secs: {kind} has no dead man's switch (use 0; the watchdog still runs)"]
    low, high = capabilities.dead_mans_switch_min_secs, capabilities.dead_mans_switch_max_secs
    if not low <= secs <= high:
        return [f"{path}.dead_mans_switch_secs: {kind} arms its switch for {low} .. {high} s (got {secs})"]
    return []


def _table(value: Any, path: str, problems: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append(f"{path}: must be a table of named sections")
        return {}
    return value


def _validate(model: type[Model], data: Any, path: str, problems: list[str]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(exc, path))
        return None


def _describe(exc: ValidationError, prefix: str) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        path = prefix
        for part in err["loc"]:
            if _is_internal(part):
                continue
            path = f"{path}[{part}]" if isinstance(part, int) else ".".join(p for p in (path, str(part)) if p)
        path = path or "(top level)"
        lines.append(f"{path}: {_message(err)}")
    return lines


def _is_internal(part: Any) -> bool:
    # pydantic adds validator names ("function-after[...]") to locations of Annotated types
    return isinstance(part, str) and ("[" in part and part.endswith("]"))


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    shown = "" if _may_be_secret(err) else f" (got {got!r})"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()))
        if kind == "greater_than" and bound == 0:
            return f"must be positive{shown}"
        return f"must be {op} {bound}{shown}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer{shown}"
    if kind in ("decimal_parsing", "decimal_type", "finite_number"):
        return f"must be a number{shown}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}{shown}"
    if kind == "enum":
        return f"must be one of {ctx.get('expected')}{shown}"
    if kind == "string_pattern_mismatch":
        return f"has an invalid format{shown}"
    return f"{err['msg'][0].lower()}{err['msg'][1:]}{shown}"


def _may_be_secret(err: Mapping[str, Any]) -> bool:
    return any(isinstance(p, str) and p in ("secret", "signer", "api_key", "private_key", "url") for p in err["loc"])


def _cross_check(config: Config, accounts: set[str], venues: set[str]) -> list[str]:
    problems: list[str] = []
    for name, account in config.accounts.items():
        if account.venue not in venues:
            problems.append(f"accounts.{name}.venue: no venue named {account.venue!r}")
    _unique(problems, "policies", (p.name for p in config.policies))
    _unique(problems, "routes", (r.name for r in config.routes))
    _unique(problems, "orders", (o.name for o in config.orders))
    _unique(problems, "targets", (t.key for t in config.targets))
    _unique(problems, "api.tokens", (t.name for t in config.api.tokens))
    _unique(problems, "alerts", (a.name for a in config.alerts))
    route_names = {r.name for r in config.routes}
    clash = route_names & set(config.accounts)
    if clash:
        problems.append(f"routes: names also used by accounts: {sorted(clash)}")
    for i, route in enumerate(config.routes):
        for account in route.accounts:
            if account not in accounts:
                problems.append(f"routes[{i}].accounts: no account named {account!r}")
    for i, policy in enumerate(config.policies):
        for account in policy.scope.accounts:
            if account != "*" and account not in accounts:
                problems.append(f"policies[{i}].scope.accounts: no account named {account!r}")
        for venue in policy.scope.venues:
            if venue != "*" and venue not in venues:
                problems.append(f"policies[{i}].scope.venues: no venue named {venue!r}")
    for section, items in (("targets", config.targets), ("orders", config.orders)):
        for i, item in enumerate(items):
            if item.account is not None and item.account not in accounts:
                problems.append(f"{section}[{i}].account: no account named {item.account!r}")
            if item.route is not None:
                route = config.route(item.route)
                if route is None:
                    problems.append(f"{section}[{i}].route: no route named {item.route!r}")
                elif not route.covers(item.symbol):
                    problems.append(f"{section}[{i}].route: route {item.route!r} does not trade {item.symbol}")
    return problems


def _unique(problems: list[str], section: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(f"{section}: name {name!r} is used twice")
        seen.add(name)


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    daemon = config.daemon
    state_dir = _absolute(daemon.state_dir, base_dir)
    socket = _absolute(daemon.socket, base_dir) if daemon.socket is not None else None
    if state_dir == daemon.state_dir and socket == daemon.socket:
        return config
    return config.model_copy(update={"daemon": daemon.model_copy(update={"state_dir": state_dir, "socket": socket})})


def _absolute(path: Path, base_dir: Path) -> Path:
    expanded = path.expanduser()
    return expanded if expanded.is_absolute() else (base_dir / expanded).resolve()


