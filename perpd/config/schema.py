"""The sections of `perpd.toml`: daemon, api, policies, routes, targets, standing orders,
and the whole `Config` (venues and accounts are validated by their kind's own models)."""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PositiveInt, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from perpd.config.base import (
    AccountConfig,
    Model,
    Name,
    NonNegativeDecimal,
    PositiveDecimal,
    SecretRef,
    Symbol,
    SymbolOrStar,
    VenueConfig,
)
from perpd.model import Bracket, OrderSpec, OrderType, Side, TimeInForce

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

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "allowed_origins" in data:
            # Moved, not renamed silently: one place says which pages may call the API.
            raise ValueError("allowed_origins moved to the [api] section: put the same list there as api.allowed_origins")
        return data

    @field_validator("http")
    @classmethod
    def _host_port(cls, value: str | Literal[False]) -> str | Literal[False]:
        if value is False:
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"must be HOST:PORT or false (got {value!r})")  # port 0: any free port, logged
        return value

    @property
    def socket_path(self) -> Path:
        return self.socket if self.socket is not None else self.state_dir / "run" / "perpd.sock"

    @property
    def binds_loopback(self) -> bool:
        """True if the HTTP API listens on a loopback address only (or not at all)."""
        bind = self.http_host_port
        if bind is None or bind[0] == "localhost":
            return True
        try:
            return ipaddress.ip_address(bind[0]).is_loopback
        except ValueError:
            return False  # a host name: it may resolve anywhere

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


_ORIGIN = re.compile(r"^https?://[^/?#@\s]+$")


def _origin(value: str) -> str:
    if value.strip() in ("*", "null"):
        raise ValueError(f"{value.strip()!r} is not allowed: list each page's origin (scheme://host:port)")
    origin = value.strip().rstrip("/").lower()
    if not _ORIGIN.match(origin):
        raise ValueError(f"must be an origin, scheme://host[:port] with no path (got {value!r})")
    return origin


Origin = Annotated[str, AfterValidator(_origin)]


class FanoutConfig(Model):
    """WebSockets served by worker processes, fed by the daemon, on a port of their own.

    The daemon's own port keeps serving /ws/v1 (under its shared frame budget); this port
    serves the same channels, protocol and tokens with every update to every client that
    keeps up (a client that falls behind gets the latest books and tickers, conflated),
    and none of that fan-out runs on the engine's loop. Read at start: a change to
    `workers` or `http` takes effect when the daemon restarts.
    """

    workers: Annotated[int, Field(ge=1, le=64)] = 2
    http: str = "127.0.0.1:8701"  # HOST:PORT; port 0 = any free port (logged)

    @field_validator("http")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"must be HOST:PORT (got {value!r})")
        return value

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.http.rpartition(":")
        return host.strip("[]"), int(port)


class ApiConfig(Model):
    tokens: tuple[ApiToken, ...] = ()
    requests_per_sec: Annotated[float, Field(gt=0)] = 50.0
    # Pages (browser origins) allowed to call the API cross-origin (CORS) and to open its
    # WebSockets; any other Origin is refused.
    allowed_origins: tuple[Origin, ...] = ()
    # GET /metrics: "token" needs a read token; "public" needs none and is allowed only
    # when daemon.http binds a loopback address (checked on Config).
    metrics: Literal["token", "public"] = "token"
    # WebSocket fan-out from worker processes ([api.fanout]); none: the daemon's loop only.
    fanout: FanoutConfig | None = None


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


class BracketConfig(Model):
    """An exit of a standing order (`take_profit = { trigger_price = 3500 }`): placed
    reduce-only for what the entry filled, at the trigger; a limit at `price`, else market."""

    trigger_price: PositiveDecimal
    price: PositiveDecimal | None = None


class StandingOrderConfig(_Placement):
    """An order kept live until filled; re-placed if the venue cancels it. With
    `take_profit` / `stop_loss`, its exits are kept working once it fills (one cancels
    the other), as for a bracket asked through the API."""

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
    take_profit: BracketConfig | None = None
    stop_loss: BracketConfig | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _shape(self) -> StandingOrderConfig:
        if self.type is OrderType.MARKET:
            raise ValueError("a standing order rests on the book: use a limit or trigger type")
        if self.type.has_limit_price and self.price is None:
            raise ValueError(f"a {self.type.value} order needs a price")
        if self.type.is_trigger and self.trigger_price is None:
            raise ValueError(f"a {self.type.value} order needs a trigger_price")
        if self.take_profit is not None or self.stop_loss is not None:  # exits on the right side of the entry
            OrderSpec(self.symbol, self.side, self.size, self.type, self.price, self.trigger_price, self.effective_tif,
                      self.reduce_only, self.account, self.route, take_profit=self.bracket(self.take_profit),
                      stop_loss=self.bracket(self.stop_loss))
        return self

    @staticmethod
    def bracket(exit_at: BracketConfig | None) -> Bracket | None:
        return Bracket(exit_at.trigger_price, exit_at.price) if exit_at is not None else None

    @property
    def key(self) -> str:
        return self.name

    @property
    def effective_tif(self) -> TimeInForce:
        return TimeInForce.POST_ONLY if self.post_only else self.tif


