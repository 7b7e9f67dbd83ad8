"""Extended JSON -> perpd.model, on the recorded and documented samples of
shared/venues/extended/ (never invented payloads; see its README for provenance)."""

from __future__ import annotations

from decimal import Decimal

from extended_support import sample

from perpd.model import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from venues.extended import market_data, parse


def test_markets_from_the_current_shape_carry_steps_minimums_and_the_l2_config():
    (btc,) = market_data.parse_markets(sample("rest_info_markets.resp.ccxt.json"), "ext")
    market = btc.market
    assert (market.symbol, market.venue_symbol, market.base, market.quote) == ("BTC-PERP", "BTC-USD", "BTC", "USD")
    assert market.tick_size == Decimal(1) and market.lot_size == Decimal("0.00001")
    assert market.min_size == Decimal("0.0001") and market.max_leverage == 50
    assert btc.l2.synthetic_id == 0x4254432D3600000000000000000000 and btc.l2.collateral_id == 1
    assert btc.l2.synthetic_resolution == btc.l2.collateral_resolution == 10**6


def test_markets_from_the_sdk_fixture_shape_parse_too():
    (btc,) = market_data.parse_markets(sample("rest_info_markets.resp.sdkfixture.json"), "ext")
    assert btc.market.tick_size == Decimal("0.1")
    assert btc.l2.collateral_id == 0x31857064564ED0FF978E687456963CBA09C2C6985D8F9300A1DE4962FAFA054


def test_order_book_trades_stats_funding_and_candles():
    book = market_data.parse_order_book(sample("rest_info_market_orderbook.resp.ccxt.json")["data"], "BTC-PERP", "ext")
    assert book.best_bid == Decimal(76214) and book.best_ask == Decimal(76215) and book.bids[0].size == Decimal("14.46084")
    stream_book = market_data.parse_order_book(sample("ws_orderbooks.snapshot.sdktest.json")["data"], "BTC-PERP", "ext")
    assert [lvl.price for lvl in stream_book.bids] == [Decimal("43548.00"), Decimal("43547.00")]
    (trade,) = market_data.parse_trades(sample("rest_info_market_trades.resp.ccxt.json")["data"], "BTC-PERP", "ext")
    assert trade.side is Side.SELL and trade.price == Decimal(76140) and trade.size == Decimal("0.00165")
    assert trade.trade_id.isdigit()  # the sample has a JS-mangled float; the API sends integers
    (ws_trade,) = market_data.parse_trades(sample("ws_publicTrades.docs-via-ccxt.json")["data"], "BTC-PERP", "ext")
    assert ws_trade.trade_id == "25124" and ws_trade.side is Side.BUY
    ticker, funding = market_data.parse_stats(sample("rest_info_market_stats.resp.ccxt.json")["data"], "BTC-PERP", "ext", 5)
    assert ticker.mark_price == Decimal("77006.091897999984") and ticker.best_bid == Decimal(77025)
    assert funding.rate == Decimal("0.000012") and funding.next_funding_ms == 1777446000000
    assert funding.interval_secs == 3600
    (rate,) = [market_data.parse_funding(r, "BTC-PERP", "ext") for r in sample("rest_info_market_funding.resp.ccxt.json")["data"]]
    assert rate.rate == Decimal("0.000008") and rate.ts_ms == 1777507201028
    (candle,) = market_data.parse_candles(sample("rest_info_candles.resp.ccxt.json")["data"], "BTC-PERP", "ext", "1m")
    assert candle.open == candle.close == Decimal("75657.5") and candle.open_ms == 1777517880000
    (ws_candle,) = market_data.parse_candles(sample("ws_candles.sdktest.json")["data"], "ETH-PERP", "ext", "1m")
    assert ws_candle.high == Decimal("3476.89") and ws_candle.volume == Decimal("3.938")


