"""Config keys of EdgeX venues and accounts (API V2: HMAC request auth, EIP-712 orders).

An account needs five things from EdgeX's web app (API Management -> Perps V2): the
account id, the API key, its passphrase and secret (HMAC request auth), and the "SDK
Signer" private key that signs orders (EIP-712 on secp256k1). Every credential is a
reference (`env:`, `file:`, `keystore:`), never the value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from perpd.config import AccountConfig, SecretRef, VenueConfig


def _address(value: str) -> str:
    body = value[2:] if value.startswith("0x") else ""
    if len(body) != 40 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise ValueError("must be an address: 0x and 40 hex digits (the SDK Signer's address)")
    return value


EthAddress = Annotated[str, AfterValidator(_address)]


class EdgexVenueConfig(VenueConfig):
    kind: Literal["edgex"] = "edgex"
    # EdgeX publishes no limits: this is our own pace for every REST request of the venue.
    requests_per_min: Annotated[int, Field(gt=0)] = 600

    @model_validator(mode="after")
    def _testnet_needs_urls(self) -> EdgexVenueConfig:
        if self.network == "testnet" and not (self.rest_url and self.ws_url):
            raise ValueError(
                "EdgeX documents no public V2 testnet: with network = \"testnet\" set rest_url and ws_url "
                "to the hosts EdgeX gave you (or point them at `perpd emulate edgex`)"
            )
        return self


class EdgexAccountConfig(AccountConfig):
    account_id: Annotated[int, Field(gt=0, lt=2**63)]  # the numeric accountId
    api_key: SecretRef  # X-edgeX-Api-Key
    api_passphrase: SecretRef  # X-edgeX-Passphrase
    api_secret: SecretRef  # the HMAC secret (used as the ASCII of its base64, as the SDK does)
    trading_key: SecretRef  # the "SDK Signer" private key: signs orders (EIP-712)
    trading_address: EthAddress | None = None  # if given, the trading key must derive to it
