"""Markets, positions and accounts through real HTTP."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

import pytest

from api_support import Api
from tests.polling import eventually

pytestmark = pytest.mark.anyio

MARKET_BUY = {"account": "paper", "symbol": "BTC", "side": "buy", "type": "market", "size": "0.002"}


async def test_markets_list_every_venue_market_and_one_symbol_has_its_rules(api: Api) -> None:
    async with api.client("reader") as http:
        markets = (await http.get("/api/v1/markets")).json()["markets"]
        btc = (await http.get("/api/v1/markets/btc")).json()
        unknown = await http.get("/api/v1/markets/DOGE")
        bad = await http.get("/api/v1/markets/BTC$")
        no_venue = await http.get("/api/v1/markets", params={"venue": "nowhere"})
    assert {m["symbol"] for m in markets} == {"BTC-PERP", "ETH-PERP", "SOL-PERP"}
    assert btc["symbol"] == "BTC-PERP"
    [entry] = btc["venues"]
    assert entry["market"]["venue"] == "sim" and entry["market"]["tick_size"] == "1"
    assert unknown.status_code == 404 and bad.status_code == 400 and no_venue.status_code == 404


async def test_the_orderbook_is_served_per_venue_and_merged(api: Api) -> None:
    async with api.client("reader") as http:
        r = await http.get("/api/v1/markets/BTC/orderbook", params={"depth": 3})
    body = r.json()
    [book] = body["books"]
    assert book["venue"] == "sim" and 0 < len(book["bids"]) <= 3
    assert [lvl["price"] for lvl in body["merged"]["bids"]] == [lvl["price"] for lvl in book["bids"]]
    assert body["merged"]["bids"][0]["venues"] == {"sim": book["bids"][0]["size"]}
    assert Decimal(body["merged"]["bids"][0]["price"]) < Decimal(body["merged"]["asks"][0]["price"])


async def test_trades_funding_and_candles_come_from_the_venue(api: Api) -> None:
    async with api.client() as http:
        await http.post("/api/v1/orders", json=MARKET_BUY)
        trades = (await http.get("/api/v1/markets/BTC/trades", params={"limit": 5})).json()["trades"]
        funding = (await http.get("/api/v1/markets/BTC/funding")).json()["funding"]
        candles = await http.get("/api/v1/markets/BTC/candles", params={"interval": "1m", "limit": 10})
        bad_interval = await http.get("/api/v1/markets/BTC/candles", params={"interval": "7m"})
    assert 1 <= len(trades) <= 5 and all(t["symbol"] == "BTC-PERP" for t in trades)
    assert [f["venue"] for f in funding] == ["sim"]
    assert candles.status_code == 200, candles.text
    assert all(c["interval"] == "1m" for c in candles.json()["candles"])
    assert bad_interval.status_code == 400 and "interval" in bad_interval.json()["error"]["message"]


async def test_positions_per_account_aggregated_by_asset_and_closed(api: Api) -> None:
    async with api.client() as http:
        assert (await http.post("/api/v1/orders", json=MARKET_BUY)).status_code == 201
        assert (await http.post("/api/v1/orders", json={**MARKET_BUY, "account": "spare", "side": "sell", "size": "0.0005"})).status_code == 201

        # Positions follow fills a moment after an order's answer (the venue's account stream);
        # 40 ms of Nagle per keep-alive request used to hide that.
        async def positions(path: str, accounts: list[str]) -> dict[str, Any] | None:
            found = (await http.get(path)).json()
            return found if [p["account"] for p in found["positions"]] == accounts else None

        all_positions = await eventually(lambda: positions("/api/v1/positions", ["paper", "spare"]), what="both fills", timeout_secs=10)
        paper_only = (await http.get("/api/v1/positions", params={"account": "paper"})).json()
        by_symbol = (await http.get("/api/v1/positions/BTC")).json()
        closed = await http.post("/api/v1/positions/BTC/close", json={"account": "paper"})
        after = await eventually(lambda: positions("/api/v1/positions/BTC-PERP", ["spare"]), what="the close", timeout_secs=10)
        unknown = await http.post("/api/v1/positions/BTC/close", json={"account": "nobody"})
    sizes = {p["account"]: Decimal(p["size"]) for p in all_positions["positions"]}
    assert sizes == {"paper": Decimal("0.002"), "spare": Decimal("-0.0005")}
    [btc] = all_positions["by_asset"]
    assert btc["asset"] == "BTC" and Decimal(btc["size"]) == Decimal("0.0015") and btc["accounts"] == ["paper", "spare"]
    assert [p["account"] for p in paper_only["positions"]] == ["paper"]
    assert by_symbol["by_asset"] == all_positions["by_asset"] or len(by_symbol["positions"]) == 2
    assert closed.status_code == 200, closed.text
    [close_order] = closed.json()["orders"]
    assert close_order["reduce_only"] is True and close_order["side"] == "sell"
    assert [p["account"] for p in after["positions"]] == ["spare"]  # paper's closed
    assert unknown.status_code == 404


async def test_accounts_are_listed_with_state_and_balance(api: Api) -> None:
    async with api.client("reader") as http:
        accounts = (await http.get("/api/v1/accounts")).json()["accounts"]
        paper = (await http.get("/api/v1/accounts/paper")).json()
        balance = (await http.get("/api/v1/accounts/paper/balance")).json()
        missing = await http.get("/api/v1/accounts/nobody")
        missing_balance = await http.get("/api/v1/accounts/nobody/balance")
    assert [a["name"] for a in accounts] == ["paper", "spare"]
    assert accounts[0]["connected"] and accounts[0]["synced"] and accounts[0]["config"] is None
    assert paper["config"]["venue"] == "sim"
    assert balance["account"] == "paper" and Decimal(balance["equity"]) == 100_000
    assert missing.status_code == 404 and missing_balance.status_code == 404


async def test_an_account_added_at_runtime_is_written_to_the_file_and_started(api: Api) -> None:
    async with api.client("admin") as http:
        added = await http.post("/api/v1/accounts", json={"name": "third", "venue": "sim", "settings": {"starting_balance": "5000"}})
        listed = [a["name"] for a in (await http.get("/api/v1/accounts")).json()["accounts"]]
        balance = (await http.get("/api/v1/accounts/third/balance")).json()
        duplicate = await http.post("/api/v1/accounts", json={"name": "third", "venue": "sim"})
        removed = await http.delete("/api/v1/accounts/third")
        gone = await http.get("/api/v1/accounts/third")
    assert added.status_code == 201, added.text
    assert added.json()["changed"]["accounts"]["added"] == ["third"]
    assert listed == ["paper", "spare", "third"]
    assert Decimal(balance["equity"]) == 5000
    assert duplicate.status_code == 409
    assert removed.status_code == 200 and removed.json()["changed"]["accounts"]["removed"] == ["third"]
    assert gone.status_code == 404
    assert "third" not in tomllib.loads(api.config_path.read_text())["accounts"]


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        # as documented, but a config the daemon refuses: 422 naming the TOML path
        ({"name": "x", "venue": "nowhere"}, 422, "accounts.x.venue"),
        ({"name": "x", "venue": "sim", "settings": {"starting_balance": "-1"}}, 422, "starting_balance"),
        ({"name": "x", "venue": "sim", "settings": {"colour": "red"}}, 422, "colour"),
        # not as documented: 400 naming the field
        ({"name": "x", "venue": "sim", "settings": {"leverage": None}}, 400, "settings: null is not a TOML value (at leverage)"),
        ({"name": "x", "venue": "sim", "settings": {"leverage": {"BTC": [None]}}}, 400, "(at leverage.BTC[0])"),
        ({"name": "bad name!", "venue": "sim"}, 400, "name"),
        ({"name": "x"}, 400, "venue"),
    ],
)
async def test_an_invalid_account_is_refused_and_the_file_is_untouched(api: Api, body: dict, status: int, text: str) -> None:
    original = api.config_path.read_text()
    async with api.client("admin") as http:
        r = await http.post("/api/v1/accounts", json=body)
    assert r.status_code == status, r.text
    assert text in r.json()["error"]["message"]
    assert api.config_path.read_text() == original
    assert set(api.daemon.config.accounts) == {"paper", "spare"}


async def test_removing_an_unknown_account_is_404(api: Api) -> None:
    async with api.client("admin") as http:
        r = await http.delete("/api/v1/accounts/nobody")
    assert r.status_code == 404
