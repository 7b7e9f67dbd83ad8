"""The official lighter-sdk clients work against the emulator over loopback.

ApiClient (OrderApi, AccountApi, TransactionApi, CandlestickApi, FundingApi),
SignerClient (signing with the native library and sending txs) and WsClient. The signer
is set up the way lighter-sdk's examples/system_setup.py does it: find the account of an
Ethereum address, make API keys, register them with `change_api_key` (signed by the
Ethereum key), and `check_client()`; only the example's 10 s wait is left out, as the
emulator executes a tx before it answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import eth_account
import pytest
from lighter_support import serve

from venues.lighter.emulator import create_app
from venues.lighter.signing import sdk_signer_module

sdk_signer_module()  # imports the SDK once, muting only its own websockets deprecation warning
import lighter  # noqa: E402 - after the muted first import

pytestmark = [
    pytest.mark.anyio,
    # lighter-sdk's WsClient.run_async imports websockets' legacy client, deprecated upstream.
    pytest.mark.filterwarnings("ignore:websockets.client.connect is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning"),
]

ETH_PRIVATE_KEY = "0x" + "4e" * 32  # a throwaway Ethereum key: the test account's owner
ACCOUNT = 4242  # what accounts=... gives that owner
KEY = 7


@pytest.fixture
async def url() -> AsyncIterator[str]:
    owner = eth_account.Account.from_key(ETH_PRIVATE_KEY).address
    async with serve(create_app(seed=11, accounts=f"{ACCOUNT}:{owner}:100000")) as base:
        yield base


async def system_setup(url: str, eth_private_key: str, first_index: int, count: int) -> tuple[int, dict[int, str]]:
    """lighter-sdk's examples/system_setup.py with BASE_URL = the emulator's: (account, keys)."""
    api_client = lighter.ApiClient(configuration=lighter.Configuration(host=url))
    eth_acc = eth_account.Account.from_key(eth_private_key)
    response = await lighter.AccountApi(api_client).accounts_by_l1_address(l1_address=eth_acc.address)
    account_index = response.sub_accounts[0].index
    await api_client.close()

    private_keys, public_keys = {}, []
    for i in range(count):
        private_key, public_key, err = lighter.create_api_key()
        assert err is None
        private_keys[first_index + i] = private_key
        public_keys.append(public_key)
    tx_client = lighter.SignerClient(url=url, account_index=account_index, api_private_keys=private_keys)
    for i in range(count):
        response, err = await tx_client.change_api_key(eth_private_key=eth_private_key, new_pubkey=public_keys[i],
                                                       api_key_index=first_index + i)
        assert err is None, err
    assert tx_client.check_client() is None
    await tx_client.close()
    return account_index, private_keys


async def registered_keys(url: str, eth_private_key: str, first_index: int, count: int) -> tuple[int, dict[int, str]]:
    # The native signer fetches the nonce and the registered keys over blocking HTTP: the
    # example runs on its own thread and loop while the emulator serves on this one.
    return await anyio.to_thread.run_sync(
        lambda: asyncio.run(system_setup(url, eth_private_key, first_index, count))
    )


@pytest.fixture
async def signer(url: str) -> AsyncIterator[lighter.SignerClient]:
    account, keys = await registered_keys(url, ETH_PRIVATE_KEY, KEY, 1)
    assert account == ACCOUNT
    client = lighter.SignerClient(url=url, account_index=account, api_private_keys=keys)
    yield client
    await client.close()


@pytest.fixture
async def api(url: str) -> AsyncIterator[lighter.ApiClient]:
    client = lighter.ApiClient(configuration=lighter.Configuration(host=url))
    yield client
    await client.close()


async def test_public_order_and_market_apis_parse_the_emulator_answers(api: lighter.ApiClient) -> None:
    orders = lighter.OrderApi(api)
    details = await orders.order_book_details(market_id=0)
    eth = details.order_book_details[0]
    assert (eth.symbol, eth.size_decimals, eth.price_decimals) == ("ETH", 4, 2)
    books = await orders.order_books()
    assert {b.symbol for b in books.order_books} == {"ETH", "BTC", "SOL"}
    book = await orders.order_book_orders(0, 5)
    assert book.bids and book.asks and float(book.bids[0].price) < float(book.asks[0].price)
    trades = await orders.recent_trades(0, 10)
    assert trades.code == 200
    rates = await lighter.FundingApi(api).funding_rates()
    assert len(rates.funding_rates) == 3
    now = int(time.time() * 1000)
    candles = await lighter.CandlestickApi(api).candles(0, "1m", 0, now, 10)
    assert candles.r == "1m"
    status = await lighter.RootApi(api).status()
    assert status.status == 1


async def test_a_fresh_account_exists_with_the_starting_balance(api: lighter.ApiClient) -> None:
    accounts = await lighter.AccountApi(api).account(by="index", value=str(ACCOUNT))
    (acct,) = accounts.accounts
    assert acct.index == ACCOUNT and acct.collateral == "100000.000000"
    assert [p.symbol for p in acct.positions] == ["ETH", "BTC", "SOL"]
    nonce = await lighter.TransactionApi(api).next_nonce(account_index=ACCOUNT, api_key_index=KEY)
    assert nonce.nonce == 0


async def test_signer_client_places_modifies_and_cancels_with_its_own_nonce_manager(
    signer: lighter.SignerClient, api: lighter.ApiClient
) -> None:
    _, resp, err = await signer.create_order(0, 501, 1000, 300000, False, signer.ORDER_TYPE_LIMIT,
                                             signer.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME)
    assert err is None and resp.code == 200 and len(resp.tx_hash) == 80
    _, resp, err = await signer.modify_order(0, 501, 2000, 301000)
    assert err is None and resp.code == 200
    token, err = signer.create_auth_token_with_expiry(api_key_index=KEY)
    assert err is None
    active = await lighter.OrderApi(api).account_active_orders(account_index=ACCOUNT, authorization=token)
    (order,) = active.orders
    assert (order.client_order_index, order.price, order.initial_base_amount) == (501, "3010.00", "0.2000")
    _, resp, err = await signer.cancel_order(0, 501)
    assert err is None and resp.code == 200
    inactive = await lighter.OrderApi(api).account_inactive_orders(account_index=ACCOUNT, limit=10, authorization=token)
    assert [(o.client_order_index, o.status) for o in inactive.orders] == [(501, "canceled")]
    by_client = await lighter.OrderApi(api).account_orders(authorization=token, client_order_indexes="501",
                                                           account_index=ACCOUNT)
    assert by_client.orders[0].status == "canceled"


async def test_signer_client_market_order_fills_and_shows_in_position_and_trades(
    signer: lighter.SignerClient, api: lighter.ApiClient
) -> None:
    _, resp, err = await signer.create_market_order(0, 502, 1000, 360000, False)
    assert err is None and resp.code == 200
    accounts = await lighter.AccountApi(api).account(by="index", value=str(ACCOUNT))
    eth = accounts.accounts[0].positions[0]
    assert (eth.position, eth.sign) == ("0.1000", 1)
    token, _ = signer.create_auth_token_with_expiry(api_key_index=KEY)
    fills = await lighter.OrderApi(api).trades(sort_by="timestamp", limit=10, account_index=ACCOUNT,
                                                authorization=token)
    assert [(t.bid_account_id, t.bid_client_id, t.size) for t in fills.trades] == [(ACCOUNT, 502, "0.1000")]


async def test_a_duplicate_client_order_index_is_refused_and_the_nonce_manager_recovers(
    signer: lighter.SignerClient,
) -> None:
    _, resp, _ = await signer.create_order(0, 503, 1000, 300000, False, 0, 1)
    assert resp.code == 200
    _, resp, err = await signer.create_order(0, 503, 1000, 300000, False, 0, 1)
    assert resp is None and "21728" in err
    _, resp, err = await signer.create_order(0, 504, 1000, 300000, False, 0, 1)
    assert err is None and resp.code == 200  # the refused tx's nonce was given back


async def test_leverage_and_a_scheduled_cancel_all_are_accepted(signer: lighter.SignerClient) -> None:
    _, resp, err = await signer.update_leverage(1, signer.ISOLATED_MARGIN_MODE, 10)
    assert err is None and resp.code == 200
    deadline = int(time.time() * 1000) + 10 * 60_000
    _, resp, err = await signer.cancel_all_orders(signer.CANCEL_ALL_TIF_SCHEDULED, deadline)
    assert err is None and resp.code == 200
    _, resp, err = await signer.cancel_all_orders(signer.CANCEL_ALL_TIF_SCHEDULED, int(time.time() * 1000) + 1000)
    assert resp is None and "21714" in err  # a dead man's switch must be 5 min .. 15 days away


async def test_send_tx_batch_accepts_the_double_encoded_form(signer: lighter.SignerClient, api: lighter.ApiClient) -> None:
    nonce = (await lighter.TransactionApi(api).next_nonce(account_index=ACCOUNT, api_key_index=KEY)).nonce
    infos = []
    for i in range(3):
        tx_type, info, _, err = signer.sign_create_order(0, 600 + i, 1000, 300000 + i, 0, 0, 1, nonce=nonce + i,
                                                         api_key_index=KEY)
        assert err is None
        infos.append(info)
    resp = await signer.send_tx_batch([tx_type] * 3, infos)
    assert resp.code == 200 and len(resp.tx_hash) == 3
    after = await lighter.TransactionApi(api).next_nonce(account_index=ACCOUNT, api_key_index=KEY)
    assert after.nonce == nonce + 3


async def test_ws_client_receives_book_and_account_snapshots_and_updates(url: str) -> None:
    got: list[tuple[str, Any]] = []
    client = lighter.WsClient(
        ws_url=url.replace("http://", "ws://") + "/stream",
        order_book_ids=[0],
        account_ids=[ACCOUNT],
        on_order_book_update=lambda market, book: got.append(("book", (market, book))),
        on_account_update=lambda account, message: got.append(("account", (account, message["type"]))),
    )
    task = asyncio.get_running_loop().create_task(client.run_async())
    try:
        async def enough() -> None:
            while sum(1 for kind, _ in got if kind == "book") < 3 or not any(k == "account" for k, _ in got):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(enough(), 20)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    market, book = next(payload for kind, payload in got if kind == "book")
    assert market == "0" and book["asks"] and book["bids"]
    assert ("account", (str(ACCOUNT), "subscribed/account_all")) in got
