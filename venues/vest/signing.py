"""Vest's signatures, byte-identical to the documented eth_abi + eth_account recipe.

Vest has no SDK; its API page gives the recipe, and three independent implementations
agree on it (../shared/venues/sdk-wire-notes.md section 3.1):

    args      = keccak(abi.encode(types, values))           # standard, non-packed ABI
    signature = personal_sign(args)                         # EIP-191 over the 32-byte hash
              = secp256k1(keccak("\\x19Ethereum Signed Message:\\n32" || args)), r || s || v
    orders:  [uint256 time, uint256 nonce, string orderType, string symbol, bool isBuy,
              string size, string limitPrice, bool reduceOnly]
    cancels: [uint256 time, uint256 nonce, string id]

`size` and `limitPrice` are signed as the exact strings sent. A TP/SL child attached to a
LIMIT order signs the parent's fields with orderType TAKE_PROFIT / STOP_LOSS, isBuy
flipped, limitPrice = the tp/sl price and reduceOnly true.

POST /register binds a signing (delegate) key to the primary wallet: the primary key
signs the EIP-712 `SignerProof{approvedSigner address, signerExpiry uint256}` under the
domain {name "VestRouterV2", version "0.0.1", verifyingContract} — with no chainId.

eth_account signs about 1,500 orders a second; this module hashes by hand and signs with
libsecp256k1 through coincurve (RFC 6979 nonces, low s: the same r, s and v), proven
equal to eth_account and to `signing_vectors.json` by the tests. Keys never show: repr,
str and errors carry the address only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import coincurve
from Crypto.Hash import keccak as _keccak

from venues.vest.constants import REGISTER_DOMAIN_NAME, REGISTER_DOMAIN_VERSION

ORDER_TYPES = ("uint256", "uint256", "string", "string", "bool", "string", "string", "bool")
CANCEL_TYPES = ("uint256", "uint256", "string")
_PERSONAL_PREFIX = b"\x19Ethereum Signed Message:\n32"
_WORD = 32


def keccak256(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


# --------------------------------------------------------------------------- ABI


def _uint(value: int) -> bytes:
    if isinstance(value, bool) or not 0 <= value < 2**256:
        raise ValueError(f"not a uint256: {value!r}")
    return value.to_bytes(_WORD, "big")


def _address(value: str) -> bytes:
    raw = bytes.fromhex(value[2:] if value.startswith(("0x", "0X")) else value)
    if len(raw) != 20:
        raise ValueError(f"not an address: {value!r}")
    return raw.rjust(_WORD, b"\x00")


def abi_encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """`eth_abi.encode(types, values)` for uint256, bool, address and string."""
    if len(types) != len(values):
        raise ValueError("types and values differ in length")
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = _WORD * len(types)
    for kind, value in zip(types, values, strict=True):
        if kind == "uint256":
            heads.append(_uint(int(value)))
        elif kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"not a bool: {value!r}")
            heads.append(_uint(int(value)))
        elif kind == "address":
            heads.append(_address(str(value)))
        elif kind == "string":
            data = str(value).encode()
            padded = data + b"\x00" * (-len(data) % _WORD)
            heads.append(_uint(offset))
            tail = _uint(len(data)) + padded
            tails.append(tail)
            offset += len(tail)
        else:
            raise ValueError(f"unsupported ABI type {kind!r}")
    return b"".join(heads) + b"".join(tails)


def order_args_hash(time: int, nonce: int, order_type: str, symbol: str, is_buy: bool, size: str,
                    limit_price: str, reduce_only: bool) -> bytes:
    """keccak(abi.encode(...)) of an order's eight signed fields."""
    return keccak256(abi_encode(ORDER_TYPES, (time, nonce, order_type, symbol, is_buy, size, limit_price, reduce_only)))


def cancel_args_hash(time: int, nonce: int, order_id: str) -> bytes:
    return keccak256(abi_encode(CANCEL_TYPES, (time, nonce, order_id)))


def personal_digest(message_hash: bytes) -> bytes:
    """The EIP-191 digest of a 32-byte message (`encode_defunct(primitive=hash)`)."""
    return keccak256(_PERSONAL_PREFIX + message_hash)


# --------------------------------------------------------------------------- EIP-712 (register)

