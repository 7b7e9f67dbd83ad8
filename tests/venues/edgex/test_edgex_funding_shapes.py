"""EdgeX funding payments against what the venue sends: POSITION_FUNDING collateral
transactions (GET /api/v1/private/account/getCollateralTransactionPage, filterTypeList=POSITION_FUNDING).

The one recorded POSITION_FUNDING row is the collateralTransaction of a real FUNDING_SETTLEMENT
push (v1_ws_Private_WebSocket_Funding_Settlement_Example.json: the official docs' "real push
example", prod, April 2026); the REST page lists the same CollateralTransaction objects
(getCollateralTransactionById's recorded DEPOSIT row shows the full field list, the funding
fields among them). The docs' getCollateralTransactionPage example is an order-fill row
pasted there by mistake (no `type`): it must be skipped, not misread. The recorded payment is
0 on a long; the docs define `deltaAmount` as the collateral change (a recorded TRANSFER_OUT
row has -1.000000) and `fundingPositionSize` as signed (+ long, - short).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D
from typing import Any

import pytest
from edgex_support import edgex_world, sample

from perpd.clock import ManualClock, SystemClock
from perpd.model import OrderType, Side
from tests import samples
from venues.edgex import parse
from venues.edgex.constants import COLLATERAL_TRANSACTIONS

pytestmark = pytest.mark.anyio
PUSH = "v1_ws_Private_WebSocket_Funding_Settlement_Example.json"
BY_ID = "v1_rest_GET_v1_private_account_getCollateralTransactionById.response.json"
PAGE = "v1_rest_GET_v1_private_account_getCollateralTransactionPage.response.json"
TESTNET = parse.parse_metadata(sample("v1_rest_GET_v1_public_meta_getMetaData.response.json")["data"], venue="edgex")


def bnb() -> parse.Contract:
    """Contract 10000004, which the recorded pushes name BNBUSD (depth/kline examples): our
    metadata samples list only BTC and ETH, so it is the BTC contract renamed."""
    btc = TESTNET.by_symbol["BTC-PERP"]
    market = dataclasses.replace(btc.market, symbol="BNB-PERP", venue_symbol="10000004", base="BNB")
    return dataclasses.replace(btc, contract_id="10000004", name="BNBUSD", market=market)


CONTRACTS = {"10000004": bnb()}


def recorded_row() -> dict[str, Any]:
    (row,) = sample(PUSH)["content"]["data"]["collateralTransaction"]
    return row


def test_the_recorded_row_gives_every_field() -> None:
    payment = parse.parse_funding_transaction(recorded_row(), CONTRACTS.get, "main", "edgex")
    assert payment is not None
    assert (payment.account, payment.venue) == ("main", "edgex")
    assert payment.payment_id == "736936948907639311"  # the collateral transaction's id
    assert payment.symbol == "BNB-PERP"  # positionContractId 10000004
    assert payment.ts_ms == 1775699460199  # createdTime, ms (what filterStartCreatedTimeInclusive filters on)
    assert payment.amount == D("0.000000") and payment.rate == D(0)
    assert payment.position == D("0.10")  # signed: a long


def test_rows_that_are_not_funding_payments_are_skipped() -> None:
    (fill_row,) = sample(PAGE)["data"]["dataList"]  # the docs' page example: an order fill, no type
    (deposit,) = sample(BY_ID)["data"]
    assert parse.parse_funding_transaction(fill_row, CONTRACTS.get, "main") is None
    assert parse.parse_funding_transaction({**deposit, "positionContractId": "10000004"}, CONTRACTS.get, "main") is None
    assert parse.parse_funding_transaction(recorded_row(), {}.get, "main") is None  # contract not loaded


def test_a_paid_short_is_negative_and_ids_stay_apart() -> None:
    """The recorded row as a paid short would carry it (values changed, names and types the
    recording's): deltaAmount is the collateral change, so a payment is negative as sent."""
    row = recorded_row()
    paid = {**row, "id": "736936948907639312", "deltaAmount": "-0.012345", "fundingPositionSize": "-0.10",
            "fundingRate": "0.00005"}
    one, two = (parse.parse_funding_transaction(r, CONTRACTS.get, "main") for r in (row, paid))
    assert one is not None and two is not None and one.payment_id != two.payment_id
    assert two.amount == D("-0.012345") and two.position == D("-0.10") and two.rate == D("0.00005")


async def test_the_emulator_lists_the_recorded_shape_with_unique_ids() -> None:
    clock = ManualClock(start_ms=SystemClock().now_ms())
    async with edgex_world(clock=clock) as (emulator, _venue, session):
        engine, account = emulator.engine, emulator.exchange.engine_id(session.account_id)
        engine.place(account, "BTC-PERP", Side.BUY, D("0.01"), type=OrderType.MARKET)
        engine.place(account, "ETH-PERP", Side.SELL, D("0.1"), type=OrderType.MARKET)
        clock.advance(4 * 3600 * 1000 + 60_000)  # one settlement (every 4 h)
        emulator.exchange.step()
        paid = engine.funding_payments(account)
        assert {p.symbol for p in paid} == {"BTC-PERP", "ETH-PERP"} and len({p.ts_ms for p in paid}) == 1

        rows = await session._pages(COLLATERAL_TRANSACTIONS, {"filterTypeList": "POSITION_FUNDING"})
        (full,) = sample(BY_ID)["data"]
        for row in rows:
            assert samples.shape_gaps(recorded_row(), row) == []  # the recorded funding row's keys
            assert samples.shape_gaps(full, row) == []  # and every CollateralTransaction field
            assert row["type"] == "POSITION_FUNDING"
        assert len(rows) == 2 and len({r["id"] for r in rows}) == 2
        payments = await session.fetch_funding_payments(0)
        assert len({p.payment_id for p in payments}) == 2
        by_symbol = {p.symbol: p for p in payments}
        assert by_symbol["ETH-PERP"].position == D("-0.1") and by_symbol["BTC-PERP"].position == D("0.01")
        for p in paid:
            assert by_symbol[p.symbol].amount == p.amount.quantize(D("0.000001"))  # received; negative: paid
            assert by_symbol[p.symbol].ts_ms == p.ts_ms
        # A `since` older than the venue's 90-day range is read in windows, the same payments.
        long_ago = await session.fetch_funding_payments(clock.now_ms() - 200 * 86_400_000)
        assert [p.payment_id for p in long_ago] == [p.payment_id for p in payments]


def test_the_settlement_push_carries_the_recorded_transactions() -> None:
    """The emulator's FUNDING_SETTLEMENT push holds the payment's collateral and position
    transactions with the recorded push's keys."""
    from venues.edgex.emulator import create_app
    from venues.edgex.emulator.hub import _Pending

    clock = ManualClock(start_ms=SystemClock().now_ms())
    emulator: Any = create_app(clock=clock).state.emulator
    credentials = emulator.provision()
    account = emulator.exchange.engine_id(credentials.account_id)
    emulator.engine.place(account, "ETH-PERP", Side.SELL, D("0.1"), type=OrderType.MARKET)
    clock.advance(4 * 3600 * 1000 + 60_000)
    emulator.exchange.step()
    (payment,) = emulator.engine.funding_payments(account)
    message = emulator.hub._trade_event(int(credentials.account_id), _Pending(funding=[payment]))
    recorded = sample(PUSH)
    assert message["content"]["event"] == "FUNDING_SETTLEMENT"
    assert samples.shape_gaps(recorded, message) == []
    (row,) = message["content"]["data"]["collateralTransaction"]
    pushed = parse.parse_funding_transaction(row, emulator_contracts(emulator), "main")
    assert pushed is not None and pushed.position == D("-0.1") and pushed.amount == payment.amount.quantize(D("0.000001"))


def emulator_contracts(emulator: Any) -> Any:
    from venues.edgex.emulator.markets import metadata_json

    metadata = parse.parse_metadata(metadata_json(tuple(emulator.exchange.contracts.values())), venue="edgex")
    return metadata.contracts.get
