"""Signing through lighter-sdk's native signer, on dedicated worker threads.

The signer is a Go shared library loaded once per process (`lighter.signer_client.
get_signer()`); it keeps a registry of clients keyed by (api key index, account index).
A call from the event-loop thread costs several milliseconds (the Go runtime has to
adopt the thread each time) while a call from a long-lived worker thread costs well
under one, so every call goes through a `SignerPool` of dedicated threads and the event
loop only awaits the result. Several threads sign in parallel: cgo calls release the GIL.

We call the library's exported functions directly rather than building a
`lighter.SignerClient` (which opens an aiohttp session and a nonce manager we do not
use): nonces, transport and retries are ours.

Private keys are held as `SecretStr`, passed to the library once at registration and
never logged, repr'd or put into an error message.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import threading
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_account import Account
from eth_account.messages import encode_defunct
from pydantic import SecretStr

from perpd.errors import AuthError, InvalidRequest, NotSupported
from venues.lighter.constants import NIL_MARKET_INDEX

T = TypeVar("T")

_registry_lock = threading.Lock()  # CreateClient writes the library's global client map


_sdk: Any = None
_lib: Any = None


def sdk_signer_module() -> Any:
    """`lighter.signer_client`, imported without the SDK's own deprecation noise.

    Importing `lighter` imports its WsClient, which uses websockets' legacy client and
    warns about it on import; that is the SDK's business, so only that warning is muted.
    """
    global _sdk
    if _sdk is not None:
        return _sdk
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="websockets.client.connect is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="websockets.legacy is deprecated", category=DeprecationWarning)
        try:
            import lighter.signer_client as module
        except Exception as exc:  # noqa: BLE001 - an import failure of the SDK is a config problem
            raise NotSupported(f"lighter-sdk signer cannot be loaded ({type(exc).__name__})") from exc
    _sdk = module
    return module


def _library() -> Any:
    global _lib
    if _lib is None:
        module = sdk_signer_module()
        try:
            _lib = module.get_signer()
        except Exception as exc:  # noqa: BLE001 - unsupported platform raises a bare Exception
            raise NotSupported(f"lighter-sdk has no signer for this platform: {exc}") from exc
    return _lib


def _take(ptr: Any) -> str | None:
    # decode_and_free frees with the library's own Free (same C runtime that allocated).
    return (_sdk or sdk_signer_module()).decode_and_free(ptr)


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed L2 transaction, ready for `sendTx`."""

    tx_type: int
    tx_info: str  # the JSON the venue expects in the `tx_info` form field
    tx_hash: str


