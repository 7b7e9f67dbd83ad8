"""The official edgex-python-sdk 2.0.1, unchanged, against the emulator over loopback:
metadata, depth, a limit order with a client order id, active orders, cancel, leverage,
a market order, the account asset, cancel all, fills, and the public and private
WebSocket managers. A wrong secret and a wrong trading key are both refused.

The SDK never checks `code` (it returns the envelope), so each answer is asserted to be
`SUCCESS`; HTTP errors surface as ValueError.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from edgex_sdk import (
    CancelOrderParams,
    Client,
    GetActiveOrderParams,
    GetOrderBookDepthParams,
    OrderFillTransactionParams,
    OrderSide,
    WebSocketManager,
)
from edgex_support import serve

from venues.edgex.emulator import create_app
from venues.edgex.errors import INVALID_L2_SIGNATURE, SUCCESS

pytestmark = pytest.mark.anyio

BTC = "10000001"


@pytest.fixture
async def world() -> AsyncIterator[tuple[Any, str]]:
    app = create_app(seed=13)  # the wall clock: the SDK stamps requests with time.time()
    async with serve(app) as url:
        yield app.state.emulator, url


def client_for(url: str, credentials: Any, **overrides: str) -> Client:
    values = {"api_key": credentials.api_key, "api_passphrase": credentials.passphrase,
              "api_secret": credentials.secret, "trading_private_key": credentials.trading_key, **overrides}
    return Client(base_url=url, account_id=credentials.account_id, **values)


def ok(answer: dict[str, Any]) -> Any:
    assert answer["code"] == SUCCESS, answer
    return answer["data"]


async def far_bid(client: Client) -> str:
    depth = ok(await client.quote.get_order_book_depth(GetOrderBookDepthParams(BTC, 15)))
    best_bid = Decimal(depth[0]["bids"][0]["price"])
    return str((best_bid * Decimal("0.8")).quantize(Decimal("0.1")))


async def test_the_sdk_trades_and_reads_its_account(world: tuple[Any, str]) -> None:
    emulator, url = world
    credentials = emulator.provision()
    async with client_for(url, credentials) as client:
        meta = ok(await client.get_metadata())
        assert BTC in {c["contractId"] for c in meta["contractList"]}
        assert meta["global"]["nativeChainId"] and meta["global"]["contractAddress"]
        depth = ok(await client.quote.get_order_book_depth(GetOrderBookDepthParams(BTC, 15)))
        assert depth[0]["bids"] and depth[0]["asks"]
        assert Decimal(depth[0]["bids"][0]["price"]) < Decimal(depth[0]["asks"][0]["price"])

        price = await far_bid(client)
        placed = ok(await client.create_limit_order(BTC, "0.002", price, OrderSide.BUY, client_order_id="8001"))
        active = ok(await client.get_active_orders(GetActiveOrderParams(size="100", filter_contract_id_list=[BTC])))
        (order,) = [o for o in active["dataList"] if o["clientOrderId"] == "8001"]
        assert order["id"] == placed["orderId"] and order["status"] == "OPEN" and order["price"] == price
        cancelled = ok(await client.cancel_order(CancelOrderParams(client_order_id="8001")))
        assert cancelled["cancelResultMap"] == {"8001": SUCCESS}
        active = ok(await client.get_active_orders(GetActiveOrderParams(size="100")))
        assert active["dataList"] == []

        assert ok(await client.account.update_leverage_setting(BTC, "5")) is None
        account = ok(await client.account.get_account_by_id())
        assert account["contractIdToTradeSetting"][BTC]["maxLeverage"] == "5"

        bought = ok(await client.create_market_order(BTC, "0.003", OrderSide.BUY, client_order_id="8002"))
        asset = ok(await client.get_account_asset())
        (position,) = asset["positionList"]
        assert position["contractId"] == BTC and Decimal(position["openSize"]) == Decimal("0.003")
        assert Decimal(asset["collateralAssetModelList"][0]["totalEquity"]) > 0
        fills = ok(await client.get_order_fill_transactions(OrderFillTransactionParams(
            size="100", filter_order_id_list=[bought["orderId"]])))
        assert sum(Decimal(f["fillSize"]) for f in fills["dataList"]) == Decimal("0.003")

        for cid in ("8003", "8004"):
            ok(await client.create_limit_order(BTC, "0.001", price, OrderSide.BUY, client_order_id=cid))
        result = ok(await client.cancel_order(CancelOrderParams(contract_id=BTC)))
        assert sorted(result["cancelResultMap"].values()) == [SUCCESS, SUCCESS]


async def test_a_wrong_secret_and_a_wrong_trading_key_are_refused(world: tuple[Any, str]) -> None:
    emulator, url = world
    credentials = emulator.provision()
    other = emulator.provision()
    async with client_for(url, credentials, api_secret="not-the-secret") as client:
        with pytest.raises(ValueError, match="401"):
            await client.get_account_asset()
    async with client_for(url, credentials, trading_private_key=other.trading_key) as client:
        price = await far_bid(client)
        answer = await client.create_limit_order(BTC, "0.001", price, OrderSide.BUY, client_order_id="9001")
        assert answer["code"] == INVALID_L2_SIGNATURE and answer["data"] is None
        assert ok(await client.get_active_orders(GetActiveOrderParams(size="100")))["dataList"] == []
    async with client_for(url, credentials, api_key=other.api_key, api_passphrase=other.passphrase,
                          api_secret=other.secret) as client:
        answer = await client.get_account_asset()  # another account's key for this account id
        assert answer["code"] == "ACCOUNT_ID_WHITELIST_ERROR"


class Inbox:
    """Messages a WebSocketManager handler received (it runs on the SDK's threads)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    def __call__(self, raw: str) -> None:
        with self.arrived:
            self.messages.append(json.loads(raw))
            self.arrived.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((m for m in self.messages if predicate(m)), None)

        with self.arrived:
            assert self.arrived.wait_for(lambda: found() is not None, timeout), f"nothing matched in {self.messages[-3:]}"
            message = found()
            assert message is not None
            return message


async def test_the_sdk_websocket_managers_stream_quotes_and_account_events(world: tuple[Any, str]) -> None:
    emulator, url = world
    credentials = emulator.provision()
    ws_url = url.replace("http://", "ws://")
    manager = WebSocketManager(base_url=ws_url, account_id=credentials.account_id, api_key=credentials.api_key,
                               api_passphrase=credentials.passphrase, api_secret=credentials.secret)
    depth, ticker, orders = Inbox(), Inbox(), Inbox()
    try:
        await asyncio.to_thread(manager.connect_public)
        await asyncio.to_thread(manager.subscribe_depth, BTC, depth, 15)
        await asyncio.to_thread(manager.subscribe_ticker, BTC, ticker)
        snapshot = await asyncio.to_thread(depth.wait_for, lambda m: m["content"]["dataType"] == "Snapshot")
        assert snapshot["channel"] == f"depth.{BTC}.15" and snapshot["content"]["data"][0]["bids"]
        quote = await asyncio.to_thread(ticker.wait_for, lambda m: m["channel"] == f"ticker.{BTC}")
        assert Decimal(quote["content"]["data"][0]["oraclePrice"]) > 0

        manager.subscribe_order_update(orders)
        await asyncio.to_thread(manager.connect_private)  # fails unless the subprotocol is echoed
        async with client_for(url, credentials) as client:
            price = await far_bid(client)
            ok(await client.create_limit_order(BTC, "0.001", price, OrderSide.BUY, client_order_id="7001"))
        event = await asyncio.to_thread(
            orders.wait_for, lambda m: any(o.get("clientOrderId") == "7001" for o in m["content"]["data"]["order"]))
        assert event["type"] == "trade-event" and event["content"]["event"] == "ORDER_UPDATE"
    finally:
        await asyncio.to_thread(manager.disconnect_all)


async def test_the_private_websocket_refuses_a_wrong_secret(world: tuple[Any, str]) -> None:
    emulator, url = world
    credentials = emulator.provision()
    manager = WebSocketManager(base_url=url.replace("http://", "ws://"), account_id=credentials.account_id,
                               api_key=credentials.api_key, api_passphrase=credentials.passphrase,
                               api_secret="not-the-secret")
    try:
        with pytest.raises(ValueError, match="failed to connect"):
            await asyncio.to_thread(manager.connect_private)
    finally:
        await asyncio.to_thread(manager.disconnect_all)
