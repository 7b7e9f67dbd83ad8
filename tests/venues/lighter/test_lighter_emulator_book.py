"""The public L3 book (orderBookOrders) lists each resting order with its real owner."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from lighter_support import serve

from venues.lighter.emulator import create_app
from venues.lighter.emulator.schnorr import public_key_of
from venues.lighter.signing import create_api_key, sdk_signer_module

sdk_signer_module()
import lighter  # noqa: E402 - after the muted first import

pytestmark = pytest.mark.anyio
ALICE, BOB, CAROL = 7001, 7002, 7003
KEY = 3


@pytest.fixture
async def world() -> AsyncIterator[tuple[str, dict[int, lighter.SignerClient]]]:
    """A book with no simulated makers, and one registered key for each of three accounts."""
    keys = {account: create_api_key()[0] for account in (ALICE, BOB, CAROL)}
    option = ",".join(f"{a}:{KEY}=0x{public_key_of(bytes.fromhex(k[2:])).hex()}" for a, k in keys.items())
    async with serve(create_app(seed=9, makers=False, takers=False, api_keys=option)) as url:
        clients = {a: lighter.SignerClient(url=url, account_index=a, api_private_keys={KEY: k}) for a, k in keys.items()}
        try:
            yield url, clients
        finally:
            for client in clients.values():
                await client.close()


async def own_order(url: str, client: lighter.SignerClient, account: int, client_index: int) -> dict[str, Any]:
    """The order as its owner sees it (accountOrders, authenticated)."""
    token, _ = client.create_auth_token_with_expiry(api_key_index=KEY)
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.get("/api/v1/accountOrders", headers={"authorization": token},
                                params={"account_index": account, "client_order_indexes": str(client_index)})
    (order,) = answer.json()["orders"]
    return order


def simple(order: dict[str, Any]) -> dict[str, Any]:
    return {"order_index": order["order_index"], "order_id": order["order_id"],
            "owner_account_index": order["owner_account_index"], "initial_base_amount": order["initial_base_amount"],
            "remaining_base_amount": order["remaining_base_amount"], "price": order["price"],
            "order_expiry": order["order_expiry"], "transaction_time": 0}


async def test_orders_at_one_price_from_two_accounts_and_one_more_are_listed_one_by_one(world: Any) -> None:
    url, clients = world
    expiry = int(time.time() * 1000) + 86_400_000
    # ETH (market 0): 4 size / 2 price decimals. Alice then Bob bid 3000.00, Carol asks 3100.00.
    placed = [(ALICE, 1, 2000, 300000, False), (BOB, 2, 5000, 300000, False), (CAROL, 3, 1500, 310000, True)]
    for account, client_index, amount, price, is_ask in placed:
        _, response, err = await clients[account].create_order(
            0, client_index, amount, price, is_ask, lighter.SignerClient.ORDER_TYPE_LIMIT,
            lighter.SignerClient.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME, order_expiry=expiry)
        assert err is None and response.code == 200
    # Carol sells 0.05 ETH at market: it takes from Alice's bid first (time priority).
    _, response, err = await clients[CAROL].create_market_order(0, 4, 500, 290000, True)
    assert err is None and response.code == 200

    alice, bob, carol = [await own_order(url, clients[a], a, i) for a, i, *_ in placed]
    assert (alice["initial_base_amount"], alice["remaining_base_amount"]) == ("0.2000", "0.1500")
    assert {o["order_expiry"] for o in (alice, bob, carol)} == {expiry}
    async with httpx.AsyncClient(base_url=url) as http:
        book = (await http.get("/api/v1/orderBookOrders", params={"market_id": 0, "limit": 10})).json()
    assert book == {
        "code": 200,
        "total_asks": 1,
        "asks": [simple(carol)],
        "total_bids": 2,
        "bids": [simple(alice), simple(bob)],
    }
    assert [o["owner_account_index"] for o in book["bids"]] == [ALICE, BOB]
    assert len({o["order_index"] for o in book["bids"]}) == 2

    async with lighter.ApiClient(configuration=lighter.Configuration(host=url)) as api:  # the SDK's strict model
        parsed = await lighter.OrderApi(api).order_book_orders(0, 1)
    assert (parsed.total_bids, parsed.bids[0].owner_account_index, parsed.bids[0].remaining_base_amount) == (1, ALICE, "0.1500")
