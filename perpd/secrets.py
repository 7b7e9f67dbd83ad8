"""Resolve secret references into secrets, and keep the encrypted keystore.

The config holds references only; this module turns them into values at the last moment:

    env:NAME        the environment variable NAME
    file:/path      the file's content, stripped of surrounding whitespace; refused if the
                    file is accessible by group or others (it must be 0600 or stricter)
    keystore:NAME   `<state_dir>/keystore/NAME.key`, encrypted with AES-256-GCM under a key
                    derived from a passphrase by scrypt; the passphrase comes from the
                    constructor, `$PERPD_KEYSTORE_PASSPHRASE` or a prompt on the terminal

Resolved values are `pydantic.SecretStr`, so a repr, a log line or an error shows
`**********`. Errors are `ConfigError`s naming the reference (never the secret, and
never a string that is not a well-formed reference, since that may be a pasted secret).
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import SecretStr

from perpd.errors import ConfigError

PASSPHRASE_ENV = "PERPD_KEYSTORE_PASSPHRASE"
KEYSTORE_DIR = "keystore"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FORMAT = "perpd-keystore-1"

# scrypt cost: 2**15 x 8 x 1 takes ~0.1 s and 32 MiB per derivation, which is what makes
# guessing a passphrase from a stolen file expensive. Stored per file so it can be raised.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1

Prompt = Callable[[str], str]


class Secrets:
    """Resolve `env:` / `file:` / `keystore:` references; manage the keystore.

    An instance is a `SecretResolver` (venues/base.py): `secrets("env:HL_KEY")` works
    like `secrets.resolve("env:HL_KEY")`.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        passphrase: str | SecretStr | None = None,
        *,
        prompt: Prompt | None = None,
        scrypt_n: int = SCRYPT_N,
    ) -> None:
        self.state_dir = Path(state_dir).expanduser()
        self._passphrase = _as_secret(passphrase)
        self._prompt = prompt
        self._scrypt_n = scrypt_n

    def __repr__(self) -> str:
        return f"<Secrets {self.state_dir}>"

    @property
    def keystore_dir(self) -> Path:
        return self.state_dir / KEYSTORE_DIR

    # ------------------------------------------------------------------ resolving

    def __call__(self, ref: str) -> SecretStr:
        return self.resolve(ref)

    def resolve(self, ref: str) -> SecretStr:
        """Return the secret a reference points to; ConfigError names the reference."""
        scheme, _, rest = ref.partition(":") if isinstance(ref, str) else ("", "", "")
        if scheme == "env" and _ENV_NAME.match(rest):
            return self._from_env(ref, rest)
        if scheme == "file" and rest:
            return self._from_file(ref, Path(rest).expanduser())
        if scheme == "keystore" and _KEY_NAME.match(rest):
            return self._from_keystore(ref, rest)
        # Do not echo the value: a literal secret pasted here must not reach a log.
        raise ConfigError(
            "not a secret reference (expected env:NAME, file:/path or keystore:NAME)"
        )

    def _from_env(self, ref: str, name: str) -> SecretStr:
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"{ref}: environment variable {name} is not set")
        return SecretStr(value)

    def _from_file(self, ref: str, path: Path) -> SecretStr:
        try:
            info = path.stat()
        except OSError as exc:
            raise ConfigError(f"{ref}: cannot read {path} ({exc.strerror})") from None
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{ref}: {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"{ref}: {path} is accessible by group or others (mode {mode:04o}); "
                f"run chmod 600 {path}"
            )
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"{ref}: cannot read {path} ({reason})") from None
        if not value:
            raise ConfigError(f"{ref}: {path} is empty")
        return SecretStr(value)

    def _from_keystore(self, ref: str, name: str) -> SecretStr:
        path = self._key_path(name)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("format") != _FORMAT:
                raise ValueError(record.get("format"))
            kdf = record["kdf"]
            salt, nonce, blob = (base64.b64decode(record[k]) for k in ("salt", "nonce", "ciphertext"))
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        except FileNotFoundError:
            raise ConfigError(f"{ref}: no such key in {self.keystore_dir} (add it with `perpd keys add {name}`)") from None
        except OSError as exc:
            raise ConfigError(f"{ref}: cannot read {path} ({exc.strerror})") from None
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{ref}: {path} is not a perpd keystore file") from None
        passphrase = self._passphrase_for(ref)
        try:
            plain = AESGCM(_derive(passphrase, salt, n, r, p)).decrypt(nonce, blob, _aad(name))
        except InvalidTag:
            raise ConfigError(f"{ref}: wrong passphrase, or the keystore file was altered") from None
        # Remember a passphrase that worked, so several keys unlock with one prompt.
        self._passphrase = SecretStr(passphrase)
        return SecretStr(plain.decode("utf-8"))

    def _passphrase_for(self, ref: str) -> str:
        if self._passphrase is not None:
            return self._passphrase.get_secret_value()
        from_env = os.environ.get(PASSPHRASE_ENV)
        if from_env:
            return from_env
        if self._prompt is not None:
            return self._prompt(f"Passphrase for {ref}: ")
        if sys.stdin is not None and sys.stdin.isatty():
            return getpass.getpass(f"Passphrase for {ref}: ")
        raise ConfigError(f"{ref}: no keystore passphrase (set ${PASSPHRASE_ENV} or run on a terminal)")

    # ------------------------------------------------------------------ keystore

    def add(self, name: str, secret: str | SecretStr, passphrase: str | SecretStr) -> Path:
        """Encrypt `secret` under `passphrase` as keystore:NAME; refuse to overwrite."""
        _check_name(name)
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        phrase = passphrase.get_secret_value() if isinstance(passphrase, SecretStr) else passphrase
        if not value:
            raise ConfigError(f"keystore:{name}: the secret is empty")
        if not phrase:
            raise ConfigError(f"keystore:{name}: the passphrase is empty")
        path = self._key_path(name)
        if path.exists():
            raise ConfigError(f"keystore:{name}: already exists (remove it first with `perpd keys remove {name}`)")
        salt, nonce = os.urandom(16), os.urandom(12)
        key = _derive(phrase, salt, self._scrypt_n, SCRYPT_R, SCRYPT_P)
        record = {
            "format": _FORMAT,
            "name": name,
            "kdf": {"name": "scrypt", "n": self._scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P},
            "cipher": "aes-256-gcm",
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(AESGCM(key).encrypt(nonce, value.encode("utf-8"), _aad(name))).decode(),
        }
        self._ensure_dir()
        tmp = path.with_name(f".{path.name}.tmp")
        # Create 0600 from the start: never a moment where the file is readable by others.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return path

    def list(self) -> list[str]:
        """Names of the keys in the keystore, sorted."""
        if not self.keystore_dir.is_dir():
            return []
        return sorted(p.stem for p in self.keystore_dir.glob("*.key") if _KEY_NAME.match(p.stem))

    def remove(self, name: str) -> None:
        """Delete keystore:NAME; ConfigError if there is no such key."""
        _check_name(name)
        try:
            self._key_path(name).unlink()
        except FileNotFoundError:
            raise ConfigError(f"keystore:{name}: no such key in {self.keystore_dir}") from None

    def verify_passphrase(self, passphrase: str | SecretStr) -> bool:
        """True if `passphrase` opens the keystore's first key (or the keystore is empty).

        Every key should share one passphrase: the daemon unlocks them all with one.
        """
        names = self.list()
        if not names:
            return True
        try:
            Secrets(self.state_dir, passphrase).resolve(f"keystore:{names[0]}")
        except ConfigError:
            return False
        return True

    def _key_path(self, name: str) -> Path:
        return self.keystore_dir / f"{name}.key"

    def _ensure_dir(self) -> None:
        self.keystore_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.keystore_dir, 0o700)


def _check_name(name: str) -> None:
    if not _KEY_NAME.match(name):
        raise ConfigError(
            f"keystore:{name}: a key name is 1-64 letters, digits, '_', '.', '-', starting with a letter or digit"
        )


def _as_secret(value: str | SecretStr | None) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value
    return SecretStr(value)


def _aad(name: str) -> bytes:
    # Binding the name into the tag: a file copied to another name does not decrypt.
    return f"perpd-keystore:{name}".encode()


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
