"""Engine benchmarks: reconcile pass time vs open orders, and order-path overhead.

    .venv/bin/python tests/perf/bench_engine.py

1. A reconcile pass (resolve unknowns, loss limits, observe, plan, dispatch) on an account
   with 1, 100 and 1,000 live standing orders (nothing to do: the steady state).
2. Internal overhead from `Engine.submit(OrderSpec)` to the venue's `create_order` being
   called (validation, rounding, risk gate, intent + order committed to the journal with
   FULL durability), p50/p99 over sequential orders.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from perpd.daemon import Daemon  # noqa: E402
from perpd.model import OrderSpec, Side  # noqa: E402
from tests.engine.faults import FaultySession  # noqa: E402

CONFIG = """
[daemon]
http = false
reconcile_interval_secs = 3600
watchdog_secs = 0
durability = "full"

[venues.sim]
kind = "sim"
makers = false
takers = false

[accounts.paper]
venue = "sim"
starting_balance = 100000000

[[policies]]
name = "house"
max_order_notional = 1000000
max_open_orders = 100000
"""


def standing(n: int) -> str:
    return "".join(
        f'\n[[orders]]\nname = "s{i}"\naccount = "paper"\nsymbol = "BTC"\nside = "buy"\nsize = 0.001\nprice = {20000 + i}\n'
        for i in range(n)
    )


class Timed(FaultySession):
    """Notes the moment the venue is called."""

    called_at: float = 0.0

    async def create_order(self, request):
        self.called_at = time.perf_counter()
        return await self.inner.create_order(request)


async def reconcile_pass(n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "perpd.toml"
        path.write_text(CONFIG + standing(n))
        daemon = Daemon(path, state_dir=Path(tmp) / "state")
        engine = await daemon.start()
        try:
            while sum(1 for o in engine.orders.values() if o.status.is_live) < n:
                await engine.reconcile_once()
            samples = []
            for _ in range(200 if n <= 100 else 50):
                started = time.perf_counter()
                actions = await engine.reconcile_once()
                samples.append((time.perf_counter() - started) * 1000)
                assert not [a for a in actions if a.describe().startswith(("place", "cancel"))]
            return statistics.median(samples), _p99(samples)
        finally:
            await daemon.stop()


async def overhead(count: int = 2000) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "perpd.toml"
        path.write_text(CONFIG)
        sessions: list[Timed] = []

        def wrap(session):
            timed = Timed(session)
            sessions.append(timed)
            return timed

        daemon = Daemon(path, state_dir=Path(tmp) / "state", wrap_session=wrap)
        engine = await daemon.start()
        try:
            while engine.portfolio.mark("sim", "BTC-PERP") is None:
                await asyncio.sleep(0.05)
            samples = []
            for i in range(count):
                spec = OrderSpec(symbol="BTC", side=Side.BUY, size=D("0.001"), price=D(30000 + i % 1000), account="paper")
                started = time.perf_counter()
                await engine.submit(spec)
                samples.append((sessions[0].called_at - started) * 1000)
            return statistics.median(samples), _p99(samples)
        finally:
            await daemon.stop()


def _p99(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.99) - 1)]


async def main() -> None:
    print("reconcile pass (steady state, no actions):")
    for n in (1, 100, 1000):
        p50, p99 = await reconcile_pass(n)
        print(f"  {n:>5} open orders: p50 {p50:7.3f} ms   p99 {p99:7.3f} ms")
    p50, p99 = await overhead()
    print("order path, OrderSpec accepted -> venue called (FULL durability):")
    print(f"  p50 {p50:.3f} ms   p99 {p99:.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