_DOMAIN_TYPEHASH = keccak256(b"EIP712Domain(string name,string version,address verifyingContract)")
_SIGNER_PROOF_TYPEHASH = keccak256(b"SignerProof(address approvedSigner,uint256 signerExpiry)")


def register_digest(signing_address: str, expiry_ms: int, verifying_contract: str) -> bytes:
    """The EIP-712 digest of SignerProof{approvedSigner, signerExpiry} (no chainId)."""
    domain = keccak256(
        _DOMAIN_TYPEHASH + keccak256(REGISTER_DOMAIN_NAME.encode()) + keccak256(REGISTER_DOMAIN_VERSION.encode())
        + _address(verifying_contract)
    )
    struct = keccak256(_SIGNER_PROOF_TYPEHASH + _address(signing_address) + _uint(expiry_ms))
    return keccak256(b"\x19\x01" + domain + struct)


# --------------------------------------------------------------------------- keys


def address_of(public_key: coincurve.PublicKey) -> str:
    """Lower-case 0x address of a secp256k1 public key."""
    return "0x" + keccak256(public_key.format(compressed=False)[1:])[-20:].hex()


def signature_bytes(signature: str) -> bytes:
    """65 bytes r || s || recovery id from hex, with or without 0x, v 0/1 or 27/28."""
    text = signature[2:] if signature.startswith(("0x", "0X")) else signature
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError("a signature is 65 bytes of hex") from None
    if len(raw) != 65:
        raise ValueError("a signature is 65 bytes of hex")
    v = raw[64] - 27 if raw[64] >= 27 else raw[64]
    if v not in (0, 1):
        raise ValueError("a signature's v is 27 or 28")
    return raw[:64] + bytes([v])


def recover(digest: bytes, signature: str) -> str:
    """Lower-case address that signed `digest`; ValueError for a malformed signature."""
    try:
        key = coincurve.PublicKey.from_signature_and_message(signature_bytes(signature), digest, hasher=None)
    except ValueError:
        raise
    except Exception as exc:  # coincurve raises its own types for points off the curve
        raise ValueError("malformed signature") from exc
    return address_of(key)


def recover_personal(message_hash: bytes, signature: str) -> str:
    """The signer of an EIP-191 personal_sign over a 32-byte hash (how Vest verifies)."""
    return recover(personal_digest(message_hash), signature)


def parse_private_key(text: str) -> bytes:
    body = text.strip()
    body = body[2:] if body.startswith(("0x", "0X")) else body
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError("a private key is 32 bytes of hex")
    return raw


class VestSigner:
    """One secp256k1 key (a signing key, or the primary key at registration).

    Never reveals the key: repr and str show the address, pickling is refused.
    """

    __slots__ = ("_key", "address")

    def __init__(self, private_key: str | bytes) -> None:
        raw = private_key if isinstance(private_key, bytes) else parse_private_key(private_key)
        try:
            self._key = coincurve.PrivateKey(raw)
        except Exception:
            raise ValueError("not a valid secp256k1 private key") from None
        self.address = address_of(self._key.public_key)

    def __repr__(self) -> str:
        return f"<VestSigner {self.address}>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a VestSigner cannot be pickled")

    def sign_digest(self, digest: bytes) -> str:
        """0x + r || s || v (v = 27/28) over a 32-byte digest, as eth_account writes it."""
        sig = self._key.sign_recoverable(digest, hasher=None)
        return "0x" + (sig[:64] + bytes([27 + sig[64]])).hex()

    def personal_sign(self, message_hash: bytes) -> str:
        return self.sign_digest(personal_digest(message_hash))

    def sign_order(self, time: int, nonce: int, order_type: str, symbol: str, is_buy: bool, size: str,
                   limit_price: str, reduce_only: bool) -> str:
        return self.personal_sign(order_args_hash(time, nonce, order_type, symbol, is_buy, size, limit_price, reduce_only))

    def sign_cancel(self, time: int, nonce: int, order_id: str) -> str:
        return self.personal_sign(cancel_args_hash(time, nonce, order_id))

    def sign_register(self, signing_address: str, expiry_ms: int, verifying_contract: str) -> str:
        """The primary key's SignerProof for POST /register."""
        return self.sign_digest(register_digest(signing_address, expiry_ms, verifying_contract))
