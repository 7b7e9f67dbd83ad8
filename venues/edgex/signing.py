"""EdgeX V2 signatures, byte-identical to edgex-python-sdk 2.0.1.

Two signatures ride on every private call:

- Request auth (`RequestSigner`): HMAC-SHA256 over `timestamp + METHOD + path + body`,
  keyed with the ASCII of base64(secret) (the secret is encoded, not decoded), sent in
  `X-edgeX-Api-Key / -Passphrase / -Signature / -Timestamp`. `body` is the sorted
  `k=v&...` query of a GET (raw values), or the canonical form of a POST's JSON
  (`canonical`: objects as sorted `k=v` joined by `&`, lists joined by `&`, booleans
  `true`/`false`, null as ``). The private WebSocket signs `GET /api/v1/private/ws` with
  `accountId={id}&timestamp={ts}` and also sends the four headers as a base64 subprotocol.
- Order signature (`OrderSigner`): which scheme signs an order is swappable. V2 is
  `Eip712OrderSigner`: EIP-712 `LimitOrderParams{OrderBase base, ...}` in the domain
  {"EdgeX", "1", chainId, contractAddress} from the venue's metadata, signed on
  secp256k1 with the "SDK Signer" key; `l2Signature` is r||s||v as 130 hex digits
  without 0x. A V1 (StarkEx/Pedersen) signer would implement the same `OrderSigner`
  protocol over the same `L2Order`.

The EIP-712 digest is computed here by hand (keccak from pycryptodome) and signed by
libsecp256k1 through coincurve (RFC 6979 nonces, low s), the approach of
venues/hyperliquid/signing.py: the tests prove the digest and signature equal
eth_account's and the SDK's. Keys never show: reprs carry the address or API key id only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

import coincurve
from Crypto.Hash import keccak as _keccak

HEADER_PREFIX = "X-edgeX-"
API_KEY_HEADER = "X-edgeX-Api-Key"
PASSPHRASE_HEADER = "X-edgeX-Passphrase"
SIGNATURE_HEADER = "X-edgeX-Signature"
TIMESTAMP_HEADER = "X-edgeX-Timestamp"
PRIVATE_WS_PATH = "/api/v1/private/ws"
DOMAIN_NAME = "EdgeX"
DOMAIN_VERSION = "1"


def keccak256(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


# --------------------------------------------------------------------------- request auth


def canonical(value: Any) -> str:
    """The SDK's `get_value`: the text a POST body is signed as."""
    if value.__class__ is dict:  # the common case first: a flat body of strings and flags
        parts = []
        for key in sorted(value):
            item = value[key]
            kind = item.__class__
            if kind is str:
                parts.append(f"{key}={item}")
            elif kind is bool:
                parts.append(f"{key}=true" if item else f"{key}=false")
            elif item is None:
                parts.append(f"{key}=")
            else:
                parts.append(f"{key}={canonical(item)}")
        return "&".join(parts)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list | tuple):
        return "&".join(canonical(item) for item in value)
    if isinstance(value, Mapping):
        return "&".join(f"{k}={canonical(value[k])}" for k in sorted(value))
    return str(value)


