"""A Vest client written from Vest's API page alone (docs.vestmarkets.com/vest-api; a copy
is in fixtures/ beside the samples), to check the emulator with something other than the
connector it was built beside.

It imports nothing of perpd: httpx, websockets, eth_abi and eth_account, used the way the
docs' own Python snippets use them (`encode_typed_data` + `Account.sign_message` to
register, `keccak(encode(types, values))` + `encode_defunct` to sign orders and
cancels, `.signature.hex()` as written there). Not a test module.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import websockets
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils import keccak

VERIFYING_CONTRACT = "0x8E4D87AEf4AC4D5415C35A12319013e34223825B"  # "Development"
ORDER_TYPES = ["uint256", "uint256", "string", "string", "bool", "string", "string", "bool"]


def now_ms() -> int:
    return int(time.time() * 1000)


def sign_args(types: list[str], values: list[Any], private_key: str, *, prefix: bool = True) -> str:
    """The docs' recipe; `.signature.hex()` has no 0x with current eth-account, so the
    docs' note ("make sure this starts with 0x") is followed only when `prefix`."""
    args = keccak(encode(types, values))
    signature = Account.sign_message(encode_defunct(args), private_key).signature.hex()
    if prefix and not signature.startswith("0x"):
        signature = "0x" + signature
    return signature


class DocClient:
    """REST and WS of one account, as the docs describe them."""

    def __init__(self, base_url: str, ws_url: str, primary_key: str, signing_key: str) -> None:
        self.base_url = base_url  # ends in /v2
        self.ws_url = ws_url  # ends in /ws-api?version=1.0
        self.primary = Account.from_key(primary_key)
        self.signer = Account.from_key(signing_key)
        self.signing_key = signing_key
        self.api_key: str | None = None
        self.group = 0
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10.0)

    async def close(self) -> None:
        await self.http.aclose()

    def headers(self) -> dict[str, str]:
        headers = {"xrestservermm": f"restserver{self.group}"}
        if self.api_key is not None:
            headers["X-API-KEY"] = self.api_key
        return headers

    # ------------------------------------------------------------------ REST

    async def register(self, expiry_ms: int | None = None, network_type: int = 0) -> httpx.Response:
        expiry = expiry_ms if expiry_ms is not None else now_ms() + 7 * 24 * 3600000  # 7 days, as the docs do
        domain = {"name": "VestRouterV2", "version": "0.0.1", "verifyingContract": VERIFYING_CONTRACT}
        types = {"SignerProof": [{"name": "approvedSigner", "type": "address"}, {"name": "signerExpiry", "type": "uint256"}]}
        proof = encode_typed_data(domain, types, {"approvedSigner": self.signer.address, "signerExpiry": expiry})
        signature = "0x" + Account.sign_message(proof, self.primary.key).signature.hex().removeprefix("0x")
        response = await self.http.post("/register", headers={"xrestservermm": "restserver0"}, json={
            "signingAddr": self.signer.address.lower(),
            "primaryAddr": self.primary.address.lower(),
            "signature": signature,
            "expiryTime": expiry,
            "networkType": network_type,
        })
        if response.status_code == 200:
            body = response.json()
            self.api_key, self.group = body["apiKey"], body["accGroup"]
        return response

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params={"time": now_ms(), **params}, headers=self.headers())

    def order_body(self, *, symbol: str, is_buy: bool, size: str, order_type: str, limit_price: str,
                   reduce_only: bool = False, nonce: int | None = None, key: str | None = None,
                   prefix: bool = True, **extra: Any) -> dict[str, Any]:
        t = now_ms()
        n = t if nonce is None else nonce  # "generally recommended to use time as nonce"
        signature = sign_args(ORDER_TYPES, [t, n, order_type, symbol, is_buy, size, limit_price, reduce_only],
                              key or self.signing_key, prefix=prefix)
        order = {"time": t, "nonce": n, "symbol": symbol, "isBuy": is_buy, "size": size, "orderType": order_type,
                 "limitPrice": limit_price, "reduceOnly": reduce_only, **extra}
        return {"order": order, "recvWindow": 60000, "signature": signature}

    def child_signature(self, body: dict[str, Any], kind: str, price: str, nonce: int) -> str:
        """tp/slSignature: "orderType = TAKE_PROFIT/STOP_LOSS, isBuy = opposite of parent
        LIMIT order, limitPrice = tp/slPrice and reduceOnly = True"."""
        o = body["order"]
        return sign_args(ORDER_TYPES, [o["time"], nonce, kind, o["symbol"], not o["isBuy"], o["size"], price, True],
                         self.signing_key)

    async def place(self, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post("/orders", headers=self.headers(), json=body)

    async def cancel(self, order_id: str, *, key: str | None = None) -> httpx.Response:
        t = now_ms()
        signature = sign_args(["uint256", "uint256", "string"], [t, t, order_id], key or self.signing_key)
        return await self.http.post("/orders/cancel", headers=self.headers(), json={
            "order": {"time": t, "nonce": t, "id": order_id}, "recvWindow": 60000, "signature": signature})

    async def leverage(self, symbol: str, value: int, **extra: Any) -> httpx.Response:
        return await self.http.post("/account/leverage", headers=self.headers(),
                                    json={"time": now_ms(), "symbol": symbol, "value": value, **extra})

    async def listen_key(self, method: str = "POST") -> httpx.Response:
        return await self.http.request(method, "/account/listenKey", headers=self.headers())

    # ------------------------------------------------------------------ WS

    def public_url(self, **query: str) -> str:
        extra = "".join(f"&{k}={v}" for k, v in query.items())
        return f"{self.ws_url}&xwebsocketserver=restserver{self.group}{extra}"

    def private_url(self, listen_key: str) -> str:
        # The docs' private example: `websocketserver=restserver0&listenKey=...` (no x).
        return f"{self.ws_url}&websocketserver=restserver{self.group}&listenKey={listen_key}"

    @staticmethod
    async def connect(url: str) -> Any:
        return await websockets.connect(url, open_timeout=10)

    @staticmethod
    async def subscribe(ws: Any, channels: list[str], request_id: int) -> dict[str, Any]:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": channels, "id": request_id}))
        while True:
            message = json.loads(await ws.recv())
            if message.get("id") == request_id:
                return message

    @staticmethod
    async def until(ws: Any, predicate: Any) -> dict[str, Any]:
        while True:
            message = json.loads(await ws.recv())
            if predicate(message):
                return message