class SignerPool:
    """Dedicated worker threads for the native signer; one per venue."""

    def __init__(self, threads: int = 1, name: str = "lighter-signer") -> None:
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on a signer thread and await its result."""
        return await asyncio.wrap_future(self._executor.submit(fn, *args))

    def submit(self, fn: Callable[..., T], *args: Any) -> Any:
        return self._executor.submit(fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class LighterSigner:
    """Signs one account's transactions with its API keys (index -> private key)."""

    def __init__(
        self,
        pool: SignerPool,
        *,
        url: str,
        chain_id: int,
        account_index: int,
        keys: Mapping[int, SecretStr],
    ) -> None:
        self.pool = pool
        self.url = url
        self.chain_id = chain_id
        self.account_index = account_index
        self._keys = dict(keys)
        self._registered = False

    def __repr__(self) -> str:
        return f"<LighterSigner account={self.account_index} keys={sorted(self._keys)}>"

    @property
    def key_indices(self) -> list[int]:
        return sorted(self._keys)

    # ------------------------------------------------------------------ registration

    def register_sync(self) -> None:
        """Register every key with the library (idempotent); AuthError on a bad key."""
        if self._registered:
            return
        lib = _library()
        with _registry_lock:
            for index, secret in self._keys.items():
                key = secret.get_secret_value()
                key = key[2:] if key.startswith("0x") else key
                err = _take(lib.CreateClient(self.url.encode(), key.encode(), self.chain_id, index, self.account_index))
                if err:
                    # The library's message does not contain the key; keep it anyway out.
                    raise AuthError(f"lighter: API key {index} of account {self.account_index} refused by the signer", venue="lighter")
        self._registered = True

    async def register(self) -> None:
        await self.pool.run(self.register_sync)

    # ------------------------------------------------------------------ sync signing

    def _decode(self, result: Any) -> SignedTx:
        err = _take(result.err)
        info = _take(result.txInfo)
        tx_hash = _take(result.txHash)
        _take(result.messageToSign)
        if err:
            raise InvalidRequest(f"lighter signer refused the transaction: {err}")
        return SignedTx(int(result.txType), info or "", tx_hash or "")

    def create_order_sync(
        self,
        *,
        key: int,
        nonce: int,
        market_index: int,
        client_order_index: int,
        base_amount: int,
        price: int,
        is_ask: bool,
        order_type: int,
        time_in_force: int,
        reduce_only: bool,
        trigger_price: int,
        order_expiry: int,
    ) -> SignedTx:
        self.register_sync()
        return self._decode(
            _library().SignCreateOrder(
                market_index, client_order_index, base_amount, price, int(is_ask), order_type,
                time_in_force, int(reduce_only), trigger_price, order_expiry,
                0, 0, 0, 0, 0,  # integrator account/taker fee/maker fee, self-trade modes
                0, nonce, key, self.account_index,
            )
        )

    def create_grouped_sync(self, *, key: int, nonce: int, grouping_type: int, orders: list[dict[str, Any]]) -> SignedTx:
        """CreateGroupedOrders (tx type 28): `orders` are `WireOrder.fields()` dicts, the
        parent first (OTO / OTOCO). Laid out as the SDK's `CreateOrderTxReq` array, as
        `SignerClient.sign_create_grouped_orders` passes them."""
        self.register_sync()
        request = sdk_signer_module().CreateOrderTxReq
        array = (request * len(orders))(*(
            request(
                MarketIndex=o["market_index"], ClientOrderIndex=o["client_order_index"], BaseAmount=o["base_amount"],
                Price=o["price"], IsAsk=int(o["is_ask"]), Type=o["order_type"], TimeInForce=o["time_in_force"],
                ReduceOnly=int(o["reduce_only"]), TriggerPrice=o["trigger_price"], OrderExpiry=o["order_expiry"],
            )
            for o in orders
        ))
        return self._decode(
            _library().SignCreateGroupedOrders(
                grouping_type, array, len(orders),
                0, 0, 0, 0, 0,  # integrator account/taker fee/maker fee, self-trade modes
                0, nonce, key, self.account_index,  # skip_nonce, nonce
            )
        )

    def cancel_order_sync(self, *, key: int, nonce: int, market_index: int, index: int) -> SignedTx:
        self.register_sync()
        return self._decode(_library().SignCancelOrder(market_index, index, 0, nonce, key, self.account_index))

    def cancel_all_sync(
        self, *, key: int, nonce: int, time_in_force: int, time_ms: int, market_index: int = NIL_MARKET_INDEX
    ) -> SignedTx:
        self.register_sync()
        return self._decode(
            _library().SignCancelAllOrders(time_in_force, time_ms, market_index, 0, nonce, key, self.account_index)
        )

    def modify_order_sync(
        self, *, key: int, nonce: int, market_index: int, index: int, base_amount: int, price: int, trigger_price: int
    ) -> SignedTx:
        self.register_sync()
        return self._decode(
            _library().SignModifyOrder(
                market_index, index, base_amount, price, trigger_price,
                0, 0, 0, 0, 0,  # integrator fields, self-trade modes
                0, nonce, 0, key, self.account_index,  # skip_nonce, nonce, order_version
            )
        )

    def update_leverage_sync(
        self, *, key: int, nonce: int, market_index: int, fraction: int, margin_mode: int
    ) -> SignedTx:
        self.register_sync()
        return self._decode(
            _library().SignUpdateLeverage(market_index, fraction, margin_mode, 0, nonce, key, self.account_index)
        )

    def change_pub_key_sync(self, *, key: int, nonce: int, public_key: str, eth_private_key: SecretStr) -> SignedTx:
        """ChangePubKey (tx type 8) registering `public_key` at `key`: signed by that key's own
        private key (held by this signer) and, over Lighter's "Register Lighter Account" text,
        by the account owner's Ethereum key (used for this signature only)."""
        self.register_sync()
        result = _library().SignChangePubKey(ctypes.c_char_p(public_key.encode()), 0, nonce, key, self.account_index)
        err, info, tx_hash, text = _take(result.err), _take(result.txInfo), _take(result.txHash), _take(result.messageToSign)
        if err or not info or not text:
            raise InvalidRequest(f"lighter signer refused the key registration: {err}")
        try:
            l1 = Account.sign_message(encode_defunct(text=text), private_key=eth_private_key.get_secret_value())
        except (ValueError, TypeError):
            raise AuthError("lighter: the owner's key is not an Ethereum private key", venue="lighter") from None
        signed = json.loads(info)
        signed["L1Sig"] = l1.signature.to_0x_hex()
        return SignedTx(int(result.txType), json.dumps(signed), tx_hash or "")

    def auth_token_sync(self, *, key: int, deadline_s: int) -> str:
        """`{deadline}:{account}:{key}:{sig}` for private REST endpoints and WS channels."""
        self.register_sync()
        result = _library().CreateAuthToken(deadline_s, key, self.account_index)
        token, err = _take(result.str), _take(result.err)
        if err or not token:
            raise AuthError(f"lighter: cannot create an auth token for key {key}", venue="lighter")
        return token

    # ------------------------------------------------------------------ async wrappers

    async def create_order(self, **fields: Any) -> SignedTx:
        return await self.pool.run(lambda: self.create_order_sync(**fields))

    async def create_grouped(self, **fields: Any) -> SignedTx:
        return await self.pool.run(lambda: self.create_grouped_sync(**fields))

    async def cancel_order(self, **fields: Any) -> SignedTx:
        return await self.pool.run(lambda: self.cancel_order_sync(**fields))

    async def cancel_all(self, **fields: Any) -> SignedTx:
        return await self.pool.run(lambda: self.cancel_all_sync(**fields))

    async def modify_order(self, **fields: Any) -> SignedTx:
        return await self.pool.run(lambda: self.modify_order_sync(**fields))

    async def update_leverage(self, **fields: Any) -> SignedTx:
        return await self.pool.run(lambda: self.update_leverage_sync(**fields))

    async def create_orders(self, *, key: int, first_nonce: int, orders: list[dict[str, Any]]) -> list[SignedTx]:
        """Sign several orders with consecutive nonces, split across the pool's threads
        (one hand-off per thread rather than per order)."""
        jobs = [(first_nonce + i, fields) for i, fields in enumerate(orders)]
        parts = max(1, min(self.pool.threads, len(jobs)))
        chunks = [jobs[i::parts] for i in range(parts)]

        def sign(chunk: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, SignedTx]]:
            return [(n, self.create_order_sync(key=key, nonce=n, **fields)) for n, fields in chunk]

        signed = await asyncio.gather(*(self.pool.run(sign, chunk) for chunk in chunks))
        by_nonce = dict(pair for part in signed for pair in part)
        return [by_nonce[first_nonce + i] for i in range(len(orders))]

    async def auth_token(self, *, key: int, deadline_s: int) -> str:
        return await self.pool.run(lambda: self.auth_token_sync(key=key, deadline_s=deadline_s))


def create_api_key() -> tuple[str, str]:
    """A fresh (private, public) API key pair from the native library, both 0x-hex.

    Registering the public key on Lighter is a separate, L1-signed step: `perpd onboard`
    (docs/venues/lighter.md), or `LighterSigner.change_pub_key_sync`.
    """
    private, public, err = sdk_signer_module().create_api_key()
    if err or not private or not public:
        raise NotSupported(f"lighter signer could not generate a key: {err}")
    return private, public
