"""The config language: every kind of bad config names its TOML path; hash and diff."""

from __future__ import annotations

import random
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from perpd import config as cfg
from perpd.config import config_hash, diff, loads
from perpd.errors import ConfigError

BASE = """
[venues.sim]
kind = "sim"

[venues.hl]
kind = "hyperliquid"
network = "testnet"

[accounts.paper]
venue = "sim"
leverage = { BTC = 5 }

[accounts.hl-main]
venue = "hl"
account_address = "0x1111111111111111111111111111111111111111"
signer = "env:HL_AGENT_KEY"

[[routes]]
name = "btc"
symbols = ["BTC"]
accounts = ["paper", "hl-main"]
strategy = "best_price"
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        loads(textwrap.dedent(text))
    return caught.value.problems


def test_a_valid_config_loads_with_symbols_normalised() -> None:
    config = loads(BASE)
    assert config.accounts["paper"].leverage == {"BTC-PERP": 5}
    assert config.routes[0].symbols == ("BTC-PERP",)
    assert config.venues["hl"].kind == "hyperliquid"


def test_a_literal_secret_is_refused_without_being_echoed() -> None:
    key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    found = problems_of(BASE.replace('"env:HL_AGENT_KEY"', f'"{key}"'))
    assert len(found) == 1
    assert found[0].startswith("accounts.hl-main.signer: must be a secret reference")
    assert key not in found[0]


def test_a_literal_api_token_secret_is_refused() -> None:
    found = problems_of(BASE + '[api]\ntokens = [{ name = "t", secret = "hunter2" }]\n')
    assert found == [
        "api.tokens[0].secret: must be a secret reference (env:NAME, file:/path or keystore:NAME), not a literal value"
    ]


def test_an_unknown_key_is_named_with_its_path() -> None:
    assert problems_of(BASE + "[daemon]\nlog_levle = 'info'\n") == ["daemon.log_levle: unknown key"]
    assert problems_of(BASE.replace('leverage = { BTC = 5 }', 'leverage = { BTC = 5 }\nlevrage = 3')) == [
        "accounts.paper.levrage: unknown key"
    ]


def test_a_bad_type_is_named_with_its_path_and_value() -> None:
    assert problems_of(BASE + "[daemon]\nwatchdog_secs = 'soon'\n") == [
        "daemon.watchdog_secs: must be an integer (got 'soon')"
    ]


def test_a_negative_leverage_names_the_symbol_path() -> None:
    assert problems_of(BASE.replace("BTC = 5", "BTC = -3")) == ["accounts.paper.leverage.BTC: must be positive (got -3)"]


def test_an_account_on_a_missing_venue_is_a_dangling_reference() -> None:
    assert problems_of(BASE + '[accounts.x]\nvenue = "binance"\n') == ["accounts.x.venue: no venue named 'binance'"]


def test_an_unknown_venue_kind_lists_the_installed_kinds() -> None:
    (problem,) = problems_of('[venues.x]\nkind = "mtgox"\n')
    assert problem.startswith("venues.x.kind: unknown venue kind 'mtgox' (installed: ")
    assert "sim" in problem


def test_a_route_naming_a_missing_account_is_a_dangling_reference() -> None:
    text = BASE + '[[routes]]\nname = "r2"\naccounts = ["paper", "ghost"]\n'
    assert problems_of(text) == ["routes[1].accounts: no account named 'ghost'"]


def test_targets_and_orders_naming_missing_accounts_or_routes_are_dangling() -> None:
    text = BASE + textwrap.dedent("""
        [[targets]]
        account = "ghost"
        symbol = "BTC"
        position = "1"
        max_slice = "0.1"

        [[orders]]
        name = "o"
        route = "nowhere"
        symbol = "BTC"
        side = "buy"
        size = "1"
        price = "100"
    """)
    assert problems_of(text) == [
        "targets[0].account: no account named 'ghost'",
        "orders[0].route: no route named 'nowhere'",
    ]


def test_an_order_on_a_route_that_does_not_trade_its_symbol_is_refused() -> None:
    text = BASE + '[[orders]]\nname = "o"\nroute = "btc"\nsymbol = "ETH"\nside = "sell"\nsize = "1"\nprice = "5000"\n'
    assert problems_of(text) == ["orders[0].route: route 'btc' does not trade ETH-PERP"]


def test_policy_scopes_naming_missing_accounts_or_venues_are_dangling() -> None:
    text = BASE + '[[policies]]\nname = "p"\nscope = { accounts = ["ghost"], venues = ["nowhere"] }\n'
    assert problems_of(text) == [
        "policies[0].scope.accounts: no account named 'ghost'",
        "policies[0].scope.venues: no venue named 'nowhere'",
    ]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('[[policies]]\nname = "p"\n[[policies]]\nname = "p"\n', "policies: name 'p' is used twice"),
        ('[[routes]]\nname = "btc"\naccounts = ["paper"]\n', "routes: name 'btc' is used twice"),
        (
            '[[orders]]\nname = "o"\naccount = "paper"\nsymbol = "BTC"\nside = "buy"\nsize = "1"\nprice = "1"\n' * 2,
            "orders: name 'o' is used twice",
        ),
        (
            '[[targets]]\naccount = "paper"\nsymbol = "BTC"\nposition = "1"\nmax_slice = "1"\n' * 2,
            "targets: name 'paper:BTC-PERP' is used twice",
        ),
        (
            '[api]\ntokens = [{ name = "t", secret = "env:A" }, { name = "t", secret = "env:B" }]\n',
            "api.tokens: name 't' is used twice",
        ),
        ('[[routes]]\nname = "paper"\naccounts = ["paper"]\n', "routes: names also used by accounts: ['paper']"),
    ],
)
def test_duplicate_names_are_refused(extra: str, problem: str) -> None:
    assert problems_of(BASE + extra) == [problem]


@pytest.mark.parametrize("placement", ["", 'account = "paper"\nroute = "btc"\n'])
def test_a_target_names_exactly_one_of_account_or_route(placement: str) -> None:
    text = BASE + f'[[targets]]\n{placement}symbol = "BTC"\nposition = "1"\nmax_slice = "1"\n'
    assert problems_of(text) == ["targets[0]: name exactly one of account or route"]


def test_a_syntax_error_names_the_line() -> None:
    with pytest.raises(ConfigError) as caught:
        loads('[daemon]\nlog_level = "info"\nhttp = \n', source=Path("perpd.toml"))
    assert caught.value.message.startswith("perpd.toml: TOML syntax error:")
    assert "line 3" in caught.value.message


def test_every_problem_is_reported_at_once() -> None:
    text = BASE.replace("BTC = 5", "BTC = 0") + "[daemon]\ndurability = 'yolo'\n"
    found = problems_of(text)
    assert "accounts.paper.leverage.BTC: must be positive (got 0)" in found
    assert "daemon.durability: must be one of 'full' or 'fast' (got 'yolo')" in found


def test_the_error_message_lists_the_file_and_the_count() -> None:
    with pytest.raises(ConfigError) as caught:
        cfg.loads("[daemon]\nfoo = 1\nbar = 2\n", source=Path("x.toml"))
    assert caught.value.message.splitlines()[0] == "x.toml: 2 problem(s)"


# --------------------------------------------------------------------------- overrides, paths


def test_state_dir_and_http_overrides_win_over_the_file(tmp_path: Path) -> None:
    config = loads(BASE, state_dir=tmp_path, http="false")
    assert config.daemon.state_dir == tmp_path
    assert config.daemon.http is False
    assert config.daemon.socket_path == tmp_path / "run" / "perpd.sock"


def test_overrides_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("PERPD_HTTP", "127.0.0.1:9999")
    config = loads(BASE)
    assert config.daemon.state_dir == tmp_path
    assert config.daemon.http_host_port == ("127.0.0.1", 9999)


def test_a_relative_state_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    file = tmp_path / "perpd.toml"
    file.write_text('[daemon]\nstate_dir = "state"\n')
    assert cfg.load(file).daemon.state_dir == tmp_path / "state"


def test_discovery_prefers_the_flag_then_the_environment_then_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag, env, local = (tmp_path / n for n in ("flag.toml", "env.toml", "perpd.toml"))
    for file in (flag, env, local):
        file.write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PERPD_CONFIG", str(env))
    assert cfg.discover(flag) == flag
    assert cfg.discover() == env
    monkeypatch.delenv("PERPD_CONFIG")
    assert cfg.discover() == Path("perpd.toml")
    local.unlink()
    with pytest.raises(ConfigError, match="no such config file"):
        cfg.discover()


# --------------------------------------------------------------------------- hash and diff


def test_the_hash_ignores_comments_key_order_and_number_spelling() -> None:
    a = loads('[venues.sim]\nkind = "sim"\nseed = 7\n[[policies]]\nname = "p"\nmax_order_size = "0.5"\n')
    b = loads(
        '# a comment\n[[policies]]\nmax_order_size = "0.50"  # same value\nname = "p"\n\n'
        '[venues.sim]\nseed = 7\nkind = "sim"\n'
    )
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(loads('[venues.sim]\nkind = "sim"\nseed = 8\n'))


def test_the_hash_does_not_depend_on_set_iteration_order() -> None:
    one = loads('[api]\ntokens = [{ name = "t", secret = "env:T", scopes = ["read", "trade", "admin"] }]\n')
    two = loads('[api]\ntokens = [{ name = "t", secret = "env:T", scopes = ["admin", "trade", "read"] }]\n')
    assert config_hash(one) == config_hash(two)
    assert cfg.canonical(one)["api"]["tokens"][0]["scopes"] == ["admin", "read", "trade"]


def test_diff_reports_added_changed_and_removed_per_section() -> None:
    old = loads(BASE + '[[policies]]\nname = "keep"\n[[policies]]\nname = "drop"\n')
    new = loads(
        BASE.replace("BTC = 5", "BTC = 3")
        + '[[policies]]\nname = "keep"\n[[policies]]\nname = "fresh"\n'
        + '[accounts.paper2]\nvenue = "sim"\n'
    )
    assert diff(old, new) == {
        "accounts": {"added": ["paper2"], "changed": ["paper"], "removed": []},
        "policies": {"added": ["fresh"], "changed": [], "removed": ["drop"]},
    }


# --------------------------------------------------------------------------- properties

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)
_decimals = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3)


@st.composite
def config_dicts(draw: st.DrawFn) -> dict:
    """Plain data of a valid config: sim venues, accounts, policies, routes, targets."""
    venues = draw(st.lists(_names, min_size=1, max_size=3, unique=True))
    accounts = draw(st.lists(_names.map(lambda n: f"acct-{n}"), min_size=1, max_size=4, unique=True))
    data: dict = {
        "daemon": {"log_level": draw(st.sampled_from(["debug", "info"])), "watchdog_secs": draw(st.integers(0, 99))},
        "venues": {v: {"kind": "sim", "seed": draw(st.integers(0, 99))} for v in venues},
        "accounts": {
            a: {
                "venue": draw(st.sampled_from(venues)),
                "leverage": draw(st.dictionaries(st.sampled_from(["BTC", "ETH", "SOL"]), st.integers(1, 50), max_size=3)),
                "adopt": draw(st.booleans()),
            }
            for a in accounts
        },
        "policies": [
            {"name": f"p{i}", "max_order_size": str(draw(_decimals)), "scope": {"accounts": [draw(st.sampled_from(accounts))]}}
            for i in range(draw(st.integers(0, 3)))
        ],
        "routes": [
            {"name": f"r{i}", "accounts": draw(st.lists(st.sampled_from(accounts), min_size=1, unique=True)),
             "strategy": draw(st.sampled_from(["fixed", "best_price", "least_exposure"]))}
            for i in range(draw(st.integers(0, 2)))
        ],
        "targets": [
            {"account": a, "symbol": "BTC", "position": str(draw(_decimals)), "max_slice": "0.5"}
            for a in draw(st.lists(st.sampled_from(accounts), max_size=2, unique=True))
        ],
    }
    return data


def _shuffled(value: object, rng: random.Random) -> object:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


def _reformat(data: dict, seed: int) -> str:
    """The same config written differently: key order, comments, blank lines."""
    rng = random.Random(seed)
    lines = []
    for line in tomli_w.dumps(_shuffled(data, rng)).splitlines():
        if rng.random() < 0.3:
            lines.append(f"# comment {rng.random()}")
        if rng.random() < 0.3:
            lines.append("")
        lines.append(line + (f"   # trailing {rng.randint(0, 9)}" if line and rng.random() < 0.3 else ""))
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None)
@given(config_dicts(), st.integers(0, 2**32))
def test_the_hash_is_stable_under_reformatting(data: dict, seed: int) -> None:
    assert config_hash(loads(tomli_w.dumps(data))) == config_hash(loads(_reformat(data, seed)))


@settings(max_examples=40, deadline=None)
@given(config_dicts())
def test_the_diff_of_a_config_with_itself_is_empty(data: dict) -> None:
    config = loads(tomli_w.dumps(data))
    assert diff(config, config) == {}
    assert diff(config, loads(_reformat(data, 1))) == {}


@settings(max_examples=40, deadline=None)
@given(config_dicts(), config_dicts())
def test_the_diff_is_symmetric_in_added_and_removed(one: dict, two: dict) -> None:
    a, b = loads(tomli_w.dumps(one)), loads(tomli_w.dumps(two))
    forward, backward = diff(a, b), diff(b, a)
    assert forward.keys() == backward.keys()
    for section, change in forward.items():
        assert change["added"] == backward[section]["removed"]
        assert change["removed"] == backward[section]["added"]
        assert change["changed"] == backward[section]["changed"]
    assert (forward == {}) == (config_hash(a) == config_hash(b))


def test_a_dead_mans_switch_outside_the_venues_range_is_refused_by_path() -> None:
    from perpd.config import loads

    base = """
