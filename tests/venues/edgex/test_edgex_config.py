"""EdgeX config: both shipped configs load; `perpd check` names each bad or missing key;
secrets stay references and never show; a bad trading key is refused at start with the
key's path, never its value."""

from __future__ import annotations

from pathlib import Path

import pytest
from edgex_support import secrets_of

from perpd.config import load
from perpd.errors import ConfigError
from venues.edgex.config import EdgexAccountConfig, EdgexVenueConfig
from venues.edgex.emulator import derive_credentials
from venues.edgex.venue import EdgexVenue

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["edgex-emulator.toml", "edgex-testnet.toml"])
def test_the_shipped_configs_load(name: str) -> None:
    config = load(ROOT / "configs" / name)
    (account,) = config.accounts.values()
    assert isinstance(account, EdgexAccountConfig)
    assert all(ref.split(":")[0] in ("env", "keystore")
               for ref in (account.api_key, account.api_passphrase, account.api_secret, account.trading_key))


def test_the_emulator_config_matches_the_demo_account_of_seed_7() -> None:
    config = load(ROOT / "configs" / "edgex-emulator.toml")
    (account,) = config.accounts.values()
    demo = derive_credentials(7, 0)
    assert account.account_id == demo.account_id and account.trading_address == demo.address
    header = (ROOT / "configs" / "edgex-emulator.toml").read_text()
    for value in (demo.api_key, demo.passphrase, demo.secret, demo.trading_key):
        assert f"={value}\n" in header


def test_check_names_every_bad_or_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("""
[venues.e]
kind = "edgex"
rest_url = "http://127.0.0.1:8784"

[accounts.a]
venue = "e"
account_id = -4
api_key = "4b49e9bbe0f58e7a"
api_passphrase = "env:PASS"
trading_key = "env:KEY"
trading_address = "0x12"
extra_key = 1
""")
    with pytest.raises(ConfigError) as caught:
        load(path)
    problems = "\n".join(caught.value.problems)
    for path_ in ("accounts.a.account_id", "accounts.a.api_key", "accounts.a.api_secret",
                  "accounts.a.trading_address", "accounts.a.extra_key"):
        assert path_ in problems
    assert "4b49e9bbe0f58e7a" not in problems  # a literal where a reference belongs may be the secret


def test_testnet_needs_the_hosts_edgex_gave_you() -> None:
    with pytest.raises(ValueError, match="no public V2 testnet"):
        EdgexVenueConfig(network="testnet")
    assert EdgexVenueConfig(network="testnet", rest_url="https://h", ws_url="wss://h").network == "testnet"


def _session(**secrets: str):  # type: ignore[no-untyped-def]
    venue = EdgexVenue("edgex", EdgexVenueConfig(rest_url="http://127.0.0.1:9"))
    config = EdgexAccountConfig(venue="edgex", account_id=7, api_key="env:K", api_passphrase="env:P",
                                api_secret="env:S", trading_key="env:T",
                                trading_address=secrets.pop("address", None))
    values = {"env:K": "key-value-1", "env:P": "pass-value-1", "env:S": "the-secret", "env:T": "0x" + "42" * 32, **secrets}
    return venue.session("main", config, secrets_of(values))


def test_a_bad_trading_key_is_refused_by_its_path_not_its_value() -> None:
    with pytest.raises(ConfigError) as caught:
        _session(**{"env:T": "0xnot-a-key-at-all"})
    assert "accounts.main.trading_key (env:T)" in caught.value.message and "not-a-key" not in caught.value.message
    with pytest.raises(ConfigError, match="signs as"):
        _session(address="0x" + "00" * 20)
    with pytest.raises(ConfigError, match="non-empty"):
        _session(**{"env:S": ""})


def test_a_session_never_shows_its_secrets() -> None:
    session = _session()
    text = repr(session) + repr(session.auth) + repr(vars(session))
    for secret in ("key-value-1", "the-secret", "pass-value-1", "42" * 32):
        assert secret not in text
