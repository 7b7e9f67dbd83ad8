"""The config language: `perpd.toml` -> frozen, validated models.

Every model forbids unknown keys. Every error names its TOML path
(`accounts.hl-main.leverage.BTC: must be > 0 (got -3)`); syntax errors name the line.
Secrets appear only as references (`env:NAME`, `file:/path`, `keystore:NAME`).

Venue and account sections are validated by the model their venue kind declares
(`Venue.config_model`, `Venue.account_model`), so a plug-in venue brings its own keys.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from perpd.errors import ConfigError
from perpd.model import MarginMode, OrderType, Side, TimeInForce, normalize_symbol

# --------------------------------------------------------------------------- value types

_REFERENCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|keystore:[A-Za-z0-9_.-]+)$")


def _secret_reference(value: str) -> str:
    if not _REFERENCE.match(value):
        # Never echo the value: it may be the secret itself.
        raise ValueError(
            "must be a secret reference (env:NAME, file:/path or keystore:NAME), "
            "not a literal value"
        )
    return value


SecretRef = Annotated[str, AfterValidator(_secret_reference)]
"""A reference to a secret. The config never holds the secret itself."""

Symbol = Annotated[str, AfterValidator(normalize_symbol)]
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


def _symbol_or_star(value: str) -> str:
    return "*" if value == "*" else normalize_symbol(value)


SymbolOrStar = Annotated[str, AfterValidator(_symbol_or_star)]


class Model(BaseModel):
    """Base for every config model: frozen, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


# --------------------------------------------------------------------------- sections


class DaemonConfig(Model):
    state_dir: Path = Path("~/.local/state/perpd")
    http: str | Literal[False] = "127.0.0.1:8700"
    socket: Path | None = None  # default <state_dir>/run/perpd.sock
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    durability: Literal["full", "fast"] = "full"
    reconcile_interval_secs: Annotated[float, Field(gt=0, le=3600)] = 1.0
    watchdog_secs: Annotated[int, Field(ge=0)] = 60  # 0 = off
    unknown_grace_secs: Annotated[float, Field(gt=0, le=3600)] = 10.0  # unseen this long after send = never arrived
    # An order journaled but never sent (the daemon died first) is sent after a restart
    # while it is younger than this; older, it ends expired ("not sent before restart").
    resume_pending_secs: Annotated[float, Field(ge=0, le=86_400)] = 30.0
    resync_secs: Annotated[float, Field(ge=0)] = 60.0  # periodic full resync; 0 = only after gaps
    # The longest a venue's position report may trail its fills (perpd/ledger.py).
    position_report_lag_secs: Annotated[float, Field(gt=0, le=600)] = 10.0
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
    allowed_origins: tuple[str, ...] = ()

    @field_validator("http")
    @classmethod
    def _host_port(cls, value: str | Literal[False]) -> str | Literal[False]:
        if value is False:
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"must be HOST:PORT or false (got {value!r})")
        return value

    @property
    def socket_path(self) -> Path:
        return self.socket if self.socket is not None else self.state_dir / "run" / "perpd.sock"

    @property
    def http_host_port(self) -> tuple[str, int] | None:
        if self.http is False:
            return None
        host, _, port = self.http.rpartition(":")
        return host.strip("[]"), int(port)


Scope = Literal["read", "trade", "admin"]


class ApiToken(Model):
    name: Name
    secret: SecretRef
    scopes: frozenset[Scope] = frozenset({"read"})


class ApiConfig(Model):
    tokens: tuple[ApiToken, ...] = ()
    requests_per_sec: Annotated[float, Field(gt=0)] = 50.0


class VenueConfig(Model):
    """Keys every venue has; a venue kind subclasses this with its own keys."""

    kind: str
    network: Literal["mainnet", "testnet"] = "mainnet"
    rest_url: str | None = None
    ws_url: str | None = None
    timeout_secs: Annotated[float, Field(gt=0, le=120)] = 10.0
    enabled: bool = True


class AccountConfig(Model):
    """Keys every account has; a venue kind subclasses this with its credentials."""

    venue: Name
    enabled: bool = True
    adopt: bool = False
    leverage: dict[Symbol, PositiveInt] = Field(default_factory=dict)
    margin_mode: MarginMode = MarginMode.CROSS
    on_exit: Literal["leave", "cancel_all"] = "leave"
    dead_mans_switch_secs: Annotated[int, Field(ge=0)] = 0  # 0 = off
    max_target_slices_per_minute: PositiveInt = 60  # every target on the account together


