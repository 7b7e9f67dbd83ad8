"""Who may do what on the emulator: registration, API keys, account groups, listen keys,
and the signature checks Vest makes (recover the signer; refuse any other key).

- `POST /register` checks the primary key's EIP-712 SignerProof (either verifying
  contract, production's or development's, since a client may be pointed at either),
  `networkType` 0 and an expiry in the future, then binds the signing key to the
  account and answers a fresh `apiKey` and the account's group. An account is the
  primary address; it is created funded on first registration.
- Private requests need a known `X-API-KEY` (else UNAUTHORIZED, HTTP 401) and the
  account's `xrestservermm: restserver{group}` (else INVALID_ACCOUNT_GROUP).
- A signed request must recover to the API key's signing key (or the account's primary
  key, which the docs also allow) while the registration lasts; anything else is
  INVALID_SIGNATURE (1022) and nothing happens.
- A listen key lives 60 minutes; POST returns the active one extended, PUT extends it
  (INVALID_LISTEN_KEY 1125 once expired), DELETE closes it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from perpd.clock import Clock
from venues.vest.constants import (
    LISTEN_KEY_SECS,
    MAINNET_VERIFYING_CONTRACT,
    NETWORK_TYPE,
    TESTNET_VERIFYING_CONTRACT,
    group_name,
)
from venues.vest.emulator.refusal import VestError
from venues.vest.errors import (
    INVALID_ACCOUNT_GROUP,
    INVALID_LISTEN_KEY,
    INVALID_NETWORK_TYPE,
    INVALID_PARAMETER,
    INVALID_SIGNATURE,
    UNAUTHORIZED,
)
from venues.vest.signing import recover, register_digest

CONTRACTS = (MAINNET_VERIFYING_CONTRACT, TESTNET_VERIFYING_CONTRACT)


@dataclass
class ApiKey:
    key: str
    account: str  # the primary address, lower case
    signer: str  # the signing address it was registered with, lower case
    expiry_ms: int


@dataclass
class VestAccount:
    primary: str
    group: int
    keys: set[str] = field(default_factory=set)
    listen_key: str | None = None
    listen_expiry_ms: int = 0


def _address(value: Any, what: str) -> str:
    text = str(value or "").lower()
    if len(text) != 42 or not text.startswith("0x"):
        raise VestError(INVALID_PARAMETER, f"{what} must be a 0x address")
    try:
        int(text[2:], 16)
    except ValueError:
        raise VestError(INVALID_PARAMETER, f"{what} must be a 0x address") from None
    return text


class Registry:
    """Accounts, API keys and listen keys of one emulator."""

    def __init__(self, clock: Clock, *, seed: int = 7, groups: int = 4) -> None:
        self.clock = clock
        self.groups = max(1, groups)
        self.accounts: dict[str, VestAccount] = {}
        self.keys: dict[str, ApiKey] = {}
        self.listen_keys: dict[str, str] = {}  # listen key -> account
        self._rng = random.Random(f"vest-auth-{seed}")

    def _token(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def group_of(self, primary: str) -> int:
        """An account's group: fixed by its address, as a shard would be."""
        return int(primary[2:], 16) % self.groups

    # ------------------------------------------------------------------ register

    def register(self, body: Mapping[str, Any]) -> tuple[VestAccount, ApiKey]:
        signing = _address(body.get("signingAddr"), "signingAddr")
        primary = _address(body.get("primaryAddr"), "primaryAddr")
        expiry = body.get("expiryTime")
        if not isinstance(expiry, int) or isinstance(expiry, bool):
            raise VestError(INVALID_PARAMETER, "expiryTime must be an integer (ms)")
        if body.get("networkType", NETWORK_TYPE) != NETWORK_TYPE:
            raise VestError(INVALID_NETWORK_TYPE, f"networkType {body.get('networkType')!r} is not supported")
        if expiry <= self.clock.now_ms():
            raise VestError(INVALID_PARAMETER, "expiryTime is in the past")
        signature = str(body.get("signature") or "")
        if not any(self._recovers(register_digest(signing, expiry, c), signature, {primary}) for c in CONTRACTS):
            raise VestError(INVALID_SIGNATURE, "the signature is not the primary key's SignerProof")
        account = self.accounts.get(primary)
        if account is None:
            account = self.accounts[primary] = VestAccount(primary, self.group_of(primary))
        api = ApiKey(self._token(), primary, signing, expiry)
        self.keys[api.key] = api
        account.keys.add(api.key)
        return account, api

    # ------------------------------------------------------------------ requests

    def authenticate(self, headers: Mapping[str, str]) -> tuple[VestAccount, ApiKey]:
        """The account and key of a private request, its group header checked."""
        api = self.keys.get(headers.get("x-api-key") or "")
        if api is None:
            raise VestError(UNAUTHORIZED, "missing or unknown X-API-KEY", status=401)
        account = self.accounts[api.account]
        if headers.get("xrestservermm") != group_name(account.group):
            raise VestError(INVALID_ACCOUNT_GROUP, f"this account is served by {group_name(account.group)}")
        return account, api

    def verify(self, api: ApiKey, digests: Iterable[bytes], signature: Any) -> None:
        """Accept if any candidate digest recovers to the signing key (or the primary)."""
        allowed = {api.account}
        if self.clock.now_ms() < api.expiry_ms:
            allowed.add(api.signer)
        if not isinstance(signature, str) or not any(self._recovers(d, signature, allowed) for d in digests):
            raise VestError(INVALID_SIGNATURE, "invalid signature")

    @staticmethod
    def _recovers(digest: bytes, signature: str, allowed: set[str]) -> bool:
        try:
            return recover(digest, signature) in allowed
        except ValueError:
            return False

    # ------------------------------------------------------------------ listen keys

    def listen_key(self, account: VestAccount) -> str:
        """POST: the active key extended by 60 minutes, or a new one."""
        now = self.clock.now_ms()
        if account.listen_key is None or account.listen_expiry_ms <= now:
            if account.listen_key is not None:
                self.listen_keys.pop(account.listen_key, None)
            account.listen_key = self._token()
            self.listen_keys[account.listen_key] = account.primary
        account.listen_expiry_ms = now + LISTEN_KEY_SECS * 1000
        return account.listen_key

    def extend_listen_key(self, account: VestAccount) -> str:
        """PUT: extend the active key; an expired or missing one is INVALID_LISTEN_KEY."""
        now = self.clock.now_ms()
        if account.listen_key is None or account.listen_expiry_ms <= now:
            raise VestError(INVALID_LISTEN_KEY, "Listen key expired. Make a POST request to create a new key.")
        account.listen_expiry_ms = now + LISTEN_KEY_SECS * 1000
        return account.listen_key

    def close_listen_key(self, account: VestAccount) -> None:
        if account.listen_key is not None:
            self.listen_keys.pop(account.listen_key, None)
        account.listen_key = None
        account.listen_expiry_ms = 0

    def listener(self, listen_key: str) -> tuple[VestAccount | None, bool]:
        """(account, expired) of a listen key; (None, False) if never issued or closed."""
        primary = self.listen_keys.get(listen_key)
        if primary is None:
            return None, False
        account = self.accounts[primary]
        return account, account.listen_expiry_ms <= self.clock.now_ms()
