"""Orders: place (idempotent), list, get, modify, cancel, cancel all."""

from __future__ import annotations

import asyncio

from perpd.api.endpoint import Call
from perpd.api.errors import field_error
from perpd.api.models import Cancelled, OrderIn, OrderPage, OrderPatch, OrderQuery, Orders
from perpd.errors import InvalidRequest, NotFound
from perpd.model import Order

MAX_KEY_LENGTH = 128


async def place(call: Call) -> Orders:
    body: OrderIn = call.body
    engine = call.engine
    try:
        spec = body.spec()
    except ValueError as exc:
        raise InvalidRequest(str(exc), details={"fields": [{"field": "body", "message": str(exc)}]}) from None
    _known_placement(call, body)
    key = call.request.headers.get("idempotency-key")
    if key is None:
        return Orders(orders=await engine.submit(spec, source="api", actor=call.actor))
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise field_error("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable characters")
    locks = call.ctx.idempotency_locks
    lock = locks.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            replay = engine.journal.intent_by_key(key) is not None
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
    engine = call.engine
    if body.account is not None:
        if body.account not in engine.config.accounts:
            raise NotFound(f"no account named {body.account!r}", details={"field": "account"})
        venue = engine.config.accounts[body.account].venue
        if (venue, body.symbol) not in engine.portfolio.market_data.markets and venue in engine.venues:
            raise NotFound(f"{venue} has no market {body.symbol}", details={"field": "symbol"})
    elif body.route is not None:
        route = engine.config.route(body.route)
        if route is None:
            raise NotFound(f"no route named {body.route!r}", details={"field": "route"})
        venues = {engine.config.accounts[a].venue for a in route.accounts if a in engine.config.accounts}
        markets = engine.portfolio.market_data.markets
        if venues & set(engine.venues) and not any((v, body.symbol) in markets for v in venues):
            raise NotFound(f"no venue of route {route.name!r} lists {body.symbol}", details={"field": "symbol"})


async def list_orders(call: Call) -> OrderPage:
    q: OrderQuery = call.query
    engine = call.engine
    if q.account is not None and q.account not in engine.config.accounts:
        raise NotFound(f"no account named {q.account!r}", details={"field": "account"})
    await engine.journal.flush()  # read-your-writes: status updates are queued, not awaited
    found = engine.journal.orders(
        account=q.account, symbol=q.symbol, status=q.status, live=q.live, since_ms=q.since, limit=q.limit + 1, offset=q.offset
    )
    more = len(found) > q.limit
    # The engine's in-memory copy is the freshest view of a live order.
    orders = [engine.orders.get(o.client_id, o) for o in found[: q.limit]]
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
