"""Lighter hot paths: signed orders per second on one and two signer threads, and
order_book WS deltas parsed and applied per second.

Run: .venv/bin/python tests/perf/bench_lighter.py
Goals (issue 9): >= 3,500 signed orders/s with two signer threads; >= 150,000 book
deltas/s (orjson + a bisect-sorted level list).

"Signed order" = an OrderRequest mapped to tx fields (`orders.to_wire`) and signed by
lighter-sdk's native library (`SignCreateOrder`) on a dedicated signer thread, the
event loop awaiting the result — what `LighterSession.create_order` does before
sending. The same library call from the event-loop thread is measured for reference.

"Delta" = one `update/order_book` message as received (JSON text, 1-3 changed levels,
a fifth of them removals): orjson-decoded, nonce-checked and applied to a LocalBook;
then also turned into the BookUpdate event `watch()` yields.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from decimal import Decimal
from pathlib import Path

import orjson
from pydantic import SecretStr

from perpd.model import OrderRequest, OrderType, Side
from venues.lighter import parse
from venues.lighter.book import LocalBook
from venues.lighter.orders import to_wire
from venues.lighter.signing import LighterSigner, SignerPool, create_api_key
from venues.lighter.streams import _book_event

FIXTURES = Path(__file__).parents[1] / "fixtures" / "lighter"
ETH = parse.parse_markets(json.loads((FIXTURES / "rest_orderBookDetails.resp.live.nautilus.json").read_text()), "lighter")[0]


def requests(n: int) -> list[OrderRequest]:
    rng = random.Random(7)
    return [
        OrderRequest(str(i + 1), "ETH-PERP", Side.BUY if i % 2 else Side.SELL, OrderType.LIMIT,
                     Decimal(rng.randrange(50, 5000)) / 10_000, Decimal(rng.randrange(300_000, 400_000)) / 100)
        for i in range(n)
    ]


def signer(threads: int, key: str) -> LighterSigner:
    pool = SignerPool(threads)
    s = LighterSigner(pool, url="http://127.0.0.1:1", chain_id=304, account_index=12345, keys={5: SecretStr(key)})
    pool.submit(s.register_sync).result()
    return s


async def signed_per_sec(s: LighterSigner, reqs: list[OrderRequest], in_flight: int) -> float:
    """Sign every request through the pool with `in_flight` concurrent awaits."""
    queue = list(enumerate(reqs))
    queue.reverse()

    async def worker() -> None:
        while queue:
            nonce, request = queue.pop()
            fields = to_wire(request, ETH).fields()
            await s.create_order(key=5, nonce=nonce, **fields)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return len(reqs) / (time.perf_counter() - start)


async def batched_per_sec(s: LighterSigner, reqs: list[OrderRequest], batch: int = 15) -> float:
    """Sign in batches of 15 (one sendTxBatch each), split across the pool's threads."""
    start = time.perf_counter()
    for first in range(0, len(reqs), batch):
        chunk = [to_wire(r, ETH).fields() for r in reqs[first : first + batch]]
        await s.create_orders(key=5, first_nonce=first, orders=chunk)
    return len(reqs) / (time.perf_counter() - start)


def main_thread_per_sec(s: LighterSigner, reqs: list[OrderRequest]) -> float:
    start = time.perf_counter()
    for nonce, request in enumerate(reqs):
        s.create_order_sync(key=5, nonce=nonce, **to_wire(request, ETH).fields())
    return len(reqs) / (time.perf_counter() - start)


