"""Recorded Lighter payloads parse into perpd's model with exact Decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from perpd.model import Liquidity, MarginMode, OrderStatus, OrderType, Side, TimeInForce
from venues.lighter import parse
from venues.lighter.parse import LighterMarket

from lighter_support import fixture


@pytest.fixture
def eth() -> LighterMarket:
    return parse.parse_markets(fixture("rest_orderBookDetails.resp.live.nautilus.json"), "lighter")[0]


def test_live_order_book_details_become_a_market_with_ticks_lots_and_leverage(eth: LighterMarket) -> None:
    market = eth.market
    assert (market.symbol, market.venue_symbol, market.base, market.quote) == ("ETH-PERP", "0", "ETH", "USDC")
    assert market.tick_size == Decimal("0.01")
    assert market.lot_size == Decimal("0.0001")
    assert market.min_size == Decimal("0.0050")
    assert market.min_notional == Decimal("10.000000")
    assert market.max_leverage == 50  # min_initial_margin_fraction 200 = 2%
    assert (eth.market_id, eth.size_decimals, eth.price_decimals) == (0, 4, 2)


def test_older_details_without_market_type_still_parse() -> None:
    (spec,) = parse.parse_markets(fixture("rest_orderBookDetails.resp.ccxt.json"), "lighter")
    assert spec.symbol == "ETH-PERP" and spec.market.max_leverage == 50


def test_order_books_listing_has_supported_decimals_only() -> None:
    (spec,) = parse.parse_markets(fixture("rest_orderBooks.resp.live.nautilus.json"), "lighter")
    assert spec.market.tick_size == Decimal("0.01") and spec.market.lot_size == Decimal("0.0001")


def test_wire_scaling_is_exact_and_refuses_sub_tick_values(eth: LighterMarket) -> None:
    assert eth.to_wire_price(Decimal("4050.00")) == 405000
    assert eth.to_wire_size(Decimal("0.1")) == 1000
    assert eth.from_wire_price(405000) == Decimal("4050.00")
    with pytest.raises(ValueError):
        eth.to_wire_price(Decimal("4050.001"))


def test_order_book_orders_aggregate_into_levels_best_first(eth: LighterMarket) -> None:
    book = parse.parse_order_book_orders(fixture("rest_orderBookOrders.resp.live.nautilus.json"), eth.market)
    assert book.best_bid == Decimal("2361.17") and book.best_ask == Decimal("2361.32")
    assert book.asks[0].size == Decimal("0.0317") and book.bids[0].size == Decimal("3.4125")


def test_recent_trade_aggressor_is_the_non_maker_side(eth: LighterMarket) -> None:
    (trade,) = parse.parse_trades(fixture("rest_recentTrades.resp.live.nautilus.json")["trades"], eth.market)
    # is_maker_ask false: the bid rested, so the aggressor sold.
    assert trade.side is Side.SELL
    assert (trade.trade_id, trade.price, trade.size) == ("19211490282", Decimal("2361.31"), Decimal("0.0005"))
    assert trade.ts_ms == 1777945103092


def test_candles_parse_oldest_first_and_null_is_empty(eth: LighterMarket) -> None:
    candles = parse.parse_candles(fixture("rest_candles.resp.fixture.nautilus.json"), eth.market)
    assert [c.open_ms for c in candles] == [1700000000000, 1700000060000]
    assert candles[0].open == Decimal("2361.11") and candles[0].volume == Decimal("1.2345")
    assert parse.parse_candles(fixture("rest_candles_null.resp.fixture.nautilus.json"), eth.market) == []


def test_funding_rates_pick_this_market(eth: LighterMarket) -> None:
    rate = parse.parse_funding_rates(fixture("rest_funding-rates.resp.ccxt.json"), eth, ts_ms=1)
    assert rate is not None and rate.rate == Decimal("0.00009599999999999999") and rate.interval_secs == 3600


def test_market_stats_give_mark_index_and_hourly_funding(eth: LighterMarket) -> None:
    message = fixture("ws_market_stats.update.docs.nautilus.json")
    ticker, funding = parse.parse_market_stats(message["market_stats"], eth.market, message["timestamp"])
    assert ticker.mark_price == Decimal("2064.47") and ticker.index_price == Decimal("2064.48")
    assert funding.rate == Decimal("0.00000002")  # "0.000002" percent
    assert funding.next_funding_ms == 1774886400000


def test_active_order_maps_ids_status_and_tif(eth: LighterMarket) -> None:
    (row,) = fixture("rest_accountActiveOrders.resp.schemafixture.nautilus.json")["orders"]
    order = parse.parse_order(row, eth.market, "acct")
    assert order.client_id == "42" and order.venue_order_id == "281476929510110"
    assert (order.side, order.type, order.tif, order.status) == (Side.SELL, OrderType.LIMIT, TimeInForce.GTC, OrderStatus.OPEN)
    assert order.size == Decimal("0.0050") and order.price == Decimal("2352.74")


def test_partially_filled_update_reports_fill_and_average(eth: LighterMarket) -> None:
    message = fixture("ws_account_orders.update.docs.nautilus.json")
    (market_id, rows), = parse.by_market(message["orders"])
    order = parse.parse_order(rows[0], eth.market, "acct")
    assert market_id == 0
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_size == Decimal("0.0020")
    assert order.avg_fill_price == Decimal("2352.74")


def test_margin_refusal_is_a_rejection_with_its_reason(eth: LighterMarket) -> None:
    (row,) = fixture("rest_accountInactiveOrders.resp.ccxt.json")["orders"]
    order = parse.parse_order(row, eth.market, "acct")
    assert order.status is OrderStatus.REJECTED and order.reason == "margin-not-allowed"
    assert order.type is OrderType.MARKET and order.tif is TimeInForce.IOC
    assert order.client_id == "order:281474977354074"  # no client index: named by order index


def test_account_trade_is_our_fill_with_side_liquidity_and_fee(eth: LighterMarket) -> None:
    message = fixture("ws_account_all_trades.update.docs.nautilus.json")
    (_, rows), = parse.by_market(message["trades"])
    (fill,) = parse.parse_fills(rows[0], eth.market, 1234, "acct")
    # account 1234 is the bid; the ask was the maker, so we bought as taker.
    assert (fill.side, fill.liquidity) == (Side.BUY, Liquidity.TAKER)
    assert fill.client_id == "7001011966" and fill.venue_order_id == "562947905631053"
    assert fill.fee == Decimal("314.324728") * 196 / 1_000_000


def test_fills_of_someone_else_are_not_ours(eth: LighterMarket) -> None:
    (row,) = fixture("rest_trades.resp.ccxt.json")["trades"]
    assert parse.parse_fills(row, eth.market, 999, "acct") == []
    (fill,) = parse.parse_fills(row, eth.market, 1077, "acct")
    assert fill.side is Side.BUY and fill.liquidity is Liquidity.TAKER and fill.fee == 0


def test_account_with_a_position_gives_signed_position_and_balance(eth: LighterMarket) -> None:
    (acct,) = fixture("rest_account_with_positions.resp.ccxt.json")["accounts"]
    position = parse.parse_position(acct["positions"][0], eth.market, "acct")
    assert position is not None
    assert position.size == Decimal("18.0193") and position.entry_price == Decimal("2669.84")
    assert position.leverage == 20 and position.margin_mode is MarginMode.CROSS
    balance = parse.parse_balance(acct, "acct", "lighter")
    assert balance.equity == Decimal("15298.072264000002")
    assert balance.available == Decimal("12582.743947")
    assert balance.unrealized_pnl == Decimal("6197.829558")


def test_flat_position_is_none_and_ws_fraction_leverage_is_read(eth: LighterMarket) -> None:
    (acct,) = fixture("rest_account.resp.fixture.nautilus.json")["accounts"]
    assert parse.parse_position(acct["positions"][0], eth.market, "acct") is None
    message = fixture("ws_account_all_positions.update.docs.nautilus.json")
    position = parse.parse_position(message["positions"]["0"], eth.market, "acct")
    assert position is not None and position.leverage == 20 and position.size == Decimal("1.5000")


def test_user_stats_give_equity_and_available() -> None:
    message = fixture("ws_user_stats.subscribed_with_position.docs.nautilus.json")
    balance = parse.parse_user_stats(message["stats"], "acct", "lighter")
    assert balance.equity == Decimal("39.995169") and balance.available == Decimal("39.168314")


def test_float_numbers_parse_by_their_shortest_repr() -> None:
    assert parse.dec(3550.69) == Decimal("3550.69")
    assert parse.dec("") == 0 and parse.dec(None, None) is None
