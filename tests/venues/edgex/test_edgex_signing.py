"""EdgeX signatures are byte-identical to edgex-python-sdk 2.0.1 and to the recorded
vectors (../shared/venues/edgex/signing_vectors_v2_hmac_eip712.json): the HMAC request
auth (GET, POST, the private WebSocket), the EIP-712 digest and signature, and whole
createOrder bodies (amounts, fee cap, expiries, nonce) built beside the SDK's own."""

from __future__ import annotations

import base64
import json
import pickle
import random
from decimal import Decimal
from typing import Any

import orjson
import pytest
from edgex_sdk import Client, CreateOrderParams, OrderSide, OrderType as SdkOrderType
from edgex_sdk.internal.auth import build_hmac_headers, build_hmac_signature, get_value
from edgex_sdk.internal.eip712 import sign_typed_data
from edgex_support import sample
from eth_account.messages import encode_typed_data

from perpd.model import OrderRequest, OrderType, Side, TimeInForce
from venues.base import ClientIdFormat
from venues.edgex.emulator.markets import DEFAULT_CONTRACTS, metadata_json
from venues.edgex.orders import create_order
from venues.edgex.parse import parse_metadata
from venues.edgex.signing import (
    Eip712OrderSigner,
    L2Order,
    RequestSigner,
    canonical,
    canonical_query,
    keccak256,
    order_amounts,
    order_digest,
    order_nonce,
    recover_signer,
)

VECTORS = sample("signing_vectors_v2_hmac_eip712.json")
EIP712 = VECTORS["eip712_limit_order"]
KEY = EIP712["trading_private_key"]
DOMAIN = EIP712["typed_data"]["domain"]


def signer(key: str = KEY) -> Eip712OrderSigner:
    return Eip712OrderSigner(key, chain_id=DOMAIN["chainId"], verifying_contract=DOMAIN["verifyingContract"])


def test_hmac_vectors_reproduce() -> None:
    auth = RequestSigner("key", "pass", VECTORS["hmac_get"]["apiSecret"])
    get = VECTORS["hmac_get"]
    assert canonical_query({"accountId": "724625476626153743"}) == get["body(sorted query)"]
    assert auth.signature(get["timestamp"], "GET", get["requestUri"], get["body(sorted query)"]) == get["signature_hex"]
    post = VECTORS["hmac_post"]
    assert canonical(post["json_body"]) == post["body(canonical)"]
    assert auth.signature(post["timestamp"], "POST", post["requestUri"], canonical(post["json_body"])) == post["signature_hex"]
    headers, _ = auth.websocket_auth(724625476626153743, int(get["timestamp"]))
    assert headers["X-edgeX-Signature"] == VECTORS["hmac_private_ws"]["signature_hex"]


def test_request_auth_matches_the_sdk() -> None:
    rng = random.Random(3)
    for _ in range(20):
        secret = "".join(rng.choice("abcdefXYZ0123456789+/=") for _ in range(rng.randrange(8, 40)))
        auth = RequestSigner("k3y", "phrase", secret)
        body = {"accountId": "12", "orderIdList": [str(rng.randrange(10**17))], "flag": rng.random() < 0.5,
                "nothing": None, "nested": {"b": "2", "a": ["x", "y"]}}
        assert canonical(body) == get_value(body)
        stamp = str(1_700_000_000_000 + rng.randrange(10**6))
        ours = auth.headers(stamp, "POST", "/api/v2/private/order/cancelOrderById", canonical(body))
        theirs = build_hmac_headers("k3y", "phrase", secret, stamp, "POST", "/api/v2/private/order/cancelOrderById",
                                    get_value(body))
        assert ours == theirs


def test_the_private_websocket_handshake_matches_the_sdk() -> None:
    auth = RequestSigner("k3y", "phrase", "s3cret")
    headers, protocol = auth.websocket_auth(42, 1_773_302_047_172)
    signature = build_hmac_signature("s3cret", "1773302047172", "GET", "/api/v1/private/ws",
                                     "accountId=42&timestamp=1773302047172")
    sdk_headers = {"X-edgeX-Api-Key": "k3y", "X-edgeX-Passphrase": "phrase", "X-edgeX-Signature": signature,
                   "X-edgeX-Timestamp": "1773302047172"}
    assert headers == sdk_headers
    assert protocol == base64.b64encode(json.dumps(sdk_headers).encode()).decode().rstrip("=")