def book_messages(n: int) -> tuple[str, list[str]]:
    """A snapshot and `n` update/order_book messages in Lighter's shape (the docs fixture)."""
    rng = random.Random(7)
    mid = 350_000  # ticks of 0.01
    bids = {mid - i * 3: rng.randrange(1, 200_000) for i in range(1, 60)}
    asks = {mid + i * 3: rng.randrange(1, 200_000) for i in range(1, 60)}

    def levels(side: dict[int, int], prices: list[int]) -> list[dict[str, str]]:
        return [{"price": f"{p / 100:.2f}", "size": f"{side[p] / 10_000:.4f}"} for p in prices]

    snapshot = orjson.dumps({
        "channel": "order_book:0", "offset": 1, "type": "subscribed/order_book", "timestamp": 0,
        "order_book": {"code": 0, "bids": levels(bids, sorted(bids)), "asks": levels(asks, sorted(asks)),
                       "offset": 1, "nonce": 1000, "begin_nonce": 1000},
    }).decode()
    out = []
    nonce = 1000
    for i in range(n):
        changed: dict[str, list[dict[str, str]]] = {"bids": [], "asks": []}
        for _ in range(rng.randrange(1, 4)):
            name, side, sign = ("bids", bids, -1) if rng.random() < 0.5 else ("asks", asks, 1)
            price = mid + sign * 3 * rng.randrange(1, 80)
            if price in side and rng.random() < 0.2:
                del side[price]
                changed[name].append({"price": f"{price / 100:.2f}", "size": "0.0000"})
            else:
                side[price] = rng.randrange(1, 200_000)
                changed[name].append({"price": f"{price / 100:.2f}", "size": f"{side[price] / 10_000:.4f}"})
        out.append(orjson.dumps({
            "channel": "order_book:0", "offset": i + 2, "type": "update/order_book", "timestamp": i,
            "order_book": {"code": 0, **changed, "offset": i + 2, "nonce": nonce + 1, "begin_nonce": nonce},
        }).decode())
        nonce += 1
    return snapshot, out


def deltas_per_sec(snapshot: str, messages: list[str], *, events: bool) -> tuple[float, float]:
    book = LocalBook("lighter", "ETH-PERP")
    seq: dict[str, int] = {}
    levels = 0
    start = time.perf_counter()
    _book_event(book, orjson.loads(snapshot), True, seq)
    for text in messages:
        message = orjson.loads(text)
        if events:
            _book_event(book, message, False, seq)
        else:
            book.apply_delta(message["order_book"])
        payload = message["order_book"]
        levels += len(payload["bids"]) + len(payload["asks"])
    elapsed = time.perf_counter() - start
    return len(messages) / elapsed, levels / elapsed


async def main() -> None:
    key, _ = create_api_key()
    reqs = requests(20_000)
    print(f"cpus: {os.cpu_count()}")
    one = signer(1, key)
    await signed_per_sec(one, reqs[:500], 4)  # warm the Go runtime on the worker
    print(f"signed orders/s, 1 signer thread : {await signed_per_sec(one, reqs, 8):>10,.0f}")
    two = signer(2, key)
    await signed_per_sec(two, reqs[:500], 8)
    print(f"signed orders/s, 2 signer threads: {await signed_per_sec(two, reqs, 16):>10,.0f}   (goal >= 3,500)")
    print(f"signed orders/s, 1 thread, batches of 15 : {await batched_per_sec(one, reqs):>10,.0f}")
    print(f"signed orders/s, 2 threads, batches of 15: {await batched_per_sec(two, reqs):>10,.0f}")
    print(f"signed orders/s, event-loop thread (reference): {main_thread_per_sec(one, reqs[:1000]):>10,.0f}")
    one.pool.close()
    two.pool.close()

    snapshot, messages = book_messages(200_000)
    per_msg, per_level = deltas_per_sec(snapshot, messages, events=False)
    print(f"book deltas/s parsed + applied   : {per_msg:>10,.0f} messages  ({per_level:,.0f} levels/s)   (goal >= 150,000)")
    per_msg, per_level = deltas_per_sec(snapshot, messages, events=True)
    print(f"book deltas/s + BookUpdate events: {per_msg:>10,.0f} messages  ({per_level:,.0f} levels/s)")


if __name__ == "__main__":
    asyncio.run(main())
