"""Extended signing is byte-identical to the SDK's: the recorded vectors of
x10-python-trading-starknet 2.6.0 and fast_stark_crypto, and the SDK itself."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from extended_support import SDK_TEST_KEY, sample
from pydantic import SecretStr
from x10.config import TESTNET_CONFIG
from x10.core.stark_account import StarkPerpetualAccount
from x10.models.market import MarketModel
from x10.models.order import OrderSide, OrderType, TimeInForce
from x10.signing.order_object import create_order_object

from perpd.errors import AuthError
from perpd.model import OrderRequest
from perpd.model import OrderType as PerpdType
from perpd.model import Side as PerpdSide
from perpd.model import TimeInForce as PerpdTif
from venues.extended import market_data, orders
from venues.extended.signing import L2Config, StarknetDomain, StarkSigner, order_hash, settlement_amounts, verify

VECTORS = sample("signing_order_vectors.sdk-2.6.0.generated.json")
CRYPTO = sample("signing_crypto_vectors.json")
META = VECTORS["_meta"]
SIGNER = StarkSigner(SecretStr(META["account"]["private_key"]), vault=META["account"]["vault"], domain=StarknetDomain())
SDK_MARKET = market_data.parse_markets(sample("rest_info_markets.resp.sdkfixture.json"), "ext")[0]
WIRE_CASES = ["limit_gtt_sell", "limit_gtt_buy_stp_client", "market_ioc_buy", "limit_post_only_sell_external_id",
              "limit_replace_reduce_only", "conditional_stop_market_sell"]


def test_the_signer_shows_its_public_key_only():
    assert hex(SIGNER.public_key) == META["account"]["public_key"]
    assert META["account"]["private_key"][2:20] not in repr(SIGNER) + str(SIGNER)
    with pytest.raises(AuthError):
        StarkSigner(SecretStr("not hex"), vault=1, domain=StarknetDomain())


def test_the_order_hash_and_signature_match_the_crypto_vectors():
    vector = CRYPTO["order_msg_hash_sdk_buy_order"]
    args = vector["args"]
    l2 = L2Config(int(args["base_asset_id"], 16), 10**6, int(args["quote_asset_id"], 16), 10**6)
    amounts = settlement_amounts(True, Decimal("0.00100000"), Decimal("43445.11680000"), Decimal("0.0005"), l2)
    assert amounts == (args["base_amount"], args["quote_amount"], args["fee_amount"])
    expiry_ms = (args["expiration"] - 14 * 86400) * 1000 - 139  # any ms inside that second
    digest = order_hash(vault=args["position_id"], amounts=amounts, l2=l2, expiry_ms=expiry_ms, nonce=args["salt"],
                        public_key=int(args["user_public_key"], 16), domain=StarknetDomain(args["domain_chain_id"]))
    assert hex(digest) == vector["expected_hash"]
    signed = SIGNER.sign_settlement(is_buy=True, qty=Decimal("0.00100000"), price=Decimal("43445.11680000"),
                                    fee_rate=Decimal("0.0005"), l2=l2, expiry_ms=expiry_ms, nonce=args["salt"])
    assert (hex(signed.r), hex(signed.s)) == (vector["expected_signature"]["r"], vector["expected_signature"]["s"])
    assert verify(SIGNER.public_key, digest, signed.r, signed.s)
    assert not verify(SIGNER.public_key, digest + 1, signed.r, signed.s)


@pytest.mark.parametrize("case", WIRE_CASES)
def test_order_bodies_are_the_sdks_byte_for_byte(case: str):
    vector = VECTORS["cases"][case]
    inputs, expected = vector["inputs"], vector["wire_body_exclude_none"]
    side = PerpdSide.BUY if inputs["side"] == "BUY" else PerpdSide.SELL
    kind = {"MARKET": PerpdType.MARKET, "CONDITIONAL": PerpdType.STOP_MARKET}.get(inputs.get("order_type", ""), PerpdType.LIMIT)
    tif = PerpdTif.POST_ONLY if inputs.get("post_only") == "True" else PerpdTif.IOC if inputs.get("time_in_force") == "IOC" else PerpdTif.GTC
    request = OrderRequest(
        client_id=expected["id"], symbol="BTC-PERP", side=side, type=kind, size=Decimal(inputs["amount_of_synthetic"]),
        price=Decimal(inputs["price"]) if kind is PerpdType.LIMIT else None,
        trigger_price=Decimal(expected["trigger"]["triggerPrice"]) if "trigger" in expected else None, tif=tif,
        reduce_only=inputs.get("reduce_only") == "True",
    )
    body, signed = orders.build(request, SDK_MARKET, SIGNER, price=Decimal(inputs["price"]), fee_rate=Decimal("0.0005"),
                                nonce=META["nonce"], expiry_ms=expected["expiryEpochMillis"],
                                cancel_id=inputs.get("previous_order_external_id"))
    if inputs.get("self_trade_protection_level"):
        body["selfTradeProtectionLevel"] = inputs["self_trade_protection_level"]  # perpd always sends ACCOUNT
    assert json.dumps(body) == json.dumps(expected)
    if expected["id"].isdigit():  # no external id: the SDK's id is the order hash
        assert str(signed.hash) == expected["id"]


def test_orders_match_the_sdk_signing_the_same_order_now_with_a_builder_fee():
    market = MarketModel.model_validate({**sample("rest_info_markets.resp.sdkfixture.json")["data"][0],
                                         "type": "PERPETUAL", "isRfq": False, "isOffHours": False,
                                         "tradingHours": "CONTINUOUS"})
    account = StarkPerpetualAccount(vault=77, private_key=SDK_TEST_KEY, public_key=hex(SIGNER.public_key), api_key="k")
    expire = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    sdk = create_order_object(account=account, market=market, amount_of_synthetic=Decimal("0.01234"),
                              price=Decimal("64001.3"), side=OrderSide.SELL, starknet_domain=TESTNET_CONFIG.signing.starknet_domain,
                              order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTT, post_only=True, expire_time=expire,
                              order_external_id="pd-abc", nonce=12345, taker_fee=Decimal("0.00025"),
                              builder_fee=Decimal("0.0001"), builder_id=9).to_api_request_json(exclude_none=True)
    signer = StarkSigner(SecretStr(SDK_TEST_KEY), vault=77, domain=StarknetDomain("SN_SEPOLIA"))
    request = OrderRequest("pd-abc", "BTC-PERP", PerpdSide.SELL, PerpdType.LIMIT, Decimal("0.01234"), Decimal("64001.3"),
                           tif=PerpdTif.POST_ONLY)
    ours, _ = orders.build(request, SDK_MARKET, signer, price=Decimal("64001.3"), fee_rate=Decimal("0.00025"), nonce=12345,
                           expiry_ms=sdk["expiryEpochMillis"], builder=(9, Decimal("0.0001")))
    assert ours == sdk
