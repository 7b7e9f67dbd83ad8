"""EdgeX V2 wire constants: hosts, paths, enums, the SDK's expiry windows.

Shared by the venue and its emulator, so both speak one language. Sources: the shared
research (../shared/venues/edgex.md, sdk-wire-notes.md section 2) and edgex-python-sdk
2.0.1 as read.
"""

from __future__ import annotations

from typing import Final

from perpd.model import OrderType, TimeInForce

MAINNET_REST: Final = "https://edgex-prod-v2.edgex.exchange"
MAINNET_WS: Final = "wss://edgex-quote-prod-v2.edgex.exchange"

# REST is /api/v2 (the SDK rewrites every /api/v1 path); the WebSockets stay on /api/v1.
PUBLIC = "/api/v2/public"
PRIVATE = "/api/v2/private"
SERVER_TIME: Final = f"{PUBLIC}/meta/getServerTime"
METADATA: Final = f"{PUBLIC}/meta/getMetaData"
TICKER: Final = f"{PUBLIC}/quote/getTicker"
DEPTH: Final = f"{PUBLIC}/quote/getDepth"
KLINE: Final = f"{PUBLIC}/quote/getKline"
LATEST_FUNDING: Final = f"{PUBLIC}/funding/getLatestFundingRate"
FUNDING_PAGE: Final = f"{PUBLIC}/funding/getFundingRatePage"
ACCOUNT_ASSET: Final = f"{PRIVATE}/account/getAccountAsset"
ACCOUNT_BY_ID: Final = f"{PRIVATE}/account/getAccountById"
POSITION_BY_CONTRACT: Final = f"{PRIVATE}/account/getPositionByContractId"
UPDATE_LEVERAGE: Final = f"{PRIVATE}/account/updateLeverageSetting"
ACTIVE_ORDERS: Final = f"{PRIVATE}/order/getActiveOrderPage"
ORDER_BY_ID: Final = f"{PRIVATE}/order/getOrderById"
ORDER_BY_CLIENT_ID: Final = f"{PRIVATE}/order/getOrderByClientOrderId"
HISTORY_ORDER_BY_ID: Final = f"{PRIVATE}/order/getHistoryOrderById"
HISTORY_ORDER_BY_CLIENT_ID: Final = f"{PRIVATE}/order/getHistoryOrderByClientOrderId"
HISTORY_ORDERS: Final = f"{PRIVATE}/order/getHistoryOrderPage"
FILLS: Final = f"{PRIVATE}/order/getHistoryOrderFillTransactionPage"
COLLATERAL_TRANSACTIONS: Final = f"{PRIVATE}/account/getCollateralTransactionPage"  # funding: POSITION_FUNDING
CREATE_ORDER: Final = f"{PRIVATE}/order/createOrder"
CANCEL_BY_ID: Final = f"{PRIVATE}/order/cancelOrderById"
CANCEL_BY_CLIENT_ID: Final = f"{PRIVATE}/order/cancelOrderByClientOrderId"
CANCEL_ALL: Final = f"{PRIVATE}/order/cancelAllOrder"
MAX_ORDER_SIZE: Final = f"{PRIVATE}/order/getMaxCreateOrderSize"
PUBLIC_WS: Final = "/api/v1/public/ws"
PRIVATE_WS: Final = "/api/v1/private/ws"

PAGE_SIZE: Final = 100  # the documented maximum of `size` on paged endpoints
DEPTH_LEVELS: Final = (15, 200)  # getDepth / depth.{id}.{level} accept only these

# The SDK's windows (order/client.py): l2ExpireTime = now + 30 d, expireTime 8 d earlier.
ORDER_WINDOW_MS: Final = 30 * 24 * 3600 * 1000
L1_OFFSET_MS: Final = 8 * 24 * 3600 * 1000
TIMESTAMP_WINDOW_MS: Final = 60_000  # request timestamps are accepted within +/- 60 s
MARKET_BUY_ORACLE_FACTOR: Final = 10  # market buy: l2 price = ceil_to_tick(oracle x 10)

ORDER_TYPES: Final[dict[OrderType, str]] = {
    OrderType.LIMIT: "LIMIT",
    OrderType.MARKET: "MARKET",
    OrderType.STOP_LIMIT: "STOP_LIMIT",
    OrderType.STOP_MARKET: "STOP_MARKET",
    OrderType.TAKE_PROFIT_LIMIT: "TAKE_PROFIT_LIMIT",
    OrderType.TAKE_PROFIT_MARKET: "TAKE_PROFIT_MARKET",
}
ORDER_TYPES_FROM_WIRE: Final[dict[str, OrderType]] = {v: k for k, v in ORDER_TYPES.items()}
MARKET_TYPES: Final = frozenset({OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})

TIFS: Final[dict[TimeInForce, str]] = {
    TimeInForce.GTC: "GOOD_TIL_CANCEL",
    TimeInForce.IOC: "IMMEDIATE_OR_CANCEL",
    TimeInForce.FOK: "FILL_OR_KILL",
    TimeInForce.POST_ONLY: "POST_ONLY",
}
TIFS_FROM_WIRE: Final[dict[str, TimeInForce]] = {v: k for k, v in TIFS.items()}

# Triggers compare with the oracle price, which EdgeX also publishes as the mark price.
TRIGGER_PRICE_TYPE: Final = "ORACLE_PRICE"

INTERVALS: Final[dict[str, str]] = {
    "1m": "MINUTE_1", "5m": "MINUTE_5", "15m": "MINUTE_15", "30m": "MINUTE_30",
    "1h": "HOUR_1", "2h": "HOUR_2", "4h": "HOUR_4", "6h": "HOUR_6", "8h": "HOUR_8",
    "12h": "HOUR_12", "1d": "DAY_1", "1w": "WEEK_1",
}
INTERVAL_MS: Final[dict[str, int]] = {
    "MINUTE_1": 60_000, "MINUTE_5": 300_000, "MINUTE_15": 900_000, "MINUTE_30": 1_800_000,
    "HOUR_1": 3_600_000, "HOUR_2": 7_200_000, "HOUR_4": 14_400_000, "HOUR_6": 21_600_000,
    "HOUR_8": 28_800_000, "HOUR_12": 43_200_000, "DAY_1": 86_400_000, "WEEK_1": 604_800_000,
}

# Order statuses and cancel reasons (openapi enums).
STATUS_PENDING, STATUS_OPEN, STATUS_FILLED = "PENDING", "OPEN", "FILLED"
STATUS_CANCELING, STATUS_CANCELED, STATUS_UNTRIGGERED = "CANCELING", "CANCELED", "UNTRIGGERED"
CANCEL_REASON_NONE: Final = "UNKNOWN_ORDER_CANCEL_REASON"
EXPIRED_REASONS: Final = frozenset({"EXPIRE_CANCELED"})

# Private stream events (content.event).
EVENT_SNAPSHOT: Final = "Snapshot"
