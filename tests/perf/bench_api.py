"""API benchmark: orders through real HTTP on loopback against the sim venue, and
WebSocket fan-out of book updates.

Run: .venv/bin/python tests/perf/bench_api.py [--orders 3000] [--secs 10] [--clients 1000,10000]
     [--durability full] [--skip-orders] [--skip-ws]

The daemon (sim venue, journal with the chosen durability) runs in a child process
serving the API with uvicorn on uvloop + httptools, exactly as `perpd run` does; the load
comes from this process over keep-alive HTTP/1.1 connections (a minimal client, so the
figures are the server's, not a client library's) and from websockets clients.

Prints:
- order round trip (POST /api/v1/orders -> 201, an IOC limit that the sim cancels
  unfilled: intent, write-ahead order, venue call, result and audit event all journaled)
  p50/p99 at concurrency 1 and 64;
- sustained orders/s at concurrency 64 for --secs seconds, and for scale the requests/s
  of a read endpoint (the API stack without the order path);
- WebSocket fan-out: N clients subscribed to BTC-PERP books; book updates delivered per
  second (all clients) and the p50/p99 delay from the venue's book timestamp to receipt;
  meanwhile one order every 50 ms through REST, to show the daemon is not starved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOKEN = "bench-token-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[daemon]
state_dir = "{state}"
http = "127.0.0.1:{port}"
socket = "{state}/run/perpd.sock"
durability = "{durability}"

[api]
requests_per_sec = 1000000

[[api.tokens]]
name = "bench"
secret = "env:PERPD_BENCH_TOKEN"
scopes = ["trade"]

[venues.sim]
kind = "sim"
seed = 7
step_ms = {step_ms}

[accounts.bench]
venue = "sim"
starting_balance = 1000000000
"""

ORDER = json.dumps({"account": "bench", "symbol": "BTC", "side": "buy", "type": "limit", "tif": "ioc", "size": "0.001", "price": "30000"}).encode()


# --------------------------------------------------------------------------- server side