# What an alert can be about (perpd/alerts.py, docs/alerts.md).
ALERT_KINDS = (
    "kill_switch",  # a loss limit halted a policy's scope
    "trading_state",  # any other halt, reduce-only or resume, any scope
    "disconnected",  # a venue's or account's stream dropped
    "resync_failed",  # an account could not be fetched afresh
    "watchdog",  # the local watchdog cancelled an account's orders
    "dead_mans_switch",  # a venue's dead man's switch could not be refreshed, or has fired
    "order_rejected",  # a venue refused an order
    "liquidation",  # a position within liquidation_pct of its liquidation price
    "daily_pnl",  # an account's PnL since the reset below daily_pnl_below
)


class AlertConfig(Model):
    """A webhook told about the events in `on` (default: every kind)."""

    name: Name
    url: SecretRef  # the whole URL is a secret (Slack and Telegram URLs carry tokens)
    format: Literal["json", "slack", "telegram"] = "json"
    chat_id: str | None = None  # telegram: the chat sendMessage posts to
    on: tuple[str, ...] = ALERT_KINDS
    liquidation_pct: Annotated[Decimal, Field(gt=0, lt=100, allow_inf_nan=False)] | None = None
    daily_pnl_below: Annotated[Decimal, Field(allow_inf_nan=False)] | None = None
    reset_time_utc: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "00:00"
    min_interval_secs: Annotated[float, Field(ge=0, le=86_400)] = 300.0  # the same alert again no sooner
    timeout_secs: Annotated[float, Field(gt=0, le=60)] = 5.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    backoff_secs: Annotated[float, Field(gt=0, le=300)] = 1.0  # doubled after each failed attempt
    queue_size: Annotated[int, Field(ge=1, le=100_000)] = 1000  # full: the oldest waiting alert is dropped
    enabled: bool = True

    @field_validator("on")
    @classmethod
    def _kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        for kind in kinds:
            if kind not in ALERT_KINDS:
                raise ValueError(f"unknown alert kind {kind!r} (one of {', '.join(ALERT_KINDS)})")
        if not kinds:
            raise ValueError("lists no alert kind (leave it out for every kind)")
        return tuple(dict.fromkeys(kinds))

    @model_validator(mode="after")
    def _shape(self) -> AlertConfig:
        if self.format == "telegram" and not self.chat_id:
            raise ValueError('format = "telegram" needs a chat_id')
        if self.format != "telegram" and self.chat_id is not None:
            raise ValueError('chat_id applies only to format = "telegram"')
        if "on" in self.model_fields_set:
            if "liquidation" in self.on and self.liquidation_pct is None:
                raise ValueError('on lists "liquidation": set liquidation_pct (how near, in % of the mark)')
            if "daily_pnl" in self.on and self.daily_pnl_below is None:
                raise ValueError('on lists "daily_pnl": set daily_pnl_below (the threshold)')
        return self


class Config(Model):
    daemon: DaemonConfig = DaemonConfig()
    api: ApiConfig = ApiConfig()
    venues: dict[Name, VenueConfig] = Field(default_factory=dict)
    accounts: dict[Name, AccountConfig] = Field(default_factory=dict)
    policies: tuple[PolicyConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    targets: tuple[TargetConfig, ...] = ()
    orders: tuple[StandingOrderConfig, ...] = ()
    alerts: tuple[AlertConfig, ...] = ()

    @field_validator("api")
    @classmethod
    def _public_metrics_on_loopback(cls, api: ApiConfig, info: ValidationInfo) -> ApiConfig:
        daemon = info.data.get("daemon")
        if api.metrics == "public" and isinstance(daemon, DaemonConfig) and not daemon.binds_loopback:
            raise ValueError(
                f'metrics = "public" needs daemon.http on a loopback address (got {daemon.http!r}): '
                'use metrics = "token" with a read token for a scraper on another host'
            )
        return api

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


