"""Decode and check signed L2 transactions the way the sequencer's API front does.

What is checked (without the key, Schnorr signatures cannot be verified in Python —
nobody has ported ECgFp5/Poseidon2; nautilus_trader did it in Rust):
- `tx_info` is a JSON object with exactly the fields the signer emits for its `tx_type`
  (a create-order sent as a cancel, a missing or an extra field: 21501 invalid tx info);
- every field has its type and range (prices uint32 >= 1, amounts <= 2^48-1, client
  order index <= 2^48-1, booleans 0/1, enums);
- `Sig` is base64 of exactly 80 bytes (a Schnorr signature over ECgFp5): else 21120;
- a ChangePubKey's `PubKey` is base64 of 40 bytes, its `L1Sig` 65 bytes of 0x-hex;
- `ExpiredAt` is in the future and at most ~10 minutes ahead (what the signer sets);
- order-shape rules of lighter-go `Validate` (market => IOC and no expiry; GTT and
  post-only need an expiry 5 min .. 30 days ahead; triggers need a trigger price).
Nonce order, client-index uniqueness and whose key signed need state: `exchange.py` and
`keys.py` check them, on `message(tx, chain_id)`, the hash the signature covers
(lighter-go's `Hash()` of each tx type: Poseidon2 over the chain id, the tx type and
its fields, combined with the hash of its non-default attributes).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

from venues.lighter.constants import (
    MAX_BASE_AMOUNT,
    MAX_CLIENT_ORDER_INDEX,
    MAX_ORDER_EXPIRY_MS,
    MAX_PRICE,
    MIN_ORDER_EXPIRY_MS,
    ORDER_TYPE_MARKET,
    ORDER_TYPE_TAKE_PROFIT_LIMIT,
    TIF_IOC,
    TIF_POST_ONLY,
    TX_CANCEL_ALL_ORDERS,
    TX_CANCEL_ORDER,
    TX_CHANGE_PUB_KEY,
    TX_CREATE_GROUPED_ORDERS,
    TX_CREATE_ORDER,
    TX_MODIFY_ORDER,
    TX_UPDATE_LEVERAGE,
)
from venues.lighter.emulator.schnorr import Fp5, hash_no_pad, hash_to_fp5

COMMON = frozenset({"AccountIndex", "ApiKeyIndex", "ExpiredAt", "Nonce", "Sig", "L2TxAttributes"})
FIELDS: dict[int, frozenset[str]] = {
    TX_CREATE_ORDER: COMMON | {"MarketIndex", "ClientOrderIndex", "BaseAmount", "Price", "IsAsk", "Type",
                               "TimeInForce", "ReduceOnly", "TriggerPrice", "OrderExpiry"},
    TX_CANCEL_ORDER: COMMON | {"MarketIndex", "Index"},
    TX_CANCEL_ALL_ORDERS: COMMON | {"TimeInForce", "Time"},
    TX_MODIFY_ORDER: COMMON | {"MarketIndex", "Index", "BaseAmount", "Price", "TriggerPrice"},
    TX_UPDATE_LEVERAGE: COMMON | {"MarketIndex", "InitialMarginFraction", "MarginMode"},
    TX_CHANGE_PUB_KEY: COMMON | {"PubKey", "L1Sig"},
    TX_CREATE_GROUPED_ORDERS: COMMON | {"GroupingType", "Orders"},
}
GROUPED_ORDER_FIELDS = ("MarketIndex", "ClientOrderIndex", "BaseAmount", "Price", "IsAsk", "Type", "TimeInForce",
                        "ReduceOnly", "TriggerPrice", "OrderExpiry")  # also the order of each order's hash
GROUPING_OTO, GROUPING_OCO, GROUPING_OTOCO = 1, 2, 3
# The fields each tx type's hash covers, in order (after chain id, tx type, Nonce, ExpiredAt).
HASHED: dict[int, tuple[str, ...]] = {
    TX_CREATE_ORDER: ("AccountIndex", "ApiKeyIndex", "MarketIndex", "ClientOrderIndex", "BaseAmount", "Price",
                      "IsAsk", "Type", "TimeInForce", "ReduceOnly", "TriggerPrice", "OrderExpiry"),
    TX_CANCEL_ORDER: ("AccountIndex", "ApiKeyIndex", "MarketIndex", "Index"),
    TX_CANCEL_ALL_ORDERS: ("AccountIndex", "ApiKeyIndex", "TimeInForce", "Time"),
    TX_MODIFY_ORDER: ("AccountIndex", "ApiKeyIndex", "MarketIndex", "Index", "BaseAmount", "Price", "TriggerPrice"),
    TX_UPDATE_LEVERAGE: ("AccountIndex", "ApiKeyIndex", "MarketIndex", "InitialMarginFraction", "MarginMode"),
    TX_CHANGE_PUB_KEY: ("AccountIndex", "ApiKeyIndex"),  # then the new public key's five limbs
    TX_CREATE_GROUPED_ORDERS: ("AccountIndex", "ApiKeyIndex", "GroupingType"),  # then the orders' hash
}
TEXT_FIELDS = frozenset({"Sig", "L2TxAttributes", "PubKey", "L1Sig", "Orders"})
# Attribute id -> its "not set" value; set ones enter the hash (lighter-go tx_attributes.go).
ATTRIBUTE_NIL = {1: 0, 2: 0, 3: 0, 4: 0, 5: 255, 6: 0, 7: 0}
ATTRIBUTES_PER_TX = 4
SIG_BYTES = 80
PUB_KEY_BYTES = 40
L1_SIG_BYTES = 65
MAX_TX_LIFETIME_MS = 11 * 60 * 1000  # the signer sets ExpiredAt = now + 10 min - 1 s
CLOCK_SLACK_MS = 60 * 1000


class TxError(Exception):
    """A refusal with Lighter's code; nothing happened."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Tx:
    tx_type: int
    info: dict[str, Any]
    raw: str

    @property
    def signature(self) -> bytes:
        return base64.b64decode(self.info["Sig"])

    @property
    def pub_key(self) -> bytes:
        """The key a ChangePubKey registers (40 bytes)."""
        return base64.b64decode(self.info["PubKey"])

    @property
    def account(self) -> int:
        return int(self.info["AccountIndex"])

    @property
    def key(self) -> int:
        return int(self.info["ApiKeyIndex"])

    @property
    def nonce(self) -> int:
        return int(self.info["Nonce"])

    def attribute(self, number: int) -> int | None:
        attrs = self.info.get("L2TxAttributes") or {}
        value = attrs.get(str(number))
        return int(value) if value is not None else None


