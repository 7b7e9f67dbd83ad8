"""Lighter funding payments (GET /api/v1/positionFunding) against what the venue documents.

No recorded or documented positionFunding payload exists in ../shared/venues/lighter, the
SDKs or the open-source connectors we searched (tests/fixtures/lighter/README.md says where):
the only ones found are OpenAPI placeholders ("1", "string") and hand-written test data. So
nothing here is a recorded payload. What is checked instead is the venue's documented field
list, lighter-sdk 1.1.8's own models (PositionFundings / PositionFunding, strict types,
position_side long|short), which the emulator's answer must pass and the parser must read:
the payment's sign (change: received, negative paid), the symbol by market_id, ts in ms
(the venue's unit is unconfirmed: seconds and ms both give ms), funding_id unique across two
payments of one settlement, and a short's position negative whether position_size is signed.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from lighter_support import fixture, lighter_world

from perpd.model import OrderType, Side
from venues.lighter import parse
from venues.lighter.signing import sdk_signer_module

sdk_signer_module()
import lighter  # after the muted first import (sdk_signer_module)

pytestmark = pytest.mark.anyio
ACCOUNT = 1001


async def settle_two_positions(emulator: Any) -> list[Any]:
    """A long ETH and a short BTC through one funding settlement: the engine's payments."""
    engine, account = emulator.engine, emulator.exchange.engine_id(ACCOUNT)
    engine.place(account, "ETH-PERP", Side.BUY, D("0.1"), type=OrderType.MARKET)
    engine.place(account, "BTC-PERP", Side.SELL, D("0.01"), type=OrderType.MARKET)
    engine.step(engine.now_ms + 3600 * 1000 + 60_000)  # hourly funding
    paid = engine.funding_payments(account)
    assert {p.symbol for p in paid} == {"ETH-PERP", "BTC-PERP"} and len({p.ts_ms for p in paid}) < len(paid)
    return paid


async def test_the_answer_is_the_sdk_model_and_parses_field_by_field(api_key: str) -> None:
    async with lighter_world(api_key, account_index=ACCOUNT, seed=5) as (emulator, venue, session):
        paid = await settle_two_positions(emulator)
        body = await session._get("/api/v1/positionFunding", {"account_index": ACCOUNT, "limit": 100}, auth=True)
        model = lighter.models.PositionFundings.from_dict(body)  # strict: int ids and times, str amounts
        assert model is not None and len(model.position_fundings) == len(paid)
        documented = set(lighter.models.PositionFunding.model_fields) - {"additional_properties"}
        assert all(set(row) == documented for row in body["position_fundings"])
        rows = body["position_fundings"]
        assert len({r["funding_id"] for r in rows}) == len(rows)  # unique within one payload

        payments = [parse.parse_position_funding(r, venue.spec_by_id, "acct", "lighter") for r in rows]
        assert all(p is not None for p in payments)
        by_symbol = {p.symbol: p for p in payments if p is not None}
        engine_by_symbol = {p.symbol: p for p in paid}
        for symbol, p in by_symbol.items():
            row = next(r for r in rows if str(r["funding_id"]) == p.payment_id)
            assert (p.account, p.venue) == ("acct", "lighter")
            assert venue.spec_by_id(row["market_id"]).symbol == symbol
            assert p.amount == engine_by_symbol[symbol].amount  # received; negative: paid
            assert p.rate == engine_by_symbol[symbol].rate
            assert p.ts_ms == engine_by_symbol[symbol].ts_ms // 1000 * 1000  # a whole second, in ms
        assert by_symbol["ETH-PERP"].position == D("0.1") and by_symbol["BTC-PERP"].position == D("-0.01")

        fetched = await session.fetch_funding_payments(0)
        assert {p.payment_id for p in fetched} == {str(r["funding_id"]) for r in rows}

        async def ids(**params: Any) -> set[int]:
            answer = await session._get("/api/v1/positionFunding", {"account_index": ACCOUNT, "limit": 100, **params},
                                        auth=True)
            return {r["funding_id"] for r in answer["position_fundings"]}

        shorts = {r["funding_id"] for r in rows if r["position_side"] == "short"}
        btc = {r["funding_id"] for r in rows if r["market_id"] == 1}
        newest = max(r["timestamp"] for r in rows)
        assert await ids(side="short") == shorts and await ids(side="all") == {r["funding_id"] for r in rows}
        assert await ids(market_ids="1") == btc and await ids(market_id=1) == btc
        everything = {r["funding_id"] for r in rows}  # one settlement: one timestamp
        assert await ids(end_timestamp=newest - 1) == set() and await ids(start_timestamp=newest) == everything


def test_the_unconfirmed_parts_are_read_either_way() -> None:
    """A row of the SDK model's shape (built by the SDK), read with the timestamp in seconds or
    ms and the short's size unsigned or signed: the same payment."""
    row = lighter.models.PositionFunding(timestamp=1_778_702_400, market_id=0, funding_id=7, change="-0.012345",
                                         discount="0", rate="0.0001", position_size="0.5",
                                         position_side="short").to_dict()
    spec = parse.parse_markets(fixture("rest_orderBookDetails.resp.live.nautilus.json"), "lighter")[0]  # market 0
    assert spec.market_id == 0
    variants = [row, {**row, "timestamp": row["timestamp"] * 1000}, {**row, "position_size": "-0.5"}]
    payments = [parse.parse_position_funding(v, lambda i: spec if i == 0 else None, "acct") for v in variants]
    for p in payments:
        assert p is not None and p.payment_id == "7" and p.symbol == "ETH-PERP"
        assert p.amount == D("-0.012345") and p.rate == D("0.0001")
        assert p.ts_ms == 1_778_702_400_000 and p.position == D("-0.5")
    assert parse.parse_position_funding({**row, "market_id": 9}, lambda i: spec if i == 0 else None, "acct") is None
