"""Benchmark: risk gate checks and route decisions per second on a busy portfolio.

Run: .venv/bin/python tests/perf/bench_risk.py
Prints p50/p99 latency and throughput of RiskGate.check (every key set, three policies
applying), RiskGate.would_pass, routing.decide (best_price, split) and PnlTracker.on_marks.
"""

from __future__ import annotations

import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "policies"))

from perpd.config import RouteConfig  # noqa: E402
from perpd.model import OrderSpec, OrderType, Side  # noqa: E402
from policies.pnl import PnlTracker  # noqa: E402
from policies.risk import OrderCheck, RiskGate  # noqa: E402
from policies.routing import decide  # noqa: E402
from policy_world import add_order, fill, market, policy, set_book, set_mark, set_position, world  # noqa: E402

D = Decimal
ASSETS = [f"A{i}" for i in range(40)]


def busy_portfolio():  # type: ignore[no-untyped-def]
    portfolio = world(equity="10000000")
    for venue in ("sim-a", "sim-b"):
        for asset in ASSETS:
            symbol = f"{asset}-PERP"
            portfolio.market_data.markets[(venue, symbol)] = market(venue, symbol)
            set_mark(portfolio, venue, symbol, "100")
        set_mark(portfolio, venue, "BTC-PERP", "100000")
        bids = [(str(99990 - i), "1") for i in range(50)]
        asks = [(str(100010 + i), "1") for i in range(50)]
        set_book(portfolio, venue, "BTC-PERP", bids, asks)
    for name in ("alpha", "beta", "gamma"):
        for i, asset in enumerate(ASSETS):
            set_position(portfolio, name, f"{asset}-PERP", str(i - 20 or 1))
            add_order(portfolio, name, f"{asset}-PERP", Side.BUY, "1", client_id=f"{name}-{i}")
    return portfolio


def timed(label: str, fn, n: int) -> None:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    samples.sort()
    p50 = samples[len(samples) // 2] / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    rate = 1e9 / statistics.fmean(samples)
    print(f"{label:<40} p50 {p50:8.1f} us   p99 {p99:8.1f} us   {rate:10.0f}/s")


def main() -> None:
    portfolio = busy_portfolio()
    gate = RiskGate(
        [
            policy(
                "house",
                max_order_size=5,
                max_order_notional=1_000_000,
                max_position_notional=5_000_000,
                max_gross_notional=50_000_000,
                max_leverage=20,
                max_open_orders=500,
                price_band_bps=100,
                block_symbols=["DOGE"],
                daily_loss_limit=10_000,
            ),
            policy("aggregate", max_position_notional=20_000_000, aggregate=True),
            policy("rate", accounts=("alpha",), max_orders_per_second=1_000_000),
        ]
    )
    spec = OrderSpec("BTC", Side.BUY, D("0.5"), price=D("100050"), account="alpha")
    market_a = portfolio.market_data.market("sim-a", "BTC-PERP")
    clock = iter(range(10**9))
    print(f"portfolio: 3 accounts x {len(ASSETS)} positions and {len(ASSETS)} live orders; 3 policies apply")
    timed(
        "RiskGate.check (passes)",
        lambda: gate.check(OrderCheck(spec, "sim-a", market_a, D("100050"), D("100000"), next(clock)), portfolio),
        5000,
    )
    order = OrderCheck(spec, "sim-a", market_a, D("100050"), D("100000"), 0)
    timed("RiskGate.would_pass", lambda: gate.would_pass(order, portfolio), 5000)

    routed = OrderSpec("BTC", Side.BUY, D("3"), type=OrderType.MARKET, route="smart")
    for strategy in ("best_price", "split"):
        config = RouteConfig.model_validate({"name": "smart", "accounts": ["alpha", "beta", "gamma"], "strategy": strategy})
        timed(
            f"routing.decide ({strategy})",
            lambda config=config: decide(config, routed, portfolio, enabled=lambda a: True, passes=lambda a, s: True),
            2000,
        )

    tracker = PnlTracker(["00:00", "08:00"])
    for i, asset in enumerate(ASSETS):
        tracker.on_fill(fill("alpha", Side.BUY, "1", "100", ts_ms=i, trade_id=str(i), symbol=f"{asset}-PERP"))
    timed("PnlTracker.on_marks (3 accounts)", lambda: tracker.on_marks(portfolio, next(clock)), 2000)
    timed("RiskGate.loss_trips", lambda: gate.loss_trips(portfolio, tracker, 10**6), 2000)


if __name__ == "__main__":
    main()
