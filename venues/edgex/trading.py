"""EdgeX order verbs on the wire: create (EIP-712 signed), cancel by client id (one or a
batch), cancel all, leverage. A base class of EdgexSession, which provides the venue,
the request signer, the order signer and the reads.

Outcome rules: `code == "SUCCESS"` is the only success. `createOrder` answers with an
order id only: the order is PENDING until the account stream (or a read) shows its fate.
A refusal (`code` other than SUCCESS) is definitive; a timeout, a lost connection after
sending, a 5xx or a 429 is OutcomeUnknown, resolved later by client id — the client id
is EdgeX's idempotency key, so an order is never sent under a new one. EdgeX has no
order edit and no dead man's switch: both are refused locally (the contract's defaults).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from perpd.errors import InvalidRequest, NotSupported, PerpdError, VenueRejected
from perpd.model import MarginMode, Order, OrderRequest, Side
from venues.base import AccountSession, check_against_market
from venues.edgex.constants import (
    CANCEL_ALL,
    CANCEL_BY_CLIENT_ID,
    CANCEL_BY_ID,
    CREATE_ORDER,
    MARKET_TYPES,
    UPDATE_LEVERAGE,
)
from venues.edgex.errors import CANCEL_SUCCESS, ORDER_NOT_FOUND
from venues.edgex.orders import SignedOrder, create_order
from venues.edgex.signing import OrderSigner, RequestSigner

if TYPE_CHECKING:
    from venues.edgex.venue import EdgexVenue


class EdgexTrading(AccountSession):
    """create / cancel / cancel-all / leverage of one account."""

    # Provided by EdgexSession.
    venue: EdgexVenue
    account_id: int
    auth: RequestSigner
    signer: OrderSigner | None = None

    def remember(self, order: Order) -> None:  # pragma: no cover - EdgexSession's
        raise NotImplementedError

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return await self.venue.transport.private_post(self.auth, path, body)

    async def build_order(self, request: OrderRequest) -> SignedOrder:
        """Check `request` against the capabilities and the market, then sign its body."""
        self.capabilities.check(request, self.venue.name)
        contract = self.venue.contract(request.symbol)
        check_against_market(request, contract.market)
        if self.signer is None:
            await self.connect()  # the session builds the signer
        assert self.signer is not None
        oracle = None
        if request.type in MARKET_TYPES and request.side is Side.BUY:
            oracle = await self.venue.oracle_price(request.symbol)
        return create_order(request, contract, account_id=self.account_id, signer=self.signer,
                            now_ms=self.venue.clock.now_ms(), oracle_price=oracle)

    async def create_order(self, request: OrderRequest) -> Order:
        signed = await self.build_order(request)
        pending = request.pending(self.account, self.venue.name, self.venue.clock.now_ms())
        data = await self.venue.transport.private_post_raw(self.auth, CREATE_ORDER, signed.content, signed.canonical)
        order_id = str((data or {}).get("orderId") or "") or None
        order = pending.evolve(venue_order_id=order_id)
        self.remember(order)
        return order

    async def cancel_order(self, client_id: str) -> bool:
        if client_id.startswith("order:"):
            path, body = CANCEL_BY_ID, {"accountId": str(self.account_id), "orderIdList": [client_id.partition(":")[2]]}
        else:
            path, body = CANCEL_BY_CLIENT_ID, {"accountId": str(self.account_id), "clientOrderIdList": [client_id]}
        try:
            data = await self._post(path, body)
        except VenueRejected as exc:
            if exc.code == ORDER_NOT_FOUND:
                return False
            raise
        results = (data or {}).get("cancelResultMap") or {}
        return any(value == CANCEL_SUCCESS for value in results.values())

    async def cancel_orders(self, client_ids: Sequence[str]) -> list[bool | Exception]:
        out: list[bool | Exception] = []
        batch = self.capabilities.batch_cancel
        for start in range(0, len(client_ids), batch):
            out.extend(await self._cancel_chunk(client_ids[start : start + batch]))
        return out

    async def _cancel_chunk(self, client_ids: Sequence[str]) -> list[bool | Exception]:
        if len(client_ids) < 2 or any(cid.startswith("order:") for cid in client_ids):
            return await super().cancel_orders(client_ids)
        body = {"accountId": str(self.account_id), "clientOrderIdList": list(client_ids)}
        try:
            data = await self._post(CANCEL_BY_CLIENT_ID, body)
        except VenueRejected:
            return await super().cancel_orders(client_ids)  # learn each one's fate
        except PerpdError as exc:
            return [exc for _ in client_ids]
        results = (data or {}).get("cancelResultMap") or {}
        if not all(cid in results for cid in client_ids):
            # The answer is not keyed by client id: ask one by one (a second cancel of a
            # cancelled order is a harmless False).
            return await super().cancel_orders(client_ids)
        return [results[cid] == CANCEL_SUCCESS for cid in client_ids]

    async def cancel_all_orders(self, symbol: str | None = None) -> int:
        if symbol is not None:
            body: dict[str, Any] = {"accountId": str(self.account_id),
                                    "filterContractIdList": [self.venue.contract(symbol).contract_id]}
        else:  # the documented request with every filter empty: everything
            body = {"accountId": str(self.account_id), "filterCoinIdList": [], "filterContractIdList": [],
                    "filterOrderTypeList": [], "filterOrderStatusList": [], "filterIsPositionTpsl": []}
        data = await self._post(CANCEL_ALL, body)
        results = (data or {}).get("cancelResultMap") or {}
        return sum(1 for value in results.values() if value == CANCEL_SUCCESS)

    async def set_leverage(self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS) -> None:
        contract = self.venue.contract(symbol)
        if margin_mode not in self.capabilities.margin_modes:
            raise NotSupported(f"edgex: {margin_mode.value} margin is not supported (cross only)")
        if not 1 <= leverage <= contract.market.max_leverage:
            raise InvalidRequest(
                f"edgex {contract.symbol}: leverage must be 1 .. {contract.market.max_leverage} (got {leverage})"
            )
        await self._post(UPDATE_LEVERAGE, {"accountId": str(self.account_id), "contractId": contract.contract_id,
                                           "leverage": str(leverage)})
