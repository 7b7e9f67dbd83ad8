"""Onboarding as Extended does it for the SDK's OnboardingClient: a wallet registers an
account with a Stark key it derived from its own signature, then creates API keys.

`POST /auth/onboard` carries an EIP-712 `AccountRegistration` signed by the wallet (the
L1 signature, under the configured signing domain) and the Stark key's signature of
pedersen(wallet, stark key) (the L2 signature, proving the wallet holds that key).
`POST /api/v1/user/account/api-key` carries `L1_SIGNATURE`, a personal_sign of
`"{path}@{time}"` by the account's wallet, `L1_MESSAGE_TIME` and
`X-X10-ACTIVE-ACCOUNT`. Both are verified; a bad one is HTTP 401.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

import fast_stark_crypto
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from venues.extended import errors as codes
from venues.extended.emulator.exchange import ApiError, ExtAccount, ExtendedExchange

MAX_SKEW_SECS = 300
API_KEY_PATH = "/api/v1/user/account/api-key"


def registration_message(creation: dict[str, Any], signing_domain: str) -> Any:
    """The EIP-712 `AccountRegistration` the wallet signed (x10 `signing/onboarding.py`)."""
    return encode_typed_data(full_message={
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}],
            "AccountRegistration": [
                {"name": "accountIndex", "type": "int8"},
                {"name": "wallet", "type": "address"},
                {"name": "tosAccepted", "type": "bool"},
                {"name": "time", "type": "string"},
                {"name": "action", "type": "string"},
                {"name": "host", "type": "string"},
            ],
        },
        "domain": {"name": signing_domain},
        "primaryType": "AccountRegistration",
        "message": {
            "accountIndex": int(creation["accountIndex"]),
            "wallet": str(creation["wallet"]),
            "tosAccepted": bool(creation["tosAccepted"]),
            "time": str(creation["time"]),
            "action": str(creation["action"]),
            "host": str(creation["host"]),
        },
    })


def _fresh(time_text: str, now_ms: int) -> None:
    try:
        when = datetime.strptime(time_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ApiError(codes.INVALID_API_KEY, "Invalid message time", 401) from None
    if abs(when.timestamp() - now_ms / 1000) > MAX_SKEW_SECS:
        raise ApiError(codes.INVALID_API_KEY, "Message time is too far from now", 401)


def onboard(exchange: ExtendedExchange, body: dict[str, Any], signing_domain: str) -> dict[str, Any]:
    """POST /auth/onboard -> {l1Address, defaultAccount}; an onboarded wallet gets its account back."""
    try:
        creation = body["accountCreation"]
        wallet = Account.recover_message(registration_message(creation, signing_domain), signature=body["l1Signature"])
        l2_key = int(str(body["l2Key"]), 16)
        r = int(str(body["l2Signature"]["r"]), 16)
        s = int(str(body["l2Signature"]["s"]), 16)
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(codes.INVALID_API_KEY, f"Invalid onboarding payload ({type(exc).__name__})", 401) from None
    if wallet.lower() != str(creation["wallet"]).lower() or creation.get("action") != "REGISTER":
        raise ApiError(codes.INVALID_API_KEY, "L1 signature does not match the wallet", 401)
    _fresh(str(creation["time"]), exchange.clock.now_ms())
    message = fast_stark_crypto.pedersen_hash(int(wallet, 16), l2_key)
    if not fast_stark_crypto.verify(l2_key, message, r, s):
        raise ApiError(codes.INVALID_SIGNATURE, "Invalid L2 signature", 401)
    existing = [a for a in exchange.accounts.values() if a.wallet == wallet and a.account_index == 0]
    account = existing[0] if existing else exchange.register(l2_key, wallet=wallet, index=0)
    return {"l1Address": wallet, "defaultAccount": account.json()}


def create_api_key(exchange: ExtendedExchange, headers: Any, body: dict[str, Any]) -> dict[str, Any]:
    """POST /api/v1/user/account/api-key -> {key}, for the wallet that signed the request."""
    signature, time_text = headers.get("L1_SIGNATURE"), headers.get("L1_MESSAGE_TIME")
    active = headers.get("X-X10-ACTIVE-ACCOUNT")
    if not signature or not time_text or not active or not str(active).isdigit():
        raise ApiError(codes.INVALID_API_KEY, "L1_SIGNATURE, L1_MESSAGE_TIME and X-X10-ACTIVE-ACCOUNT are required", 401)
    _fresh(time_text, exchange.clock.now_ms())
    try:
        signer = Account.recover_message(encode_defunct(f"{API_KEY_PATH}@{time_text}".encode()), signature=signature)
    except (TypeError, ValueError):
        raise ApiError(codes.INVALID_API_KEY, "Invalid L1 signature", 401) from None
    account: ExtAccount | None = exchange.accounts.get(int(active))
    if account is None or account.wallet is None or account.wallet.lower() != signer.lower():
        raise ApiError(codes.INVALID_API_KEY, "The L1 signature is not the account's wallet", 401)
    key = secrets.token_hex(16)
    exchange.add_api_key(account, key)
    return {"key": key, "description": str(body.get("description") or "")}