[venues.lt]
kind = "lighter"
network = "testnet"
[accounts.lt-main]
venue = "lt"
account_index = 1
api_keys = [{ index = 3, secret = "env:X" }]
dead_mans_switch_secs = %s
"""
    with pytest.raises(ConfigError, match=r"accounts\.lt-main\.dead_mans_switch_secs: lighter arms its switch for 300 \.\. "):
        loads(base % 60)
    loads(base % 300)  # Lighter's minimum: armed, not only logged


def test_daemon_allowed_origins_names_its_move_to_the_api_section() -> None:
    assert problems_of('[daemon]\nallowed_origins = ["http://localhost:5173"]\n') == [
        "daemon: allowed_origins moved to the [api] section: put the same list there as api.allowed_origins"
    ]
    config = loads('[api]\nallowed_origins = ["HTTP://Terminal.example:5173/"]\n')
    assert config.api.allowed_origins == ("http://terminal.example:5173",)


@pytest.mark.parametrize(
    ("origin", "problem"),
    [
        ("*", "'*' is not allowed: list each page's origin (scheme://host:port)"),
        ("http://terminal.example/app", "must be an origin, scheme://host[:port] with no path (got 'http://terminal.example/app')"),
    ],
)
def test_allowed_origins_are_origins_never_a_wildcard(origin: str, problem: str) -> None:
    assert problems_of(f'[api]\nallowed_origins = ["{origin}"]\n') == [f"api.allowed_origins[0]: {problem}"]


@pytest.mark.parametrize("http", ["127.0.0.1:8700", "localhost:8700", "[::1]:8700", "127.0.0.2:0", "false"])
def test_public_metrics_load_on_a_loopback_bind(http: str) -> None:
    value = http if http == "false" else f'"{http}"'
    assert loads(f'[daemon]\nhttp = {value}\n[api]\nmetrics = "public"\n').api.metrics == "public"


@pytest.mark.parametrize("http", ["0.0.0.0:8700", "192.168.1.5:8700", "[::]:8700", "perpd.lan:8700"])
def test_public_metrics_on_a_non_loopback_bind_are_refused(http: str) -> None:
    assert problems_of(f'[daemon]\nhttp = "{http}"\n[api]\nmetrics = "public"\n') == [
        f'api: metrics = "public" needs daemon.http on a loopback address (got \'{http}\'): '
        'use metrics = "token" with a read token for a scraper on another host'
    ]
    assert loads(f'[daemon]\nhttp = "{http}"\n').api.metrics == "token"  # the default
