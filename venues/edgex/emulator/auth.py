"""What the emulator checks before it acts: API keys (HMAC request auth) and order
signatures (EIP-712), done the way EdgeX does and independently of perpd's own signing.

- `Keyring.verify(...)`: the X-edgeX-* headers (the timestamp header under either
  spelling the docs use), the passphrase, the timestamp within +/- 60 s of the
  emulator's clock, and HMAC-SHA256 keyed with the ASCII of base64(secret) over
  `timestamp + METHOD + path + body`, where body is the sorted, decoded query of a GET
  or the canonical form of a POST's parsed JSON; the API key must belong to the
  `accountId` asked about.
- `recover_order_signer(...)`: rebuilds `LimitOrderParams` from the body and the
  metadata and recovers the signer with eth_account; it must be the address the
  account registered.

Credentials are provisioned by the emulator (EdgeX's SDK cannot create keys):
`Keyring.provision()` makes an account with deterministic credentials derived from
the emulator's seed (`derive_credentials`), or with the values given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address

from venues.edgex.constants import TIMESTAMP_WINDOW_MS
from venues.edgex.emulator.markets import CHAIN_ID, CONTRACT_ADDRESS
from venues.edgex.errors import ACCOUNT_NOT_FOUND, INVALID_L2_SIGNATURE, INVALID_TIMESTAMP, SIGNATURE_ERROR


class EdgexError(Exception):
    """A refusal in EdgeX's words: `{"code": code, "msg": msg}` with an HTTP status."""

    def __init__(self, code: str, msg: str, status: int = 200) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status


@dataclass(frozen=True, slots=True)
class Credentials:
    """One account's API key and the trading address its orders must be signed by."""

    account_id: int
    api_key: str
    passphrase: str = field(repr=False)
    secret: str = field(repr=False)
    address: str  # checksummed
    trading_key: str | None = field(default=None, repr=False)  # known only when the emulator made it

    def as_json(self) -> dict[str, Any]:
        return {"accountId": str(self.account_id), "apiKey": self.api_key, "passphrase": self.passphrase,
                "secret": self.secret, "address": self.address, "tradingKey": self.trading_key}

    def as_option(self) -> str:
        """`ID:APIKEY:PASSPHRASE:SECRET:ADDRESS`, the form `parse_account` reads."""
        return f"{self.account_id}:{self.api_key}:{self.passphrase}:{self.secret}:{self.address}"


def _hex(seed: int, index: int, field: str, nbytes: int) -> str:
    return hashlib.blake2b(f"perpd-edgex-emulator:{seed}:{index}:{field}".encode(), digest_size=nbytes).hexdigest()


def derive_credentials(seed: int, index: int) -> Credentials:
    """The `index`-th account the emulator provisions under `seed` (0 is the demo account
    it creates at start). Values are hex: they never need escaping anywhere."""
    account_id = 100_000_000_000_000_000 + int(_hex(seed, index, "account", 8), 16) % 900_000_000_000_000_000
    trading_key = "0x" + _hex(seed, index, "trading-key", 32)
    return Credentials(
        account_id=account_id,
        api_key=_hex(seed, index, "api-key", 16),
        passphrase=_hex(seed, index, "passphrase", 8),
        secret=_hex(seed, index, "secret", 24),
        address=Account.from_key(trading_key).address,
        trading_key=trading_key,
    )


def parse_account(option: str) -> Credentials:
    """`ID:APIKEY:PASSPHRASE:SECRET:ADDRESS` -> Credentials (ValueError says what is wrong)."""
    parts = option.split(":")
    if len(parts) != 5:
        raise ValueError("an account is ID:APIKEY:PASSPHRASE:SECRET:ADDRESS (five parts)")
    account_id, api_key, passphrase, secret, address = parts
    if not account_id.isdigit() or not 0 < int(account_id) < 2**63:
        raise ValueError("the account id must be a positive 63-bit number")
    if not (api_key and passphrase and secret):
        raise ValueError("the api key, passphrase and secret must not be empty")
    return Credentials(int(account_id), api_key, passphrase, secret, checksum(address))


def checksum(address: str) -> str:
    body = address[2:] if address.startswith(("0x", "0X")) else address
    if len(body) != 40:
        raise ValueError("the address must be 0x and 40 hex digits")
    try:
        bytes.fromhex(body)
    except ValueError:
        raise ValueError("the address must be 0x and 40 hex digits") from None
    return str(to_checksum_address("0x" + body))


