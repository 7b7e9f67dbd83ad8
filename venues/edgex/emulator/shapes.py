"""Sim exchange views -> EdgeX's JSON, in the shapes of the recorded samples
(../shared/venues/edgex/: getOrderById, getHistoryOrderFillTransactionPage,
getAccountAsset, getAccountById, getDepth, getTicker, getLatestFundingRate, getKline,
the quote-event and trade-event pushes). Numbers are strings: prices with the tick's
decimals, sizes with the step's, collateral amounts with 6. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perpd.model import OrderStatus
from venues.edgex.constants import CANCEL_REASON_NONE
from venues.edgex.emulator.markets import FUNDING_INTERVAL_MIN, QUOTE_COIN_ID, ContractDef, cash
from venues.simex.events import (
    BalanceView,
    BookSnapshot,
    CandleView,
    FundingPayment,
    MarketView,
    OrderView,
    PositionView,
    PublicTrade,
    Reason,
    SimFill,
)

ZERO = Decimal(0)
ORDER_ID_BASE = 564_800_000_000_000_000  # engine oid -> EdgeX order id (int64 text)
SYNTHETIC_ID_BASE = 565_800_000_000_000_000  # orders refused at matching (no engine oid)
FILL_ID_BASE = 566_800_000_000_000_000
USER_ID_BASE = 543_000_000_000_000_000

# Why an accepted order ended -> EdgeX's cancelReason.
CANCEL_REASONS: dict[Reason, str] = {
    Reason.USER: "USER_CANCELED",
    Reason.IOC_UNFILLED: "COULD_NOT_FILL",
    Reason.FOK_UNFILLABLE: "COULD_NOT_FILL",
    Reason.NO_LIQUIDITY: "COULD_NOT_FILL",
    Reason.POST_ONLY_WOULD_CROSS: "COULD_NOT_FILL",
    Reason.SELF_TRADE: "COULD_NOT_FILL",
    Reason.REDUCE_ONLY: "REDUCE_ONLY_CANCELED",
    Reason.REDUCE_ONLY_WOULD_INCREASE: "REDUCE_ONLY_CANCELED",
    Reason.MARGIN: "MARGIN_NOT_ENOUGH",
    Reason.INSUFFICIENT_MARGIN: "MARGIN_NOT_ENOUGH",
    Reason.LIQUIDATION: "LIQUIDATE_CANCELED",
    Reason.DEAD_MANS_SWITCH: "ADMIN_CANCELED",
}


@dataclass
class OrderRecord:
    """What createOrder said about one order, and what has happened to it since."""

    order_id: str
    account_id: int
    contract: ContractDef
    body: dict[str, Any]  # the createOrder body as received
    created_ms: int
    oid: int | None = None  # the engine's id; None when refused at matching
    status: str = "PENDING"  # for orders without an engine oid
    cancel_reason: str = CANCEL_REASON_NONE
    updated_ms: int = 0
    cum_fill_size: Decimal = ZERO
    cum_fill_value: Decimal = ZERO
    cum_fill_fee: Decimal = ZERO
    cum_realize: Decimal = ZERO
    fills: list[str] = field(default_factory=list)

    @property
    def client_order_id(self) -> str:
        return str(self.body.get("clientOrderId") or "")


def user_id(account_id: int) -> str:
    return str(USER_ID_BASE + account_id % 1_000_000_000)


def fill_id(fill: SimFill) -> str:
    """A fill's id: unique per trade and side of it."""
    return str(FILL_ID_BASE + fill.trade_id * 2 + (1 if fill.liquidity.value == "maker" else 0))


def order_status(view: OrderView) -> tuple[str, str]:
    """(status, cancelReason) of an engine order."""
    if view.status is OrderStatus.FILLED:
        return "FILLED", CANCEL_REASON_NONE
    if view.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
        return "CANCELED", CANCEL_REASONS.get(view.reason, "USER_CANCELED") if view.reason else "USER_CANCELED"
    if view.status is OrderStatus.EXPIRED:
        return "CANCELED", "EXPIRE_CANCELED"
    if view.waiting_for_trigger:
        return "UNTRIGGERED", CANCEL_REASON_NONE
    return "OPEN", CANCEL_REASON_NONE


def _signature(text: str) -> dict[str, str]:
    body = text[2:] if text.startswith("0x") else text
    return {"r": "0x" + body[:64], "s": "0x" + body[64:128], "v": body[128:130]}


