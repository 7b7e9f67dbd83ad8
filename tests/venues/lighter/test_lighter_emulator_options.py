"""Emulator options a tester sets on the command line: seeded accounts, faults at rates."""

from __future__ import annotations

import time

import aiohttp
import httpx
import pytest
from lighter_support import registered, serve

from venues.lighter.emulator import OPTIONS, create_app
from venues.lighter.signing import sdk_signer_module

sdk_signer_module()
import lighter  # noqa: E402 - after the muted first import

pytestmark = pytest.mark.anyio
OWNER = "0x" + "ab" * 20


async def test_accounts_are_seeded_with_their_owner_and_balance() -> None:
    async with serve(create_app(accounts=f"2100:{OWNER}:2500,2101::", demo_account="false")) as url, \
            httpx.AsyncClient(base_url=url) as http:
        seeded = (await http.get("/api/v1/account", params={"by": "index", "value": 2100})).json()["accounts"][0]
        assert (seeded["l1_address"], seeded["collateral"]) == (OWNER, "2500.000000")
        by_owner = (await http.get("/api/v1/accountsByL1Address", params={"l1_address": OWNER})).json()
        assert [a["index"] for a in by_owner["sub_accounts"]] == [2100]
        plain = (await http.get("/api/v1/account", params={"by": "index", "value": 2101})).json()["accounts"][0]
        assert plain["collateral"] == "100000.000000"
        demo = (await http.get("/api/v1/apikeys", params={"account_index": 1001})).json()
        assert demo["api_keys"] == []  # demo_account=false


@pytest.mark.parametrize(("options", "status"), [({"rate_limit_rate": "1"}, 429), ({"error_rate": "1"}, 503),
                                                  ({"error_rate": "1", "error_status": "502"}, 502)])
async def test_requests_are_refused_at_the_rates_given(options: dict[str, str], status: int) -> None:
    async with serve(create_app(**options)) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.get("/api/v1/orderBooks")
    assert answer.status_code == status
    if status == 429:
        assert answer.json() == {"code": 23000, "message": "Too Many Requests!"}


async def test_a_dropped_answer_leaves_the_tx_applied(api_key: str) -> None:
    app = create_app(drop_rate="1", drop_secs="0", api_keys=registered(api_key, 2200, 3))
    async with serve(app) as url:
        client = lighter.SignerClient(url=url, account_index=2200, api_private_keys={3: api_key})
        try:
            with pytest.raises(aiohttp.ClientPayloadError):  # the answer is cut off
                await client.create_order(0, 77, 1000, 300000, False, 0, 1)
        finally:
            await client.close()
        assert app.state.lighter.exchange.order_by_client(2200, 77)["status"] == "open"  # the order stands


async def test_latency_delays_every_answer() -> None:
    async with serve(create_app(latency_ms="200")) as url, httpx.AsyncClient(base_url=url) as http:
        started = time.monotonic()
        await http.get("/api/v1/orderBooks")
        assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("bad", [{"rate_limit_rate": "2"}, {"latency_ms": "soon"}, {"chain_ids": "x"},
                                 {"accounts": "one"}, {"api_keys": "1001:3=0x00"}, {"demo_account": "maybe"}])
def test_bad_option_values_are_refused_with_the_option_named(bad: dict[str, str]) -> None:
    (name,) = bad
    with pytest.raises(ValueError, match=name):
        create_app(**bad)


def test_every_option_is_documented_for_perpd_emulate_help() -> None:
    assert {"accounts", "api_keys", "demo_account", "chain_ids", "latency_ms", "rate_limit_rate", "error_rate",
            "error_status", "drop_rate", "drop_secs"} <= set(OPTIONS)
