"""Vest config keys: `perpd check` names each bad or missing key, never echoes a secret,
and the shipped configs validate."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from vest_support import secrets_of

from perpd import cli
from perpd.config import load
from perpd.errors import ConfigError
from venues.vest.config import VestAccountConfig, VestVenueConfig
from venues.vest.venue import VestVenue

ROOT = Path(__file__).resolve().parents[3]
LITERAL = "0x" + "9f" * 32


def problems(tmp_path: Path, account: str, venue: str = "") -> list[str]:
    path = tmp_path / "perpd.toml"
    path.write_text(textwrap.dedent(f"""
        [venues.vest]
        kind = "vest"
        {venue}
        [accounts.v]
        venue = "vest"
    """) + textwrap.dedent(account))
    with pytest.raises(ConfigError) as failed:
        load(path)
    return failed.value.problems


def test_a_missing_signing_key_and_credentials_are_named_one_by_one(tmp_path: Path) -> None:
    assert sorted(problems(tmp_path, "")) == [
        "accounts.v.signing_key: required",
    ]
    assert sorted(problems(tmp_path, 'signing_key = "env:S"\n')) == [
        "accounts.v.account_group: required (the accGroup from POST /register), or set register_on_connect = true",
        "accounts.v.api_key: required (the apiKey from POST /register), or set register_on_connect = true",
    ]


def test_registering_needs_the_primary_key_and_no_api_key(tmp_path: Path) -> None:
    found = problems(tmp_path, 'signing_key = "env:S"\nregister_on_connect = true\napi_key = "env:A"\n')
    assert sorted(found) == [
        "accounts.v.api_key: leave it out when register_on_connect = true (registering returns a new one)",
        "accounts.v.primary_key: required when register_on_connect = true (it signs the SignerProof)",
    ]


def test_literal_secrets_and_bad_values_are_refused_without_echo(tmp_path: Path) -> None:
    found = problems(tmp_path, f'signing_key = "{LITERAL}"\napi_key = "env:A"\naccount_group = -1\nsigner_expiry_days = 0\n')
    assert sorted(found) == [
        "accounts.v.account_group: must be >= 0 (got -1)",
        "accounts.v.signer_expiry_days: must be >= 1 (got 0)",
        "accounts.v.signing_key: must be a secret reference (env:NAME, file:/path or keystore:NAME), not a literal value",
    ]
    assert not any(LITERAL[2:] in line for line in found)
    venue = 'recv_window_ms = 90000\nmarket_slippage_bps = "0"\nverifying_contract = "0x12"'
    assert sorted(problems(tmp_path, 'signing_key = "env:S"\n', venue=venue)) == [
        "venues.vest.market_slippage_bps: must be positive (got '0')",
        "venues.vest.recv_window_ms: must be <= 60000 (got 90000)",
        "venues.vest.verifying_contract: has an invalid format (got '0x12')",
    ]


def test_perpd_check_reports_each_key_and_accepts_the_shipped_configs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[venues.vest]\nkind = "vest"\n[accounts.v]\nvenue = "vest"\nsigning_key = "env:S"\n'
                   'register_on_connect = true\n')
    assert cli.main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "accounts.v.primary_key: required when register_on_connect = true" in err
    for name in ("vest-emulator.toml", "vest-testnet.toml"):
        assert cli.main(["check", str(ROOT / "configs" / name)]) == 0
        out = capsys.readouterr().out
        assert "kind=vest" in out and "signing_key=" in out


def test_a_secret_that_is_not_a_key_is_named_by_its_path_never_shown() -> None:
    garbage = "not-a-key-" + "7" * 40
    venue = VestVenue("vest", VestVenueConfig(rest_url="http://127.0.0.1:9/v2"))
    config = VestAccountConfig(venue="vest", signing_key="env:S", api_key="env:A", account_group=0)
    with pytest.raises(ConfigError) as bad:
        venue.session("main", config, secrets_of({"env:S": garbage, "env:A": "k"}))
    assert "accounts.main.signing_key: env:S is not a valid secp256k1 private key" in bad.value.message
    assert garbage not in bad.value.message