def canonical(value: Any) -> str:
    """EdgeX's canonical text of a JSON value (what a POST body is signed as)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "&".join(canonical(v) for v in value)
    if isinstance(value, dict):
        return "&".join(f"{k}={canonical(value[k])}" for k in sorted(value))
    return str(value)


def query_body(pairs: Iterable[tuple[str, str]]) -> str:
    """The signed text of a GET: the decoded pairs sorted by key (duplicates kept once)."""
    seen: dict[str, str] = {}
    for key, value in pairs:
        seen.setdefault(key, value)
    return "&".join(f"{k}={v}" for k, v in sorted(seen.items()))


def header(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return None


class Keyring:
    """API keys of the emulator's accounts."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.by_key: dict[str, Credentials] = {}
        self.by_account: dict[int, Credentials] = {}
        self._next = 0

    def add(self, credentials: Credentials) -> Credentials:
        if credentials.api_key in self.by_key and self.by_key[credentials.api_key] != credentials:
            raise EdgexError("INVALID_PARAMETER", "that api key is already in use", 400)
        old = self.by_account.get(credentials.account_id)
        if old is not None:
            self.by_key.pop(old.api_key, None)
        self.by_key[credentials.api_key] = credentials
        self.by_account[credentials.account_id] = credentials
        return credentials

    def provision(self, **given: Any) -> Credentials:
        """A new account: derived credentials, any of them replaced by `given` values
        (account_id, api_key, passphrase, secret, address)."""
        while True:
            derived = derive_credentials(self.seed, self._next)
            self._next += 1
            if derived.account_id not in self.by_account and derived.api_key not in self.by_key:
                break
        if given.get("address") and not given.get("trading_key"):
            derived = Credentials(derived.account_id, derived.api_key, derived.passphrase, derived.secret,
                                  checksum(str(given["address"])), None)
        values = {
            "account_id": int(given.get("account_id") or derived.account_id),
            "api_key": str(given.get("api_key") or derived.api_key),
            "passphrase": str(given.get("passphrase") or derived.passphrase),
            "secret": str(given.get("secret") or derived.secret),
            "address": derived.address,
            "trading_key": derived.trading_key,
        }
        return self.add(Credentials(**values))

    def verify(self, headers: Mapping[str, str], method: str, path: str, body: str, now_ms: int,
               timestamp: str | None = None) -> Credentials:
        """The credentials a signed request was made with; EdgexError if it does not verify."""
        api_key = header(headers, "x-edgex-api-key")
        passphrase = header(headers, "x-edgex-passphrase")
        signature = header(headers, "x-edgex-signature", "x-edgex-api-signature")
        stamp = timestamp or header(headers, "x-edgex-timestamp", "x-edgex-api-timestamp")
        if not (api_key and passphrase and signature and stamp):
            raise EdgexError(SIGNATURE_ERROR, "missing X-edgeX-Api-Key, -Passphrase, -Signature or -Timestamp", 401)
        credentials = self.by_key.get(api_key)
        if credentials is None or not hmac.compare_digest(credentials.passphrase, passphrase):
            raise EdgexError(SIGNATURE_ERROR, "invalid api key or passphrase", 401)
        if not stamp.isdigit() or abs(now_ms - int(stamp)) > TIMESTAMP_WINDOW_MS:
            raise EdgexError(INVALID_TIMESTAMP, f"timestamp {stamp} is not within 60 seconds of {now_ms}", 401)
        key = base64.b64encode(credentials.secret.encode())
        expected = hmac.new(key, f"{stamp}{method}{path}{body}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise EdgexError(SIGNATURE_ERROR, "signature does not match", 401)
        return credentials

    def account(self, account_id: int) -> Credentials:
        credentials = self.by_account.get(account_id)
        if credentials is None:
            raise EdgexError(ACCOUNT_NOT_FOUND, f"account {account_id} not found")
        return credentials


def subprotocol_headers(protocol: str) -> dict[str, str]:
    """The auth headers a browser-style client puts in Sec-WebSocket-Protocol:
    base64(JSON), `=` padding stripped."""
    try:
        raw = base64.b64decode(protocol + "=" * (-len(protocol) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        return {}
    return {str(k).lower(): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


# --------------------------------------------------------------------------- order signatures

_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"},
    ],
    "OrderBase": [
        {"name": "nonce", "type": "uint256"}, {"name": "signer", "type": "address"},
        {"name": "accountId", "type": "uint64"}, {"name": "expirationTimestamp", "type": "uint256"},
    ],
    "LimitOrderParams": [
        {"name": "base", "type": "OrderBase"}, {"name": "amountSynthetic", "type": "int256"},
        {"name": "amountCollateral", "type": "int256"}, {"name": "amountFee", "type": "uint256"},
        {"name": "assetIdSynthetic", "type": "uint64"}, {"name": "assetIdCollateral", "type": "uint64"},
        {"name": "isBuyingSynthetic", "type": "bool"}, {"name": "parentOrderHash", "type": "bytes32"},
        {"name": "subOrderIndex", "type": "uint256"},
    ],
}
_DOMAIN = {"name": "EdgeX", "version": "1", "chainId": CHAIN_ID, "verifyingContract": CONTRACT_ADDRESS}


def recover_order_signer(body: Mapping[str, Any], signer: str, contract_resolution: Decimal,
                         quote_resolution: Decimal, quote_coin_id: str) -> str:
    """The address that signed `body`'s LimitOrderParams, assuming `signer` in OrderBase
    (as EdgeX does: the account's registered address). EdgexError if malformed."""
    try:
        message = {
            "base": {
                "nonce": int(body["l2Nonce"]),
                "signer": signer,
                "accountId": int(body["accountId"]),
                "expirationTimestamp": int(body["expireTime"]) // 1000,
            },
            "amountSynthetic": int(Decimal(body["l2Size"]) * contract_resolution),
            "amountCollateral": int(Decimal(body["l2Value"]) * quote_resolution),
            "amountFee": int(Decimal(body["l2LimitFee"]) * quote_resolution),
            "assetIdSynthetic": int(body["contractId"]),
            "assetIdCollateral": int(quote_coin_id),
            "isBuyingSynthetic": body["side"] == "BUY",
            "parentOrderHash": bytes(32),
            "subOrderIndex": 0,
        }
        text = str(body["l2Signature"])
        raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
        if len(raw) != 65:
            raise ValueError("length")
        signable = encode_typed_data(full_message={"types": _TYPES, "primaryType": "LimitOrderParams",
                                                   "domain": _DOMAIN, "message": message})
        return str(Account.recover_message(signable, signature=raw))
    except Exception as exc:  # noqa: BLE001 - any malformed field is one refusal
        raise EdgexError(INVALID_L2_SIGNATURE, f"l2Signature does not verify ({type(exc).__name__})") from None
