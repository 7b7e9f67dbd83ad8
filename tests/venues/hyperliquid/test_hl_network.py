"""Which network a Hyperliquid venue signs for, and subscriptions the venue refuses."""

from __future__ import annotations

import pytest
from hl_support import serve

from perpd.config import loads
from perpd.errors import ConfigError, Unavailable
from venues.hyperliquid.config import HyperliquidVenueConfig
from venues.hyperliquid.emulator import create_app
from venues.hyperliquid.transport import Subscribed, subscribe_stream
from venues.hyperliquid.venue import HyperliquidVenue

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("network", ["mainnet", "testnet"])
def test_the_network_key_not_the_url_decides_how_orders_are_signed(network):
    # An emulator (or proxy) standing in for mainnet signs as mainnet, whatever its URL.
    venue = HyperliquidVenue("hl", HyperliquidVenueConfig(network=network, rest_url="http://127.0.0.1:8781"))
    assert venue.is_mainnet is (network == "mainnet")


def test_testnet_with_the_mainnet_url_is_refused_by_path():
    with pytest.raises(ConfigError, match=r'venues\.hl: .*rest_url is mainnet\'s: set network = "mainnet"'):
        loads('[venues.hl]\nkind = "hyperliquid"\nnetwork = "testnet"\nrest_url = "https://api.hyperliquid.xyz"\n')


async def test_a_subscription_the_venue_refuses_is_not_taken_as_acknowledged():
    async with serve(create_app()) as url:
        ws = url.replace("http", "ws", 1) + "/ws"
        stream = subscribe_stream(ws, [{"type": "allMids"}, {"type": "noSuchChannel"}])
        with pytest.raises(Unavailable, match="subscription refused"):
            async for message in stream:
                assert not isinstance(message, Subscribed), "a refused subscription was counted as acknowledged"
        await stream.aclose()
