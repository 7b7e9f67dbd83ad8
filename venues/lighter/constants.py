"""Lighter wire constants: endpoints, chain ids, tx types and the integer enums of txs.

Sources: lighter-sdk 1.1.8 (`SignerClient` constants, `endpoint_profiles.py`) and the
research notes in ../shared/venues/lighter.md. Nothing here does I/O.
"""

from __future__ import annotations

from perpd.model import OrderStatus, OrderType, TimeInForce

# --------------------------------------------------------------------------- endpoints

MAINNET_REST = "https://mainnet.zklighter.elliot.ai"
TESTNET_REST = "https://testnet.zklighter.elliot.ai"
MAINNET_WS = "wss://mainnet.zklighter.elliot.ai/stream"
TESTNET_WS = "wss://testnet.zklighter.elliot.ai/stream"
MAINNET_CHAIN_ID = 304
TESTNET_CHAIN_ID = 300

CODE_OK = 200

# --------------------------------------------------------------------------- tx types

TX_CHANGE_PUB_KEY = 8
TX_CREATE_ORDER = 14
TX_CANCEL_ORDER = 15
TX_CANCEL_ALL_ORDERS = 16
TX_MODIFY_ORDER = 17
TX_UPDATE_LEVERAGE = 20
TX_CREATE_GROUPED_ORDERS = 28
TX_UPDATE_MARGIN = 29

MAX_BATCH_TXS = 15  # sendTxBatch, all from one API key (asyncapi.json "up to 15")

# --------------------------------------------------------------------------- order enums

ORDER_TYPE_LIMIT = 0
ORDER_TYPE_MARKET = 1
ORDER_TYPE_STOP_LOSS = 2
ORDER_TYPE_STOP_LOSS_LIMIT = 3
ORDER_TYPE_TAKE_PROFIT = 4
ORDER_TYPE_TAKE_PROFIT_LIMIT = 5

TIF_IOC = 0
TIF_GTT = 1
TIF_POST_ONLY = 2

CANCEL_ALL_IMMEDIATE = 0
CANCEL_ALL_SCHEDULED = 1
CANCEL_ALL_ABORT = 2

CROSS_MARGIN = 0
ISOLATED_MARGIN = 1

NIL_MARKET_INDEX = 255
NIL_TRIGGER_PRICE = 0
DEFAULT_28_DAY_ORDER_EXPIRY = -1  # the signer fills in now + 28 days
IOC_EXPIRY = 0

MAX_CLIENT_ORDER_INDEX = 2**48 - 1  # client order index 1 .. 2^48-1; order_index >= 2^48
MIN_ORDER_INDEX = 2**48
MAX_PRICE = 2**32 - 1
MAX_BASE_AMOUNT = 2**48 - 1

MIN_ORDER_EXPIRY_MS = 5 * 60 * 1000
MAX_ORDER_EXPIRY_MS = 30 * 24 * 3600 * 1000
MIN_SCHEDULED_CANCEL_MS = 5 * 60 * 1000  # dead man's switch window: 5 min .. 15 days
MAX_SCHEDULED_CANCEL_MS = 15 * 24 * 3600 * 1000
MARGIN_FRACTION_SCALE = 10_000  # InitialMarginFraction 500 = 5% = 20x
TRADE_FEE_SCALE = 1_000_000  # trade maker_fee/taker_fee ints: 196 = 0.0196%

AUTH_TOKEN_MAX_SECS = 8 * 3600

# --------------------------------------------------------------------------- mappings

# (perpd order type) -> (Lighter Type)
ORDER_TYPE_TO_WIRE: dict[OrderType, int] = {
    OrderType.LIMIT: ORDER_TYPE_LIMIT,
    OrderType.MARKET: ORDER_TYPE_MARKET,
    OrderType.STOP_MARKET: ORDER_TYPE_STOP_LOSS,
    OrderType.STOP_LIMIT: ORDER_TYPE_STOP_LOSS_LIMIT,
    OrderType.TAKE_PROFIT_MARKET: ORDER_TYPE_TAKE_PROFIT,
    OrderType.TAKE_PROFIT_LIMIT: ORDER_TYPE_TAKE_PROFIT_LIMIT,
}
ORDER_TYPE_FROM_WIRE = {v: k for k, v in ORDER_TYPE_TO_WIRE.items()}

# The `type` strings of the Order JSON model.
ORDER_TYPE_NAMES: dict[str, OrderType] = {
    "limit": OrderType.LIMIT,
    "market": OrderType.MARKET,
    "stop-loss": OrderType.STOP_MARKET,
    "stop-loss-limit": OrderType.STOP_LIMIT,
    "take-profit": OrderType.TAKE_PROFIT_MARKET,
    "take-profit-limit": OrderType.TAKE_PROFIT_LIMIT,
}
ORDER_TYPE_WIRE_NAMES = {v: k for k, v in ORDER_TYPE_NAMES.items()}

TIF_NAMES: dict[str, TimeInForce] = {
    "good-till-time": TimeInForce.GTC,
    "immediate-or-cancel": TimeInForce.IOC,
    "post-only": TimeInForce.POST_ONLY,
}
TIF_WIRE_NAMES = {v: k for k, v in TIF_NAMES.items()}
TIF_FROM_WIRE = {TIF_IOC: TimeInForce.IOC, TIF_GTT: TimeInForce.GTC, TIF_POST_ONLY: TimeInForce.POST_ONLY}

# Order `status` strings -> perpd status. Every "canceled-*" is a terminal cancel; the
# suffix (the reason) is kept in Order.reason.
ORDER_STATUS_NAMES: dict[str, OrderStatus] = {
    "in-progress": OrderStatus.PENDING,
    "pending": OrderStatus.OPEN,  # an untriggered conditional order rests as "pending"
    "open": OrderStatus.OPEN,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "canceled-post-only": OrderStatus.REJECTED,
    "canceled-reduce-only": OrderStatus.REJECTED,
    "canceled-position-not-allowed": OrderStatus.REJECTED,
    "canceled-margin-not-allowed": OrderStatus.REJECTED,
    "canceled-too-much-slippage": OrderStatus.CANCELLED,
    "canceled-not-enough-liquidity": OrderStatus.CANCELLED,
    "canceled-self-trade": OrderStatus.CANCELLED,
    "canceled-expired": OrderStatus.EXPIRED,
    "canceled-oco": OrderStatus.CANCELLED,
    "canceled-child": OrderStatus.CANCELLED,
    "canceled-liquidation": OrderStatus.CANCELLED,
    "canceled-invalid-balance": OrderStatus.REJECTED,
}

RESOLUTIONS = ("1m", "5m", "15m", "30m", "1h", "4h", "12h", "1d", "1w")
RESOLUTION_MS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "1w": 604_800_000,
}
