"""Client benchmark: what the Python client, perpctl and the stream decoder add on top of
the daemon, over the Unix socket, against `perpd run` on the sim venue.

Run: .venv/bin/python tests/perf/bench_client.py [--reads 1000] [--orders 300] [--oneshots 5]

Prints:
- `Client.status()` and `Client.positions()` round trips, p50/p99 (sync client, one
  keep-alive connection on the Unix socket);
- order round trip through `Client.buy` then `Client.cancel` (a resting post-only bid:
  intent, write-ahead record, venue call, audit all done by the daemon), p50/p99 each;
- the same through perpctl's grammar (`Session.run("buy ...")`: parse, name lookup
  from the cache, call, table): the REPL's own overhead;
- `perpctl positions` as a one-shot process, wall time (interpreter start to exit);
- stream decoding: recorded `markets` frames (books, tickers) fed to `StreamProtocol`,
  frames/s on one core (typed `OrderBook`s with Decimals out).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "clients"))

from clients_support import RunningDaemon

from perpd.client.stream import StreamProtocol
from perpd.perpctl.verbs import Session


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(label: str, samples_secs: list[float]) -> None:
    ms = [s * 1000 for s in samples_secs]
    print(f"{label:<44} p50 {pct(ms, 0.5):7.3f} ms   p99 {pct(ms, 0.99):7.3f} ms   (n={len(ms)})")


def timed(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--oneshots", type=int, default=5)
    args = parser.parse_args()

    daemon = RunningDaemon()
    try:
        with daemon.client() as perp:
            for _ in range(50):
                perp.status()  # warm up
            show("Client.status()", timed(perp.status, args.reads))
            show("Client.positions()", timed(perp.positions, args.reads))

            places, cancels = [], []
            for _ in range(args.orders):
                start = time.perf_counter()
                order = perp.buy("0.001", "BTC", 60000, account="spare", post_only=True)[0]
                mid = time.perf_counter()
                perp.cancel(order.client_id)
                places.append(mid - start)
                cancels.append(time.perf_counter() - mid)
            show("Client.buy (resting post-only bid)", places)
            show("Client.cancel", cancels)

            session = Session(perp)
            session.run("accounts")  # fills the name cache
            grammar_places, grammar_cancels = [], []
            for _ in range(args.orders):
                start = time.perf_counter()
                result = session.run("buy 0.001 BTC @ 60000 on spare post")
                mid = time.perf_counter()
                session.run(f"cancel {result.value[0].client_id}")  # type: ignore[union-attr]
                grammar_places.append(mid - start)
                grammar_cancels.append(time.perf_counter() - mid)
            show("perpctl line: buy ... (parse+call+table)", grammar_places)
            show("perpctl line: cancel ID", grammar_cancels)

            frames: list[str] = []
            import orjson
            from websockets.sync.client import unix_connect

            with unix_connect(str(daemon.socket), "ws://localhost/ws/v1") as ws:
                ws.send(orjson.dumps({"op": "subscribe", "channel": "markets", "depth": 20}).decode())
                deadline = time.monotonic() + 5
                while len(frames) < 400 and time.monotonic() < deadline:
                    frames.append(ws.recv(timeout=5))  # type: ignore[arg-type]
            updates = [f for f in frames if '"type":"update"' in f]
            rounds = max(1, 20_000 // max(1, len(updates)))
            start = time.perf_counter()
            decoded = 0
            for _ in range(rounds):
                protocol = StreamProtocol("markets", {})
                protocol.feed(frames[0])  # the snapshot
                for seq, frame in enumerate(updates, start=1):
                    # renumber so the recorded updates read as one gapless stream
                    body = frame.split(',"seq":', 1)
                    tail = body[1].split(",", 1)[1]
                    protocol.feed(f'{body[0]},"seq":{seq},{tail}')
                    decoded += 1
            secs = time.perf_counter() - start
            print(f"{'stream decode (markets, depth 20)':<44} {decoded / secs:9.0f} frames/s  "
                  f"({len(updates)} recorded frames x {rounds})")

        env = {k: v for k, v in os.environ.items() if not k.startswith("PERPD_")}
        env["PERPD_SOCKET"] = str(daemon.socket)
        walls = []
        for _ in range(args.oneshots):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "perpd.perpctl", "positions"], env=env, check=True,
                           capture_output=True)
            walls.append(time.perf_counter() - start)
        print(f"{'perpctl positions (one-shot process)':<44} median {statistics.median(walls) * 1000:7.0f} ms   "
              f"(n={len(walls)})")
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
