"""The fast signer reproduces the official SDK's signatures byte for byte."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import eth_account
import pytest
from hyperliquid.utils import signing as sdk

from venues.hyperliquid.signing import NonceSource, Signer, action_hash, action_preimage, recover_l1_signer

FIXTURES = Path(__file__).parents[2] / "fixtures" / "hyperliquid"
VECTORS = json.loads((FIXTURES / "signing_vectors.json").read_text())
GENERATED = [g for g in VECTORS["generated_exchange_requests"] if g["kind"] == "l1"]
L1 = [v for v in VECTORS["vectors"] if v["kind"] == "l1_action"]
HASH_ONLY = [v for v in VECTORS["vectors"] if v["kind"] == "l1_action_hash_only"]


def _same(ours: dict, expected: dict) -> bool:
    # r/s compared as integers: the Rust and TS SDKs zero-pad, the Python SDK does not.
    return (
        int(ours["r"], 16) == int(expected["r"], 16)
        and int(ours["s"], 16) == int(expected["s"], 16)
        and ours["v"] == expected["v"]
    )


@pytest.mark.parametrize("vector", GENERATED, ids=[g["name"] for g in GENERATED])
def test_generated_requests_are_signed_identically_down_to_the_string(vector: dict) -> None:
    signer = Signer(vector["private_key"])
    assert signer.address == vector["address"].lower()
    ours = signer.sign_l1(
        vector["action"], vector["nonce"], is_mainnet=vector["is_mainnet"],
        vault_address=vector["vault_address"], expires_after=vector["expires_after"],
    )
    assert ours == vector["signature"]  # exact strings: the SDK's unpadded hex
    assert "0x" + action_hash(vector["action"], vector["nonce"], vector["vault_address"], vector["expires_after"]).hex() == vector["action_hash"]


@pytest.mark.parametrize("vector", GENERATED, ids=[g["name"] for g in GENERATED])
def test_the_request_files_carry_the_vector_signature(vector: dict) -> None:
    body = json.loads((FIXTURES / f"{vector['name']}.request.json").read_text())
    signer = Signer(vector["private_key"])
    ours = signer.sign_l1(body["action"], body["nonce"], is_mainnet=vector["is_mainnet"],
                          vault_address=body["vaultAddress"], expires_after=body["expiresAfter"])
    assert ours == body["signature"]


@pytest.mark.parametrize("vector", L1, ids=[v["name"] for v in L1])
@pytest.mark.parametrize("network", ["mainnet", "testnet"])
def test_sdk_and_cross_language_vectors_match(vector: dict, network: str) -> None:
    expected = vector["signatures"].get(network)
    if expected is None:
        pytest.fail(f"{vector['name']} lacks a {network} signature")
    signer = Signer(vector["private_key"])
    ours = signer.sign_l1(vector["action"], vector["nonce"], is_mainnet=network == "mainnet",
                          vault_address=vector["vault_address"], expires_after=vector["expires_after"])
    assert _same(ours, expected["expected"])
    if "hash_preimage_hex" in vector:
        assert action_preimage(vector["action"], vector["nonce"], vector["vault_address"], vector["expires_after"]).hex() == vector["hash_preimage_hex"]


def test_action_hash_variants_with_vault_and_expiry_match() -> None:
    vector = next(v for v in HASH_ONLY if v["name"] == "ts_createL1ActionHash_variants")
    for variant in vector["variants"].values():
        digest = action_hash(vector["action"], vector["nonce"], variant["vault_address"], variant["expires_after"])
        assert "0x" + digest.hex() == variant["action_hash"]


def test_signatures_equal_the_sdk_for_fresh_actions_and_keys() -> None:
    keys = ["0x" + f"{i:02x}" * 32 for i in (1, 7, 42, 200)]
    action = {"type": "order", "orders": [{"a": 3, "b": False, "p": "0.012345", "s": "1234", "r": True,
                                           "t": {"trigger": {"isMarket": True, "triggerPx": "0.0123", "tpsl": "sl"}},
                                           "c": "0x" + "ab" * 16}], "grouping": "na"}
    for key in keys:
        for nonce in (1, 1_700_000_000_123, 2**40 + 5):
            for vault in (None, "0x" + "12" * 20):
                for mainnet in (True, False):
                    wallet = eth_account.Account.from_key(key)
                    theirs = sdk.sign_l1_action(wallet, action, vault, nonce, None, mainnet)
                    assert Signer(key).sign_l1(action, nonce, is_mainnet=mainnet, vault_address=vault) == theirs


def test_the_signer_is_recovered_from_its_signature() -> None:
    signer = Signer("0x" + "07" * 32)
    action = {"type": "noop"}
    signature = signer.sign_l1(action, 5, is_mainnet=False)
    assert recover_l1_signer(action, signature, 5, None, None, False) == signer.address
    assert recover_l1_signer(action, signature, 6, None, None, False) != signer.address
    assert recover_l1_signer(action, signature, 5, None, None, True) != signer.address


def test_a_signer_never_shows_its_key() -> None:
    key = "0x" + "5a" * 32
    signer = Signer(key)
    for text in (repr(signer), str(signer), f"{signer}"):
        assert "5a5a5a" not in text and signer.address in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(signer)
    with pytest.raises(ValueError) as info:
        Signer("0x" + "zz" * 32)
    assert "zz" not in str(info.value)


def test_nonces_strictly_increase_under_threads_even_within_one_millisecond() -> None:
    source = NonceSource(clock_ms=lambda: 1_700_000_000_000)
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        got = [source.next() for _ in range(500)]
        with lock:
            seen.extend(got)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 2000
    assert min(seen) == 1_700_000_000_000


def test_sessions_sharing_an_agent_share_its_nonce_sequence() -> None:
    address = "0x" + "99" * 20
    assert NonceSource.for_signer(address) is NonceSource.for_signer(address.upper().replace("0X", "0x"))


def test_the_fast_keccak_equals_the_library_keccak_in_every_thread() -> None:
    import os

    from venues.hyperliquid.signing import _slow_keccak256, keccak256

    samples = [b"", b"a", os.urandom(135), os.urandom(136), os.urandom(137), os.urandom(5000)]
    assert all(keccak256(s) == _slow_keccak256(s) for s in samples)
    results: list[bool] = []

    def check() -> None:
        results.extend(keccak256(s) == _slow_keccak256(s) for s in samples * 50)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 * 300 and all(results)