def serve(config: str) -> None:
    """Child process: run the daemon and its API until stdin closes."""
    import uvloop

    from perpd.api import create_app
    from perpd.api.server import ApiServer
    from perpd.daemon import Daemon

    async def main() -> None:
        daemon = Daemon(config)
        await daemon.start()
        server = ApiServer(create_app(daemon), daemon.config.daemon)
        await server.start()
        print(f"READY {server.port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        await server.stop()
        await daemon.stop()

    _raise_fd_limit()
    profile = os.environ.get("PERPD_BENCH_PROFILE")
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_server(workdir: Path, durability: str, step_ms: int) -> tuple[subprocess.Popen[str], int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "perpd.toml"
    config.write_text(CONFIG.format(state=workdir / "state", port=port, durability=durability, step_ms=step_ms))
    env = {**os.environ, "PERPD_BENCH_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, int(line.split()[1])


def stop_server(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=60)


# --------------------------------------------------------------------------- HTTP client


class Conn:
    """One keep-alive HTTP/1.1 connection doing one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, read_path: str | None = None) -> None:
        self.reader, self.writer = reader, writer
        if read_path is None:
            self.head = (
                f"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(ORDER)}\r\n\r\n"
            ).encode() + ORDER
        else:
            self.head = f"GET {read_path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()

    @classmethod
    async def open(cls, port: int, read_path: str | None = None) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port, read_path)

    async def order(self) -> int:
        self.writer.write(self.head)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def round_trips(port: int, concurrency: int, count: int) -> list[float]:
    conns = [await Conn.open(port) for _ in range(concurrency)]
    latencies: list[float] = []
    per = count // concurrency

    async def run(conn: Conn) -> None:
        for _ in range(per):
            start = time.perf_counter()
            status = await conn.order()
            latencies.append(time.perf_counter() - start)
            if status != 201:
                raise SystemExit(f"order answered {status}")

    await asyncio.gather(*(run(c) for c in conns))
    for c in conns:
        c.writer.close()
    return latencies


async def sustained(port: int, concurrency: int, secs: float, read_path: str | None = None) -> tuple[int, float]:
    conns = [await Conn.open(port, read_path) for _ in range(concurrency)]
    done = 0
    deadline = time.perf_counter() + secs
    expected = 201 if read_path is None else 200

    async def run(conn: Conn) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            if await conn.order() != expected:
                raise SystemExit("request refused")
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(run(c) for c in conns))
    elapsed = time.perf_counter() - start
    for c in conns:
        c.writer.close()
    return done, elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --------------------------------------------------------------------------- WebSocket fan-out


async def fan_out(port: int, clients: int, secs: float) -> dict[str, float]:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{port}/ws/v1"
    subscribe = json.dumps({"op": "subscribe", "channel": "markets", "symbols": ["BTC"], "depth": 10})
    headers = {"Authorization": f"Bearer {TOKEN}"}
    received = 0
    delays: list[float] = []
    measuring = False
    sockets = []
    gate = asyncio.Semaphore(200)

    async def read(ws) -> None:  # type: ignore[no-untyped-def]
        nonlocal received
        async for raw in ws:
            if measuring and '"topic":"book"' in raw:
                received += 1
                ts = json.loads(raw)["data"]["ts_ms"]
                delays.append(time.time() * 1000 - ts)

    readers = []

    async def open_one() -> None:
        async with gate:
            ws = await connect(url, additional_headers=headers, open_timeout=300, ping_interval=None, max_queue=64)
        sockets.append(ws)
        # Read from the start: a client that does not read is a slow client, and dropped.
        readers.append(asyncio.get_running_loop().create_task(read(ws)))

    # Connect everyone first, then subscribe everyone: with the fan-out running, the
    # daemon serves books before handshakes and connecting 10,000 takes many minutes.
    started = time.perf_counter()
    await asyncio.gather(*(open_one() for _ in range(clients)))
    await asyncio.gather(*(ws.send(subscribe) for ws in sockets))
    connect_secs = time.perf_counter() - started
    await asyncio.sleep(2)  # let snapshots and the first burst pass
    measuring = True
    t0 = time.perf_counter()
    # Meanwhile, is the daemon still responsive? Orders one at a time, through REST, from
    # another process (this one is busy being 10,000 clients).
    probe = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--probe", str(port), "--secs", str(secs), stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    out, _ = await probe.communicate()
    order_p50, order_p99 = (float(x) for x in out.split())
    measuring = False
    elapsed = time.perf_counter() - t0
    alive = sum(1 for task in readers if not task.done())
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {
        "connect_secs": connect_secs,
        "alive": alive,
        "messages_per_sec": received / elapsed,
        "per_client_per_sec": received / elapsed / clients,
        "p50_ms": pct(delays, 0.5) if delays else float("nan"),
        "p99_ms": pct(delays, 0.99) if delays else float("nan"),
        "order_p50_ms": order_p50,
        "order_p99_ms": order_p99,
    }


async def probe(port: int, secs: float) -> None:
    """Child process: one order every 50 ms for `secs`; prints p50 and p99 in ms."""
    conn = await Conn.open(port)
    latency: list[float] = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < secs:
        start = time.perf_counter()
        await conn.order()
        latency.append(time.perf_counter() - start)
        await asyncio.sleep(0.05)
    conn.writer.close()
    print(pct(latency, 0.5) * 1000, pct(latency, 0.99) * 1000)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve")
    parser.add_argument("--probe", type=int)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--secs", type=float, default=10.0)
    parser.add_argument("--clients", default="1000,10000")
    parser.add_argument("--durability", default="full")
    parser.add_argument("--step-ms", type=int, default=100)
    parser.add_argument("--skip-orders", action="store_true")
    parser.add_argument("--skip-ws", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.probe:
        asyncio.run(probe(args.probe, args.secs))
        return
    import uvloop

    _raise_fd_limit()
    print(f"bench_api: durability={args.durability}, sim step {args.step_ms} ms, cores={os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        if not args.skip_orders:
            proc, port = start_server(Path(tmp) / "orders", args.durability, args.step_ms)
            try:
                runner.run(round_trips(port, 1, 200))  # warm up
                for concurrency, count in ((1, min(args.orders, 2000)), (64, args.orders)):
                    lat = runner.run(round_trips(port, concurrency, count))
                    print(
                        f"order round trip, concurrency {concurrency:>2}: p50 {pct(lat, 0.5) * 1000:.2f} ms, "
                        f"p99 {pct(lat, 0.99) * 1000:.2f} ms, mean {statistics.fmean(lat) * 1000:.2f} ms ({len(lat)} orders)"
                    )
                done, elapsed = runner.run(sustained(port, 64, args.secs))
                print(f"sustained: {done / elapsed:,.0f} orders/s at concurrency 64 over {elapsed:.1f} s ({done} orders)")
                done, elapsed = runner.run(sustained(port, 64, min(args.secs, 5), read_path="/api/v1/positions"))
                print(f"for scale, a read (GET /api/v1/positions): {done / elapsed:,.0f} requests/s at concurrency 64")
            finally:
                stop_server(proc)
        if not args.skip_ws:
            for clients in (int(c) for c in args.clients.split(",") if c):
                proc, port = start_server(Path(tmp) / f"ws{clients}", "fast", args.step_ms)
                try:
                    r = runner.run(fan_out(port, clients, args.secs))
                finally:
                    stop_server(proc)
                print(
                    f"ws fan-out, {clients:>5} clients: connected in {r['connect_secs']:.1f} s, {r['alive']:.0f} still connected; "
                    f"{r['messages_per_sec']:,.0f} book msgs/s delivered ({r['per_client_per_sec']:.2f}/client/s); "
                    f"delay p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms; meanwhile an order round trip "
                    f"p50 {r['order_p50_ms']:.1f} ms, p99 {r['order_p99_ms']:.1f} ms"
                )


if __name__ == "__main__":
    main()
