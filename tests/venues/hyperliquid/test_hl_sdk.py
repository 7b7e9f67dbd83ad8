"""The official hyperliquid-python-sdk works against the emulator, unchanged.

The SDK clients are synchronous (`requests`, `websocket-client`), so they run in a
worker thread while the emulator serves from the test's event loop.
"""

from __future__ import annotations

import queue
from decimal import Decimal
from typing import Any

import anyio
import eth_account
import pytest
from hl_support import MASTER, rig
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid

from perpd.model import OrderRequest, OrderType, Side
from venues.base import ClientIdFormat

pytestmark = [
    pytest.mark.anyio,
    # eth_account's typed-data encoder warns on the SDK's "EIP712Domain" type entry
    pytest.mark.filterwarnings("ignore::DeprecationWarning:eth_account.*"),
]
FRESH_KEY = "0x" + "c3" * 32


async def in_thread(fn: Any, *args: Any) -> Any:
    return await anyio.to_thread.run_sync(fn, *args)


async def test_sdk_info_reads_markets_books_and_state() -> None:
    async with rig() as r:
        def read() -> tuple[Any, ...]:
            info = Info(r.url, skip_ws=True)  # calls spotMeta and meta at construction
            return (info.name_to_asset("ETH"), info.meta(), info.all_mids(), info.l2_snapshot("BTC"),
                    info.user_state(MASTER), info.open_orders(MASTER), info.frontend_open_orders(MASTER),
                    info.meta_and_asset_ctxs(), info.user_fills(MASTER))

        eth, meta, mids, book, state, opened, frontend, ctxs, fills = await in_thread(read)
        assert eth == 1 and [u["name"] for u in meta["universe"]] == ["BTC", "ETH", "SOL"]
        assert set(mids) == {"BTC", "ETH", "SOL"}
        assert book["coin"] == "BTC" and float(book["levels"][0][0]["px"]) < float(book["levels"][1][0]["px"])
        assert state["marginSummary"]["accountValue"] == "100000.0" and opened == [] and frontend == [] and fills == []
        assert len(ctxs[1]) == 3


async def test_a_fresh_sdk_key_trades_after_its_first_lookup() -> None:
    async with rig() as r:
        def trade() -> tuple[Any, ...]:
            wallet = eth_account.Account.from_key(FRESH_KEY)
            exchange = Exchange(wallet, r.url)
            before = exchange.order("ETH", True, 0.01, 3000, {"limit": {"tif": "Gtc"}})  # not a user yet
            exchange.info.user_state(wallet.address)  # the emulator's "deposit"
            cloid = Cloid.from_int(7)
            resting = exchange.order("ETH", True, 0.01, 3000, {"limit": {"tif": "Gtc"}}, cloid=cloid)
            modified = exchange.modify_order(cloid, "ETH", True, 0.02, 3001, {"limit": {"tif": "Gtc"}}, cloid=cloid)
            status = exchange.info.query_order_by_cloid(wallet.address, cloid)
            market = exchange.market_open("BTC", True, 0.001)
            leverage = exchange.update_leverage(5, "SOL", is_cross=False)
            cancelled = exchange.cancel_by_cloid("ETH", cloid)
            missing = exchange.cancel_by_cloid("ETH", cloid)
            switch = exchange.schedule_cancel(None)
            return before, resting, modified, status, market, leverage, cancelled, missing, switch, wallet.address

        before, resting, modified, status, market, leverage, cancelled, missing, switch, address = await in_thread(trade)
        assert before == {"status": "err", "response": f"User or API Wallet {address.lower()} does not exist."}
        assert "resting" in resting["response"]["data"]["statuses"][0]
        assert "resting" in modified["response"]["data"]["statuses"][0]
        assert status["order"]["order"]["limitPx"] == "3001.0" and status["order"]["order"]["origSz"] == "0.02"
        assert market["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "0.001"
        assert leverage == {"status": "ok", "response": {"type": "default"}}
        assert cancelled["response"]["data"]["statuses"] == ["success"]
        assert missing["response"]["data"]["statuses"] == [{"error": "Order was never placed, already canceled, or filled."}]
        assert switch["status"] == "ok"


async def test_an_agent_approved_with_the_sdk_trades_for_its_master() -> None:
    async with rig(agents={}) as r:
        def approve_and_trade() -> tuple[Any, ...]:
            master = eth_account.Account.from_key(FRESH_KEY)
            approved, agent_key = Exchange(master, r.url).approve_agent("bot")
            agent = Exchange(eth_account.Account.from_key(agent_key), r.url, account_address=master.address)
            placed = agent.order("SOL", True, 1, 100, {"limit": {"tif": "Gtc"}})
            return approved, placed, agent.info.open_orders(master.address), master.address

        approved, placed, opened, master = await in_thread(approve_and_trade)
        assert approved == {"status": "ok", "response": {"type": "default"}}
        assert "resting" in placed["response"]["data"]["statuses"][0]
        assert [o["coin"] for o in opened] == ["SOL"]
        assert r.emulator.agents and set(r.emulator.agents.values()) == {master.lower()}


async def test_the_sdk_sees_the_orders_perpd_placed() -> None:
    async with rig() as r:
        session = r.session()
        cloid = ClientIdFormat.HEX128.derive("main", 1)
        await session.create_order(OrderRequest(cloid, "BTC-PERP", Side.BUY, OrderType.LIMIT, Decimal("0.001"), Decimal(60000)))

        def look() -> Any:
            info = Info(r.url, skip_ws=True)
            return info.frontend_open_orders(MASTER), info.query_order_by_cloid(MASTER, Cloid(cloid))

        opened, status = await in_thread(look)
        assert [(o["coin"], o["cloid"], o["limitPx"], o["sz"]) for o in opened] == [("BTC", cloid, "60000.0", "0.001")]
        assert status["status"] == "order" and status["order"]["status"] == "open"


async def test_the_sdk_websocket_manager_receives_books() -> None:
    async with rig() as r:
        def subscribe() -> Any:
            got: queue.Queue[Any] = queue.Queue()
            info = Info(r.url, skip_ws=False)
            try:
                info.subscribe({"type": "l2Book", "coin": "ETH"}, got.put)
                return got.get(timeout=10)
            finally:
                info.disconnect_websocket()

        message = await in_thread(subscribe)
        assert message["channel"] == "l2Book" and message["data"]["coin"] == "ETH"
