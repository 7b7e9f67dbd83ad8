"""Secret references resolve to SecretStr; nothing shows a secret; the keystore is sealed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from perpd.errors import ConfigError
from perpd.secrets import PASSPHRASE_ENV, Secrets

SECRET = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
FAST = 2**10  # scrypt cost for tests; files record their cost, so resolve uses it too


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Secrets:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    return Secrets(tmp_path, scrypt_n=FAST)


def secret_file(tmp_path: Path, mode: int, content: str = SECRET + "\n") -> Path:
    path = tmp_path / "agent.key"
    path.write_text(content)
    path.chmod(mode)
    return path


def test_an_env_reference_resolves_to_a_secret_str(secrets: Secrets, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HL_AGENT_KEY", SECRET)
    value = secrets.resolve("env:HL_AGENT_KEY")
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == SECRET
    assert SECRET not in repr(value) and SECRET not in str(value)


def test_the_resolver_is_callable_like_venues_expect(secrets: Secrets, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X", "y")
    assert secrets("env:X").get_secret_value() == "y"


def test_an_unset_env_variable_is_named_in_the_error(secrets: Secrets, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(ConfigError, match="^env:NOPE: environment variable NOPE is not set$"):
        secrets.resolve("env:NOPE")


def test_a_private_file_resolves_stripped(secrets: Secrets, tmp_path: Path) -> None:
    path = secret_file(tmp_path, 0o600)
    assert secrets.resolve(f"file:{path}").get_secret_value() == SECRET
    assert secrets.resolve(f"file:{secret_file(tmp_path, 0o400)}").get_secret_value() == SECRET


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620])
def test_a_file_others_can_access_is_refused_naming_path_and_mode(secrets: Secrets, tmp_path: Path, mode: int) -> None:
    path = secret_file(tmp_path, mode)
    with pytest.raises(ConfigError) as caught:
        secrets.resolve(f"file:{path}")
    message = caught.value.message
    assert str(path) in message and f"mode {mode:04o}" in message and "chmod 600" in message
    assert SECRET not in message


def test_a_missing_or_empty_file_is_an_error_naming_the_reference(secrets: Secrets, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^file:/nonexistent/key: cannot read /nonexistent/key \(No such file"):
        secrets.resolve("file:/nonexistent/key")
    empty = secret_file(tmp_path, 0o600, content="\n")
    with pytest.raises(ConfigError, match="is empty"):
        secrets.resolve(f"file:{empty}")


def test_a_literal_that_is_not_a_reference_is_refused_without_echoing_it(secrets: Secrets) -> None:
    for literal in (SECRET, "env:1BAD", "keystore:../x", "hunter2"):
        with pytest.raises(ConfigError) as caught:
            secrets.resolve(literal)
        assert literal not in caught.value.message
        assert "not a secret reference" in caught.value.message


def test_the_keystore_round_trips_and_files_are_private(secrets: Secrets) -> None:
    path = secrets.add("hl-agent", SECRET, "correct horse")
    assert secrets.list() == ["hl-agent"]
    assert path.stat().st_mode & 0o777 == 0o600
    assert secrets.keystore_dir.stat().st_mode & 0o777 == 0o700
    assert SECRET not in path.read_text()
    unlocked = Secrets(secrets.state_dir, "correct horse")
    assert unlocked.resolve("keystore:hl-agent").get_secret_value() == SECRET


def test_a_wrong_passphrase_is_refused_without_showing_anything(secrets: Secrets) -> None:
    secrets.add("k", SECRET, "right")
    with pytest.raises(ConfigError) as caught:
        Secrets(secrets.state_dir, "wrong").resolve("keystore:k")
    assert caught.value.message == "keystore:k: wrong passphrase, or the keystore file was altered"


def test_a_keystore_file_renamed_to_another_name_does_not_decrypt(secrets: Secrets) -> None:
    path = secrets.add("a", SECRET, "pw")
    path.rename(path.with_name("b.key"))
    with pytest.raises(ConfigError, match="^keystore:b: wrong passphrase"):
        Secrets(secrets.state_dir, "pw").resolve("keystore:b")


def test_a_tampered_keystore_file_does_not_decrypt(secrets: Secrets) -> None:
    path = secrets.add("k", SECRET, "pw")
    record = json.loads(path.read_text())
    record["ciphertext"] = record["ciphertext"][:-4] + ("AAAA" if not record["ciphertext"].endswith("AAAA") else "BBBB")
    path.write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="altered"):
        Secrets(secrets.state_dir, "pw").resolve("keystore:k")


def test_the_passphrase_comes_from_the_environment(secrets: Secrets, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.add("k", SECRET, "from-env")
    monkeypatch.setenv(PASSPHRASE_ENV, "from-env")
    assert Secrets(secrets.state_dir).resolve("keystore:k").get_secret_value() == SECRET


def test_one_prompt_unlocks_every_key(secrets: Secrets) -> None:
    secrets.add("a", "secret-a", "pw")
    secrets.add("b", "secret-b", "pw")
    prompts: list[str] = []
    prompting = Secrets(secrets.state_dir, prompt=lambda text: prompts.append(text) or "pw")
    assert prompting.resolve("keystore:a").get_secret_value() == "secret-a"
    assert prompting.resolve("keystore:b").get_secret_value() == "secret-b"
    assert prompts == ["Passphrase for keystore:a: "]


def test_without_a_passphrase_or_terminal_the_error_says_how_to_give_one(secrets: Secrets) -> None:
    secrets.add("k", SECRET, "pw")
    with pytest.raises(ConfigError, match=f"set \\${PASSPHRASE_ENV}"):
        Secrets(secrets.state_dir).resolve("keystore:k")


def test_a_missing_key_says_how_to_add_it(secrets: Secrets) -> None:
    with pytest.raises(ConfigError, match="perpd keys add nope"):
        Secrets(secrets.state_dir, "pw").resolve("keystore:nope")


def test_adding_an_existing_name_is_refused_and_remove_deletes(secrets: Secrets) -> None:
    secrets.add("k", SECRET, "pw")
    with pytest.raises(ConfigError, match="already exists"):
        secrets.add("k", "other", "pw")
    secrets.remove("k")
    assert secrets.list() == []
    with pytest.raises(ConfigError, match="no such key"):
        secrets.remove("k")


@pytest.mark.parametrize("name", ["", "../escape", ".hidden", "a/b", "x" * 65])
def test_key_names_that_could_escape_the_keystore_are_refused(secrets: Secrets, name: str) -> None:
    with pytest.raises(ConfigError, match="a key name is"):
        secrets.add(name, SECRET, "pw")


def test_verify_passphrase_checks_against_existing_keys(secrets: Secrets) -> None:
    assert secrets.verify_passphrase("anything")  # an empty keystore takes any passphrase
    secrets.add("k", SECRET, "pw")
    assert secrets.verify_passphrase("pw")
    assert not secrets.verify_passphrase("other")


def test_nothing_about_the_resolver_shows_the_passphrase(tmp_path: Path) -> None:
    holder = Secrets(tmp_path, "my-passphrase")
    assert "my-passphrase" not in repr(holder) and "my-passphrase" not in str(vars(holder))


def test_a_keystore_written_with_the_default_cost_resolves(tmp_path: Path) -> None:
    # The production scrypt cost, once, to prove the stored parameters are honoured.
    Secrets(tmp_path).add("k", SECRET, "pw")
    record = json.loads((tmp_path / "keystore" / "k.key").read_text())
    assert record["kdf"] == {"name": "scrypt", "n": 2**15, "r": 8, "p": 1}
    assert Secrets(tmp_path, "pw", scrypt_n=FAST).resolve("keystore:k").get_secret_value() == SECRET
    assert os.stat(tmp_path / "keystore" / "k.key").st_mode & 0o777 == 0o600
