"""Sim engine views -> Lighter JSON, with every field lighter-sdk 1.1.8's models require.

The SDK's pydantic models are strict (required fields, StrictInt/StrictStr, enum
checks), so a field left out here makes `lighter.ApiClient` fail: the shapes list them
all, with neutral values where the emulator has nothing to say (integrator fees, pool
info, position history before a trade).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpd.model import MarginMode, OrderStatus, OrderType, Side, TimeInForce
from venues.lighter.constants import (
    MARGIN_FRACTION_SCALE,
    MIN_ORDER_INDEX,
    ORDER_TYPE_WIRE_NAMES,
    TIF_WIRE_NAMES,
    TRADE_FEE_SCALE,
)
from venues.lighter.emulator.markets import HUNDRED, USDC_ASSET_ID, MarketDef
from venues.simex.events import BalanceView, CandleView, OrderView, PositionView, PublicTrade, Reason, SimFill


# Why an accepted order ended -> Lighter's `status` string.
END_STATUS: dict[Reason | None, str] = {
    None: "canceled",
    Reason.USER: "canceled",
    Reason.IOC_UNFILLED: "canceled-too-much-slippage",
    Reason.FOK_UNFILLABLE: "canceled-not-enough-liquidity",
    Reason.NO_LIQUIDITY: "canceled-not-enough-liquidity",
    Reason.REDUCE_ONLY: "canceled-reduce-only",
    Reason.MARGIN: "canceled-margin-not-allowed",
    Reason.DEAD_MANS_SWITCH: "canceled",
    Reason.LIQUIDATION: "canceled-liquidation",
    Reason.SELF_TRADE: "canceled-self-trade",
    Reason.OCO: "canceled-oco",
}


def order_index(oid: int) -> int:
    """Lighter order indices start at 2^48 (client order indices stay below)."""
    return MIN_ORDER_INDEX + oid


def usd(value: Decimal | None) -> str:
    return f"{value or 0:.6f}"


def status_of(view: OrderView) -> tuple[str, str]:
    """(status, trigger_status) of an engine order."""
    if view.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING):
        if view.waiting_for_trigger:
            return "pending", "mark-price"
        return "open", "na"
    if view.status is OrderStatus.FILLED:
        return "filled", "na"
    if view.status is OrderStatus.EXPIRED:
        return "canceled-expired", "na"
    return END_STATUS.get(view.reason, "canceled"), "na"


def order_json(
    view: OrderView | None,
    market: MarketDef,
    account_index: int,
    *,
    nonce: int = 0,
    expiry_ms: int | None = None,
    synthetic: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An `Order` object. `synthetic` describes an order that never reached the engine
    (refused at execution: post-only cross, reduce-only, margin)."""
    if synthetic is not None:
        return synthetic
    assert view is not None
    status, trigger_status = status_of(view)
    price = view.price or Decimal(0)
    client = int(view.client_id) if view.client_id and view.client_id.isdigit() else 0
    idx = order_index(view.oid)
    filled_quote = (view.avg_price or Decimal(0)) * view.filled
    return _order(
        market, account_index, idx, client, view.side, view.type, view.tif, view.size, view.filled,
        filled_quote, price, view.trigger_price, view.reduce_only, status, trigger_status, nonce,
        view.created_ms, view.updated_ms, expiry_ms,
    )


def synthetic_order(
    market: MarketDef,
    account_index: int,
    idx: int,
    client: int,
    side: Side,
    otype: OrderType,
    tif: TimeInForce,
    size: Decimal,
    price: Decimal,
    trigger: Decimal | None,
    reduce_only: bool,
    status: str,
    nonce: int,
    now_ms: int,
) -> dict[str, Any]:
    return _order(
        market, account_index, idx, client, side, otype, tif, size, Decimal(0), Decimal(0), price, trigger,
        reduce_only, status, "na", nonce, now_ms, now_ms,
    )


