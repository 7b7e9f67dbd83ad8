"""The official x10 SDK (x10-python-trading-starknet 2.6.0), unchanged, against the
Extended emulator over loopback: onboarding, markets, book, fees, orders of every kind
it places, cancels, mass cancel, leverage, positions, balance -- and refusals of a
wrong API key, a Stark signature by the wrong key, and the wrong StarknetDomain chain.
Its stream clients run in a subprocess (test_extended_sdk_streams.py)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from extended_support import serve
from eth_account import Account
from sdk_support import WALLET_KEY, onboard, sdk_config
from x10.clients.rest.rest_api_client import RestApiClient
from x10.core.client_config import SigningConfig, StarknetDomain
from x10.core.stark_account import StarkPerpetualAccount
from x10.errors import ApiError, ApiNotAuthorizedError
from x10.models.order import OrderSide, OrderType, TimeInForce
from x10.signing.order_object import create_order_object

from venues.extended.emulator import create_app

pytestmark = pytest.mark.anyio
OTHER_STARK_KEY = "0x2c0a59e0fc1c2e093980c27d8c9fc3929b0e1a7d290b3c4d5e6f708192a3b4c"


@pytest.fixture
async def world():
    app = create_app(seed=11)
    async with serve(app) as url:
        onboarded, api_key = await onboard(url)
        keys = onboarded.l2_key_pair
        account = StarkPerpetualAccount(vault=onboarded.account.l2_vault, private_key=keys.private_hex,
                                        public_key=keys.public_hex, api_key=api_key)
        async with RestApiClient(sdk_config(url), account) as client:
            yield app.state.emulator, url, client, onboarded


async def test_onboarding_creates_an_account_with_the_derived_stark_key_and_an_api_key(world):
    emulator, _, client, onboarded = world
    info = (await client.account.get_account()).data
    assert info.id == onboarded.account.id and info.l2_vault == onboarded.account.l2_vault
    assert int(info.l2_key, 16) == onboarded.l2_key_pair.public
    assert emulator.exchange.accounts[info.id].wallet == Account.from_key(WALLET_KEY).address
    accounts = (await client.account.get_accounts()).data
    assert [a.id for a in accounts] == [info.id]


async def test_markets_book_fees_balance_and_stats(world):
    _, _, client, _ = world
    markets = await client.info.get_markets_dict()
    assert {"BTC-USD", "ETH-USD", "SOL-USD"} <= set(markets)
    btc = markets["BTC-USD"]
    assert btc.l2_config.synthetic_resolution == 10**6 and btc.trading_config.min_price_change == Decimal(1)
    book = (await client.info.get_orderbook_snapshot(market_name="BTC-USD")).data
    assert book.bid and book.ask and book.bid[0].price < book.ask[0].price
    stats = (await client.info.get_market_statistics(market_name="BTC-USD")).data
    assert stats.mark_price > 0
    fees = (await client.account.get_fees(market_names=["BTC-USD"])).data
    assert fees[0].taker_fee_rate == Decimal("0.00025") and fees[0].maker_fee_rate == 0
    balance = (await client.account.get_balance()).data
    assert balance.equity == Decimal(100_000) and balance.available_for_trade == Decimal(100_000)


async def test_orders_post_only_limit_and_market_ioc_then_cancels(world):
    emulator, _, client, _ = world
    markets = await client.info.get_markets_dict()
    btc = markets["BTC-USD"]
    fee = (await client.account.get_fees(market_names=["BTC-USD"])).data[0].taker_fee_rate
    book = (await client.info.get_orderbook_snapshot(market_name="BTC-USD")).data
    bid, ask = book.bid[0].price, book.ask[0].price

    post_only = await client.place_order(market_name="BTC-USD", amount_of_synthetic=Decimal("0.001"),
                                         price=bid - 500, side=OrderSide.BUY, taker_fee=fee, post_only=True,
                                         external_id="sdk-post-only-1")
    limit = await client.place_order(market_name="BTC-USD", amount_of_synthetic=Decimal("0.002"),
                                     price=ask + 700, side=OrderSide.SELL, taker_fee=fee)
    assert post_only.data.external_id == "sdk-post-only-1" and limit.data.id > 0
    open_orders = (await client.account.get_open_orders(market_names=["BTC-USD"])).data
    assert {o.external_id for o in open_orders} == {"sdk-post-only-1", limit.data.external_id}
    (resting,) = [o for o in open_orders if o.external_id == "sdk-post-only-1"]
    assert resting.post_only and resting.status == "NEW" and resting.time_in_force == "GTT"

    # A market order: the SDK's place_order only sends LIMIT; MARKET goes through create_order_object.
    order = create_order_object(account=client.stark_account, market=btc, amount_of_synthetic=Decimal("0.003"),
                                price=(ask * Decimal("1.0075")).quantize(Decimal(1)), side=OrderSide.BUY,
                                starknet_domain=client.config.signing.starknet_domain, order_type=OrderType.MARKET,
                                time_in_force=TimeInForce.IOC, taker_fee=fee)
    placed = await client.orders.place_order(order)
    filled = (await client.account.get_order_by_id(placed.data.id)).data
    assert filled.status == "FILLED" and filled.filled_qty == Decimal("0.003")
    positions = (await client.account.get_positions(market_names=["BTC-USD"])).data
    assert positions[0].side == "LONG" and positions[0].size == Decimal("0.003") and positions[0].status == "OPENED"
    trades = (await client.account.get_trades(market_names=["BTC-USD"])).data
    assert sum(t.qty for t in trades) == Decimal("0.003") and all(t.order_id == placed.data.id for t in trades)

    assert (await client.orders.cancel_order(order_id=limit.data.id)).status == "OK"
    assert (await client.orders.cancel_order_by_external_id(order_external_id="sdk-post-only-1")).status == "OK"
    by_external = (await client.account.get_order_by_external_id(external_id="sdk-post-only-1")).data
    assert by_external[0].status == "CANCELLED"
    assert (await client.account.get_open_orders()).data == []

    for i in range(3):
        await client.place_order(market_name="BTC-USD", amount_of_synthetic=Decimal("0.001"), price=bid - 900 - i,
                                 side=OrderSide.BUY, taker_fee=fee, external_id=f"sdk-mass-{i}")
    await client.orders.mass_cancel(external_order_ids=["sdk-mass-0"])
    assert len((await client.account.get_open_orders()).data) == 2
    await client.orders.mass_cancel(markets=["BTC-USD"])
    assert (await client.account.get_open_orders()).data == []
    with pytest.raises(ApiError):  # cancelling again: no live order
        await client.orders.cancel_order_by_external_id(order_external_id="sdk-mass-1")


async def test_leverage_is_set_and_read(world):
    _, _, client, _ = world
    await client.account.update_leverage(market_name="ETH-USD", leverage=Decimal(7))
    rows = (await client.account.get_leverage(market_names=["ETH-USD"])).data
    assert rows[0].market == "ETH-USD" and rows[0].leverage == Decimal(7)
    with pytest.raises(ApiError, match="1049"):
        await client.account.update_leverage(market_name="ETH-USD", leverage=Decimal(500))


async def test_a_wrong_api_key_is_refused(world):
    _, url, client, onboarded = world
    stranger = StarkPerpetualAccount(vault=onboarded.account.l2_vault, private_key=onboarded.l2_key_pair.private_hex,
                                     public_key=onboarded.l2_key_pair.public_hex, api_key="not-a-key")
    async with RestApiClient(sdk_config(url), stranger) as bad:
        with pytest.raises(ApiNotAuthorizedError):
            await bad.account.get_balance()
        with pytest.raises(ApiNotAuthorizedError):
            await bad.place_order(market_name="BTC-USD", amount_of_synthetic=Decimal("0.001"), price=Decimal(1000),
                                  side=OrderSide.BUY, taker_fee=Decimal("0.0005"))


async def test_a_signature_by_another_stark_key_is_refused_with_1101(world):
    emulator, url, client, onboarded = world
    # The SDK's own way to tamper: the real public key and vault, another private key.
    forged = StarkPerpetualAccount(vault=onboarded.account.l2_vault, private_key=OTHER_STARK_KEY,
                                   public_key=onboarded.l2_key_pair.public_hex, api_key=client.stark_account.api_key)
    async with RestApiClient(sdk_config(url), forged) as bad:
        with pytest.raises(ApiError, match="1101"):
            await bad.place_order(market_name="BTC-USD", amount_of_synthetic=Decimal("0.001"), price=Decimal(1000),
                                  side=OrderSide.BUY, taker_fee=Decimal("0.0005"))
    assert (await client.account.get_open_orders()).data == []


async def test_onboarding_signed_for_another_network_is_refused():
    async with serve(create_app(seed=3, chain_id="SN_MAIN")) as url:
        with pytest.raises(ApiNotAuthorizedError):
            await onboard(url)  # the testnet signing domain, on a mainnet emulator


async def test_orders_hashed_for_another_chain_are_refused_and_the_chain_id_is_configurable():
    sepolia, mainnet = create_app(seed=3), create_app(seed=3, chain_id="SN_MAIN")
    async with serve(sepolia) as sepolia_url, serve(mainnet) as mainnet_url:
        for url, ok_domain in ((sepolia_url, "SN_SEPOLIA"), (mainnet_url, "SN_MAIN")):
            onboarded, api_key = await onboard(url, mainnet=ok_domain == "SN_MAIN")
            keys = onboarded.l2_key_pair
            account = StarkPerpetualAccount(vault=onboarded.account.l2_vault, private_key=keys.private_hex,
                                            public_key=keys.public_hex, api_key=api_key)
            for chain in ("SN_SEPOLIA", "SN_MAIN"):
                config = sdk_config(url)
                config = replace(config, signing=SigningConfig(
                    signing_domain=config.signing.signing_domain,
                    starknet_domain=StarknetDomain(name="Perpetuals", version="v0", chain_id=chain, revision="1")))
                async with RestApiClient(config, account) as client:
                    place = client.place_order(market_name="BTC-USD", amount_of_synthetic=Decimal("0.001"),
                                               price=Decimal(30000), side=OrderSide.BUY, taker_fee=Decimal("0.0005"))
                    if chain == ok_domain:
                        assert (await place).status == "OK"
                    else:
                        with pytest.raises(ApiError, match="1101"):
                            await place
