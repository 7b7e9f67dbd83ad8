"""Benchmark of the sim exchange: order operations per second and book deltas per second.

Run: .venv/bin/python tests/perf/bench_sim_engine.py [--ops N]

The mix is what a busy market looks like to one engine: 45 % passive limit orders placed
near the top of the book, 45 % cancels of live ones (so the book stays at a steady
~2,000 resting user orders on top of the simulated makers), 10 % marketable orders
(half market, half IOC limits) that sweep one or more levels and clear fills through
the accounts. Every operation goes through the public API (`place`, `cancel`) with
Decimal prices and sizes, validation, margin checks and accounting, exactly as the sim
venue and the emulators call it. The operations are generated before the clock starts.

Times are CPU time (process_time), best of --repeat runs, each started after a full
garbage collection: an engine is a web of cycles (orders <-> accounts <-> markets), so a
finished run's engine is freed only by the collector, and without it the later runs
(all the listener runs) paid for scanning the earlier ones' garbage. Figures printed:
ops/s without listeners; ops/s with one listener that receives every event and reads
its kind (as the sim venue's filters do); book deltas/s emitted in that run; the
listener's cost per operation (the difference of the two runs) and per event; ops/s
with a listener that also reads every event's view (fills, trades, book levels,
positions and balances build theirs when first read); and a pure stepping rate
(simulated seconds per second of makers + takers + oracle across 3 markets).
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from decimal import Decimal

from perpd.clock import ManualClock
from perpd.model import OrderType, Side, TimeInForce
from venues.simex.events import (
    BalanceEvent,
    BookDelta,
    FillEvent,
    OrderEvent,
    PositionEvent,
    TradeEvent,
)
from venues.simex.exchange import SimExchange

SYMBOL = "BTC-PERP"
ACCOUNTS = [f"bench-{i}" for i in range(8)]
VIEWS = {OrderEvent: ("order",), FillEvent: ("fill",), TradeEvent: ("trade",), BookDelta: ("bids", "asks"),
         PositionEvent: ("position",), BalanceEvent: ("balance",)}


def make_ops(n: int, seed: int = 1) -> list[tuple]:
    rng = random.Random(seed)
    sizes = [Decimal("0.001"), Decimal("0.002"), Decimal("0.005"), Decimal("0.01")]
    ops: list[tuple] = []
    for i in range(n):
        account = ACCOUNTS[i % len(ACCOUNTS)]
        r = rng.random()
        buy = rng.random() < 0.5
        side = Side.BUY if buy else Side.SELL
        if r < 0.45:
            offset = rng.randrange(0, 60)
            price = Decimal(64_990 - offset) if buy else Decimal(65_010 + offset)
            ops.append(("add", account, side, rng.choice(sizes), price))
        elif r < 0.90:
            ops.append(("cancel", account, None, None, rng.random()))
        elif r < 0.95:
            ops.append(("market", account, side, Decimal("0.02"), None))
        else:
            price = Decimal(65_040) if buy else Decimal(64_960)
            ops.append(("ioc", account, side, Decimal("0.03"), price))
    return ops


def run(ops: list[tuple], listen: bool, read: bool = False, collect: bool = True) -> tuple[float, int, int]:
    if collect:
        gc.collect()
    engine = SimExchange(clock=ManualClock(), takers=False)
    for account in ACCOUNTS:
        engine.ensure_account(account, Decimal(10**9))
    deltas = 0
    events = 0
    if listen and read:
        def on_event(event: object) -> None:
            nonlocal deltas, events
            events += 1
            if type(event) is BookDelta:
                deltas += 1
            for name in VIEWS.get(type(event), ()):
                getattr(event, name)

        engine.subscribe(on_event)
    elif listen:
        def on_event(event: object) -> None:
            nonlocal deltas, events
            events += 1
            if type(event) is BookDelta:
                deltas += 1

        engine.subscribe(on_event)
    live: list[tuple[str, int]] = []
    place, cancel = engine.place, engine.cancel
    market, ioc = OrderType.MARKET, TimeInForce.IOC
    start = time.process_time()
    for kind, account, side, size, x in ops:
        if kind == "add":
            view = place(account, SYMBOL, side, size, price=x)
            if view.status.is_live:
                live.append((account, view.oid))
        elif kind == "cancel":
            if live:
                i = int(x * len(live))
                owner, oid = live[i]
                live[i] = live[-1]
                live.pop()
                cancel(owner, oid=oid)
        elif kind == "market":
            place(account, SYMBOL, side, size, type=market)
        else:
            place(account, SYMBOL, side, size, price=x, tif=ioc)
    elapsed = time.process_time() - start
    return elapsed, deltas, events


def bench_steps(sim_secs: int = 3600) -> float:
    clock = ManualClock()
    engine = SimExchange(clock=clock)
    start = time.process_time()
    for _ in range(sim_secs * 4):  # 250 ms steps
        clock.advance(250)
        engine.step()
    return sim_secs / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (the machine may be shared)")
    parser.add_argument("--no-collect", action="store_true",
                        help="no garbage collection before each run (how figures before 2026-12-03 21:00 were taken)")
    args = parser.parse_args()
    ops = make_ops(args.ops)
    run(ops[:20_000], listen=False)  # warm up
    collect = not args.no_collect
    alone = min(run(ops, listen=False, collect=collect)[0] for _ in range(args.repeat))
    print(f"order operations, no listener : {len(ops) / alone:>10,.0f} ops/s  ({len(ops):,} ops in {alone:.2f} s CPU)")
    elapsed, deltas, events = min(run(ops, listen=True, collect=collect) for _ in range(args.repeat))
    print(f"order operations, one listener: {len(ops) / elapsed:>10,.0f} ops/s")
    print(f"book deltas emitted           : {deltas / elapsed:>10,.0f} deltas/s ({deltas:,} deltas, {events:,} events)")
    cost = (elapsed - alone) / len(ops) * 1e6
    print(f"listener cost per operation   : {cost:>10.2f} us/op  ({events / len(ops):.2f} events/op, "
          f"{(elapsed - alone) / events * 1e6:.2f} us/event)")
    reading = min(run(ops, listen=True, read=True, collect=collect)[0] for _ in range(args.repeat))
    print(f"order operations, reading all : {len(ops) / reading:>10,.0f} ops/s  (a listener reading every view: "
          f"{(reading - alone) / len(ops) * 1e6:.2f} us/op)")
    steps = max(bench_steps() for _ in range(args.repeat))
    print(f"simulation stepping (3 mkts)  : {steps:>10,.0f} simulated s per CPU s (250 ms steps)")


if __name__ == "__main__":
    main()
