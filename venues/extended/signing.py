"""Extended's Stark signatures: the SNIP-12 Poseidon order hash, signed with the account's
Stark key, byte-identical to x10-python-trading-starknet 2.6.0 (`order_object_settlement`).

The settlement an order carries is the hash of its amounts in the market's L2 units
(`l2Config` of /info/markets), signed with fast_stark_crypto:

    synthetic  = qty x syntheticResolution          (rounded up for a buy, down for a sell)
    collateral = qty x price x collateralResolution (same rounding)
    fee        = (fee rate + builder fee) x qty x price x collateralResolution, rounded up
    a buy pays collateral (negative), a sell gives synthetic (negative)
    expiration = ceil(expiryEpochMillis / 1000) + 14 days, in seconds
    hash = get_order_msg_hash(vault, syntheticId, synthetic, collateralId, collateral,
                              collateralId, fee, expiration, nonce, stark key, domain)

The domain is StarknetDomain(Perpetuals, v0, SN_SEPOLIA | SN_MAIN, 1). The emulator
verifies with the same recipe (`order_hash` + `verify`), as Extended does. The private
key never shows: repr and errors carry the public key only.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import fast_stark_crypto
from pydantic import SecretStr

from perpd.errors import AuthError

SETTLEMENT_BUFFER_SECS = 14 * 86400
_BUY = decimal.Context(rounding=decimal.ROUND_UP)
_SELL = decimal.Context(rounding=decimal.ROUND_DOWN)
_FEE = decimal.Context(rounding=decimal.ROUND_UP)


@dataclass(frozen=True, slots=True)
class StarknetDomain:
    """The SNIP-12 domain of every order hash."""

    chain_id: str = "SN_SEPOLIA"
    name: str = "Perpetuals"
    version: str = "v0"
    revision: str = "1"


@dataclass(frozen=True, slots=True)
class L2Config:
    """A market's settlement assets and resolutions (`l2Config` of /info/markets)."""

    synthetic_id: int
    synthetic_resolution: int
    collateral_id: int
    collateral_resolution: int


class Amounts(NamedTuple):
    """A settlement's amounts in L2 units (signed: what the account gives is negative)."""

    synthetic: int
    collateral: int
    fee: int


def _scaled(context: decimal.Context, value: Decimal, resolution: int) -> int:
    return int(context.multiply(value, resolution).to_integral(context=context))


def settlement_amounts(is_buy: bool, qty: Decimal, price: Decimal, fee_rate: Decimal, l2: L2Config) -> Amounts:
    """The amounts of an order's settlement, rounded as the SDK rounds them."""
    context = _BUY if is_buy else _SELL
    collateral_human = qty * price
    synthetic = _scaled(context, qty, l2.synthetic_resolution)
    collateral = _scaled(context, collateral_human, l2.collateral_resolution)
    fee = _scaled(_FEE, fee_rate * collateral_human, l2.collateral_resolution)
    if is_buy:
        collateral = -collateral
    else:
        synthetic = -synthetic
    return Amounts(synthetic, collateral, fee)


def expiration_secs(expiry_ms: int) -> int:
    """The settlement expiration of an order expiring at `expiry_ms`: 14 days later, in s."""
    return -(-expiry_ms // 1000) + SETTLEMENT_BUFFER_SECS


def order_hash(*, vault: int, amounts: Amounts, l2: L2Config, expiry_ms: int, nonce: int,
               public_key: int, domain: StarknetDomain) -> int:
    """The SNIP-12 Poseidon hash of an order settlement."""
    return int(fast_stark_crypto.get_order_msg_hash(
        position_id=vault,
        base_asset_id=l2.synthetic_id,
        base_amount=amounts.synthetic,
        quote_asset_id=l2.collateral_id,
        quote_amount=amounts.collateral,
        fee_asset_id=l2.collateral_id,
        fee_amount=amounts.fee,
        expiration=expiration_secs(expiry_ms),
        salt=nonce,
        user_public_key=public_key,
        domain_name=domain.name,
        domain_version=domain.version,
        domain_chain_id=domain.chain_id,
        domain_revision=domain.revision,
    ))


def verify(public_key: int, msg_hash: int, r: int, s: int) -> bool:
    """True when (r, s) is `public_key`'s signature of `msg_hash`."""
    try:
        return bool(fast_stark_crypto.verify(public_key, msg_hash, r, s))
    except (ValueError, OverflowError, TypeError):
        return False


def public_key_of(private_key: int) -> int:
    return int(fast_stark_crypto.get_public_key(private_key))


class Signed(NamedTuple):
    """An order settlement: its hash, signature and amounts."""

    hash: int
    r: int
    s: int
    amounts: Amounts


class StarkSigner:
    """Signs order settlements for one account (vault); shows its public key only."""

    __slots__ = ("__private", "domain", "public_key", "vault")

    def __init__(self, private_key: SecretStr, *, vault: int, domain: StarknetDomain) -> None:
        text = private_key.get_secret_value().strip()
        try:
            private = int(text, 16)
        except ValueError:
            raise AuthError("extended: the Stark private key is not a hex number", venue="extended") from None
        if not 0 < private < 2**252:
            raise AuthError("extended: the Stark private key is out of range", venue="extended")
        self.__private = private
        self.public_key = public_key_of(private)
        self.vault = vault
        self.domain = domain

    def __repr__(self) -> str:
        return f"<StarkSigner {hex(self.public_key)[:12]}... vault {self.vault}>"

    def with_vault(self, vault: int) -> StarkSigner:
        """The same key signing for another vault (once the account's is known)."""
        self.vault = vault
        return self

    def sign_settlement(self, *, is_buy: bool, qty: Decimal, price: Decimal, fee_rate: Decimal, l2: L2Config,
                        expiry_ms: int, nonce: int) -> Signed:
        amounts = settlement_amounts(is_buy, qty, price, fee_rate, l2)
        digest = order_hash(vault=self.vault, amounts=amounts, l2=l2, expiry_ms=expiry_ms, nonce=nonce,
                            public_key=self.public_key, domain=self.domain)
        r, s = fast_stark_crypto.sign(private_key=self.__private, msg_hash=digest)
        return Signed(digest, int(r), int(s), amounts)
