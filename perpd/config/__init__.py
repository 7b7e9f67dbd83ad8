"""The config language: `perpd.toml` -> frozen, validated models.

Every model forbids unknown keys. Every error names its TOML path
(`accounts.hl-main.leverage.BTC: must be > 0 (got -3)`); syntax errors name the line.
Secrets appear only as references (`env:NAME`, `file:/path`, `keystore:NAME`).

    base.py     value types, `Model`, the keys every venue and account has (venues build on it)
    schema.py   the sections and the whole `Config`
    load.py     file / text / data -> Config, every problem by path; venue kinds passed in
    diff.py     the canonical form, its hash, and the diff a reload applies
"""

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
from perpd.config.diff import SECTIONS, canonical, config_hash, diff
from perpd.config.load import discover, from_dict, load, loads
from perpd.config.schema import (
    ALERT_KINDS,
    AlertConfig,
    ApiConfig,
    ApiToken,
    Config,
    DaemonConfig,
    FanoutConfig,
    Overrides,
    PolicyConfig,
    PolicyScope,
    RouteConfig,
    StandingOrderConfig,
    TargetConfig,
)

__all__ = [
    "ALERT_KINDS", "SECTIONS", "AccountConfig", "AlertConfig", "ApiConfig", "ApiToken", "Config", "DaemonConfig", "FanoutConfig", "Model", "Name",
    "NonNegativeDecimal", "Overrides", "PolicyConfig", "PolicyScope", "PositiveDecimal", "RouteConfig", "SecretRef",
    "StandingOrderConfig", "Symbol", "SymbolOrStar", "TargetConfig", "VenueConfig", "canonical", "config_hash", "diff",
    "discover", "from_dict", "load", "loads",
]