def canonical_query(params: Mapping[str, Any]) -> str:
    """A GET's signed text: `k=v` sorted by key, raw values (not URL-encoded)."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()))


class RequestSigner:
    """HMAC request auth of one API key; shows none of it."""

    __slots__ = ("_api_key", "_passphrase", "_mac")

    def __init__(self, api_key: str, passphrase: str, secret: str) -> None:
        if not api_key or not passphrase or not secret:
            raise ValueError("an EdgeX API key needs its key, passphrase and secret")
        self._api_key = api_key
        self._passphrase = passphrase
        # The ASCII of base64(secret) is the HMAC key; keyed once, copied per request.
        self._mac = hmac.new(base64.b64encode(secret.encode()), digestmod=hashlib.sha256)

    def __repr__(self) -> str:
        return "<RequestSigner>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a RequestSigner cannot be pickled")

    def signature(self, timestamp_ms: int | str, method: str, path: str, body: str) -> str:
        mac = self._mac.copy()
        mac.update(f"{timestamp_ms}{method}{path}{body}".encode())
        return mac.hexdigest()

    def headers(self, timestamp_ms: int | str, method: str, path: str, body: str) -> dict[str, str]:
        """The four X-edgeX-* headers of one request."""
        stamp = str(timestamp_ms)
        mac = self._mac.copy()
        mac.update(f"{stamp}{method}{path}{body}".encode())
        return {
            API_KEY_HEADER: self._api_key,
            PASSPHRASE_HEADER: self._passphrase,
            SIGNATURE_HEADER: mac.hexdigest(),
            TIMESTAMP_HEADER: stamp,
        }

    def websocket_auth(self, account_id: int, timestamp_ms: int) -> tuple[dict[str, str], str]:
        """(headers, subprotocol) of the private WebSocket handshake, as the SDK sends them:
        the subprotocol is base64(JSON of the headers) without `=` padding."""
        headers = self.headers(timestamp_ms, "GET", PRIVATE_WS_PATH, f"accountId={account_id}&timestamp={timestamp_ms}")
        protocol = base64.b64encode(json.dumps(headers).encode()).decode().rstrip("=")
        return headers, protocol


# --------------------------------------------------------------------------- order signing


def order_nonce(client_order_id: str) -> int:
    """`l2Nonce`: the first 8 hex digits of sha256(clientOrderId), as the SDK computes it
    (`int(hexdigest[:8], 16)`: the first four bytes of the digest)."""
    return int.from_bytes(hashlib.sha256(client_order_id.encode()).digest()[:4], "big")


class L2Order(NamedTuple):
    """What an order signature covers, in the venue's own units (before any scaling).
    A NamedTuple: it is built once per order on the hot path."""

    account_id: int
    nonce: int
    expire_time_ms: int  # the body's expireTime
    is_buy: bool
    size: Decimal  # l2Size
    value: Decimal  # l2Value: the collateral cap (price x size)
    fee: Decimal  # l2LimitFee: the fee cap
    contract_id: int
    collateral_coin_id: int
    contract_resolution: Decimal
    collateral_resolution: Decimal


class OrderSigner(Protocol):
    """Signs orders for one account; the scheme depends on the API generation."""

    @property
    def address(self) -> str: ...

    def sign_order(self, order: L2Order) -> str:
        """The body's `l2Signature` for `order`."""
        ...