class PolicyScope(Model):
    accounts: tuple[str, ...] = ("*",)
    venues: tuple[str, ...] = ("*",)
    symbols: tuple[SymbolOrStar, ...] = ("*",)

    def covers(self, account: str, venue: str, symbol: str | None) -> bool:
        return (
            ("*" in self.accounts or account in self.accounts)
            and ("*" in self.venues or venue in self.venues)
            and (symbol is None or "*" in self.symbols or symbol in self.symbols)
        )


class PolicyConfig(Model):
    """A risk policy; every limit is optional and all present ones must pass."""

    name: Name
    scope: PolicyScope = PolicyScope()
    max_order_size: PositiveDecimal | None = None
    max_order_notional: PositiveDecimal | None = None
    max_position_notional: PositiveDecimal | None = None
    aggregate: bool = False  # max_position_notional summed per asset across venues/accounts
    max_gross_notional: PositiveDecimal | None = None
    max_leverage: PositiveDecimal | None = None
    max_open_orders: PositiveInt | None = None
    max_orders_per_second: PositiveDecimal | None = None
    price_band_bps: PositiveDecimal | None = None
    allow_symbols: tuple[Symbol, ...] | None = None
    block_symbols: tuple[Symbol, ...] = ()
    daily_loss_limit: PositiveDecimal | None = None
    max_drawdown: PositiveDecimal | None = None
    reset_time_utc: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "00:00"
    reduce_only: bool = False


RouteStrategy = Literal["fixed", "best_price", "split", "least_exposure"]


class RouteConfig(Model):
    name: Name
    symbols: tuple[SymbolOrStar, ...] = ("*",)
    accounts: tuple[Name, ...]
    strategy: RouteStrategy = "fixed"
    weights: dict[Name, PositiveDecimal] | None = None  # split: by weight, else by depth
    limit_bps: PositiveDecimal = Decimal(50)  # split by depth: depth within this band

    @model_validator(mode="after")
    def _check(self) -> RouteConfig:
        if not self.accounts:
            raise ValueError("a route needs at least one account")
        if len(set(self.accounts)) != len(self.accounts):
            raise ValueError("accounts are listed twice")
        if self.weights is not None:
            if self.strategy != "split":
                raise ValueError("weights apply only to strategy = \"split\"")
            stray = set(self.weights) - set(self.accounts)
            if stray:
                raise ValueError(f"weights name accounts not in the route: {sorted(stray)}")
        return self

    def covers(self, symbol: str) -> bool:
        return "*" in self.symbols or symbol in self.symbols


class _Placement(Model):
    account: Name | None = None
    route: Name | None = None

    @model_validator(mode="after")
    def _one_of(self) -> _Placement:
        if (self.account is None) == (self.route is None):
            raise ValueError("name exactly one of account or route")
        return self

    @property
    def via(self) -> str:
        return self.account or self.route or ""


class TargetConfig(_Placement):
    """A target position: perpd trades toward `position` in slices of `max_slice`."""

    name: Name | None = None
    symbol: Symbol
    position: Annotated[Decimal, Field(allow_inf_nan=False)]
    tolerance: NonNegativeDecimal = Decimal(0)  # |position - actual| within this is done
    max_slice: PositiveDecimal
    limit_bps: PositiveDecimal = Decimal(10)  # limit no worse than mark +/- this
    # Circuit breaker (perpd/turnover.py): size placed per rolling hour (default four times
    # the larger of |position| and max_slice) and slices per minute; past either the
    # target stops until an operator resumes it.
    max_turnover: PositiveDecimal | None = None
    max_slices_per_minute: PositiveInt = 20
    enabled: bool = True

    @property
    def key(self) -> str:
        return self.name or f"{self.via}:{self.symbol}"


class StandingOrderConfig(_Placement):
    """An order kept live until filled; re-placed if the venue cancels it."""

    name: Name
    symbol: Symbol
    side: Side
    size: PositiveDecimal
    price: PositiveDecimal | None = None
    type: OrderType = OrderType.LIMIT
    trigger_price: PositiveDecimal | None = None
    tif: Literal[TimeInForce.GTC, TimeInForce.POST_ONLY] = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    enabled: bool = True

    @model_validator(mode="after")
    def _shape(self) -> StandingOrderConfig:
        if self.type is OrderType.MARKET:
            raise ValueError("a standing order rests on the book: use a limit or trigger type")
        if self.type.has_limit_price and self.price is None:
            raise ValueError(f"a {self.type.value} order needs a price")
        if self.type.is_trigger and self.trigger_price is None:
            raise ValueError(f"a {self.type.value} order needs a trigger_price")
        return self

    @property
    def key(self) -> str:
        return self.name

    @property
    def effective_tif(self) -> TimeInForce:
        return TimeInForce.POST_ONLY if self.post_only else self.tif