def decode(tx_type: Any, tx_info: Any, now_ms: int) -> Tx:
    """Decode one tx (tx_info as a JSON string or an already-decoded object) and check it."""
    try:
        kind = int(tx_type)
    except (TypeError, ValueError):
        raise TxError(21505, f"unsupported tx type {tx_type!r}") from None
    if kind not in FIELDS:
        raise TxError(21505, f"unsupported tx type {kind}")
    if isinstance(tx_info, (str, bytes)):
        raw = tx_info if isinstance(tx_info, str) else tx_info.decode()
        try:
            info = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise TxError(21501, "invalid tx info: not JSON") from None
    else:
        info, raw = tx_info, orjson.dumps(tx_info).decode()
    if not isinstance(info, dict):
        raise TxError(21501, "invalid tx info: not an object")
    keys = set(info)
    expected = FIELDS[kind]
    missing = expected - keys - {"L2TxAttributes"}
    extra = keys - expected
    if missing or extra:
        raise TxError(21501, f"invalid tx info for tx type {kind}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    for name, value in info.items():
        if name in TEXT_FIELDS:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise TxError(21501, f"invalid tx info: {name} must be an integer")
    _check_sig(info["Sig"])
    _check_attributes(info.get("L2TxAttributes"))
    _range("AccountIndex", info["AccountIndex"], 0, 2**48 - 2)
    _range("ApiKeyIndex", info["ApiKeyIndex"], 0, 254)
    _range("Nonce", info["Nonce"], 0, 2**63 - 1)
    expired_at = info["ExpiredAt"]
    if expired_at <= now_ms:
        raise TxError(21501, f"invalid tx info: expired (ExpiredAt {expired_at} <= now {now_ms})")
    if expired_at > now_ms + MAX_TX_LIFETIME_MS + CLOCK_SLACK_MS:
        raise TxError(21501, "invalid tx info: ExpiredAt is too far ahead")
    tx = Tx(kind, info, raw)
    if kind == TX_CREATE_ORDER:
        _check_create(info, now_ms)
    elif kind == TX_MODIFY_ORDER:
        _range("BaseAmount", info["BaseAmount"], 0, MAX_BASE_AMOUNT, 21701)
        _range("Price", info["Price"], 1, MAX_PRICE, 21702)
        _range("TriggerPrice", info["TriggerPrice"], 0, MAX_PRICE, 21729)
        _range("Index", info["Index"], 1, 2**63 - 1, 21700)
    elif kind == TX_CANCEL_ORDER:
        _range("Index", info["Index"], 1, 2**63 - 1, 21700)
    elif kind == TX_CANCEL_ALL_ORDERS:
        _range("TimeInForce", info["TimeInForce"], 0, 2, 21713)
    elif kind == TX_UPDATE_LEVERAGE:
        _range("InitialMarginFraction", info["InitialMarginFraction"], 1, 10_000, 21604)
        _range("MarginMode", info["MarginMode"], 0, 1, 21613)
    elif kind == TX_CHANGE_PUB_KEY:
        _check_change_pub_key(info)
    elif kind == TX_CREATE_GROUPED_ORDERS:
        _check_grouped(info, now_ms)
    return tx


def message(tx: Tx, chain_id: int) -> Fp5:
    """The hash a tx's `Sig` signs, as lighter-go computes it for the sequencer."""
    info = tx.info
    elements = [chain_id, tx.tx_type, info["Nonce"], info["ExpiredAt"], *(info[f] for f in HASHED[tx.tx_type])]
    if tx.tx_type == TX_CHANGE_PUB_KEY:
        elements.extend(int.from_bytes(tx.pub_key[i : i + 8], "little") for i in range(0, 40, 8))
    elif tx.tx_type == TX_CREATE_GROUPED_ORDERS:
        aggregated: list[int] = []
        for order in info["Orders"]:
            order_hash = hash_no_pad([order[f] % 2**64 for f in GROUPED_ORDER_FIELDS], 4)
            aggregated = hash_no_pad(aggregated + order_hash, 4) if aggregated else order_hash
        elements.extend(aggregated)
    digest = hash_to_fp5([e % 2**64 for e in elements])
    attributes = sorted((int(k), int(v)) for k, v in (info.get("L2TxAttributes") or {}).items()
                        if int(v) != ATTRIBUTE_NIL[int(k)])
    if not attributes:
        return digest
    attributes += [(0, 0)] * (ATTRIBUTES_PER_TX - len(attributes))
    attributes_hash = hash_to_fp5([n for pair in attributes for n in pair])
    return hash_to_fp5([*digest, *attributes_hash])


def _check_grouped(info: dict[str, Any], now_ms: int) -> None:
    """lighter-go's L2CreateGroupedOrdersTxInfo.Validate: OTO (parent + a SL/TP child of
    base 0: the parent's filled size), OCO (a reduce-only SL and TP of one size and
    expiry), OTOCO (parent + SL and TP children of base 0)."""
    orders, grouping = info["Orders"], info["GroupingType"]
    sizes = {GROUPING_OTO: 2, GROUPING_OCO: 2, GROUPING_OTOCO: 3}
    if grouping not in sizes:
        raise TxError(21501, f"invalid grouping type {grouping}")
    if not isinstance(orders, list) or len(orders) != sizes[grouping]:
        raise TxError(21501, f"invalid order group size for grouping type {grouping}")
    clients = set()
    for order in orders:
        if not isinstance(order, dict) or set(order) != set(GROUPED_ORDER_FIELDS) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in order.values()):
            raise TxError(21501, f"invalid tx info: each order has exactly {list(GROUPED_ORDER_FIELDS)} (integers)")
        if order["MarketIndex"] != orders[0]["MarketIndex"]:
            raise TxError(21602, "every order of a group is on one market")
        if order["ClientOrderIndex"]:
            if order["ClientOrderIndex"] in clients:
                raise TxError(21728, "duplicate client order index in the group")
            clients.add(order["ClientOrderIndex"])
        _range("Price", order["Price"], 1, MAX_PRICE, 21702)
        _range("BaseAmount", order["BaseAmount"], 0, MAX_BASE_AMOUNT, 21701)
        if order["BaseAmount"] == 0 and not order["ReduceOnly"]:
            raise TxError(21701, "invalid base amount: 0 is only allowed for reduce-only orders")
    parent, children = (None, orders) if grouping == GROUPING_OCO else (orders[0], orders[1:])
    if parent is not None:
        if parent["Type"] not in (0, 1):
            raise TxError(21704, "the first order of a group is a limit or market order")
        _check_create(parent, now_ms)
        if any(c["BaseAmount"] != 0 for c in children):
            raise TxError(21701, "a triggered child's base amount is 0 (it takes the parent's filled size)")
        if any(c["IsAsk"] == parent["IsAsk"] for c in children):
            raise TxError(21703, "children close what the parent opens: the opposite side")
    elif orders[0]["BaseAmount"] != orders[1]["BaseAmount"] or orders[0]["IsAsk"] != orders[1]["IsAsk"] or not all(
            o["ReduceOnly"] for o in orders):
        raise TxError(21701, "an OCO pair is two reduce-only orders of one side and size")
    if len({c["OrderExpiry"] for c in children}) != 1:
        raise TxError(21711, "the orders of a group share one expiry")
    kinds = {c["Type"] for c in children}
    if not kinds <= {2, 3, 4, 5} or (len(children) == 2 and not (kinds & {2, 3} and kinds & {4, 5})):
        raise TxError(21704, "children are stop-loss / take-profit orders (a pair: one of each)")
    for child in children:
        _check_create({**child, "BaseAmount": child["BaseAmount"] or 1}, now_ms)