def order_json(record: OrderRecord, view: OrderView | None) -> dict[str, Any]:
    c, body = record.contract, record.body
    if view is not None:
        status, reason = order_status(view)
        updated = view.updated_ms
    else:
        status, reason, updated = record.status, record.cancel_reason, record.updated_ms or record.created_ms
    filled = record.cum_fill_size
    return {
        "id": record.order_id, "userId": user_id(record.account_id), "accountId": str(record.account_id),
        "coinId": QUOTE_COIN_ID, "contractId": c.contract_id, "side": body.get("side"),
        "price": body.get("price"), "size": body.get("size"), "clientOrderId": record.client_order_id,
        "type": body.get("type"), "timeInForce": body.get("timeInForce"), "reduceOnly": bool(body.get("reduceOnly")),
        "triggerPrice": body.get("triggerPrice") or "0",
        "triggerPriceType": body.get("triggerPriceType") or "UNKNOWN_PRICE_TYPE",
        "expireTime": body.get("expireTime"), "sourceKey": body.get("sourceKey") or "",
        "isPositionTpsl": bool(body.get("isPositionTpsl")), "isLiquidate": False, "isDeleverage": False,
        "openTpslParentOrderId": "0", "isSetOpenTp": False, "isSetOpenSl": False,
        "isWithoutMatch": False, "maxLeverage": str(c.max_leverage),
        "takerFeeRate": f"{c.taker_fee:.6f}", "makerFeeRate": f"{c.maker_fee:.6f}", "liquidateFeeRate": "0.01",
        "marketLimitPrice": "0", "marketLimitValue": body.get("l2Value") if body.get("price") == "0" else "0",
        "l2Nonce": body.get("l2Nonce"), "l2Value": body.get("l2Value"), "l2Size": body.get("l2Size"),
        "l2LimitFee": body.get("l2LimitFee"), "l2ExpireTime": body.get("l2ExpireTime"),
        "l2Signature": _signature(str(body.get("l2Signature") or "")),
        "extraType": body.get("extraType") or "", "extraDataJson": body.get("extraDataJson") or "",
        "status": status, "matchSequenceId": "0", "triggerTime": "0", "triggerPriceTime": "0",
        "triggerPriceValue": "0", "cancelReason": reason,
        "cumFillSize": c.size(filled), "cumFillValue": f"{record.cum_fill_value.normalize():f}" if filled else "0",
        "cumFillFee": cash(record.cum_fill_fee) if filled else "0",
        "cumLiquidateFee": "0", "cumRealizePnl": cash(record.cum_realize) if filled else "0",
        "cumMatchSize": c.size(filled), "cumMatchValue": f"{record.cum_fill_value.normalize():f}" if filled else "0",
        "cumMatchFee": cash(record.cum_fill_fee) if filled else "0",
        "cumFailSize": "0", "cumFailValue": "0", "cumFailFee": "0",
        "cumApprovedSize": "0", "cumApprovedValue": "0", "cumApprovedFee": "0",
        "createdTime": str(record.created_ms), "updatedTime": str(max(updated, record.created_ms)),
    }


def funding_transaction_json(p: FundingPayment, c: ContractDef, account_id: int) -> dict[str, Any]:
    """A POSITION_FUNDING collateral transaction, as the FUNDING_SETTLEMENT push carries one
    (the recorded push, v1_ws_Private_WebSocket_Funding_Settlement_Example.json, lists only
    these keys): `deltaAmount` is the collateral the account received (negative: paid),
    `fundingPositionSize` signed (+ long, - short). Its id is the settlement time and the
    contract (one payment per position and settlement)."""
    ts = str(p.ts_ms)
    return {
        "id": _funding_id(p, c), "userId": user_id(account_id),
        "accountId": str(account_id), "coinId": QUOTE_COIN_ID,
        "type": "POSITION_FUNDING", "deltaAmount": cash(p.amount), "beforeAmount": "0", "fundingTime": ts,
        "fundingRate": f"{p.rate:f}", "fundingIndexPrice": f"{p.mark_price:f}", "fundingOraclePrice": f"{p.mark_price:f}",
        "fundingPositionSize": f"{p.position:f}", "positionContractId": c.contract_id, "createdTime": ts, "updatedTime": ts,
    }


