"""Vest hot paths: signed orders per second, against eth-account and coincurve signing alone.

Run: .venv/bin/python tests/perf/bench_vest.py

Measured in the same run, so the figures compare on the same (shared) machine:
- eth-account alone: the docs' recipe, `keccak(eth_abi.encode(...))` + `encode_defunct`
  + `Account.sign_message` (what a client written from Vest's docs does);
- coincurve alone: the same bytes hashed by hand and signed with libsecp256k1
  (`VestSigner.sign_order`, byte-identical to the above; tests prove it);
- perpd signed order: the whole path from an OrderRequest without I/O -- capabilities and
  market checks, Vest's wire strings (decimals), the signature, and the POST /orders body
  encoded to JSON bytes, ready to send;
- end to end: `create_order` on a session against the emulator over loopback (HTTP,
  the emulator's checks and signature recovery included), sequential and 16 in flight.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import orjson
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "venues" / "vest")]  # the repository (tests.*) and vest_support

from perpd.model import OrderRequest, OrderType, Side  # noqa: E402
from venues.base import ClientIdFormat, check_against_market  # noqa: E402
from venues.vest.markets import parse_markets  # noqa: E402
from venues.vest.orders import to_wire  # noqa: E402
from venues.vest.signing import ORDER_TYPES, VestSigner  # noqa: E402
from venues.vest.venue import CAPABILITIES  # noqa: E402
from vest_support import vest_rig  # noqa: E402

KEY = "0x" + "42" * 32
ROUNDS = 5
BTC = parse_markets({"symbols": [{"symbol": "BTC-PERP", "sizeDecimals": 4, "priceDecimals": 2,
                                  "initMarginRatio": "0.02", "takerFee": "0.0001"}]}, "vest")[0]


def requests(n: int) -> list[OrderRequest]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        price = Decimal(60000 + rng.randrange(-2000, 2000)) + Decimal(rng.randrange(0, 100)) / 100
        out.append(OrderRequest(ClientIdFormat.INT63.derive("bench", i), "BTC-PERP", Side.BUY if i % 2 else Side.SELL,
                                OrderType.LIMIT, Decimal("0.001") * (1 + i % 7), price))
    return out


def fields(reqs: list[OrderRequest]) -> list[tuple]:
    return [to_wire(r, BTC, time_ms=1_700_000_000_000 + i).signed() for i, r in enumerate(reqs)]


def rate(n: int, run: Callable[[], object], rounds: int = ROUNDS) -> float:
    """Per second of wall time, best of `rounds` (the slower rounds measure other jobs)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n / best


def bench_eth_account(n: int = 1_000) -> float:
    signed = fields(requests(n))

    def run() -> None:
        for values in signed:
            args = keccak(encode(list(ORDER_TYPES), list(values)))
            Account.sign_message(encode_defunct(args), KEY).signature.hex()

    return rate(n, run)


def bench_coincurve(n: int = 5_000) -> float:
    signer, signed = VestSigner(KEY), fields(requests(n))

    def run() -> None:
        for values in signed:
            signer.sign_order(*values)

    return rate(n, run)


def bench_signed_order(n: int = 5_000) -> float:
    signer, reqs = VestSigner(KEY), requests(n)

    def run() -> None:
        for i, request in enumerate(reqs):
            CAPABILITIES.check(request, "vest")
            check_against_market(request, BTC.market)
            wire = to_wire(request, BTC, time_ms=1_700_000_000_000 + i)
            orjson.dumps(wire.body(signer.sign_order(*wire.signed()), 60_000))

    return rate(n, run)


async def bench_end_to_end(n: int = 600, concurrency: int = 16) -> tuple[float, float]:
    async with vest_rig(makers=True, takers=False, step_ms=60_000) as rig:
        session = rig.session
        reqs = [r.__class__(ClientIdFormat.INT63.derive("e2e", i), r.symbol, r.side, r.type, r.size,
                            Decimal(40000) if r.side is Side.BUY else Decimal(90000))
                for i, r in enumerate(requests(2 * n))]
        start = time.perf_counter()
        for request in reqs[:n]:
            await session.create_order(request)
        sequential = n / (time.perf_counter() - start)
        queue = list(reqs[n:])

        async def worker() -> None:
            while queue:
                await session.create_order(queue.pop())

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        parallel = n / (time.perf_counter() - start)
    return sequential, parallel


def main() -> None:
    eth = bench_eth_account()
    cc = bench_coincurve()
    order = bench_signed_order()
    sequential, parallel = asyncio.run(bench_end_to_end())
    print("Vest signed orders per second (best of 5 rounds; end to end one round)")
    print(f"  eth-account signing alone (docs recipe)     {eth:>10,.0f} /s")
    print(f"  coincurve signing alone (VestSigner)         {cc:>10,.0f} /s   ({cc / eth:.1f}x eth-account)")
    print(f"  perpd signed order, request -> POST body     {order:>10,.0f} /s   ({order / eth:.1f}x eth-account)")
    print(f"  create_order on the emulator, sequential     {sequential:>10,.0f} /s   (loopback HTTP, emulator checks)")
    print(f"  create_order on the emulator, 16 in flight   {parallel:>10,.0f} /s")


if __name__ == "__main__":
    main()
