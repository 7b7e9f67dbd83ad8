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
- the ceilings under it, measured in the same run: a bare Starlette POST route on the same
  server settings (the HTTP stack alone), and raw SQLite commits with synchronous=FULL
  (one row per commit, and 64); then the order path as a ratio of each, and the journal's
  writes per commit while orders ran (group commit at work);
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

# The HTTP stack alone: a Starlette app with one POST route that reads the JSON body and
# answers 201 with a small JSON body, served exactly as perpd serves its API.
RAW_POST = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
import orjson

async def place(request):
    body = orjson.loads(await request.body())
    return Response(orjson.dumps({"orders": [body]}), status_code=201, media_type="application/json")

app = Starlette(routes=[Route("/api/v1/orders", place, methods=["POST"])])
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
        # Each line on stdin asks for the journal's counters and the CPU seconds used so
        # far by the event loop's thread (this one) and the whole process; EOF stops it.
        while await loop.run_in_executor(None, sys.stdin.readline):
            journal = daemon.journal
            assert journal is not None
            print(f"STATS {journal.commits} {journal.writes} {time.thread_time()} {time.process_time()}", flush=True)
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


def free_port() -> int:
    """A loopback port nobody listens on now (the child binds it a moment later)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path, durability: str, step_ms: int) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
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


def serve_raw_post(port: int) -> None:
    """Child process: the bare Starlette POST app on uvicorn, as perpd.api.server runs it."""
    import uvicorn

    from perpd.api.server import uvicorn_config

    namespace: dict[str, object] = {}
    exec(RAW_POST, namespace)  # noqa: S102 - the benchmark's own constant
    config = uvicorn_config(namespace["app"])  # type: ignore[arg-type]
    config.host, config.port = "127.0.0.1", port
    uvicorn.Server(config).run()


def start_raw_post() -> tuple[subprocess.Popen[str], int]:
    import socket

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, __file__, "--serve-raw", str(port)], env=env, cwd=ROOT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("raw Starlette server did not start")


def sqlite_full_commits(workdir: Path, secs: float, rows_per_commit: int) -> tuple[float, float]:
    """(commits/s, p50 commit ms) of raw SQLite, WAL + synchronous=FULL, one writer."""
    import sqlite3

    workdir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(workdir / "raw.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, spec TEXT, ts INTEGER)")
    row = ('{"account":"bench","symbol":"BTC-PERP","side":"buy","size":"0.001","price":"30000"}', 0)
    latencies: list[float] = []
    deadline = time.perf_counter() + secs
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO t (spec, ts) VALUES (?, ?)", [row] * rows_per_commit)
        conn.execute("COMMIT")
        latencies.append(time.perf_counter() - start)
    conn.close()
    return len(latencies) / sum(latencies), pct(latencies, 0.5) * 1000


def daemon_counters(proc: subprocess.Popen[str]) -> tuple[int, int, float, float]:
    """(journal commits, journal writes, event loop thread CPU s, process CPU s) so far."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("stats\n")
    proc.stdin.flush()
    _, commits, writes, loop_cpu, process_cpu = proc.stdout.readline().split()
    return int(commits), int(writes), float(loop_cpu), float(process_cpu)


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
    parser.add_argument("--serve-raw", type=int)
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
    if args.serve_raw:
        serve_raw_post(args.serve_raw)
        return
    if args.probe:
        asyncio.run(probe(args.probe, args.secs))
        return
    import uvloop

    _raise_fd_limit()
    print(
        f"bench_api: durability={args.durability}, sim step {args.step_ms} ms, cores={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
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
                before = daemon_counters(proc)
                done, elapsed = runner.run(sustained(port, 64, args.secs))
                after = daemon_counters(proc)
                orders_per_sec = done / elapsed
                print(f"sustained: {orders_per_sec:,.0f} orders/s at concurrency 64 over {elapsed:.1f} s ({done} orders)")
                commits, writes = after[0] - before[0], after[1] - before[1]
                order_loop_us, order_process_us = ((a - b) / done * 1e6 for a, b in zip(after[2:], before[2:], strict=True))
                print(
                    f"  journal meanwhile: {commits / elapsed:,.0f} commits/s, {writes / max(commits, 1):.0f} writes per commit, "
                    f"{writes / done:.1f} writes and {commits / done:.3f} commits per order"
                )
                print(f"  daemon CPU per order: {order_loop_us:.0f} us on the event loop's thread, {order_process_us:.0f} us in all")
                before = daemon_counters(proc)
                done, elapsed = runner.run(sustained(port, 64, min(args.secs, 5), read_path="/api/v1/positions"))
                after = daemon_counters(proc)
                reads_per_sec = done / elapsed
                read_loop_us = (after[2] - before[2]) / done * 1e6
                print(
                    f"for scale, a read (GET /api/v1/positions): {reads_per_sec:,.0f} requests/s at concurrency 64; "
                    f"{read_loop_us:.0f} us of the event loop's CPU per read"
                )
            finally:
                stop_server(proc)
            raw, raw_port = start_raw_post()
            try:
                runner.run(sustained(raw_port, 64, 1))  # warm up
                done, elapsed = runner.run(sustained(raw_port, 64, min(args.secs, 5)))
            finally:
                raw.terminate()
                raw.wait(timeout=30)
            raw_post_per_sec = done / elapsed
            print(f"ceiling, a bare Starlette POST on the same server settings: {raw_post_per_sec:,.0f} requests/s at concurrency 64")
            one_per_sec, one_p50 = sqlite_full_commits(Path(tmp) / "raw1", min(args.secs, 3), 1)
            many_per_sec, many_p50 = sqlite_full_commits(Path(tmp) / "raw64", min(args.secs, 3), 64)
            print(
                f"ceiling, raw SQLite WAL synchronous=FULL: {one_per_sec:,.0f} commits/s of 1 row (p50 {one_p50:.2f} ms), "
                f"{many_per_sec * 64:,.0f} rows/s at 64 rows per commit (p50 {many_p50:.2f} ms)"
            )
            # On a shared machine throughputs measured seconds apart drift with the load; the
            # loop's CPU per request does not, and the loop is what both are bound by.
            print(
                f"ratios: orders/s / reads/s = {orders_per_sec / reads_per_sec:.0%} (goal >= 60%); by the event loop's "
                f"CPU per request, read/order = {read_loop_us / order_loop_us:.0%}; "
                f"orders/s / bare POST/s = {orders_per_sec / raw_post_per_sec:.0%}; "
                f"orders/s / raw 1-row FULL commits/s = {orders_per_sec / one_per_sec:.0%}"
            )
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