def _check_change_pub_key(info: dict[str, Any]) -> None:
    key, l1 = info["PubKey"], info["L1Sig"]
    try:
        raw = base64.b64decode(key, validate=True) if isinstance(key, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != PUB_KEY_BYTES:
        raise TxError(21136, "invalid PublicKey: PubKey must be base64 of 40 bytes")
    if not (isinstance(l1, str) and l1.startswith("0x") and len(l1) == 2 + 2 * L1_SIG_BYTES):
        raise TxError(21504, "fail to l1 signature: L1Sig must be 0x and 65 bytes of hex")
    try:
        bytes.fromhex(l1[2:])
    except ValueError:
        raise TxError(21504, "fail to l1 signature: L1Sig is not hex") from None


def _range(name: str, value: int, low: int, high: int, code: int = 21501) -> None:
    if not low <= value <= high:
        raise TxError(code, f"invalid {name} {value} (must be {low} .. {high})")


def _check_sig(sig: Any) -> None:
    if not isinstance(sig, str) or not sig:
        raise TxError(21120, "invalid signature: Sig is missing")
    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        raise TxError(21120, "invalid signature: Sig is not base64") from None
    if len(raw) != SIG_BYTES:
        raise TxError(21120, f"invalid signature: {len(raw)} bytes, expected {SIG_BYTES}")


def _check_attributes(attrs: Any) -> None:
    if attrs is None:
        return
    if not isinstance(attrs, dict) or not all(k in {"1", "2", "3", "4", "5", "6", "7"} for k in attrs):
        raise TxError(21501, "invalid tx info: L2TxAttributes")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in attrs.values()):
        raise TxError(21501, "invalid tx info: L2TxAttributes values must be integers")


