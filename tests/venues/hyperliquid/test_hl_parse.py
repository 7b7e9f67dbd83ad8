"""Every recorded Hyperliquid sample is parsed (or is accounted for, with the reason)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from perpd.errors import Unavailable, VenueRejected
from perpd.model import Liquidity, MarginMode, OrderStatus, OrderType, Side, TimeInForce
from venues.hyperliquid import errors, market_data, parse

FIXTURES = Path(__file__).parents[2] / "fixtures" / "hyperliquid"
D = Decimal


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def anything(coin: str) -> str:
    """A symbol_of that keeps spot and HIP-3 coins, to read their fields too."""
    return coin


# --------------------------------------------------------------------------- info


def check_meta(name: str) -> None:
    assets = market_data.parse_meta(load(name))
    assert assets[0].name == "BTC" and assets[0].index == 0 and assets[0].sz_decimals == 5
    assert all(a.max_leverage > 0 for a in assets)
    if name == "info_meta.docs.response.json":
        loom = next(a for a in assets if a.name == "LOOM")
        assert loom.delisted and loom.only_isolated


def check_meta_and_ctxs(name: str) -> None:
    payload = load(name)
    rows = market_data.parse_meta_and_asset_ctxs(payload, 1_700_000_000_000)
    listed = [u for u in payload[0]["universe"] if not u.get("isDelisted") and ":" not in u["name"]]
    assert len(rows) == len(listed)
    for asset, market, ticker in rows:
        assert market.symbol == f"{asset.name.upper()}-PERP" and market.min_notional == 10
        assert ticker is not None and ticker.mark_price == D(payload[1][asset.index]["markPx"])
        assert market.lot_size == D(1).scaleb(-asset.sz_decimals)
    if "hip3" in name:
        assert rows == []  # builder-deployed perps are not traded


def check_all_mids(name: str) -> None:
    data = load(name)
    mids = market_data.parse_all_mids(data.get("data", data))
    assert mids and all(isinstance(v, Decimal) and v > 0 for v in mids.values())


def check_l2_book(name: str) -> None:
    payload = load(name)
    book = market_data.parse_l2_book(payload, "X-PERP")
    assert len(book.bids) == len(payload["levels"][0]) and len(book.asks) == len(payload["levels"][1])
    assert book.best_bid == D(payload["levels"][0][0]["px"]) and book.best_bid < book.best_ask
    assert list(book.bids) == sorted(book.bids, key=lambda lv: -lv.price)


def check_candles(name: str) -> None:
    payload = load(name)
    candles = market_data.parse_candles(payload, anything)
    assert len(candles) == len(payload)
    assert all(c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close) for c in candles)


def check_clearinghouse(name: str) -> None:
    payload = load(name)
    balance, positions = parse.parse_clearinghouse_state(payload, "acct")
    assert balance.equity == D(payload["marginSummary"]["accountValue"])
    assert balance.available == D(payload["withdrawable"]) and balance.asset == "USDC"
    assert len(positions) == len(payload["assetPositions"])
    for position, entry in zip(positions, payload["assetPositions"], strict=True):
        assert position.size == D(entry["position"]["szi"]) and position.size != 0
        mode = MarginMode.ISOLATED if entry["position"]["leverage"]["type"] == "isolated" else MarginMode.CROSS
        assert position.margin_mode is mode and position.leverage == int(entry["position"]["leverage"]["value"])


def check_open_orders(name: str) -> None:
    payload = load(name)
    orders = parse.parse_open_orders(payload, "acct", anything)
    assert len(orders) == len(payload)
    for order, item in zip(orders, payload, strict=True):
        assert order.venue_order_id == str(int(item["oid"]))
        assert order.remaining == D(item["sz"]) and order.status.is_live
    if name == "info_frontendOpenOrders.response.json":
        types = {o.venue_order_id: o.type for o in orders}
        assert types == {"3184595907": OrderType.TAKE_PROFIT_MARKET, "3184595906": OrderType.STOP_MARKET,
                         "3184595905": OrderType.LIMIT}
        assert orders[0].trigger_price == D("10.004") and orders[0].reduce_only
    if name == "info_frontendOpenOrders--stop-limit.ccxt.response.json":
        assert orders[0].type is OrderType.STOP_LIMIT and orders[0].price == D("0.4") and orders[0].trigger_price == D("0.6")


def check_order_status(name: str) -> None:
    order = parse.parse_order_status(load(name), "acct", anything)
    if "unknownOid" in name:
        assert order is None
        return
    assert order is not None
    if "open-alo" in name:
        assert order.status is OrderStatus.OPEN and order.tif is TimeInForce.POST_ONLY
    if "order.docs" in name:
        assert order.status is OrderStatus.FILLED and order.filled_size == D("0.0076") and order.type is OrderType.MARKET


def check_historical(name: str) -> None:
    payload = load(name)
    orders = parse.parse_order_updates(payload, "acct", anything)
    assert len(orders) == len(payload)
    for order, entry in zip(orders, payload, strict=True):
        assert order.status is parse.order_status(entry["status"]) or order.status is OrderStatus.PARTIALLY_FILLED
        assert order.status is not OrderStatus.UNKNOWN


def check_funding_history(name: str) -> None:
    payload = load(name)
    rates = market_data.parse_funding_history(payload)
    assert len(rates) == len(payload) and all(r.interval_secs == 3600 for r in rates)
    assert rates[0].rate == D(payload[0]["fundingRate"])


def check_fills(name: str) -> None:
    payload = load(name)
    fills = parse.parse_fills(payload, "acct", anything)
    assert len(fills) == len({parse.fill_id(f) for f in payload})
    assert [f.ts_ms for f in fills] == sorted(f.ts_ms for f in fills)
    by_id = {f.trade_id: f for f in fills}
    for item in payload:
        fill = by_id[parse.fill_id(item)]
        assert fill.liquidity is (Liquidity.TAKER if item["crossed"] else Liquidity.MAKER)
        assert fill.fee == D(item["fee"]) + D(item.get("builderFee", "0"))
        assert fill.side is (Side.BUY if item["side"] == "B" else Side.SELL)
    if "perp-hip3-spot" in name:
        assert [f.symbol for f in parse.parse_fills(payload, "acct")] == ["AVAX-PERP"]  # spot and HIP-3 left out


def check_user_funding(name: str) -> None:
    payload = load(name)
    payments = parse.parse_user_funding(payload)
    assert len(payments) == len(payload)
    assert payments[0].amount == D(payload[0]["delta"]["usdc"].strip())


def check_active_asset_data(name: str) -> None:
    setting = parse.parse_active_asset_data(load(name), "APT-PERP")
    assert (setting.leverage, setting.margin_mode) == (3, MarginMode.CROSS)


def check_rate_limit(name: str) -> None:
    used, cap = parse.parse_user_rate_limit(load(name))
    assert 0 < used and 0 < cap


def check_http500(name: str) -> None:
    body = (FIXTURES / name).read_text().strip()
    assert isinstance(errors.http_error(500, body), Unavailable)


# --------------------------------------------------------------------------- ws


def check_ws_l2book(name: str) -> None:
    update = market_data.parse_book_update(load(name)["data"], "HYPE-PERP", 7)
    assert update.snapshot and update.seq == 7 and update.bids[0].price == D("34.967")


def check_ws_trades(name: str) -> None:
    trades = market_data.parse_trades(load(name)["data"])
    assert [(t.trade_id, t.side, t.price) for t in trades] == [("716095722814130", Side.BUY, D("35.276"))]


def check_ws_order_updates(name: str) -> None:
    message = load(name)
    orders = parse.parse_order_updates(message["data"], "acct", anything)
    assert orders[0].status is OrderStatus.OPEN and orders[0].size == D("0.49")
    assert parse.parse_order_updates(message["data"], "acct") == []  # a spot coin


def check_ws_user_fills(name: str) -> None:
    fills = parse.parse_fills(load(name)["data"]["fills"], "acct", anything)
    assert len(fills) == 1
    if "liquidation" in name:
        assert fills[0].client_id == "0xe8d5fd7ebbb4c3cff4d1803472a11463" and fills[0].liquidity is Liquidity.MAKER


def check_ws_candle(name: str) -> None:
    (candle,) = market_data.parse_candles(load(name)["data"])
    assert candle.symbol == "HYPE-PERP" and candle.trades == 102895


# --------------------------------------------------------------------------- exchange answers


def check_order_answer(name: str) -> None:
    results = [parse.parse_place_result(s) for s in parse.parse_statuses(load(name))]
    kinds = [r.kind for r in results]
    if "resting" in name:
        assert kinds == ["resting"] and results[0].oid == "77738308"
    elif "waitingForTrigger" in name:
        assert kinds == ["filled", "waiting", "waiting"] and results[0].filled_size == D("1.0")
    elif "filled" in name:
        assert kinds == ["filled"] and results[0].avg_price is not None
    elif "min-notional" in name:
        assert kinds == ["error"]
        mapped = errors.order_error(results[0].error or "")
        assert isinstance(mapped, VenueRejected) and mapped.code == "min_notional"


def check_cancel_answer(name: str) -> None:
    statuses = parse.parse_statuses(load(name))
    if "success" in name:
        assert statuses == ["success"]
    else:
        assert errors.order_error(statuses[0]["error"]).code == "unknown_order"


def check_default_answer(name: str) -> None:
    assert parse.parse_statuses(load(name)) == []


PARSED: dict[str, Callable[[str], None]] = {
    "info_meta.response.json": check_meta,
    "info_meta.docs.response.json": check_meta,
    "info_metaAndAssetCtxs.docs.response.json": check_meta_and_ctxs,
    "info_metaAndAssetCtxs--hip3.docs.response.json": check_meta_and_ctxs,
    "info_allMids.response.json": check_all_mids,
    "info_allMids.docs.response.json": check_all_mids,
    "info_l2Book.response.json": check_l2_book,
    "info_l2Book.docs.response.json": check_l2_book,
    "info_l2Book--spot-@107.jkorf.response.json": check_l2_book,
    "info_candleSnapshot.response.json": check_candles,
    "info_candleSnapshot.docs.response.json": check_candles,
    "info_candleSnapshot--spot-1d.jkorf.response.json": check_candles,
    "info_clearinghouseState.response.json": check_clearinghouse,
    "info_clearinghouseState.docs.response.json": check_clearinghouse,
    "info_clearinghouseState--2025-isolated.jkorf.response.json": check_clearinghouse,
    "info_clearinghouseState--isolated-short.ccxt.response.json": check_clearinghouse,
    "info_frontendOpenOrders.response.json": check_open_orders,
    "info_frontendOpenOrders.docs.response.json": check_open_orders,
    "info_frontendOpenOrders--2025.jkorf.response.json": check_open_orders,
    "info_frontendOpenOrders--stop-limit.ccxt.response.json": check_open_orders,
    "info_openOrders.response.json": check_open_orders,
    "info_openOrders.docs.response.json": check_open_orders,
    "info_orderStatus--order.docs.response.json": check_order_status,
    "info_orderStatus--unknownOid.docs.response.json": check_order_status,
    "info_orderStatus--open-alo.ccxt.response.json": check_order_status,
    "info_orderStatus--open-hip3.ccxt.response.json": check_order_status,
    "info_historicalOrders.response.json": check_historical,
    "info_historicalOrders.docs.response.json": check_historical,
    "info_historicalOrders--dup-oid.ccxt.response.json": check_historical,
    "info_fundingHistory.response.json": check_funding_history,
    "info_fundingHistory.docs.response.json": check_funding_history,
    "info_fundingHistory--no-endTime.response.json": check_funding_history,
    "info_userFills.response.json": check_fills,
    "info_userFillsByTime.response.json": check_fills,
    "info_userFills--perp-hip3-spot.docs.response.json": check_fills,
    "info_userFills--builderFee-liquidation-hip3.ccxt.response.json": check_fills,
    "info_userFunding.response.json": check_user_funding,
    "info_userFunding.docs.response.json": check_user_funding,
    "info_userFunding--no-endTime.response.json": check_user_funding,
    "info_userFunding--2025.jkorf.response.json": check_user_funding,
    "info_activeAssetData.docs.response.json": check_active_asset_data,
    "info_userRateLimit.response.json": check_rate_limit,
    "info_userRateLimit.docs.response.json": check_rate_limit,
    "info_userRateLimit--small-account.jkorf.response.json": check_rate_limit,
    "info_batchClearinghouseStates--http500.response.json": check_http500,
    "ws_l2Book.jkorf.message.json": check_ws_l2book,
    "ws_trades.jkorf.message.json": check_ws_trades,
    "ws_orderUpdates.jkorf.message.json": check_ws_order_updates,
    "ws_userEvents--fills.jkorf.message.json": check_ws_user_fills,
    "ws_userEvents--liquidation-fill.nautilus.message.json": check_ws_user_fills,
    "ws_allMids.jkorf.message.json": check_all_mids,
    "ws_allMids--with-spot.nautilus.message.json": check_all_mids,
    "ws_candle.jkorf.message.json": check_ws_candle,
    "exchange_order--resting.docs.response.json": check_order_answer,
    "exchange_order--filled.docs.response.json": check_order_answer,
    "exchange_order--filled-market.ccxt.response.json": check_order_answer,
    "exchange_order--error-min-notional.docs.response.json": check_order_answer,
    "exchange_order--normalTpsl-waitingForTrigger.ccxt.response.json": check_order_answer,
    "exchange_cancel--success.docs.response.json": check_cancel_answer,
    "exchange_cancel--error-missing-order.docs.response.json": check_cancel_answer,
    "exchange_default--ok.docs.response.json": check_default_answer,
}

# Samples perpd does not read, each with the reason; everything else is parsed above
# or used by the signing and emulator tests (requests and handshakes).
NOT_PARSED = {
    "info_allPerpMetas.docs.response.json": "builder-deployed (HIP-3) dexes are not traded",
    "info_perpDexs.docs.response.json": "builder-deployed (HIP-3) dexes are not traded",
    "info_perpsAtOpenInterestCap.docs.response.json": "OI caps surface as per-order errors",
    "info_predictedFundings.docs.response.json": "cross-venue predictions are not part of the contract",
    "info_delegatorHistory.response.json": "staking",
    "info_extraAgents.response.json": "agent management is the operator's, done in the Hyperliquid UI",
    "info_userRole.response.json": "agent management is the operator's",
    "info_userRole--agent.docs.response.json": "agent management is the operator's",
    "info_userRole--missing.docs.response.json": "agent management is the operator's",
    "info_userRole--subAccount.docs.response.json": "agent management is the operator's",
    "info_subAccounts.docs.response.json": "sub-accounts are configured as vault_address",
    "info_maxBuilderFee.docs.response.json": "builder fees are approved by the master wallet, outside perpd",
    "info_portfolio.response.json": "PnL history is computed from the journal",
    "info_userFees.docs.response.json": "fees are read per fill",
    "info_userFees--2024.ccxt.response.json": "fees are read per fill",
    "info_userVaultEquities.response.json": "vault deposits are not managed",
    "info_userNonFundingLedgerUpdates.response.json": "deposits and transfers are not managed",
    "info_userNonFundingLedgerUpdates--empty.response.json": "deposits and transfers are not managed",
    "info_userNonFundingLedgerUpdates--withdraw-transfer-deposit.ccxt.response.json": "deposits and transfers are not managed",
    "info_userTwapSliceFills.docs.response.json": "TWAP orders are not placed by perpd",
    "info_userTwapSliceFills--empty.response.json": "TWAP orders are not placed by perpd",
    "ws_userTwapSliceFills.nautilus.message.json": "TWAP orders are not placed by perpd",
    "exchange_twapOrder--running.docs.response.json": "TWAP orders are not placed by perpd",
    "exchange_twapOrder--error.docs.response.json": "TWAP orders are not placed by perpd",
    "exchange_twapCancel--success.docs.response.json": "TWAP orders are not placed by perpd",
    "exchange_twapCancel--error.docs.response.json": "TWAP orders are not placed by perpd",
    "info_spotClearinghouseState.docs.response.json": "spot is not traded",
    "info_spotClearinghouseState.jkorf.response.json": "spot is not traded",
    "info_spotMeta.docs.response.json": "spot is not traded (the emulator serves spotMeta to the SDK)",
    "info_spotMeta--minimal.jkorf.response.json": "spot is not traded (the emulator serves its shape to the SDK)",
    "info_spotMetaAndAssetCtxs.response.json": "spot is not traded",
    "ws_bbo.jkorf.message.json": "top of book comes from the full l2Book pushes",
    "ws_post_info_l2Book.docs.response.json": "requests go over HTTP, not WS post",
    "ws_post_action_order.docs.response.json": "requests go over HTTP, not WS post",
    "ws_post_info_l2Book.docs.request.json": "requests go over HTTP, not WS post",
    "ws_post_action_order.docs.request.json": "requests go over HTTP, not WS post",
    "ws_pong.docs.message.json": "heartbeat, handled by the transport",
    "ws_ping.docs.request.json": "heartbeat, handled by the transport",
    "README.md": "provenance",
    "errors_catalog.observed.json": "error texts: tests/venues/hyperliquid/test_hl_errors.py",
}


def _used_elsewhere(name: str) -> bool:
    # Requests (signed /exchange bodies, /info bodies, WS subscribe frames and acks)
    # feed the signing and emulator tests.
    return name.endswith((".request.json", "subscriptionResponse.jkorf.message.json",
                          "subscriptionResponse.docs.message.json")) or name == "signing_vectors.json"


@pytest.mark.parametrize("name", sorted(PARSED))
def test_recorded_sample_parses_into_the_model(name: str) -> None:
    PARSED[name](name)


def test_every_sample_is_parsed_or_accounted_for() -> None:
    files = {p.name for p in FIXTURES.iterdir()}
    stray = sorted(f for f in files if f not in PARSED and f not in NOT_PARSED and not _used_elsewhere(f))
    assert stray == []
    assert sorted((set(PARSED) | set(NOT_PARSED)) - files) == []  # no typos in the tables


def test_status_words_map_to_terminal_or_live_states() -> None:
    assert parse.order_status("open") is OrderStatus.OPEN
    assert parse.order_status("marginCanceled") is OrderStatus.CANCELLED
    assert parse.order_status("scheduledCancel") is OrderStatus.CANCELLED
    assert parse.order_status("badAloPxRejected") is OrderStatus.REJECTED
    assert parse.order_status("triggered") is OrderStatus.OPEN
    assert parse.order_status("somethingNew") is OrderStatus.UNKNOWN
