"""Vest signatures are the documented recipe's, byte for byte: the shared vectors, eth_abi +
eth_account on random orders, and EIP-712 registration; keys never show."""

from __future__ import annotations

import pickle
import random

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils import keccak
from vest_support import sample

from venues.vest import signing
from venues.vest.signing import VestSigner

VECTORS = sample("signing_vectors.json")


def signed_fields(order: dict) -> tuple:
    return (order["time"], order["nonce"], order["orderType"], order["symbol"], order["isBuy"], order["size"],
            order["limitPrice"], order["reduceOnly"])


@pytest.mark.parametrize("name", ["order_1", "order_2_market"])
def test_order_vectors_hash_and_sign_as_recorded(name: str) -> None:
    vector = VECTORS[name]
    fields = signed_fields(vector["order"])
    assert "0x" + signing.order_args_hash(*fields).hex() == vector["args_keccak"]
    signer = VestSigner(vector["signing_private_key"])
    assert signer.address == vector["signing_address"].lower()
    expected = vector.get("signature") or vector["signature(EIP-191 personal_sign of the 32-byte hash)"]
    assert signer.sign_order(*fields) == expected
    assert signing.recover_personal(signing.order_args_hash(*fields), expected) == signer.address


def test_the_take_profit_child_vector() -> None:
    vector = VECTORS["order_1_tp_child"]
    fields = signed_fields(vector["order_as_signed"])
    assert "0x" + signing.order_args_hash(*fields).hex() == vector["args_keccak"]
    assert VestSigner(VECTORS["order_1"]["signing_private_key"]).sign_order(*fields) == vector["signature"]


def test_the_cancel_vector() -> None:
    vector = VECTORS["cancel_1"]
    cancel = vector["cancel"]
    assert "0x" + signing.cancel_args_hash(cancel["time"], cancel["nonce"], cancel["id"]).hex() == vector["args_keccak"]
    signature = VestSigner(vector["signing_private_key"]).sign_cancel(cancel["time"], cancel["nonce"], cancel["id"])
    assert signature == vector["signature"]


def test_the_register_signer_proof_vector_and_eth_account_agree() -> None:
    vector = VECTORS["register_signer_proof"]
    message, domain = vector["message"], vector["domain"]
    digest = signing.register_digest(message["approvedSigner"], message["signerExpiry"], domain["verifyingContract"])
    assert "0x" + digest.hex() == vector["eip712_digest"]
    primary = VestSigner(vector["primary_private_key"])
    assert primary.address == vector["primaryAddr"]
    signature = primary.sign_register(vector["signingAddr"], message["signerExpiry"], domain["verifyingContract"])
    assert signature == vector["signature"] == vector["register_body"]["signature"]
    typed = encode_typed_data(domain, vector["types"], message)
    assert "0x" + Account.sign_message(typed, vector["primary_private_key"]).signature.hex() == signature


def test_random_orders_sign_exactly_as_the_documented_eth_account_recipe() -> None:
    rng = random.Random(21)
    for _ in range(25):
        key = "0x" + rng.randbytes(32).hex()
        fields = (rng.randrange(2**42), rng.randrange(2**63), rng.choice(["LIMIT", "MARKET", "STOP_LOSS"]),
                  rng.choice(["BTC-PERP", "kBONK-PERP", "AAPL-USD-PERP"]), rng.random() < 0.5,
                  f"{rng.randrange(1, 10**6)}.{rng.randrange(10**4):04d}", f"{rng.randrange(1, 10**5)}.{rng.randrange(100):02d}",
                  rng.random() < 0.5)
        types = list(signing.ORDER_TYPES)
        assert signing.abi_encode(types, fields) == encode(types, list(fields))
        args = keccak(encode(types, list(fields)))
        expected = "0x" + Account.sign_message(encode_defunct(args), key).signature.hex()
        assert VestSigner(key).sign_order(*fields) == expected


def test_signatures_recover_with_or_without_0x_and_either_v() -> None:
    signer = VestSigner("0x" + "11" * 32)
    digest = signing.order_args_hash(1, 2, "LIMIT", "BTC-PERP", True, "1.0000", "2.00", False)
    signature = signer.personal_sign(digest)
    raw = bytes.fromhex(signature[2:])
    low_v = raw[:64] + bytes([raw[64] - 27])
    for form in (signature, signature[2:], "0x" + low_v.hex()):
        assert signing.recover_personal(digest, form) == signer.address
    for bad in ("0x1234", "zz" * 65, "0x" + (raw[:64] + b"\x05").hex()):
        with pytest.raises(ValueError):
            signing.recover_personal(digest, bad)


def test_a_signer_never_shows_its_key() -> None:
    key = "0x" + "42" * 32
    signer = VestSigner(key)
    assert key[2:] not in repr(signer) and key[2:] not in str(signer) and signer.address in repr(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)
    with pytest.raises(ValueError) as bad:
        VestSigner("0x" + "zz" * 32)
    assert "zz" not in str(bad.value)