_DOMAIN_TYPEHASH = keccak256(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_ORDER_BASE = b"OrderBase(uint256 nonce,address signer,uint64 accountId,uint256 expirationTimestamp)"
_ORDER_BASE_TYPEHASH = keccak256(_ORDER_BASE)
_LIMIT_ORDER_TYPEHASH = keccak256(
    b"LimitOrderParams(OrderBase base,int256 amountSynthetic,int256 amountCollateral,uint256 amountFee,"
    b"uint64 assetIdSynthetic,uint64 assetIdCollateral,bool isBuyingSynthetic,bytes32 parentOrderHash,"
    b"uint256 subOrderIndex)" + _ORDER_BASE
)
_TRUE = (1).to_bytes(32, "big")
_FALSE = bytes(32)
_ZERO_HASH_AND_INDEX = bytes(64)  # parentOrderHash (zero) and subOrderIndex (0)
_TWO_256 = 1 << 256


def _word(value: int) -> bytes:
    """A 32-byte ABI word; negative values in two's complement (int256)."""
    return (value if value >= 0 else value + _TWO_256).to_bytes(32, "big")


def domain_separator(chain_id: int, verifying_contract: str) -> bytes:
    return keccak256(
        _DOMAIN_TYPEHASH + keccak256(DOMAIN_NAME.encode()) + keccak256(DOMAIN_VERSION.encode())
        + chain_id.to_bytes(32, "big") + bytes(12) + _address_bytes(verifying_contract)
    )


def order_amounts(order: L2Order) -> tuple[int, int, int]:
    """(amountSynthetic, amountCollateral, amountFee): Python int() truncation, as the SDK."""
    return (
        int(order.size * order.contract_resolution),
        int(order.value * order.collateral_resolution),
        int(order.fee * order.collateral_resolution),
    )


def order_digest(order: L2Order, signer_address: str, domain: bytes) -> bytes:
    """The EIP-712 digest of `LimitOrderParams` for `order` signed by `signer_address`."""
    synthetic, collateral, fee = order_amounts(order)
    base = keccak256(
        _ORDER_BASE_TYPEHASH + order.nonce.to_bytes(32, "big") + bytes(12) + _address_bytes(signer_address)
        + order.account_id.to_bytes(32, "big") + (order.expire_time_ms // 1000).to_bytes(32, "big")
    )
    struct = keccak256(
        _LIMIT_ORDER_TYPEHASH + base + _word(synthetic) + _word(collateral) + fee.to_bytes(32, "big")
        + order.contract_id.to_bytes(32, "big") + order.collateral_coin_id.to_bytes(32, "big")
        + (_TRUE if order.is_buy else _FALSE) + _ZERO_HASH_AND_INDEX
    )
    return keccak256(b"\x19\x01" + domain + struct)


class Eip712OrderSigner:
    """V2 order signatures with the account's "SDK Signer" key. Never reveals the key."""

    __slots__ = ("_key", "address", "_address_word", "domain")

    def __init__(self, private_key: str, *, chain_id: int, verifying_contract: str) -> None:
        try:
            self._key = coincurve.PrivateKey(_parse_key(private_key))
        except ValueError:
            raise
        except Exception:
            raise ValueError("the trading key is not a valid secp256k1 private key") from None
        self.address = checksum_address(address_of_public_key(self._key.public_key))
        self.domain = domain_separator(chain_id, verifying_contract)

    def __repr__(self) -> str:
        return f"<Eip712OrderSigner {self.address}>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an order signer cannot be pickled")

    def sign_digest(self, digest: bytes) -> str:
        signature = self._key.sign_recoverable(digest, hasher=None)  # r || s || recovery id
        return signature[:64].hex() + format(27 + signature[64], "02x")

    def sign_order(self, order: L2Order) -> str:
        return self.sign_digest(order_digest(order, self.address, self.domain))


def recover_signer(digest: bytes, l2_signature: str) -> str:
    """The checksummed address that produced `l2_signature` (130 hex, optional 0x) over
    `digest`; ValueError if it is malformed."""
    text = l2_signature[2:] if l2_signature.startswith(("0x", "0X")) else l2_signature
    if len(text) != 130:
        raise ValueError("an l2Signature is 65 bytes of hex")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError("an l2Signature is 65 bytes of hex") from None
    recovery = raw[64] - 27 if raw[64] >= 27 else raw[64]
    if recovery not in (0, 1):
        raise ValueError("malformed signature (v)")
    try:
        key = coincurve.PublicKey.from_signature_and_message(raw[:64] + bytes([recovery]), digest, hasher=None)
    except Exception as exc:  # coincurve raises its own error types on bad points
        raise ValueError("malformed signature") from exc
    return checksum_address(address_of_public_key(key))


def address_of_public_key(public_key: coincurve.PublicKey) -> str:
    return "0x" + keccak256(public_key.format(compressed=False)[1:])[-20:].hex()


def address_of_key(private_key: str) -> str:
    """The checksummed address of a private key (ValueError if it is not one)."""
    try:
        key = coincurve.PrivateKey(_parse_key(private_key))
    except ValueError:
        raise
    except Exception:
        raise ValueError("not a valid secp256k1 private key") from None
    return checksum_address(address_of_public_key(key.public_key))


def checksum_address(address: str) -> str:
    """EIP-55 mixed-case form of a 0x address."""
    body = address[2:].lower()
    digest = keccak256(body.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(body))


def _address_bytes(address: str) -> bytes:
    body = address[2:] if address.startswith(("0x", "0X")) else address
    raw = bytes.fromhex(body)
    if len(raw) != 20:
        raise ValueError("an address is 20 bytes of hex")
    return raw


def _parse_key(text: str) -> bytes:
    body = text.strip()
    body = body[2:] if body.startswith(("0x", "0X")) else body
    if len(body) != 64:
        raise ValueError("a private key is 32 bytes of hex")
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise ValueError("a private key is 32 bytes of hex") from None
