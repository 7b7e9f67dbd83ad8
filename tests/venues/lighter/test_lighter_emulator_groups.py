"""Grouped orders (tx type 28) through lighter-sdk's create_grouped_orders: OTOCO and OCO."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from lighter_support import registered, serve

from venues.lighter.emulator import create_app
from venues.lighter.signing import sdk_signer_module

sdk_signer_module()
import lighter  # noqa: E402 - after the muted first import
from lighter.signer_client import CreateOrderTxReq  # noqa: E402

pytestmark = pytest.mark.anyio
ACCOUNT, KEY = 8008, 3


@pytest.fixture
async def world(api_key: str) -> AsyncIterator[tuple[Any, lighter.SignerClient]]:
    app = create_app(seed=12, takers=False, api_keys=registered(api_key, ACCOUNT, KEY))
    async with serve(app) as url:
        client = lighter.SignerClient(url=url, account_index=ACCOUNT, api_private_keys={KEY: api_key})
        try:
            yield app.state.lighter, client
        finally:
            await client.close()


def order(type_: int, tif: int, amount: int, price: int, is_ask: bool, trigger: int, expiry: int, reduce: bool) -> Any:
    return CreateOrderTxReq(MarketIndex=0, ClientOrderIndex=0, BaseAmount=amount, Price=price, IsAsk=int(is_ask),
                            Type=type_, TimeInForce=tif, ReduceOnly=int(reduce), TriggerPrice=trigger,
                            OrderExpiry=expiry)


def live(emulator: Any) -> list[tuple[str, str, str]]:
    return sorted((o["type"], o["side"], o["initial_base_amount"]) for o in emulator.exchange.active_orders(ACCOUNT))


async def test_otoco_places_its_stop_loss_and_take_profit_for_the_filled_size_and_oco_cancels_the_other(world: Any) -> None:
    emulator, client = world
    expiry = int(time.time() * 1000) + 86_400_000
    mark = emulator.engine.market("ETH-PERP").mark_price
    px = int(mark * 100)
    group = [order(1, 0, 500, px + 5000, False, 0, 0, False),  # market buy 0.05 ETH, worst price mark + 50
             order(4, 0, 0, px + 30000, True, px + 30000, expiry, True),  # take profit (market) 300 above
             order(2, 0, 0, px - 30000, True, px - 30000, expiry, True)]  # stop loss (market) 300 below
    _, response, err = await client.create_grouped_orders(3, group)
    assert err is None and response.code == 200, err
    assert emulator.exchange.positions_json(ACCOUNT)[0]["position"] == "0.0500"
    assert live(emulator) == [("stop-loss", "sell", "0.0500"), ("take-profit", "sell", "0.0500")]
    # The mark falls through the stop: it fills and the take-profit is cancelled (one cancels the other).
    emulator.engine.set_mark("ETH-PERP", mark - 400)
    emulator.exchange.step()
    assert live(emulator) == []
    assert emulator.exchange.positions_json(ACCOUNT)[0]["position"] == "0.0000"
