"""Vest's fixed facts: hosts, contracts, enums, limits (docs.vestmarkets.com/vest-api).

Sources are the official API page (a copy is in ../shared/venues/vest/, provenance in its
README) and ../shared/venues/sdk-wire-notes.md section 3; what the docs leave open is
marked in docs/venues/vest.md.
"""

from __future__ import annotations

from typing import Final

MAINNET_REST: Final = "https://server-prod.hz.vestmarkets.com/v2"
MAINNET_WS: Final = "wss://ws-prod.hz.vestmarkets.com/ws-api?version=1.0"
# Vest calls it "development"; perpd's `network = "testnet"` selects it.
TESTNET_REST: Final = "https://server-dev.hz.vestmarkets.com/v2"
TESTNET_WS: Final = "wss://ws-dev.hz.vestmarkets.com/ws-api?version=1.0"

# EIP-712 verifying contract of the SignerProof signed at POST /register.
MAINNET_VERIFYING_CONTRACT: Final = "0x919386306C47b2Fe1036e3B4F7C40D22D2461a23"
TESTNET_VERIFYING_CONTRACT: Final = "0x8E4D87AEf4AC4D5415C35A12319013e34223825B"
REGISTER_DOMAIN_NAME: Final = "VestRouterV2"
REGISTER_DOMAIN_VERSION: Final = "0.0.1"
NETWORK_TYPE: Final = 0  # the only documented value of `networkType`

WS_VERSION: Final = "1.0"
GROUP_HEADER: Final = "xrestservermm"  # restserver{accGroup}, on every REST request
GROUP_QUERY: Final = "xwebsocketserver"  # restserver{accGroup}, on the WS URL
GROUP_QUERY_ALT: Final = "websocketserver"  # what the docs' private example spells
API_KEY_HEADER: Final = "X-API-KEY"


def group_name(group: int) -> str:
    """The routing value of an account group: `restserver3`."""
    return f"restserver{group}"


# Order types on the wire (LIQUIDATION only appears in answers).
MARKET: Final = "MARKET"
LIMIT: Final = "LIMIT"
STOP_LOSS: Final = "STOP_LOSS"
TAKE_PROFIT: Final = "TAKE_PROFIT"
LIQUIDATION: Final = "LIQUIDATION"
ORDER_TYPES: Final = frozenset({MARKET, LIMIT, STOP_LOSS, TAKE_PROFIT})
TIMES_IN_FORCE: Final = frozenset({"GTC", "FOK"})  # LIMIT only

# Order statuses.
NEW: Final = "NEW"
PARTIALLY_FILLED: Final = "PARTIALLY_FILLED"
FILLED: Final = "FILLED"
CANCELLED: Final = "CANCELLED"
REJECTED: Final = "REJECTED"
LIVE_STATUSES: Final = (NEW, PARTIALLY_FILLED)

DEFAULT_RECV_WINDOW_MS: Final = 5000  # the server's default when a request names none
MAX_RECV_WINDOW_MS: Final = 60_000  # the largest the docs show
LISTEN_KEY_SECS: Final = 3600  # a listen key lives 60 minutes; PUT extends it
MAX_DEPTH: Final = 100
MAX_ROWS: Final = 1000  # /orders, /trades, /klines, /funding/history
FUNDING_INTERVAL_SECS: Final = 3600  # rates are per hour (`oneHrFundingRate`)
KLINE_INTERVALS: Final = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M")
INTERVAL_MS: Final = {
    "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
    "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000,
    "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000, "1M": 2_592_000_000,
}
