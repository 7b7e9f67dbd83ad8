"""Extended funding payments against what the venue sends: GET /user/funding/history.

The recorded row is tests/fixtures/extended/rest_user_funding_history.resp.ccxt.json (ccxt's
Extended adapter, the response it documents for fetch_funding_history; provenance in the
folder's README). It is one LONG row whose fundingFee is "0", so it fixes the field names,
the units (paidTime in ms, size unsigned with side) and the envelope, not the sign: the
sign convention (fundingFee is the collateral movement, positive received) is the one
ccxt's adapter hands on as its received-positive `amount`. The emulator must serve the same
shape, with ids unique across payments and a SHORT row carrying the short's side.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import httpx
import pytest
from extended_support import fresh_account, sample, serve

from perpd.clock import ManualClock, SystemClock
from perpd.model import OrderType, Side
from tests import samples
from venues.extended import parse
from venues.extended.emulator import create_app
from venues.extended.market_data import unified

pytestmark = pytest.mark.anyio
RECORDED = "rest_user_funding_history.resp.ccxt.json"


def symbol_of(name: str) -> str | None:
    """The session's market lookup, for the recorded row's market (not in our markets sample)."""
    return unified(name) if name == "BNB-USD" else None


def test_the_recorded_row_gives_every_field() -> None:
    body = sample(RECORDED)
    (payment,) = parse.parse_funding_history(body["data"], symbol_of, "acct", "extended")
    assert (payment.account, payment.venue) == ("acct", "extended")
    assert payment.payment_id == "8341"  # the row's id
    assert payment.symbol == "BNB-PERP"  # "BNB-USD"
    assert payment.ts_ms == 1723147241346  # paidTime is already ms (2024-08-08)
    assert payment.amount == D(0) and payment.rate == D(0)
    assert payment.position == D("1.116")  # LONG: positive


def test_a_market_not_loaded_is_skipped() -> None:
    assert parse.parse_funding_history(sample(RECORDED)["data"], lambda _name: None, "acct") == []


def test_fee_is_what_the_account_received_and_a_short_is_negative() -> None:
    """The recorded row with its side and fee set as a paid short would have them (only the
    values change; the names and types are the recording's)."""
    (row,) = sample(RECORDED)["data"]
    paid_short = {**row, "id": 8342, "side": "SHORT", "fundingFee": "-0.012345", "fundingRate": "0.0001"}
    received = {**row, "fundingFee": "0.5"}
    payments = parse.parse_funding_history([received, paid_short, received], symbol_of, "acct")
    assert [p.payment_id for p in payments] == ["8341", "8342"]  # each id once
    by_id = {p.payment_id: p for p in payments}
    assert by_id["8342"].amount == D("-0.012345") and by_id["8342"].position == D("-1.116")
    assert by_id["8341"].amount == D("0.5") and by_id["8341"].position == D("1.116")


async def test_the_emulator_serves_the_recorded_shape_with_unique_ids() -> None:
    clock = ManualClock(start_ms=SystemClock().now_ms())
    app = create_app(seed=5, clock=clock)
    emulator: Any = app.state.emulator
    api_key, _, account = fresh_account(emulator)
    engine = emulator.engine
    engine.place(account.engine_id, "BTC-PERP", Side.BUY, D("0.01"), type=OrderType.MARKET)
    engine.place(account.engine_id, "ETH-PERP", Side.SELL, D("0.1"), type=OrderType.MARKET)
    clock.advance(2 * 3600 * 1000 + 60_000)
    emulator.exchange.step()
    paid = engine.funding_payments(account.engine_id)
    assert len({p.symbol for p in paid}) == 2 and len({p.ts_ms for p in paid}) < len(paid)  # same settlements
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        answer = (await http.get("/api/v1/user/funding/history", headers={"X-Api-Key": api_key},
                                 params={"fromTime": 0, "limit": 1000})).json()
        recorded = sample(RECORDED)
        assert samples.shape_gaps(recorded, answer) == []
        rows = answer["data"]
        assert len(rows) == len(paid) and len({r["id"] for r in rows}) == len(rows)
        assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)  # newest first
        assert answer["pagination"] == {"cursor": rows[-1]["id"], "count": len(rows)}
        assert {r["side"] for r in rows if r["market"] == "ETH-USD"} == {"SHORT"}
        payments = parse.parse_funding_history(rows, unified, "acct")
        engine_amounts = sorted((p.ts_ms, p.symbol, p.amount) for p in paid)
        assert sorted((p.ts_ms, p.symbol, p.amount) for p in payments) == [
            (ts, symbol, amount.quantize(D("0.000001"))) for ts, symbol, amount in engine_amounts]
        assert all(p.position is not None and p.position < 0 for p in payments if p.symbol == "ETH-PERP")

        # Paging: two at a time, each page below the last cursor, until an empty page.
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor is not None else {})}
            page = (await http.get("/api/v1/user/funding/history", headers={"X-Api-Key": api_key}, params=params)).json()
            if not page["data"]:
                assert page["pagination"]["cursor"] is None
                break
            seen += [r["id"] for r in page["data"]]
            cursor = page["pagination"]["cursor"]
        assert seen == [r["id"] for r in rows]
        newest = rows[0]["paidTime"]
        for name in ("fromTime", "startTime"):  # the session's name, and ccxt's
            later = (await http.get("/api/v1/user/funding/history", headers={"X-Api-Key": api_key},
                                    params={name: newest})).json()["data"]
            assert later and all(r["paidTime"] >= newest for r in later)
        only_eth = (await http.get("/api/v1/user/funding/history", headers={"X-Api-Key": api_key},
                                   params={"market": "ETH-USD", "side": "SHORT"})).json()["data"]
        assert only_eth and {r["market"] for r in only_eth} == {"ETH-USD"}
