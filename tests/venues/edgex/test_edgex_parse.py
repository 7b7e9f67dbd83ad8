"""EdgeX JSON -> perpd.model, over the recorded samples in ../shared/venues/edgex/
(never invented payloads); and the local book over the recorded depth pushes."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from edgex_support import sample

from perpd.model import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from venues.edgex import parse
from venues.edgex.book import BookGap, LocalBook


def data(name: str):
    body = sample(name)
    assert body["code"] == "SUCCESS"
    return body["data"]


TESTNET = parse.parse_metadata(data("v1_rest_GET_v1_public_meta_getMetaData.response.json"), venue="edgex")
BTC = TESTNET.by_symbol["BTC-PERP"]


def test_metadata_gives_markets_with_the_contracts_rules() -> None:
    market = BTC.market
    assert (market.venue_symbol, market.base, market.quote) == ("10000001", "BTC", "USDT")
    assert (market.tick_size, market.lot_size, market.min_size, market.min_notional) == (D("0.1"), D("0.001"), D("0.001"), 0)
    assert market.max_leverage == 50  # displayMaxLeverage, not the first risk tier's 100
    assert (market.taker_fee, market.maker_fee) == (D("0.00055"), D("0.0002"))
    assert BTC.fee_cap_rate == D("0.00055") and BTC.default_leverage == 50
    assert BTC.funding_interval_secs == 240 * 60
    assert BTC.resolution == D(10_000_000_000)  # starkExResolution 0x2540be400 when V2's resolution is absent
    assert BTC.quote.resolution == D(1_000_000)


def test_v1_metadata_names_no_eip712_domain() -> None:
    assert TESTNET.chain_id is None and TESTNET.contract_address is None  # V2 adds nativeChainId / contractAddress
    mainnet = parse.parse_metadata(data("v1_rest_GET_v1_public_meta_getMetaData.response.mainnet_2025-09.json"),
                                   venue="edgex")
    assert mainnet.by_symbol["BTC-PERP"].market.quote == "USD"


def test_depth_is_sorted_best_first() -> None:
    (item,) = data("v2_rest_GET_v2_public_quote_getDepth.response.json")
    book = parse.parse_order_book(item, BTC.market)
    assert [lv.price for lv in book.bids] == [D("101695.5"), D("101694.1"), D("101692.9")]
    assert [lv.price for lv in book.asks] == [D("101695.9"), D("101696.0"), D("101703.0")]
    assert book.asks[0].size == D("0.579") and book.seq == 201223747


def test_ticker_mark_is_the_mark_price_else_the_oracle() -> None:
    (v2,) = data("v2_rest_GET_v2_public_quote_getTicker.response.json")
    ticker = parse.parse_ticker(v2, BTC.market)
    assert ticker.mark_price == D("101636.3750002346932888031005859375")
    assert (ticker.index_price, ticker.last_price, ticker.open_interest) == (D("101676.380723500"), D("101642.7"), D("0.105"))
    (v1,) = data("v1_rest_GET_v1_public_quote_getTicker.response.json")  # no markPrice in V1
    assert parse.parse_ticker(v1, BTC.market).mark_price == D("101636.3750002346932888031005859375")
    push = sample("v1_ws_ticker.all.1s.real_2025-09-21.json")  # a real push: no markPrice, no book
    ticker = parse.parse_ticker(push["content"]["data"][0], BTC.market)
    assert ticker.mark_price == D("9.12028730846941471099853515625")
    assert ticker.best_bid is None and ticker.best_ask is None  # "0": no book


def test_funding_rate_settles_at_the_end_of_its_interval() -> None:
    (row,) = data("v1_rest_GET_v1_public_funding_getLatestFundingRate.response.mainnet_2025-09-19.json")
    funding = parse.parse_funding(row, BTC)
    assert funding.rate == D("-0.00005574") and funding.interval_secs == 14_400
    assert funding.next_funding_ms == 1758268800000 + 14_400_000 and funding.ts_ms == 1758280980000
    assert funding.index_price == D("116402.887264047")


def test_klines() -> None:
    (row,) = data("v1_rest_GET_v1_public_quote_getKline.response.json")["dataList"]
    candle = parse.parse_candle(row, BTC.market, "1h")
    assert (candle.open_ms, candle.open, candle.close, candle.volume, candle.trades) == (
        1734595200000, D("3694.57"), D("3670.42"), D("111.96"), 3142)


def test_public_trades_take_the_side_of_the_taker() -> None:
    push = sample("v1_ws_Public_WebSocket_Latest_Trades_Payload_Structure.json")
    (row,) = push["content"]["data"]
    trade = parse.parse_trade(row, BTC.market)
    assert (trade.trade_id, trade.price, trade.size, trade.side, trade.ts_ms) == (
        "1", D("30065.12"), D("0.01"), Side.BUY, 1688365544504)  # isBuyerMaker false: a buyer took


ASSET = data("v2_rest_GET_v2_private_account_getAccountAsset.response.json")


def test_balance_is_the_collateral_asset_model() -> None:
    balance = parse.parse_balance(ASSET, "main", venue="edgex", asset="USDT")
    assert balance.equity == D("15.791238609240472316741943359375")
    assert balance.available == D("13.836550")
    assert balance.unrealized_pnl == D("0.289926609240472316741943359375")
    assert balance.margin_used == D("1.954688532184809446334838867187500000")


def test_positions_take_entry_and_mark_from_the_position_assets() -> None:
    (position,) = parse.parse_positions(ASSET, TESTNET.contracts, "main")
    assert (position.symbol, position.size, position.entry_price) == ("BTC-PERP", D("0.001"), D("97444.5"))
    assert position.mark_price == D("97734.426609240472316741943359375")
    assert position.leverage == 50 and position.liquidation_price == D("82354.9")


def test_an_open_order_from_the_order_lookup() -> None:
    (row,) = data("v1_rest_GET_v1_private_order_getOrderById.response.json")
    order = parse.parse_order(row, BTC.market, "main")
    assert (order.client_id, order.venue_order_id, order.status) == ("9311381563209122", "564829588270612618", OrderStatus.OPEN)
    assert (order.type, order.tif, order.side, order.price, order.size) == (
        OrderType.LIMIT, TimeInForce.GTC, Side.BUY, D("96260.7"), D("0.001"))
    assert order.trigger_price is None and order.reason is None and order.filled_size == 0


def test_active_order_page_rows() -> None:
    (row,) = data("v2_rest_GET_v2_private_order_getActiveOrderPage.response.json")["dataList"]
    order = parse.parse_order(row, BTC.market, "main")
    assert (order.client_id, order.status, order.price) == ("553364074986685", OrderStatus.OPEN, D("97444.5"))


def test_a_pending_market_order_from_the_private_stream() -> None:
    push = sample("v1_ws_Private_WebSocket_Order_Update_Example.json")
    (row,) = push["content"]["data"]["order"]
    order = parse.parse_order(row, BTC.market, "main")
    assert order.status is OrderStatus.PENDING and order.type is OrderType.MARKET and order.tif is TimeInForce.IOC
    assert order.price is None  # "0.00" on market orders
    assert order.client_id == "38704677398287624"


@pytest.mark.parametrize(("status", "filled", "reason", "expected"), [
    ("OPEN", "0.5", "UNKNOWN_ORDER_CANCEL_REASON", OrderStatus.PARTIALLY_FILLED),
    ("UNTRIGGERED", "0", "UNKNOWN_ORDER_CANCEL_REASON", OrderStatus.OPEN),
    ("CANCELING", "0", "UNKNOWN_ORDER_CANCEL_REASON", OrderStatus.OPEN),
    ("CANCELED", "0", "EXPIRE_CANCELED", OrderStatus.EXPIRED),
    ("CANCELED", "0.2", "USER_CANCELED", OrderStatus.CANCELLED),
    ("FILLED", "1", "UNKNOWN_ORDER_CANCEL_REASON", OrderStatus.FILLED),
])
def test_order_statuses(status: str, filled: str, reason: str, expected: OrderStatus) -> None:
    assert parse.order_status(status, D(filled), reason) is expected


def test_fills_add_the_fee_back_to_edgex_net_realized_pnl() -> None:
    (row,) = data("v1_rest_GET_v1_private_order_getHistoryOrderFillTransactionPage.response.json")["dataList"]
    fill = parse.parse_fill(row, BTC.market, "main", "553364074986685")
    assert (fill.trade_id, fill.venue_order_id, fill.client_id) == ("564815957260763406", "564815695875932430", "553364074986685")
    assert (fill.side, fill.price, fill.size, fill.fee) == (Side.BUY, D("97444.5"), D("0.001"), D("0.017540"))
    assert fill.liquidity is Liquidity.MAKER and fill.ts_ms == 1734662617982
    assert fill.realized_pnl == 0  # realizePnl -0.017540 is the fee of an opening fill


def test_the_local_book_follows_the_recorded_snapshot_and_change() -> None:
    snapshot = sample("v1_ws_Public_WebSocket_Depth_Snapshot_Example.json")["content"]["data"][0]
    change = sample("v1_ws_Public_WebSocket_Depth_Incremental_Example.json")["content"]["data"][0]
    book = LocalBook("edgex", "BNB-PERP")
    book.apply_snapshot(snapshot)
    assert (book.best_bid, book.best_ask, book.version) == (D("600.97"), D("601.03"), 90595447)
    bids, asks = book.apply_change(change)
    assert bids == () and len(asks) == 7 and book.version == 90595463
    assert [lv.price for lv in book.snapshot().asks][:3] == [D("601.03"), D("601.09"), D("601.15")]
    with pytest.raises(BookGap):
        book.apply_change(change)  # starts at 90595448 again: not the next version