def _order(
    market: MarketDef,
    account_index: int,
    idx: int,
    client: int,
    side: Side,
    otype: OrderType,
    tif: TimeInForce,
    size: Decimal,
    filled: Decimal,
    filled_quote: Decimal,
    price: Decimal,
    trigger: Decimal | None,
    reduce_only: bool,
    status: str,
    trigger_status: str,
    nonce: int,
    created_ms: int,
    updated_ms: int,
    expiry_ms: int | None = None,
) -> dict[str, Any]:
    remaining = size - filled if status in ("open", "pending") else Decimal(0)
    wire_tif = TIF_WIRE_NAMES.get(tif, "good-till-time")
    if otype is OrderType.MARKET:
        wire_tif = "immediate-or-cancel"
    return {
        "order_index": idx,
        "client_order_index": client,
        "order_id": str(idx),
        "client_order_id": str(client),
        "market_index": market.market_id,
        "owner_account_index": account_index,
        "initial_base_amount": market.fmt_size(size),
        "price": market.fmt_price(price),
        "nonce": nonce,
        "remaining_base_amount": market.fmt_size(remaining),
        "is_ask": side is Side.SELL,
        "base_size": market.wire_size(remaining),
        "base_price": market.wire_price(price),
        "filled_base_amount": market.fmt_size(filled),
        "filled_quote_amount": usd(filled_quote),
        "side": "sell" if side is Side.SELL else "buy",
        "type": ORDER_TYPE_WIRE_NAMES[otype],
        "time_in_force": wire_tif,
        "reduce_only": reduce_only,
        "trigger_price": market.fmt_price(trigger),
        "order_expiry": (0 if wire_tif == "immediate-or-cancel" and not otype.is_trigger
                         else expiry_ms or created_ms + 28 * 86_400_000),
        "status": status,
        "trigger_status": trigger_status,
        "trigger_time": 0,
        "parent_order_index": 0,
        "parent_order_id": "0",
        "to_trigger_order_id_0": "0",
        "to_trigger_order_id_1": "0",
        "to_cancel_order_id_0": "0",
        "block_height": updated_ms // 100,
        "timestamp": updated_ms,
        "created_at": created_ms,
        "updated_at": updated_ms,
        "transaction_time": updated_ms * 1000,
        "integrator_fee_collector_index": "0",
        "integrator_maker_fee": "0",
        "integrator_taker_fee": "0",
        "order_flags": 0,
        "order_version": 0,
        "market_symbol": market.base,
        "market_kind": "perps",
    }


def trade_json(
    market: MarketDef,
    trade_id: int,
    price: Decimal,
    size: Decimal,
    ts_ms: int,
    *,
    ask: tuple[int, int, int],  # (account index, order index, client order index)
    bid: tuple[int, int, int],
    is_maker_ask: bool,
    maker_fee: int = 0,
    taker_fee: int = 0,
    ask_pnl: Decimal | None = None,
    bid_pnl: Decimal | None = None,
) -> dict[str, Any]:
    """A `Trade` object (recentTrades, trades, trade/{m}, account_all_trades)."""
    return {
        "trade_id": trade_id,
        "trade_id_str": str(trade_id),
        "tx_hash": f"{trade_id:080x}",
        "type": "trade",
        "market_id": market.market_id,
        "size": market.fmt_size(size),
        "price": market.fmt_price(price),
        "usd_amount": usd(price * size),
        "ask_id": ask[1],
        "ask_id_str": str(ask[1]),
        "bid_id": bid[1],
        "bid_id_str": str(bid[1]),
        "ask_client_id": ask[2],
        "ask_client_id_str": str(ask[2]),
        "bid_client_id": bid[2],
        "bid_client_id_str": str(bid[2]),
        "ask_account_id": ask[0],
        "bid_account_id": bid[0],
        "is_maker_ask": is_maker_ask,
        "block_height": ts_ms // 100,
        "timestamp": ts_ms,
        "taker_fee": taker_fee,
        "maker_fee": maker_fee,
        "taker_position_size_before": "0",
        "taker_entry_quote_before": "0",
        "taker_initial_margin_fraction_before": 0,
        "taker_position_sign_changed": False,
        "maker_position_size_before": "0",
        "maker_entry_quote_before": "0",
        "maker_initial_margin_fraction_before": 0,
        "maker_position_sign_changed": False,
        "transaction_time": ts_ms * 1000,
        "bid_account_pnl": usd(bid_pnl),
        "ask_account_pnl": usd(ask_pnl),
        "integrator_maker_fee": 0,
        "integrator_maker_fee_collector_index": 0,
        "integrator_taker_fee": 0,
        "integrator_taker_fee_collector_index": 0,
        "taker_allocated_margin_usdc_before": 0,
        "taker_allocated_margin_usdc_after": 0,
        "maker_allocated_margin_usdc_before": 0,
        "maker_allocated_margin_usdc_after": 0,
        "bid_order_version": 0,
        "ask_order_version": 0,
        "market_symbol": market.base,
        "market_kind": "perps",
    }