def collateral_transaction_json(p: FundingPayment, c: ContractDef, account_id: int) -> dict[str, Any]:
    """The same payment as getCollateralTransactionPage lists it: every CollateralTransaction
    field, in the order of the recorded getCollateralTransactionById row (fields of other
    types empty or "0" there, as that DEPOSIT row has the funding ones)."""
    row = funding_transaction_json(p, c, account_id)
    blank = dict.fromkeys(("fillCloseSize", "fillCloseValue", "fillCloseFee", "fillOpenSize", "fillOpenValue",
                           "fillOpenFee", "fillPrice", "liquidateFee", "realizePnl"), "")
    zero = dict.fromkeys(("depositId", "withdrawId", "transferInId", "transferOutId"), "0")
    return {
        **{k: row[k] for k in ("id", "userId", "accountId", "coinId", "type", "deltaAmount")},
        "deltaLegacyAmount": row["deltaAmount"], "beforeAmount": row["beforeAmount"], "beforeLegacyAmount": "0",
        **blank, "isLiquidate": False, "isDeleverage": False,
        **{k: row[k] for k in ("fundingTime", "fundingRate", "fundingIndexPrice", "fundingOraclePrice",
                               "fundingPositionSize")},
        **zero, "transferReason": "UNKNOWN_TRANSFER_REASON", "orderId": "0", "orderFillTransactionId": "0",
        "orderAccountId": "0", "positionContractId": c.contract_id, "positionTransactionId": _funding_id(p, c, 1),
        "forceWithdrawId": "0", "forceTradeId": "0", "extraType": "", "extraDataJson": "",
        "censorStatus": "CENSOR_SUCCESS", "censorTxId": "0", "censorTime": row["createdTime"], "censorFailCode": "",
        "censorFailReason": "", "l2TxId": "0", "l2RejectTime": "0", "l2RejectCode": "", "l2RejectReason": "",
        "l2ApprovedTime": "0", "createdTime": row["createdTime"], "updatedTime": row["updatedTime"],
    }


def funding_position_transaction_json(p: FundingPayment, c: ContractDef, account_id: int) -> dict[str, Any]:
    """The SETTLE_FUNDING_FEE position transaction the FUNDING_SETTLEMENT push carries beside
    the collateral one (the recorded push's keys)."""
    ts = str(p.ts_ms)
    return {
        "id": _funding_id(p, c, 1), "userId": user_id(account_id), "accountId": str(account_id),
        "coinId": QUOTE_COIN_ID, "contractId": c.contract_id, "type": "SETTLE_FUNDING_FEE",
        "deltaFundingFee": cash(p.amount), "beforeOpenSize": f"{p.position:f}", "fundingTime": ts,
        "fundingRate": f"{p.rate:f}",
    }


def _funding_id(p: FundingPayment, c: ContractDef, kind: int = 0) -> str:
    """kind 0: the collateral transaction, 1: its position transaction."""
    return str((p.ts_ms * 100_000 + int(c.contract_id) % 100_000) * 2 + kind)


def fill_json(fill: SimFill, record: OrderRecord) -> dict[str, Any]:
    c = record.contract
    value = fill.price * fill.size
    created = str(fill.ts_ms)
    return {
        "id": fill_id(fill), "userId": user_id(record.account_id), "accountId": str(record.account_id),
        "coinId": QUOTE_COIN_ID, "contractId": c.contract_id, "orderId": record.order_id,
        "orderSide": "BUY" if fill.side.value == "buy" else "SELL", "fillSize": c.size(fill.size),
        "fillValue": f"{value.normalize():f}", "fillFee": cash(fill.fee), "fillPrice": c.price(fill.price),
        "liquidateFee": "0", "realizePnl": cash(fill.realized_pnl - fill.fee),
        "direction": "MAKER" if fill.liquidity.value == "maker" else "TAKER",
        "isPositionTpsl": False, "isLiquidate": fill.liquidation, "isDeleverage": False, "isWithoutMatch": False,
        "matchSequenceId": str(fill.trade_id), "matchIndex": 0, "matchTime": created, "matchAccountId": "0",
        "matchOrderId": "0", "matchFillId": str(fill.trade_id), "positionTransactionId": "0",
        "collateralTransactionId": "0", "extraType": "", "extraDataJson": "", "censorStatus": "CENSOR_SUCCESS",
        "censorTxId": "0", "censorTime": created, "censorFailCode": "", "censorFailReason": "", "l2TxId": "0",
        "l2RejectTime": "0", "l2RejectCode": "", "l2RejectReason": "", "l2ApprovedTime": "0",
        "createdTime": created, "updatedTime": created,
    }


def position_json(view: PositionView, c: ContractDef, account_id: int) -> dict[str, Any]:
    """A `positionList` row: openSize and openValue signed (+ long, - short)."""
    entry = view.entry_price or ZERO
    return {
        "userId": user_id(account_id), "accountId": str(account_id), "coinId": QUOTE_COIN_ID,
        "contractId": c.contract_id, "openSize": c.size(view.size), "openValue": cash(entry * view.size),
        "openFee": "0", "fundingFee": cash(view.funding), "updatedTime": str(view.ts_ms), "createdTime": str(view.ts_ms),
    }


