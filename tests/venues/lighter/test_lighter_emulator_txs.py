"""The emulator decodes the signer's own transactions and refuses malformed ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lighter_support import fixture

from venues.lighter.emulator.txs import TxError, decode, decode_batch

SIGNED = [
    ("tx_info.L2CreateOrder.limit_gtt.generated.json", 14),
    ("tx_info.L2CreateOrder.limit_post_only.generated.json", 14),
    ("tx_info.L2CreateOrder.market_ioc.generated.json", 14),
    ("tx_info.L2CreateOrder.stop_loss_reduce_only.generated.json", 14),
    ("tx_info.L2CreateOrder.take_profit_limit.generated.json", 14),
    ("tx_info.L2CreateOrder.with_attributes.generated.json", 14),
    ("tx_info.L2CancelOrder.generated.json", 15),
    ("tx_info.L2CancelAllOrders.immediate.generated.json", 16),
    ("tx_info.L2CancelAllOrders.scheduled.generated.json", 16),
    ("tx_info.L2ModifyOrder.generated.json", 17),
    ("tx_info.L2UpdateLeverage.generated.json", 20),
]


def just_before(info: dict[str, Any]) -> int:
    """A clock a second before the tx expires (the samples were signed in the past)."""
    return int(info["ExpiredAt"]) - 1000


@pytest.mark.parametrize(("name", "tx_type"), SIGNED)
def test_every_signed_sample_decodes(name: str, tx_type: int) -> None:
    info = fixture(name)
    tx = decode(tx_type, json.dumps(info), just_before(info))
    assert (tx.account, tx.key, tx.nonce) == (12345, 5, info["Nonce"])


def test_the_sdk_form_of_send_tx_decodes() -> None:
    form = fixture("rest_sendTx.req.generated.json")["form_fields"]
    info = json.loads(form["tx_info"])
    assert decode(form["tx_type"], form["tx_info"], just_before(info)).tx_type == 14


def test_the_double_encoded_batch_form_decodes_to_consecutive_nonces() -> None:
    form = fixture("rest_sendTxBatch.req.generated.json")["form_fields"]
    first = json.loads(json.loads(form["tx_infos"])[0])
    txs = decode_batch(form["tx_types"], form["tx_infos"], just_before(first), limit=15)
    assert [t.nonce for t in txs] == [100, 101]


def test_the_ws_batch_frame_decodes_too() -> None:
    data = fixture("ws_jsonapi_sendtxbatch.req.generated.json")["data"]
    first = json.loads(json.loads(data["tx_infos"])[0])
    assert len(decode_batch(data["tx_types"], data["tx_infos"], just_before(first), limit=15)) == 2


def refusal(tx_type: Any, info: Any, now: int) -> int:
    with pytest.raises(TxError) as caught:
        decode(tx_type, info, now)
    return caught.value.code


def test_a_create_order_sent_as_a_cancel_is_invalid_tx_info() -> None:
    info = fixture("tx_info.L2CreateOrder.limit_gtt.generated.json")
    assert refusal(15, json.dumps(info), just_before(info)) == 21501


def test_a_missing_or_malformed_signature_is_refused() -> None:
    info = fixture("tx_info.L2CancelOrder.generated.json")
    now = just_before(info)
    assert refusal(15, json.dumps({**info, "Sig": ""}), now) == 21120
    assert refusal(15, json.dumps({**info, "Sig": "bm90IGEgc2lnbmF0dXJl"}), now) == 21120
    assert refusal(15, json.dumps({**info, "Sig": "%%%"}), now) == 21120


def test_an_expired_tx_is_refused() -> None:
    info = fixture("tx_info.L2CancelOrder.generated.json")
    assert refusal(15, json.dumps(info), int(info["ExpiredAt"]) + 1) == 21501


def test_order_shape_rules_are_enforced() -> None:
    info = fixture("tx_info.L2CreateOrder.market_ioc.generated.json")
    now = just_before(info)
    assert refusal(14, json.dumps({**info, "TimeInForce": 1}), now) == 21705  # market must be IOC
    assert refusal(14, json.dumps({**info, "OrderExpiry": now + 3_600_000}), now) == 21711
    assert refusal(14, json.dumps({**info, "Price": 0}), now) == 21702
    assert refusal(14, json.dumps({**info, "Type": 6}), now) == 21710  # TWAP: unsupported here
    gtt = fixture("tx_info.L2CreateOrder.limit_gtt.generated.json")
    assert refusal(14, json.dumps({**gtt, "OrderExpiry": 0}), just_before(gtt)) == 21711
    assert refusal(14, json.dumps({**gtt, "ClientOrderIndex": 2**48}), just_before(gtt)) == 21727


def test_a_batch_from_two_keys_or_with_a_nonce_hole_is_refused() -> None:
    form = fixture("rest_sendTxBatch.req.generated.json")["form_fields"]
    infos = [json.loads(i) for i in json.loads(form["tx_infos"])]
    now = just_before(infos[0])
    two_keys = json.dumps([json.dumps(infos[0]), json.dumps({**infos[1], "ApiKeyIndex": 6})])
    with pytest.raises(TxError) as caught:
        decode_batch(form["tx_types"], two_keys, now, limit=15)
    assert caught.value.code == 21501
    hole = json.dumps([json.dumps(infos[0]), json.dumps({**infos[1], "Nonce": 105})])
    with pytest.raises(TxError) as caught:
        decode_batch(form["tx_types"], hole, now, limit=15)
    assert caught.value.code == 21104
    with pytest.raises(TxError):
        decode_batch(form["tx_types"], form["tx_infos"], now, limit=1)


def test_the_signed_grouped_orders_sample_decodes_and_malformed_groups_are_refused() -> None:
    info = fixture("tx_info.L2CreateGroupedOrders.otoco.generated.json")
    now = just_before(info)
    assert [o["Type"] for o in decode(28, json.dumps(info), now).info["Orders"]] == [0, 5, 3]
    no_pair = {**info, "Orders": info["Orders"][:2]}  # OTOCO needs a parent and an SL/TP pair
    assert refusal(28, json.dumps(no_pair), now) == 21501
    sized_child = {**info, "Orders": [info["Orders"][0], {**info["Orders"][1], "BaseAmount": 5}, info["Orders"][2]]}
    assert refusal(28, json.dumps(sized_child), now) == 21701
    assert refusal(28, json.dumps({**info, "GroupingType": 9}), now) == 21501