def fee_units(fee: Decimal, notional: Decimal) -> int:
    """A fee amount as Lighter's trade fee integer (millionths of notional)."""
    if not notional:
        return 0
    return int((fee / notional * TRADE_FEE_SCALE).to_integral_value())


def fill_trade_json(fill: SimFill, market: MarketDef, account_index: int, idx: int) -> dict[str, Any]:
    """Our side of a trade, from one engine fill; the other side is not ours to show."""
    client = int(fill.client_id) if fill.client_id and fill.client_id.isdigit() else 0
    ours = (account_index, idx, client)
    other = (0, 0, 0)
    we_sold = fill.side is Side.SELL
    maker = fill.liquidity.value == "maker"
    units = fee_units(fill.fee, fill.price * fill.size)
    return trade_json(
        market, fill.trade_id, fill.price, fill.size, fill.ts_ms,
        ask=ours if we_sold else other,
        bid=other if we_sold else ours,
        is_maker_ask=(we_sold == maker),
        maker_fee=units if maker else 0,
        taker_fee=0 if maker else units,
        ask_pnl=fill.realized_pnl if we_sold else None,
        bid_pnl=None if we_sold else fill.realized_pnl,
    )


def public_trade_json(trade: PublicTrade, market: MarketDef, account_of: Any, client_of: Any) -> dict[str, Any]:
    """A public trade; `account_of(engine account)` and `client_of(oid)` name the sides."""
    return trade_json(
        market, trade.trade_id, trade.price, trade.size, trade.ts_ms,
        ask=(account_of(trade.seller), order_index(trade.sell_oid), client_of(trade.sell_oid)),
        bid=(account_of(trade.buyer), order_index(trade.buy_oid), client_of(trade.buy_oid)),
        is_maker_ask=trade.taker_side is Side.BUY,
    )


def candle_json(c: CandleView) -> dict[str, Any]:
    """A candle of `candles` and WS `candle/{m}/{res}` (numbers, as Lighter sends them)."""
    o, h, low, close = float(c.open), float(c.high), float(c.low), float(c.close)
    return {"t": c.open_ms, "o": o, "h": h, "l": low, "c": close, "v": float(c.volume),
            "V": float(c.volume * c.close), "i": c.trades, "O": o, "H": h, "L": low, "C": close}  # raw = trade prices


def imf_of(leverage: int) -> int:
    return MARGIN_FRACTION_SCALE // max(leverage, 1)


