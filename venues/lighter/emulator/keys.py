"""Who owns each account and which API keys may sign for it, as Lighter's sequencer knows.

An account index has an owner, the Ethereum (L1) address that deposited into it. An API
key index of an account exists only once a ChangePubKey (tx type 8) registered a public
key there: that tx is signed by the new key itself (Schnorr, proving it is held) and
carries the owner's L1 signature of the "Register Lighter Account" text, which is how
lighter-sdk's `SignerClient.change_api_key(eth_private_key, ...)` sends it. Registering
again at an index replaces the key there.

Every other tx must be signed (Schnorr over ECgFp5, `schnorr.py`) by the key registered
at its (AccountIndex, ApiKeyIndex): an index with no key is refused with 21136 "invalid
PublicKey", a signature by any other key with 21120 "invalid signature". Auth tokens are
checked the same way (cached once verified, as clients reuse them for hours).

Accounts are still created on first use (the emulator's stand-in for a deposit): an
account with no owner yet is claimed by the L1 address whose signature first registers a
key on it; `accountsByL1Address` of an unknown address opens a new account for it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_defunct

from venues.lighter.emulator.schnorr import PublicKey, hash_to_fp5
from venues.lighter.emulator.txs import Tx, TxError, message

REGISTER_TEXT = (
    "Register Lighter Account\n\npubkey: 0x{pubkey}\nnonce: {nonce}\naccount index: {account}\n"
    "api key index: {key}\nOnly sign this message for a trusted client!"
)
TOKEN_CACHE = 10_000
MAINNET_CHAIN_ID = 304
TESTNET_CHAIN_ID = 300


def _hex10(value: int) -> str:
    """lighter-go's getHex10FromUint64: 0x and 16 hex digits."""
    return f"0x{value:016x}"


def register_text(pub_key: bytes, nonce: int, account: int, key: int) -> str:
    """The text the account owner's Ethereum key signs to register `pub_key`."""
    return REGISTER_TEXT.format(pubkey=pub_key.hex(), nonce=_hex10(nonce), account=_hex10(account), key=_hex10(key))


@dataclass(frozen=True, slots=True)
class ApiKey:
    account: int
    index: int
    public: PublicKey
    registered_ms: int

    @property
    def public_hex(self) -> str:
        """As `/api/v1/apikeys` shows it (and lighter-sdk's check_client compares): no 0x."""
        return self.public.encoded.hex()


class KeyRing:
    """Account owners and registered API keys; verifies every signature against them."""

    def __init__(self, chain_ids: tuple[int, ...] = (MAINNET_CHAIN_ID, TESTNET_CHAIN_ID)) -> None:
        if not chain_ids:
            raise ValueError("chain_ids: at least one chain id")
        self.chain_ids = chain_ids
        self.owners: dict[int, str] = {}  # account index -> L1 address (lower case)
        self.keys: dict[tuple[int, int], ApiKey] = {}
        self._tokens: OrderedDict[str, int] = OrderedDict()  # verified auth token -> its account

    # ------------------------------------------------------------------ state

    def owner(self, account: int) -> str | None:
        return self.owners.get(account)

    def accounts_of(self, address: str) -> list[int]:
        address = address.lower()
        return sorted(a for a, owner in self.owners.items() if owner == address)

    def bind(self, account: int, address: str) -> None:
        """Make `address` the owner of `account` (seeding, or the first registration)."""
        current = self.owners.get(account)
        if current is not None and current != address.lower():
            raise ValueError(f"account {account} is owned by {current}")
        self.owners[account] = address.lower()

    def register(self, account: int, index: int, public_key: bytes, now_ms: int) -> ApiKey:
        """Put `public_key` at (account, index), replacing what was there. ValueError if the
        bytes are not a public key."""
        key = ApiKey(account, index, PublicKey(public_key), now_ms)
        self.keys[(account, index)] = key
        for token, owner in list(self._tokens.items()):  # tokens of a replaced key lapse
            if owner == account and token.split(":")[2] == str(index):
                del self._tokens[token]
        return key

    def keys_of(self, account: int) -> list[ApiKey]:
        return [k for (a, _), k in sorted(self.keys.items()) if a == account]

    # ------------------------------------------------------------------ checks

    def check_tx(self, tx: Tx) -> None:
        """Refuse (TxError) a tx whose signature is not its key's; a ChangePubKey must
        also carry its owner's L1 signature (which claims an unowned account)."""
        messages = [message(tx, chain_id) for chain_id in self.chain_ids]
        if tx.tx_type == 8:
            self._check_registration(tx, messages)
            return
        key = self.keys.get((tx.account, tx.key))
        if key is None:
            raise TxError(21136, f"invalid PublicKey: no API key {tx.key} is registered for account {tx.account}")
        if not key.public.verify(tx.signature, *messages):
            raise TxError(21120, f"invalid signature: not signed by API key {tx.key} of account {tx.account}")

    def _check_registration(self, tx: Tx, messages: list[tuple[int, int, int, int, int]]) -> None:
        pub_key = tx.pub_key
        try:
            new_key = PublicKey(pub_key)
        except ValueError:
            raise TxError(21136, "invalid PublicKey: the bytes are not a public key") from None
        if not new_key.verify(tx.signature, *messages):
            raise TxError(21120, "invalid signature: a ChangePubKey must be signed by the key it registers")
        text = register_text(pub_key, tx.nonce, tx.account, tx.key)
        try:
            signer = Account.recover_message(encode_defunct(text=text), signature=tx.info["L1Sig"]).lower()
        except Exception:  # noqa: BLE001 - eth-account raises several types for a bad signature
            raise TxError(21504, "fail to l1 signature: it recovers no address") from None
        owner = self.owners.get(tx.account)
        if owner is not None and signer != owner:
            raise TxError(21504, f"fail to l1 signature: account {tx.account} is owned by {owner}, not {signer}")

    def apply_registration(self, tx: Tx, now_ms: int) -> ApiKey:
        """After `check_tx` passed and the nonce was right: the owner and the key stand."""
        text = register_text(tx.pub_key, tx.nonce, tx.account, tx.key)
        signer = Account.recover_message(encode_defunct(text=text), signature=tx.info["L1Sig"])
        self.owners.setdefault(tx.account, signer.lower())
        return self.register(tx.account, tx.key, tx.pub_key, now_ms)

    def check_token(self, token: str, account: int, key: int) -> None:
        """The token `{deadline}:{account}:{key}:{sig}` must be signed by that key."""
        if token in self._tokens:
            self._tokens.move_to_end(token)
            return
        registered = self.keys.get((account, key))
        if registered is None:
            raise TxError(20013, f"invalid auth: no API key {key} is registered for account {account}")
        text, _, sig = token.rpartition(":")
        raw = text.encode()
        raw += b"\0" * (-len(raw) % 8)
        digest = hash_to_fp5([int.from_bytes(raw[i : i + 8], "little") for i in range(0, len(raw), 8)])
        if not registered.public.verify(bytes.fromhex(sig), digest):
            raise TxError(20013, f"invalid auth: the token is not signed by API key {key} of account {account}")
        self._tokens[token] = account
        if len(self._tokens) > TOKEN_CACHE:
            self._tokens.popitem(last=False)