def position_asset_json(view: PositionView, c: ContractDef, account_id: int) -> dict[str, Any]:
    return {
        "userId": user_id(account_id), "accountId": str(account_id), "coinId": QUOTE_COIN_ID,
        "contractId": c.contract_id, "positionValue": cash(view.size * view.mark_price),
        "maxLeverage": str(view.leverage), "initialMarginRequirement": cash(view.margin_used),
        "starkExRiskRate": "0", "starkExRiskValue": "0",
        "avgEntryPrice": c.price(view.entry_price) if view.entry_price is not None else "0",
        "liquidatePrice": c.price(view.liquidation_price) if view.liquidation_price is not None else "0",
        "bankruptPrice": "0", "worstClosePrice": "0", "unrealizePnl": cash(view.unrealized_pnl),
        "termRealizePnl": cash(view.realized_pnl), "totalRealizePnl": cash(view.realized_pnl),
    }


def collateral_json(balance: BalanceView, account_id: int) -> dict[str, Any]:
    return {
        "userId": user_id(account_id), "accountId": str(account_id), "coinId": QUOTE_COIN_ID,
        "amount": cash(balance.balance), "legacyAmount": cash(balance.balance), "cumDepositAmount": "0",
        "cumWithdrawAmount": "0", "cumTransferInAmount": "0", "cumTransferOutAmount": "0",
        "cumPositionBuyAmount": "0", "cumPositionSellAmount": "0", "cumFillFeeAmount": "0",
        "cumFundingFeeAmount": "0", "cumFillFeeIncomeAmount": "0",
        "createdTime": "0", "updatedTime": str(balance.ts_ms),
    }


def collateral_asset_json(balance: BalanceView, positions: list[PositionView], account_id: int) -> dict[str, Any]:
    return {
        "userId": user_id(account_id), "accountId": str(account_id), "coinId": QUOTE_COIN_ID,
        "totalEquity": cash(balance.equity),
        "totalPositionValueAbs": cash(sum((abs(p.size * p.mark_price) for p in positions), ZERO)),
        "initialMarginRequirement": cash(balance.margin_used), "starkExRiskValue": "0",
        "pendingWithdrawAmount": "0", "pendingTransferOutAmount": "0",
        "orderFrozenAmount": cash(balance.order_margin), "availableAmount": cash(balance.available),
    }


def account_json(account_id: int, address: str, leverage: dict[str, int], created_ms: int) -> dict[str, Any]:
    return {
        "id": str(account_id), "userId": user_id(account_id), "ethAddress": address, "l2Key": "",
        "l2KeyYCoordinate": "", "clientAccountId": "main", "isSystemAccount": False,
        "defaultTradeSetting": {"isSetFeeRate": False, "takerFeeRate": "", "makerFeeRate": "",
                                "isSetFeeDiscount": False, "takerFeeDiscount": "0", "makerFeeDiscount": "0",
                                "isSetMaxLeverage": False, "maxLeverage": "0"},
        "contractIdToTradeSetting": {
            cid: {"isSetFeeRate": False, "takerFeeRate": "", "makerFeeRate": "", "isSetFeeDiscount": False,
                  "takerFeeDiscount": "", "makerFeeDiscount": "", "isSetMaxLeverage": True, "maxLeverage": str(lev)}
            for cid, lev in leverage.items()
        },
        "maxLeverageLimit": "0", "createOrderPerMinuteLimit": 0, "createOrderDelayMillis": 0,
        "extraType": "", "extraDataJson": "", "status": "NORMAL", "isLiquidating": False,
        "createdTime": str(created_ms), "updatedTime": str(created_ms),
    }


def depth_json(book: BookSnapshot, c: ContractDef, level: int, depth_type: str) -> dict[str, Any]:
    return {
        "startVersion": str(book.seq), "endVersion": str(book.seq), "level": level,
        "contractId": c.contract_id, "contractName": c.name,
        "asks": [{"price": c.price(p), "size": c.size(s)} for p, s in book.asks[:level]],
        "bids": [{"price": c.price(p), "size": c.size(s)} for p, s in book.bids[:level]],
        "depthType": depth_type,
    }


def depth_change_json(seq: int, bids: tuple[tuple[Decimal, Decimal], ...], asks: tuple[tuple[Decimal, Decimal], ...],
                      c: ContractDef, level: int) -> dict[str, Any]:
    return {
        "startVersion": str(seq), "endVersion": str(seq), "level": level,
        "contractId": c.contract_id, "contractName": c.name,
        "asks": [{"price": c.price(p), "size": c.size(s)} for p, s in asks],
        "bids": [{"price": c.price(p), "size": c.size(s)} for p, s in bids],
        "depthType": "CHANGED",
    }