def position_json(view: PositionView, market: MarketDef, open_orders: int = 0) -> dict[str, Any]:
    """An `AccountPosition` (REST account, WS account_all_positions)."""
    size = abs(view.size)
    value = size * view.mark_price
    return {
        "market_id": market.market_id,
        "symbol": market.base,
        "initial_margin_fraction": f"{Decimal(imf_of(view.leverage)) / HUNDRED:.2f}",
        "open_order_count": open_orders,
        "pending_order_count": 0,
        "position_tied_order_count": 0,
        "sign": -1 if view.size < 0 else 1,
        "position": market.fmt_size(size),
        "avg_entry_price": market.fmt_price(view.entry_price),
        "position_value": usd(value),
        "unrealized_pnl": usd(view.unrealized_pnl),
        "realized_pnl": usd(view.realized_pnl),
        "liquidation_price": str(view.liquidation_price or 0),
        "total_funding_paid_out": usd(-view.funding),
        "margin_mode": 1 if view.margin_mode is MarginMode.ISOLATED else 0,
        "allocated_margin": usd(view.margin_used if view.margin_mode is MarginMode.ISOLATED else 0),
        "total_discount": "0.000000",
        "margin_set_flag": 0,
    }


def asset_json(balance: BalanceView) -> dict[str, Any]:
    return {
        "symbol": "USDC",
        "asset_id": USDC_ASSET_ID,
        "balance": usd(balance.balance),
        "locked_balance": "0.000000",
        "margin_balance": usd(balance.balance),
        "margin_mode": "enabled",
        "multiplier": "1",
    }


def account_json(
    account_index: int, balance: BalanceView, positions: list[dict[str, Any]], open_orders: int, created_ms: int,
    owner: str | None = None,
) -> dict[str, Any]:
    """A `DetailedAccount` (REST account)."""
    return {
        "code": 0,
        "account_type": 0,
        "account_trading_mode": 0,
        "index": account_index,
        "l1_address": owner or "0x" + "0" * 40,
        "cancel_all_time": 0,
        "total_order_count": open_orders,
        "total_isolated_order_count": 0,
        "pending_order_count": 0,
        "available_balance": usd(balance.available),
        "status": 1,
        "collateral": usd(balance.balance),
        "account_index": account_index,
        "name": "",
        "description": "",
        "can_invite": False,
        "referral_points_percentage": "",
        "positions": positions,
        "assets": [asset_json(balance)],
        "total_asset_value": usd(balance.equity),
        "cross_asset_value": usd(balance.equity),
        "pool_info": {
            "status": 0,
            "operator_fee": "0",
            "min_operator_share_rate": "0",
            "total_shares": 0,
            "operator_shares": 0,
            "annual_percentage_yield": 0,
            "daily_returns": [],
            "share_prices": [],
            "sharpe_ratio": 0,
            "strategies": [],
        },
        "shares": [],
        "created_at": created_ms,
        "transaction_time": created_ms * 1000,
        "pending_unlocks": [],
        "approved_integrators": [],
        "can_rfq": False,
        "cross_initial_margin_requirement": usd(balance.margin_used),
        "cross_maintenance_margin_requirement": usd(balance.margin_used / 2),
        "can_rfq_market_ids": [],
        "metadata": {"color": ""},
        "agent_enabled": False,
    }


SUB_ACCOUNT_FIELDS = ("code", "account_type", "index", "l1_address", "cancel_all_time", "total_order_count",
                      "total_isolated_order_count", "pending_order_count", "available_balance", "status",
                      "collateral", "transaction_time", "account_trading_mode")


def sub_account_json(account: dict[str, Any]) -> dict[str, Any]:
    """An `Account` row of accountsByL1Address: the summary fields of a DetailedAccount."""
    return {name: account[name] for name in SUB_ACCOUNT_FIELDS}


def user_stats_json(balance: BalanceView) -> dict[str, Any]:
    """The `stats` of WS `user_stats/{account}`."""
    leverage = (balance.margin_used / balance.equity) if balance.equity else Decimal(0)
    stats = {
        "available_balance": usd(balance.available),
        "buying_power": "0",
        "collateral": usd(balance.balance),
        "leverage": f"{leverage:.2f}",
        "margin_usage": f"{leverage * HUNDRED:.2f}",
        "portfolio_value": usd(balance.equity),
    }
    return {"account_trading_mode": 0, **stats, "cross_stats": dict(stats), "total_stats": dict(stats)}
