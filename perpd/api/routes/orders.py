"""Orders: place (idempotent), list, get, modify, cancel, cancel all."""

from __future__ import annotations

import asyncio

from perpd.api.endpoint import Call
from perpd.api.models import Cancelled, OrderIn, OrderPage, OrderPatch, OrderQuery, Orders
from perpd.errors import InvalidRequest, NotFound
from perpd.model import Order


async def place(call: Call) -> Orders:
    body: OrderIn = call.body
    engine = call.engine
    try:
        spec = body.spec()
    except ValueError as exc:  # fields valid one by one, not together: refused on its merits
        raise InvalidRequest(str(exc), details={"fields": [{"field": "body", "message": str(exc)}]}) from None
    _known_placement(call, body)
    key = call.request.headers.get("idempotency-key")  # as documented: the wrapper checked it
    if key is None:
        return Orders(orders=await engine.submit(spec, source="api", actor=call.actor))
    locks = call.ctx.idempotency_locks
    lock = locks.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            replay = engine.reads.replayed(key)
            orders = await engine.submit(spec, source="api", actor=call.actor, idempotency_key=key)
    finally:
        if not lock.locked() and locks.get(key) is lock:
            del locks[key]
    if replay:
        call.status = 200
        call.headers["Idempotent-Replayed"] = "true"
    return Orders(orders=orders)


def _known_placement(call: Call, body: OrderIn) -> None:
    """Unknown accounts, routes and symbols are the caller's mistake: 404 before anything."""
    call.engine.reads.check_placement(account=body.account, route=body.route, symbol=body.symbol)


async def list_orders(call: Call) -> OrderPage:
    q: OrderQuery = call.query
    engine = call.engine
    if q.account is not None and q.account not in engine.config.accounts:
        raise NotFound(f"no account named {q.account!r}", details={"field": "account"})
    orders, more = await engine.reads.orders(
        account=q.account, symbol=q.symbol, status=q.status, live=q.live, since_ms=q.since, limit=q.limit, offset=q.offset
    )
    return OrderPage(orders=orders, next_offset=q.offset + q.limit if more else None)


async def get_order(call: Call) -> Order:
    return call.engine.order(call.params["client_id"])


async def modify_order(call: Call) -> Order:
    patch: OrderPatch = call.body
    return await call.engine.modify(call.params["client_id"], price=patch.price, size=patch.size, actor=call.actor)


async def cancel_order(call: Call) -> Order:
    return await call.engine.cancel(call.params["client_id"], actor=call.actor, retire=True)


async def cancel_all(call: Call) -> Cancelled:
    q = call.query
    if q.account is not None and q.account not in call.engine.config.accounts:
        raise NotFound(f"no account named {q.account!r}", details={"field": "account"})
    return Cancelled(cancelled=await call.engine.cancel_all(account=q.account, symbol=q.symbol, actor=call.actor, retire=True))