def _check_create(info: dict[str, Any], now_ms: int) -> None:
    _range("ClientOrderIndex", info["ClientOrderIndex"], 0, MAX_CLIENT_ORDER_INDEX, 21727)
    _range("Price", info["Price"], 1, MAX_PRICE, 21702)
    _range("IsAsk", info["IsAsk"], 0, 1, 21703)
    _range("Type", info["Type"], 0, 7, 21704)
    if info["Type"] > ORDER_TYPE_TAKE_PROFIT_LIMIT:
        raise TxError(21710, f"unsupported order type {info['Type']}")
    _range("TimeInForce", info["TimeInForce"], 0, 2, 21705)
    _range("ReduceOnly", info["ReduceOnly"], 0, 1, 21740)
    _range("TriggerPrice", info["TriggerPrice"], 0, MAX_PRICE, 21729)
    _range("BaseAmount", info["BaseAmount"], 0, MAX_BASE_AMOUNT, 21701)
    if info["BaseAmount"] == 0 and not info["ReduceOnly"]:
        raise TxError(21701, "invalid base amount: 0 is only allowed for reduce-only orders")
    otype, tif, expiry, trigger = info["Type"], info["TimeInForce"], info["OrderExpiry"], info["TriggerPrice"]
    is_trigger = otype >= 2
    if otype == ORDER_TYPE_MARKET:
        if tif != TIF_IOC:
            raise TxError(21705, "a market order must be immediate-or-cancel")
        if expiry != 0 or trigger != 0:
            raise TxError(21711, "a market order has no expiry and no trigger price")
        return
    if is_trigger:
        if trigger == 0:
            raise TxError(21729, "a stop-loss / take-profit order needs a trigger price")
        if otype in (2, 4) and tif != TIF_IOC:
            raise TxError(21705, "a stop-loss / take-profit market order must be immediate-or-cancel")
        if tif == TIF_POST_ONLY:
            raise TxError(21705, "a trigger order cannot be post-only")
    elif trigger != 0:
        raise TxError(21729, "a limit order has no trigger price")
    if tif == TIF_IOC and not is_trigger:
        if expiry != 0:
            raise TxError(21711, "an immediate-or-cancel order has no expiry")
        return
    if not now_ms + MIN_ORDER_EXPIRY_MS - CLOCK_SLACK_MS <= expiry <= now_ms + MAX_ORDER_EXPIRY_MS + CLOCK_SLACK_MS:
        raise TxError(21711, f"invalid expiry {expiry}: must be 5 minutes .. 30 days ahead")