class Config(Model):
    daemon: DaemonConfig = DaemonConfig()
    api: ApiConfig = ApiConfig()
    venues: dict[Name, VenueConfig] = Field(default_factory=dict)
    accounts: dict[Name, AccountConfig] = Field(default_factory=dict)
    policies: tuple[PolicyConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    targets: tuple[TargetConfig, ...] = ()
    orders: tuple[StandingOrderConfig, ...] = ()

    def route(self, name: str) -> RouteConfig | None:
        return next((r for r in self.routes if r.name == name), None)

    def venue_of(self, account: str) -> VenueConfig:
        return self.venues[self.accounts[account].venue]

    def dump(self) -> dict[str, Any]:
        """The whole config as plain data (secret *references* only), each venue and
        account dumped with its own kind's model."""
        data = self.model_dump(mode="json", exclude={"venues", "accounts"})
        data["venues"] = {n: v.model_dump(mode="json") for n, v in self.venues.items()}
        data["accounts"] = {n: a.model_dump(mode="json") for n, a in self.accounts.items()}
        return data


# --------------------------------------------------------------------------- overrides


class Overrides(BaseSettings):
    """Daemon settings that may be set without editing the file: flags or PERPD_*."""

    model_config = SettingsConfigDict(env_prefix="PERPD_", extra="ignore")

    state_dir: Path | None = None
    http: str | None = None  # "HOST:PORT" or "false"


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
) -> Config:
    label = str(source) if source else "<config>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: TOML syntax error: {exc}") from None
    env = Overrides()
    _apply_overrides(raw, state_dir or env.state_dir, http or env.http)
    return from_dict(raw, base_dir=source.parent if source else Path.cwd(), label=label)


def _apply_overrides(raw: dict[str, Any], state_dir: Any, http: str | None) -> None:
    daemon = raw.setdefault("daemon", {})
    if not isinstance(daemon, dict):
        return
    if state_dir is not None:
        daemon["state_dir"] = str(state_dir)
    if http is not None:
        daemon["http"] = False if http.lower() in ("false", "off", "no", "0") else http


def from_dict(raw: Mapping[str, Any], *, base_dir: Path | None = None, label: str = "<config>") -> Config:
    """Validate plain data (as parsed from TOML) into a Config."""
    from venues.registry import venue_class

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
            model = venue_class(kind).config_model
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
        venue_cls = venue_class(venues[venue_name].kind)
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
    return any(isinstance(p, str) and p in ("secret", "signer", "api_key", "private_key") for p in err["loc"])


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


# --------------------------------------------------------------------------- hash and diff


def canonical(config: Config) -> dict[str, Any]:
    """The config as plain data with one spelling per meaning, for hashing and diffing:
    sets sorted (their iteration order changes with PYTHONHASHSEED), decimals normalised
    ("0.50" and "0.5" are one value)."""
    data = config.model_dump(exclude={"venues", "accounts"})
    data["venues"] = {n: v.model_dump() for n, v in config.venues.items()}
    data["accounts"] = {n: a.model_dump() for n, a in config.accounts.items()}
    return _canonical_value(data)


def _canonical_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical_value(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical_value(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [_canonical_value(v) for v in value]
    if isinstance(value, Decimal):
        # normalize() drops trailing zeros; `:f` keeps 100 as "100", not "1E+2".
        return f"{value.normalize():f}" if value.is_finite() else str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def config_hash(config: Config) -> str:
    """A short stable hash of the meaning of a config (not its formatting)."""
    text = json.dumps(canonical(config), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


SECTIONS = ("daemon", "api", "venues", "accounts", "policies", "routes", "targets", "orders")


def _keyed(config: Config, section: str) -> dict[str, Any]:
    data = canonical(config)[section]
    if section in ("daemon", "api"):
        return {section: data}
    if isinstance(data, dict):
        return data
    items = getattr(config, section)
    return {item.key if hasattr(item, "key") else item.name: dumped for item, dumped in zip(items, data, strict=True)}


def diff(old: Config, new: Config) -> dict[str, dict[str, list[str]]]:
    """Per section, the names added, changed and removed between two configs.

    Sections with no difference are left out; an empty dict means no change.
    """
    out: dict[str, dict[str, list[str]]] = {}
    for section in SECTIONS:
        before, after = _keyed(old, section), _keyed(new, section)
        change = {
            "added": sorted(set(after) - set(before)),
            "changed": sorted(k for k in set(after) & set(before) if after[k] != before[k]),
            "removed": sorted(set(before) - set(after)),
        }
        if any(change.values()):
            out[section] = change
    return out
