"""Vest's documented payloads (fixtures/, the API page's examples) -> perpd's model."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from vest_support import sample

from perpd.errors import InvalidRequest
from perpd.model import Liquidity, MarginMode, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from venues.vest import parse
from venues.vest.markets import parse_markets, unified_symbol
from venues.vest.orders import to_wire

ACCOUNT, VENUE = "main", "vest"


@pytest.fixture
def btc():
    (market,) = parse_markets(sample("rest_GET_exchangeInfo.response.json"), VENUE)
    return market


def test_exchange_info_gives_tick_lot_and_the_leverage_cap(btc) -> None:
    m = btc.market
    assert (m.symbol, m.venue_symbol, m.base, m.quote) == ("BTC-PERP", "BTC-PERP", "BTC", "USDC")
    assert (m.tick_size, m.lot_size, m.min_size, m.min_notional) == (D("0.01"), D("0.0001"), D("0.0001"), 0)
    assert m.max_leverage == 10  # initMarginRatio 0.1
    assert m.taker_fee == m.maker_fee == D("0.0001")  # every fill is a taker fill
    assert (btc.fmt_size(D("0.1")), btc.fmt_price(D("30000"))) == ("0.1000", "30000.00")
    with pytest.raises(InvalidRequest):
        btc.fmt_price(D("30000.001"))


def test_vest_symbols_become_unified_ones() -> None:
    assert unified_symbol("kBONK-PERP") == "KBONK-PERP"
    assert unified_symbol("AAPL-USD-PERP") == "AAPL_USD-PERP"


def test_depth_trades_ticker_funding_and_klines(btc) -> None:
    book = parse.parse_depth(sample("rest_GET_depth.response.json"), btc, ts_ms=5)
    assert (book.best_bid, book.best_ask, book.bids[0].size) == (D("4.00"), D("4.02"), D("431.0000"))
    (trade,) = parse.parse_trades(sample("rest_GET_trades.response.json"), btc, mid=book.mid)
    assert (trade.trade_id, trade.price, trade.size, trade.side) == ("28457", D("4.00"), D("12.0000"), Side.SELL)
    ws_trade = sample("ws_Trades_Example_Response.json")["data"]
    assert parse.parse_trade(ws_trade, btc, Side.BUY).trade_id == "0x"  # the docs' placeholder id is kept
    row = sample("rest_GET_ticker_latest.response.json")["tickers"][0]
    ticker = parse.parse_ticker(row, btc, 7)
    assert (ticker.mark_price, ticker.index_price, ticker.funding_rate) == (D("34000.1"), D("34000.0"), D("0.0001"))
    funding = parse.parse_funding(row, btc, 7)
    assert (funding.rate, funding.interval_secs) == (D("0.0001"), 3600)
    (candle,) = parse.parse_klines(sample("rest_GET_klines.response.json"), btc, "1m")
    assert (candle.open_ms, candle.open, candle.close, candle.volume, candle.trades) == (
        1725315120174, D("0.098837"), D("0.098769"), D("20000"), 34)
    streamed = parse.parse_kline(sample("ws_Klines_Example_Response.json")["data"], btc, "1m")
    assert streamed.trades == 34  # a string on the stream


def test_trade_sides_are_inferred_against_the_mid_then_by_tick() -> None:
    guess = parse.AggressorGuess()
    assert guess.side(D(101), D(100)) is Side.BUY
    assert guess.side(D(99), D(100)) is Side.SELL
    assert guess.side(D(100), D(100)) is Side.BUY  # at the mid: up-tick from 99
    assert guess.side(D(100), None) is Side.BUY  # unchanged: as before


def test_the_account_gives_balance_positions_and_leverage(btc) -> None:
    body = sample("rest_GET_account.response.json")
    balance = parse.parse_balance(body, ACCOUNT, VENUE, 0)
    assert (balance.equity, balance.available, balance.margin_used, balance.unrealized_pnl) == (
        D("200000.120000"), D("111222.120000"), D("1200.000000"), D("-30.000000"))
    (position,) = parse.parse_positions(body, ACCOUNT, {"BTC-PERP": btc}, 0)
    assert (position.size, position.entry_price, position.leverage, position.liquidation_price) == (
        D("0.1000"), D("30.00"), 20, D("20.00"))
    assert position.margin_mode is MarginMode.CROSS
    setting = parse.parse_leverage(body, btc)
    assert (setting.symbol, setting.leverage) == ("BTC-PERP", 20)


def test_an_order_row_and_its_whole_fill(btc) -> None:
    (row,) = sample("rest_GET_orders.response.json")
    order = parse.parse_order(row, ACCOUNT, VENUE, btc)
    assert order is not None
    assert (order.client_id, order.venue_order_id, order.status, order.type) == ("0", "0x0", OrderStatus.FILLED, OrderType.LIMIT)
    assert (order.size, order.filled_size, order.avg_fill_price, order.price) == (D("0.1000"), D("0.1000"), D("30000.00"), D("30000"))
    fill = parse.parse_fill(row, order)
    assert fill is not None
    assert (fill.trade_id, fill.client_id, fill.size, fill.price, fill.fee) == (
        "0x0:1683849600076", "0", D("0.1000"), D("30000.00"), D("0.010000"))
    assert fill.liquidity is Liquidity.TAKER and fill.side is Side.BUY


def test_order_events_new_execution_cancellation_and_rejection(btc) -> None:
    new = parse.parse_order(sample("ws_Order_Example_Payload_for_New_Order.json"), ACCOUNT, VENUE, btc)
    assert new is not None and (new.status, new.type, new.tif, new.price) == (
        OrderStatus.OPEN, OrderType.MARKET, TimeInForce.IOC, None)
    execution = sample("ws_Order_Example_Payload_for_Order_Execution.json")
    filled = parse.parse_order(execution, ACCOUNT, VENUE, btc, known=new)
    assert filled is not None and (filled.status, filled.filled_size) == (OrderStatus.FILLED, D("0.1000"))
    fill = parse.parse_fill(execution, filled)
    assert fill is not None and fill.trade_id == "0x0:1683849600076" and fill.fee == D("0.010000")
    # Cancellation and rejection events are short: the rest comes from what is known.
    cancelled = parse.parse_order(sample("ws_Order_Example_Payload_for_Order_Cancellation.json"), ACCOUNT, VENUE, None, known=new)
    assert cancelled is not None
    assert (cancelled.status, cancelled.symbol, cancelled.size, cancelled.side) == (OrderStatus.CANCELLED, "BTC-PERP", D("0.1000"), Side.BUY)
    rejected = parse.parse_order(sample("ws_Order_Example_Payload_for_Order_Rejection.json"), ACCOUNT, VENUE, None, known=new)
    assert rejected is not None and (rejected.status, rejected.reason) == (OrderStatus.REJECTED, "OI_CAP_EXCEEDED")
    assert parse.parse_order(sample("ws_Order_Example_Payload_for_Order_Rejection.json"), ACCOUNT, VENUE, None) is None
    envelope = sample("ws_account_private_envelope.ORDER.constructed.json")
    assert envelope["data"]["event"] == "ORDER"
    assert parse.parse_order(envelope["data"]["args"], ACCOUNT, VENUE, btc).status is OrderStatus.OPEN  # type: ignore[union-attr]


def test_the_documented_order_request_is_what_to_wire_writes(btc) -> None:
    """The docs' POST /orders example, rebuilt from a perpd request (SOL's decimals as shown)."""
    documented = sample("rest_POST_orders.request.json")["order"]
    sol = parse_markets({"symbols": [{"symbol": "SOL-PERP", "sizeDecimals": 4, "priceDecimals": 2,
                                      "initMarginRatio": "0.1"}]}, VENUE)[0]
    request = OrderRequest(str(documented["nonce"] or 1), "SOL-PERP", Side.BUY, OrderType.MARKET, D("3.12"),
                           price=D("30.03"), tif=TimeInForce.IOC)
    wire = to_wire(request, sol, time_ms=documented["time"]).fields()
    for key in ("time", "symbol", "isBuy", "size", "orderType", "limitPrice", "reduceOnly"):
        assert wire[key] == documented[key], key
    assert "timeInForce" not in wire  # "only accepted when orderType == LIMIT"