def decode_batch(tx_types: Any, tx_infos: Any, now_ms: int, limit: int) -> list[Tx]:
    """The double-encoded batch form: `tx_types` "[14, 14]", `tx_infos` a JSON list of JSON strings."""
    try:
        types = orjson.loads(tx_types) if isinstance(tx_types, (str, bytes)) else tx_types
        infos = orjson.loads(tx_infos) if isinstance(tx_infos, (str, bytes)) else tx_infos
    except orjson.JSONDecodeError:
        raise TxError(21501, "invalid batch: tx_types and tx_infos must be JSON") from None
    if not isinstance(types, list) or not isinstance(infos, list) or len(types) != len(infos) or not types:
        raise TxError(21501, "invalid batch: tx_types and tx_infos must be lists of the same length")
    if len(types) > limit:
        raise TxError(21501, f"invalid batch: at most {limit} transactions")
    txs = [decode(t, i, now_ms) for t, i in zip(types, infos, strict=True)]
    first = txs[0]
    for i, tx in enumerate(txs):
        if (tx.account, tx.key) != (first.account, first.key):
            raise TxError(21501, "invalid batch: every transaction must come from the same API key")
        if tx.nonce != first.nonce + i:
            raise TxError(21104, "invalid nonce: batch nonces must be consecutive")
    return txs