def test_open_orders_carry_the_external_id_as_client_id_and_the_cumulative_fill():
    (order,) = parse.parse_orders(sample("rest_user_orders_open.resp.ccxt.json")["data"], "acct", "ext")
    assert order.client_id == "2554612759479898620327573136214120486511160383028978112799136270841501275076"
    assert order.venue_order_id == "1775511783722512384" and order.symbol == "ETH-PERP"
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled_size == Decimal("0.1")
    assert order.avg_fill_price == Decimal("3297.00") and order.tif is TimeInForce.IOC and order.type is OrderType.LIMIT
    (history,) = parse.parse_orders(sample("rest_user_orders_history.resp.docs-via-ccxt.json")["data"], "acct", "ext")
    assert history.client_id == "ExtId-1" and history.status is OrderStatus.FILLED
    (streamed,) = parse.parse_orders(sample("ws_account.order.docs-via-ccxt.json")["data"]["orders"], "acct", "ext")
    assert streamed.status is OrderStatus.OPEN and streamed.reduce_only and streamed.filled_size == Decimal("3.513000")


def test_fills_carry_client_ids_and_unique_trade_ids_oldest_first():
    (rest_fill,) = parse.parse_fills(sample("rest_user_trades.resp.docs-via-ccxt.json")["data"], "acct", "ext")
    assert rest_fill.client_id == "ExtId-1" and rest_fill.trade_id == "1" and rest_fill.fee == Decimal("1.3")
    assert rest_fill.liquidity is Liquidity.TAKER and rest_fill.side is Side.BUY
    (ws_fill,) = parse.parse_fills(sample("ws_account.trade.docs-via-ccxt.json")["data"]["trades"], "acct", "ext")
    assert ws_fill.client_id == "ext-1" and ws_fill.venue_order_id == "9223372036854775808"
    known = {"1811328331287359488": "pd-known"}
    (sdk_fill,) = parse.parse_fills(sample("ws_account.trade.sdktest.json")["data"]["trades"], "acct", "ext", known.get)
    assert sdk_fill.client_id == "pd-known" and sdk_fill.size == Decimal("0.0010000000000000")
    rows = sample("ws_account.trade.sdktest.json")["data"]["trades"] * 2
    assert len(parse.parse_fills(rows, "acct", "ext")) == 1  # each trade id once


def test_positions_and_balances():
    (position,) = parse.parse_positions(sample("rest_user_positions.resp.docs-via-ccxt.json")["data"], "acct", "ext")
    assert position.size == Decimal("0.1") and position.entry_price == Decimal(39000) and position.leverage == 10
    assert position.unrealized_pnl == Decimal(1000) and position.liquidation_price == Decimal(38200)
    (streamed,) = parse.parse_positions(sample("ws_account.position.docs-via-ccxt.json")["data"]["positions"], "acct", "ext")
    assert streamed.size == Decimal("0.1") and streamed.ts_ms == 1701563440000
    short = {**sample("rest_user_positions.resp.docs-via-ccxt.json")["data"][0], "side": "SHORT"}
    assert parse.parse_position(short, "acct", "ext").size == Decimal("-0.1")
    closed = {**short, "status": "CLOSED"}
    assert parse.parse_positions([closed], "acct", "ext") == []
    balance = parse.parse_balance(sample("ws_account.balance.docs-via-ccxt.json")["data"]["balance"], "acct", "ext")
    assert balance.equity == Decimal(20) and balance.available == Decimal(3)


def test_placed_orders_and_leverage():
    assert parse.parse_placed(sample("rest_user_order.resp.ccxt.json")) == (
        "2051479786538188800", "3480985089570526249141260266819446928410958787024864860785196119336740291620")
    assert parse.parse_leverage(sample("rest_user_leverage_get.resp.ccxt.json"), "SOL-USD") == 10
    assert parse.parse_leverage(sample("rest_user_leverage_get.resp.ccxt.json"), "BTC-USD") is None


def test_conditional_orders_are_stops_or_take_profits_by_side_and_direction():
    body = sample("rest_user_order.req.conditional_stop_market_sell.generated.json")
    row = {**body, "externalId": body["id"], "id": 7, "status": "UNTRIGGERED", "accountId": 1,
           "createdTime": 1, "updatedTime": 1}
    order = parse.parse_order(row, "acct", "ext")
    assert order.type is OrderType.STOP_MARKET and order.trigger_price == Decimal(40000)
    assert order.status is OrderStatus.OPEN
    up = {**row, "trigger": {**row["trigger"], "direction": "UP", "executionPriceType": "LIMIT"}}
    assert parse.parse_order(up, "acct", "ext").type is OrderType.TAKE_PROFIT_LIMIT