def test_the_eip712_vector_reproduces_digest_and_signature() -> None:
    message = EIP712["typed_data"]["message"]
    order = L2Order(account_id=12345, nonce=808219, expire_time_ms=1736476772_000, is_buy=True, size=Decimal(1),
                    value=Decimal("97.3938"), fee=Decimal(98), contract_id=10000001, collateral_coin_id=1000,
                    contract_resolution=Decimal(1000), collateral_resolution=Decimal(1_000_000))
    assert order_amounts(order) == (int(message["amountSynthetic"]), int(message["amountCollateral"]),
                                    int(message["amountFee"]))
    ours = signer()
    assert ours.address == EIP712["signer_address"]
    digest = order_digest(order, ours.address, ours.domain)
    assert "0x" + digest.hex() == EIP712["eip712_digest"]
    assert ours.sign_order(order) == EIP712["l2Signature(sent, no 0x, 130 hex = r||s||v)"]
    assert recover_signer(digest, ours.sign_order(order)) == ours.address


def test_random_orders_sign_exactly_as_eth_account_and_the_sdk() -> None:
    rng = random.Random(11)
    ours = signer()
    for _ in range(25):
        order = L2Order(
            account_id=rng.randrange(1, 2**63), nonce=rng.randrange(2**32), expire_time_ms=rng.randrange(10**13),
            is_buy=rng.random() < 0.5, size=Decimal(rng.randrange(1, 10**6)) / 1000,
            value=Decimal(rng.randrange(1, 10**9)) / 10**4, fee=Decimal(rng.randrange(0, 100)),
            contract_id=rng.randrange(10**7, 10**8), collateral_coin_id=1000,
            contract_resolution=Decimal(10) ** rng.randrange(0, 11), collateral_resolution=Decimal(1_000_000),
        )
        synthetic, collateral, fee = order_amounts(order)
        typed = {
            "types": EIP712["typed_data"]["types"], "primaryType": "LimitOrderParams", "domain": DOMAIN,
            "message": {
                "base": {"nonce": str(order.nonce), "signer": ours.address, "accountId": str(order.account_id),
                         "expirationTimestamp": str(order.expire_time_ms // 1000)},
                "amountSynthetic": str(synthetic), "amountCollateral": str(collateral), "amountFee": str(fee),
                "assetIdSynthetic": str(order.contract_id), "assetIdCollateral": "1000",
                "isBuyingSynthetic": order.is_buy, "parentOrderHash": b"\x00" * 32, "subOrderIndex": "0",
            },
        }
        signable = encode_typed_data(full_message=typed)
        expected = keccak256(b"\x19" + signable.version + signable.header + signable.body)
        assert order_digest(order, ours.address, ours.domain) == expected
        assert ours.sign_order(order) == sign_typed_data(KEY, typed)


METADATA = metadata_json(DEFAULT_CONTRACTS)
CONTRACTS = parse_metadata(METADATA, venue="edgex")


class Recorder:
    """Stands in for the SDK's HTTP: records the body `create_order` would send."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, method: str, path: str, data: Any = None, params: Any = None, **_: Any) -> Any:
        self.bodies.append(data)
        return {"code": "SUCCESS", "data": {"orderId": "1"}}


@pytest.mark.anyio
@pytest.mark.parametrize(("otype", "side", "tif", "size", "price"), [
    (OrderType.LIMIT, Side.BUY, TimeInForce.GTC, "0.013", "64123.4"),
    (OrderType.LIMIT, Side.SELL, TimeInForce.POST_ONLY, "0.013", "64123.4"),
    (OrderType.LIMIT, Side.BUY, TimeInForce.IOC, "0.013", "64123.4"),
    (OrderType.MARKET, Side.BUY, TimeInForce.IOC, "0.013", None),
    (OrderType.MARKET, Side.SELL, TimeInForce.IOC, "0.013", None),
    (OrderType.STOP_LIMIT, Side.SELL, TimeInForce.GTC, "0.013", "64123.4"),
    (OrderType.LIMIT, Side.BUY, TimeInForce.GTC, "2E+1", "6.4E+4"),  # Decimals that str() writes as exponents
])
async def test_create_order_bodies_equal_the_sdks(monkeypatch: pytest.MonkeyPatch, otype: OrderType, side: Side,
                                                  tif: TimeInForce, size: str, price: str | None) -> None:
    now_ms = 1_780_000_000_123
    oracle = Decimal("65000.3750002346932888")
    monkeypatch.setattr("edgex_sdk.order.client.time.time", lambda: now_ms / 1000)
    client = Client(base_url="http://unused", account_id=543429922991899150, api_key="k", api_passphrase="p",
                    api_secret="s", trading_private_key=KEY)
    recorder = Recorder()
    monkeypatch.setattr(client.async_client, "make_authenticated_request", recorder)

    async def metadata() -> dict[str, Any]:
        return {"code": "SUCCESS", "data": METADATA}

    async def quote(contract_id: str) -> dict[str, Any]:
        return {"code": "SUCCESS", "data": [{"contractId": contract_id, "oraclePrice": str(oracle)}]}

    monkeypatch.setattr(client, "get_metadata", metadata)
    monkeypatch.setattr(client, "get_24_hour_quote", quote)
    contract = CONTRACTS.by_symbol["BTC-PERP"]
    client_id = ClientIdFormat.INT63.derive("sdk", f"{otype.value}-{side.value}")
    limit = Decimal(price) if price is not None else None
    trigger = Decimal("63000.0") if otype.is_trigger else None
    request = OrderRequest(client_id, "BTC-PERP", side, otype, Decimal(size), limit, trigger, tif)
    signed = create_order(request, contract, account_id=543429922991899150, signer=signer(), now_ms=now_ms,
                          oracle_price=oracle if side is Side.BUY else None)
    ours = signed.body
    params = CreateOrderParams(  # the SDK is given the plain text perpd would show a person
        contract_id=contract.contract_id, price=format(limit, "f") if limit is not None else "0",
        size=format(Decimal(size), "f"),
        type=SdkOrderType[otype.name], side=OrderSide[side.name],
        time_in_force="" if otype is OrderType.MARKET else {
            TimeInForce.GTC: "GOOD_TIL_CANCEL", TimeInForce.IOC: "IMMEDIATE_OR_CANCEL",
            TimeInForce.POST_ONLY: "POST_ONLY"}[tif],
        client_order_id=client_id, trigger_price=str(trigger) if trigger is not None else "",
        trigger_price_type="ORACLE_PRICE" if trigger is not None else "",
    )
    await client.create_order(params)
    (theirs,) = recorder.bodies
    assert ours == theirs
    assert signed.canonical == get_value(theirs) == canonical(ours)
    assert signed.content == orjson.dumps(theirs)
    assert int(ours["l2Nonce"]) == order_nonce(client_id)


def test_signers_never_show_their_keys() -> None:
    auth = RequestSigner("abcdefgh", "the-passphrase", "the-secret")
    for text in (repr(auth), str(auth)):
        assert "the-secret" not in text and "the-passphrase" not in text and "abcdefgh" not in text
    ours = signer()
    assert KEY[2:] not in repr(ours) and ours.address in repr(ours)
    with pytest.raises(TypeError):
        pickle.dumps(ours)
    with pytest.raises(ValueError) as caught:
        Eip712OrderSigner("0x" + "zz" * 32, chain_id=1, verifying_contract=DOMAIN["verifyingContract"])
    assert "zz" not in str(caught.value)


def test_a_client_id_that_needs_escaping_is_escaped() -> None:
    contract = CONTRACTS.by_symbol["BTC-PERP"]
    request = OrderRequest('a"b\\c', "BTC-PERP", Side.BUY, OrderType.LIMIT, Decimal("0.001"), Decimal(60000))
    signed = create_order(request, contract, account_id=1, signer=signer(), now_ms=1_780_000_000_000)
    assert signed.body["clientOrderId"] == 'a"b\\c' and signed.canonical == canonical(signed.body)