def ticker_json(view: MarketView, c: ContractDef, candles: list[CandleView], book: BookSnapshot,
                now_ms: int) -> dict[str, Any]:
    """A `getTicker` row (24 h from the minute candles); the push adds the top of book."""
    last = view.last_price if view.last_price is not None else view.mark_price
    first = candles[0] if candles else None
    high = max((k.high for k in candles), default=last)
    low = min((k.low for k in candles), default=last)
    open_ = first.open if first is not None else last
    size = sum((k.volume for k in candles), ZERO)
    interval_ms = FUNDING_INTERVAL_MIN * 60_000
    return {
        "contractId": c.contract_id, "contractName": c.name, "priceChange": c.price(last - open_),
        "priceChangePercent": f"{((last - open_) / open_ if open_ else ZERO):.6f}",
        "trades": str(sum(k.trades for k in candles)), "size": c.size(size),
        "value": f"{sum((k.volume * k.close for k in candles), ZERO):.4f}",
        "high": c.price(high), "low": c.price(low), "open": c.price(open_), "close": c.price(last),
        "highTime": str(first.open_ms if first else now_ms), "lowTime": str(first.open_ms if first else now_ms),
        "startTime": str(now_ms - 86_400_000), "endTime": str(now_ms),
        "lastPrice": c.price(last), "indexPrice": f"{view.index_price:f}", "oraclePrice": f"{view.mark_price:f}",
        "markPrice": f"{view.mark_price:f}", "openInterest": c.size(view.open_interest),
        "fundingRate": f"{view.funding_rate:.8f}", "fundingTime": str(view.next_funding_ms - interval_ms),
        "nextFundingTime": str(view.next_funding_ms),
        "bestBidPrice": c.price(book.bids[0][0]) if book.bids else "0",
        "bestAskPrice": c.price(book.asks[0][0]) if book.asks else "0",
        "marketOpen": True,
    }


def funding_json(view: MarketView, c: ContractDef, now_ms: int, previous: tuple[Decimal, int] | None) -> dict[str, Any]:
    interval_ms = FUNDING_INTERVAL_MIN * 60_000
    rate = f"{view.funding_rate:.8f}"
    return {
        "contractId": c.contract_id, "fundingTime": str(view.next_funding_ms - interval_ms),
        "fundingTimestamp": str(now_ms), "oraclePrice": f"{view.mark_price:f}", "markPrice": f"{view.mark_price:f}",
        "indexPrice": f"{view.index_price:f}", "fundingRate": rate, "isSettlement": False,
        "forecastFundingRate": rate,
        "previousFundingRate": f"{previous[0]:.8f}" if previous else "0",
        "previousFundingTimestamp": str(previous[1]) if previous else "0",
        "premiumIndex": "0", "avgPremiumIndex": "0", "premiumIndexTimestamp": str(now_ms),
        "impactMarginNotional": "100", "impactAskPrice": "0", "impactBidPrice": "0", "interestRate": "0.0003",
        "predictedFundingRate": rate, "fundingRateIntervalMin": str(FUNDING_INTERVAL_MIN),
        "starkExFundingIndex": "0",
    }


def kline_json(candle: CandleView, c: ContractDef, kline_type: str) -> dict[str, Any]:
    return {
        "klineId": str(candle.open_ms), "contractId": c.contract_id, "contractName": c.name,
        "klineType": kline_type, "klineTime": str(candle.open_ms), "priceType": "LAST_PRICE",
        "trades": str(candle.trades), "size": c.size(candle.volume),
        "value": f"{candle.volume * candle.close:.4f}", "high": c.price(candle.high), "low": c.price(candle.low),
        "open": c.price(candle.open), "close": c.price(candle.close), "makerBuySize": "0", "makerBuyValue": "0",
    }


def trade_json(trade: PublicTrade, c: ContractDef) -> dict[str, Any]:
    return {
        "ticketId": str(trade.trade_id), "time": str(trade.ts_ms), "price": c.price(trade.price),
        "size": c.size(trade.size), "value": f"{(trade.price * trade.size).normalize():f}",
        "takerOrderId": str(ORDER_ID_BASE + (trade.buy_oid if trade.taker_side.value == "buy" else trade.sell_oid)),
        "makerOrderId": str(ORDER_ID_BASE + (trade.sell_oid if trade.taker_side.value == "buy" else trade.buy_oid)),
        "takerAccountId": "0", "makerAccountId": "0", "contractId": c.contract_id,
        "isBestMatch": True, "isBuyerMaker": trade.taker_side.value == "sell",
    }
