"""The emulator's L2 book: each level's `n` is the number of orders resting there."""

from __future__ import annotations

from typing import Any

import anyio
import eth_account
import pytest
from hl_support import rig
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning:eth_account.*")]
KEYS = ["0x" + "d4" * 32, "0x" + "d5" * 32, "0x" + "d6" * 32]


async def test_two_orders_at_one_price_from_two_accounts_show_n_2_and_one_more_n_1() -> None:
    async with rig(makers=False) as r:
        def place_and_read() -> Any:
            info = Info(r.url, skip_ws=True)
            for key, px in zip(KEYS, (60000, 60000, 59990), strict=True):
                wallet = eth_account.Account.from_key(key)
                info.user_state(wallet.address)  # the emulator's deposit
                answer = Exchange(wallet, r.url).order("BTC", True, 0.01 if px == 60000 else 0.02, px,
                                                       {"limit": {"tif": "Gtc"}})
                assert "resting" in answer["response"]["data"]["statuses"][0], answer
            return info.l2_snapshot("BTC")

        book = await anyio.to_thread.run_sync(place_and_read)
    bids, asks = book["levels"]
    assert bids == [{"px": "60000.0", "sz": "0.02", "n": 2}, {"px": "59990.0", "sz": "0.02", "n": 1}]
    assert asks == []
