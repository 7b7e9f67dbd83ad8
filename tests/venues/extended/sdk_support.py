"""The official x10 SDK pointed at an emulator: its config, an onboarded account."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eth_account import Account
from x10.config import MAINNET_CONFIG, TESTNET_CONFIG
from x10.core.client_config import ClientConfig, EndpointsConfig

WALLET_KEY = "0x" + "4e" * 32  # a throwaway Ethereum key, never funded anywhere


def sdk_config(url: str, *, mainnet: bool = False) -> ClientConfig:
    """The SDK's TESTNET (or MAINNET) config with every endpoint on `url` (notes section 1.1)."""
    ws = url.replace("http", "ws", 1)
    base = MAINNET_CONFIG if mainnet else TESTNET_CONFIG
    return replace(base, endpoints=EndpointsConfig(
        api_base_url=f"{url}/api/v1", api_base_order_management_url=f"{url}/api/v1",
        stream_url=f"{ws}/stream.extended.exchange/v1", stream_rpc_url=f"{ws}/stream.extended.exchange/v2/rpc",
        onboarding_url=url, vault_asset_name="XVS"))


def sign_message_with(private_key: str) -> Any:
    """The SDK's `sign_message` callback for a local Ethereum key."""
    def sign(message: Any) -> str:
        return Account.sign_message(message, private_key=private_key).signature.hex()

    return sign


async def onboard(url: str, wallet_key: str = WALLET_KEY, *, mainnet: bool = False) -> tuple[Any, str]:
    """Onboard a wallet exactly as the SDK's OnboardingClient does; -> (OnBoardedAccount, API key)."""
    from x10.clients.onboarding.onboarding_client import OnboardingClient

    wallet = Account.from_key(wallet_key).address
    async with OnboardingClient(sdk_config(url, mainnet=mainnet), account_address=wallet, sign_message=sign_message_with(wallet_key)) as client:
        onboarded = await client.auth.onboard_client()
        api_key = await client.account.create_api_key(account_id=onboarded.account.id, description="perpd tests")
    return onboarded, api_key
