"""Journal benchmark: committed intents per second under group commit, and commit latency.

Run: .venv/bin/python tests/perf/bench_journal.py [--writers 64] [--intents 20000] [--dir DIR]

Prints, for durability FULL (and NORMAL for comparison):
- throughput: 64 concurrent writers each awaiting `insert_intent` in a loop, until
  `--intents` intents are committed; intents/s and the mean batch (writes per COMMIT);
- latency: one writer awaiting one `insert_intent` at a time; p50/p99 per commit.
The journal lives in a temporary directory on the same filesystem as --dir (default: /tmp).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from perpd.journal import Journal
from perpd.model import OrderSpec, Side

SPEC = OrderSpec(symbol="BTC-PERP", side=Side.BUY, size=Decimal("0.015"), price=Decimal("97123.5"), account="bench")


async def throughput(path: Path, durability: str, writers: int, intents: int) -> tuple[float, float]:
    journal = await Journal.open(path, durability=durability)  # type: ignore[arg-type]
    per_writer = intents // writers

    async def writer(n: int) -> None:
        for i in range(per_writer):
            await journal.insert_intent(SPEC, source="api", idempotency_key=f"{n}-{i}")

    start = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(writers)))
    elapsed = time.perf_counter() - start
    commits, writes = journal.commits, journal.writes
    await journal.close()
    return per_writer * writers / elapsed, writes / max(commits, 1)


async def latency(path: Path, durability: str, count: int) -> tuple[float, float]:
    journal = await Journal.open(path, durability=durability)  # type: ignore[arg-type]
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await journal.insert_intent(SPEC, source="api")
        samples.append((time.perf_counter() - start) * 1000)
    await journal.close()
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--intents", type=int, default=20_000)
    parser.add_argument("--latency-samples", type=int, default=2_000)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for durability in ("full", "fast"):
            rate, batch = await throughput(Path(tmp) / f"tp-{durability}.sqlite", durability, args.writers, args.intents)
            p50, p99 = await latency(Path(tmp) / f"lat-{durability}.sqlite", durability, args.latency_samples)
            print(
                f"durability={durability:4}  {args.writers} writers: {rate:8.0f} committed intents/s "
                f"(mean {batch:.1f} writes per commit)   1 writer: p50 {p50:.3f} ms  p99 {p99:.3f} ms per commit"
            )


if __name__ == "__main__":
    asyncio.run(main())
