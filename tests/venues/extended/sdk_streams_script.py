"""The x10 SDK's stream clients, unchanged, against an Extended emulator: run in a
subprocess whose `websockets` has the 12-13 API the SDK needs (notes section 1.5), by
test_extended_sdk_streams.py. Prints one JSON object of what it saw.

Usage: python sdk_streams_script.py URL API_KEY STARK_PRIVATE STARK_PUBLIC VAULT ACCOUNT_ID
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from typing import Any

import websockets
from sdk_support import sdk_config
from x10.clients.rest.rest_api_client import RestApiClient
from x10.clients.stream.stream_client import StreamClient
from x10.clients.streamrpc.streamrpc_client import StreamRpcClient
from x10.clients.streamrpc.subscription_params import AccountParams, OrderbooksParams, PricesParams, TradesParams
from x10.core.stark_account import StarkPerpetualAccount
from x10.errors import StreamRpcServerError
from x10.models.order import OrderSide, OrderType, TimeInForce
from x10.signing.order_object import create_order_object

TIMEOUT = 10


async def market_buy(client: RestApiClient, qty: str) -> Any:
    markets = await client.info.get_markets_dict()
    book = (await client.info.get_orderbook_snapshot(market_name="BTC-USD")).data
    order = create_order_object(account=client.stark_account, market=markets["BTC-USD"], amount_of_synthetic=Decimal(qty),
                                price=(book.ask[0].price * Decimal("1.01")).quantize(Decimal(1)), side=OrderSide.BUY,
                                starknet_domain=client.config.signing.starknet_domain, order_type=OrderType.MARKET,
                                time_in_force=TimeInForce.IOC, taker_fee=Decimal("0.0005"))
    return (await client.orders.place_order(order)).data


async def classic(url: str, api_key: str, client: RestApiClient) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    streams = StreamClient(api_url=sdk_config(url).endpoints.stream_url)
    async with streams.subscribe_to_orderbooks("BTC-USD") as book:
        first = await asyncio.wait_for(book.recv(), TIMEOUT)
        seen["orderbook"] = {"type": first.type, "market": first.data.market, "bids": len(first.data.bid),
                             "asks": len(first.data.ask), "seq": first.seq}
    async with streams.subscribe_to_orderbooks("BTC-USD", depth=1) as top:
        first = await asyncio.wait_for(top.recv(), TIMEOUT)
        seen["orderbook_depth1"] = {"bids": len(first.data.bid), "asks": len(first.data.ask)}
    async with streams.subscribe_to_funding_rates("BTC-USD") as funding:
        first = await asyncio.wait_for(funding.recv(), TIMEOUT)
        seen["funding"] = {"market": first.data.market}
    async with streams.subscribe_to_account_updates(api_key) as account, \
            streams.subscribe_to_public_trades("BTC-USD") as trades:
        snapshots = [await asyncio.wait_for(account.recv(), TIMEOUT) for _ in range(3)]
        seen["account_snapshots"] = [m.type for m in snapshots]
        placed = await market_buy(client, "0.002")
        while True:  # our own buy on the public trades stream
            message = await asyncio.wait_for(trades.recv(), TIMEOUT)
            if any(t.side == "BUY" and t.qty <= Decimal("0.002") for t in message.data):
                seen["public_trade"] = True
                break
        kinds: set[str] = set()
        while not {"ORDER", "TRADE", "POSITION", "BALANCE"} <= kinds:
            message = await asyncio.wait_for(account.recv(), TIMEOUT)
            kinds.add(message.type)
            if message.type == "ORDER":
                seen.setdefault("account_order", [o.external_id for o in message.data.orders])
            if message.type == "TRADE":
                seen["account_trade_order_id"] = message.data.trades[0].order_id == placed.id
        seen["account_kinds"] = sorted(kinds)
        seen["placed_external_id"] = placed.external_id
    async with streams.subscribe_to_candles("BTC-USD", "trades", "PT1M") as candles:
        first = await asyncio.wait_for(candles.recv(), TIMEOUT)
        seen["candle_close"] = str(first.data[0].close)
    try:
        async with streams.subscribe_to_account_updates("wrong-key") as refused:
            await asyncio.wait_for(refused.recv(), TIMEOUT)
        seen["wrong_key"] = "accepted"
    except websockets.InvalidStatusCode as exc:
        seen["wrong_key"] = exc.status_code
    return seen


async def rpc(url: str, api_key: str, account_id: str, client: RestApiClient) -> dict[str, Any]:
    seen: dict[str, Any] = {"topics": []}
    got: dict[str, asyncio.Event] = {k: asyncio.Event() for k in ("book", "trade", "mark", "order")}

    async def handler(message: Any) -> None:
        seen["topics"].append(message.subscription)
        if message.subscription == "orderbooks.BTC-USD" and message.type == "SNAPSHOT":
            got["book"].set()
        elif message.subscription == "trades.BTC-USD":
            got["trade"].set()
        elif message.subscription == "prices.mark.BTC-USD":
            got["mark"].set()
        elif message.subscription == f"account.{account_id}" and message.type == "ACCOUNT.ORDER" \
                and not message.data.is_snapshot:
            got["order"].set()

    client_rpc = StreamRpcClient(api_url=sdk_config(url).endpoints.stream_rpc_url)
    await client_rpc.connect()
    try:
        await client_rpc.subscribe(params=OrderbooksParams(market="BTC-USD"), handler=handler)
        await client_rpc.subscribe(params=TradesParams(market="BTC-USD"), handler=handler)
        await client_rpc.subscribe(params=PricesParams(price_type="mark", market="BTC-USD"), handler=handler)
        await client_rpc.subscribe(params=AccountParams(account=account_id, api_key=api_key), handler=handler)
        await client_rpc.ping()
        seen["subscriptions"] = sorted(await client_rpc.list_subscriptions())
        await market_buy(client, "0.001")
        for name in ("book", "trade", "order", "mark"):
            await asyncio.wait_for(got[name].wait(), TIMEOUT)
        await client_rpc.unsubscribe(topic_id="trades.BTC-USD")
        seen["after_unsubscribe"] = sorted(await client_rpc.list_subscriptions())
        try:
            await client_rpc.subscribe(params=AccountParams(account=account_id, api_key="wrong-key"), handler=handler)
            seen["wrong_key"] = "accepted"
        except StreamRpcServerError as exc:
            seen["wrong_key"] = exc.code
    finally:
        await client_rpc.close()
    seen["topics"] = sorted(set(seen["topics"]))
    return seen


async def main(url: str, api_key: str, private: str, public: str, vault: str, account_id: str) -> None:
    account = StarkPerpetualAccount(vault=int(vault), private_key=private, public_key=public, api_key=api_key)
    async with RestApiClient(sdk_config(url), account) as client:
        result = {"websockets": websockets.__version__, "classic": await classic(url, api_key, client),
                  "rpc": await rpc(url, api_key, account_id, client)}
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
