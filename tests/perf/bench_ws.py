"""WebSocket fan-out, measured (issue 23, item 5), against its ceiling in the same run.

Run: .venv/bin/python tests/perf/bench_ws.py [--clients 1000] [--secs 10] [--step-ms 100]
     [--durability full] [--fanout N] [--books-only]   (--clients 1000,10000 runs both)

--books-only subscribes with the topics filter to books alone (the markets channel also
carries trades, tickers and funding), so the clients read what the ceiling sends.
--fanout N runs `perpd run` with `[api.fanout] workers = N` and connects the clients to
the fan-out port (the WebSockets served by N worker processes the daemon feeds); the
ceiling is then N bare websockets processes sharing one port (SO_REUSEPORT), so both
sides use the same number of processes. Without it, the daemon serves /ws/v1 on its own
loop under its shared frame budget, against one bare process.

For each N in --clients:
1. the daemon (bench_api's child: sim venue stepping every --step-ms, FULL durability by
   default, uvicorn on uvloop + httptools as `perpd run` serves it); N clients (websockets,
   in this process) subscribe to the markets channel for BTC (depth 10); over --secs:
   book messages/s delivered to all, per client, against the venue's own book update rate
   (from the books' `seq`, which goes up by one per update: its span over the window), the delay from
   the book's venue timestamp to receipt (p50/p99), every frame the clients got (books,
   trades, tickers share the daemon's frame budget), how many clients stayed connected;
   and meanwhile an order every 50 ms through REST from another process (p50/p99), next to
   the same probe run before the clients connected;
2. the ceiling: a bare `websockets` server (its own process, uvloop, no compression, as
   perpd serves) broadcasting frames of the same size and shape as the daemon's book
   messages to N clients of the same client code, (a) at the venue's rate measured in step
   1 and (b) as fast as it can: a frame every loop turn to every client whose write buffer
   is under 64 KiB (slower clients skip frames, i.e. are conflated, as the daemon does).
   The ratio the issue asks for is perpd's book deliveries/s to (a)'s, which is what every
   client getting every update would be, and to (b)'s, the machine's ceiling.

Figures only, no assertions. The clients run on the same (2-core) box as the servers, one
Python process: at 10,000 clients the client side is a bound of its own, the same one for
the daemon and for the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_api  # (the daemon child, the order probe, pct)

ROOT = bench_api.ROOT
TOKEN = bench_api.TOKEN
SUBSCRIBE = json.dumps({"op": "subscribe", "channel": "markets", "symbols": ["BTC"], "depth": 10})
# --books-only: the same subscription for books alone (topics filter), as the ceiling sends.
SUBSCRIBE_BOOKS = json.dumps({"op": "subscribe", "channel": "markets", "symbols": ["BTC"], "depth": 10, "topics": ["book"]})
# A book frame: {"type":..,"channel":..,"topic":"book","seq":<the connection's>,"data":{..,"seq":<the
# venue book's>,"ts_ms":<the venue's>}}: the book's seq and timestamp end the frame.
BOOK_TAIL = re.compile(rb'"seq":(\d+),"ts_ms":(\d+)\}\}$')


# --------------------------------------------------------------------------- the ceiling


def serve_bare(frame_path: str, mode: str, rate: float, listen_port: int = 0) -> None:
    """Child process: a bare websockets server broadcasting the daemon's book frame (its
    ts_ms and seq rewritten each time) to every connection. `mode` "rate": `rate` frames/s;
    "max": one frame per loop turn, to connections with under 64 KiB unsent."""
    import logging

    import uvloop
    from websockets.asyncio.server import broadcast, serve
    from websockets.exceptions import ConnectionClosed

    logging.getLogger("websockets").setLevel(logging.CRITICAL)  # clients going away at the end

    template = Path(frame_path).read_text()
    conns: set = set()

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        try:
            async for _ in ws:  # the client's subscribe: frames from then on, as perpd does
                conns.add(ws)
        except ConnectionClosed:
            pass
        finally:
            conns.discard(ws)

    head, _, _ = template.rpartition('"seq":')

    def frame(seq: int) -> str:
        return f'{head}"seq":{seq},"ts_ms":{int(time.time() * 1000)}}}}}'  # the book's seq and ts, as the daemon ends it

    async def main() -> None:
        # A busy loop answers handshakes late: no handshake timeout, as the clients have none.
        async with serve(
            handler, "127.0.0.1", listen_port, compression=None, max_queue=16, ping_interval=None, open_timeout=None, close_timeout=1,
            backlog=4096, reuse_port=bool(listen_port),
        ) as server:
            port = server.sockets[0].getsockname()[1]
            print(f"READY {port}", flush=True)
            seq = 0
            loop = asyncio.get_running_loop()
            stdin_closed = loop.run_in_executor(None, sys.stdin.read)
            next_at = time.monotonic()
            while not stdin_closed.done():
                seq += 1
                if mode == "rate":
                    broadcast(conns, frame(seq))
                    next_at += 1 / rate
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                else:
                    ready = [c for c in conns if c.transport.get_write_buffer_size() < 65536]
                    broadcast(ready, frame(seq))
                    await asyncio.sleep(0)

    bench_api._raise_fd_limit()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


def start_bare(frame_path: Path, mode: str, rate: float, processes: int = 1) -> tuple[list[subprocess.Popen[str]], int]:
    """`processes` bare servers; more than one share a port (SO_REUSEPORT: the kernel
    spreads the connections over them)."""
    port = bench_api.free_port() if processes > 1 else 0
    procs = []
    for _ in range(processes):
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-bare", str(frame_path), "--mode", mode, "--rate", str(rate), "--port", str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY"):
            for p in procs:
                p.kill()
            raise SystemExit(f"bare websockets server did not start: {line!r}")
        port = int(line.split()[1])
    return procs, port


def stop_bare(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


# --------------------------------------------------------------------------- the daemon with [api.fanout]


def start_fanout_daemon(workdir: Path, durability: str, step_ms: int, workers: int) -> tuple[subprocess.Popen[bytes], int, int]:
    """`perpd run` on bench_api's config plus [api.fanout]: (process, API port, fan-out port)."""
    import httpx

    port, ws_port = bench_api.free_port(), bench_api.free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "perpd.toml"
    config.write_text(
        bench_api.CONFIG.format(state=workdir / "state", port=port, durability=durability, step_ms=step_ms)
        + f'\n[api.fanout]\nworkers = {workers}\nhttp = "127.0.0.1:{ws_port}"\n'
    )
    env = {**os.environ, "PERPD_BENCH_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    log = (workdir / "perpd.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("perpd")), "run", "-c", str(config)], stderr=log, stdout=log, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"perpd run exited ({proc.returncode}); see {workdir / 'perpd.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=1).status_code == 200:
                return proc, port, ws_port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("perpd run did not answer within 60 s")


def stop_daemon(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


# --------------------------------------------------------------------------- the clients


async def clients_run(port: int, path: str, clients: int, secs: float, *, probe_port: int | None = None,
                      sample: Path | None = None, subscribe: str = SUBSCRIBE) -> dict[str, float]:
    """N clients on ws://127.0.0.1:port{path}, each subscribing; counts over `secs` after a
    2 s settle. With probe_port, the order probe runs over the window (another process)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    url = f"ws://127.0.0.1:{port}{path}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    books = frames = 0
    per_client: list[int] = [0] * clients
    delays: list[float] = []
    seqs: list[int] = []  # the lowest and highest book seq seen in the window
    measuring = False
    sockets: list = []
    readers: list[asyncio.Task] = []
    gate = asyncio.Semaphore(200)

    async def read(i: int, ws) -> None:  # type: ignore[no-untyped-def]
        nonlocal books, frames
        async for raw in ws:
            if sample is not None and not sample.exists() and '"topic":"book"' in raw and BOOK_TAIL.search(raw.encode()):
                sample.write_text(raw)  # the frame the ceiling will send, size and shape
            if not measuring:
                continue
            frames += 1
            if '"topic":"book"' in raw:
                books += 1
                per_client[i] += 1
                found = BOOK_TAIL.search(raw.encode())
                if found:
                    delays.append(time.time() * 1000 - int(found.group(2)))
                    seq = int(found.group(1))
                    if not seqs:
                        seqs[:] = [seq, seq]
                    elif seq < seqs[0]:
                        seqs[0] = seq
                    elif seq > seqs[1]:
                        seqs[1] = seq

    failed = 0

    async def open_one(i: int) -> None:
        nonlocal failed
        try:
            async with gate:
                ws = await connect(
                    url, additional_headers=headers, open_timeout=300, close_timeout=1, ping_interval=None, max_queue=64, compression=None
                )
        except (OSError, TimeoutError, ConnectionClosed) as exc:
            failed += 1
            if failed == 1:
                print(f"  (a client could not connect: {exc!r})")
            return
        sockets.append(ws)
        readers.append(asyncio.get_running_loop().create_task(read(i, ws)))

    started = time.perf_counter()
    await asyncio.gather(*(open_one(i) for i in range(clients)))
    await asyncio.gather(*(ws.send(subscribe) for ws in sockets))
    connect_secs = time.perf_counter() - started
    await asyncio.sleep(2)  # snapshots and the first burst
    measuring = True
    t0 = time.perf_counter()
    order = (float("nan"), float("nan"))
    if probe_port is not None:
        order = await run_probe(probe_port, secs)
    else:
        await asyncio.sleep(secs)
    measuring = False
    elapsed = time.perf_counter() - t0
    alive = sum(1 for task in readers if not task.done())
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    per_client.sort()
    return {
        "connect_secs": connect_secs,
        "failed": failed,
        "alive": alive,
        "books_per_sec": books / elapsed,
        "frames_per_sec": frames / elapsed,
        "per_client": books / elapsed / clients,
        "per_client_p1": per_client[len(per_client) // 100] / elapsed,  # the slowest percent
        # The venue's book seq goes up by one per update (simex: one per emitted delta; the
        # bare server: one per frame), delivered or conflated away.
        "venue_rate": ((seqs[1] - seqs[0]) / elapsed) if seqs else float("nan"),
        "p50_ms": bench_api.pct(delays, 0.5) if delays else float("nan"),
        "p99_ms": bench_api.pct(delays, 0.99) if delays else float("nan"),
        "order_p50_ms": order[0],
        "order_p99_ms": order[1],
        "elapsed": elapsed,
    }


async def run_probe(port: int, secs: float) -> tuple[float, float]:
    """bench_api's probe (one order every 50 ms, another process): (p50, p99) in ms."""
    probe = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(bench_api.__file__)), "--probe", str(port), "--secs", str(secs), stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    out, _ = await probe.communicate()
    p50, p99 = (float(x) for x in out.split())
    return p50, p99


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1000", help="comma-separated subscriber counts (default 1000)")
    parser.add_argument("--secs", type=float, default=10.0)
    parser.add_argument("--step-ms", type=int, default=100, help="the sim venue's step: its book update interval")
    parser.add_argument("--durability", default="full")
    parser.add_argument("--serve-bare")
    parser.add_argument("--mode", default="rate")
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fanout", type=int, default=0, help="serve the clients from N fan-out worker processes ([api.fanout])")
    parser.add_argument("--books-only", action="store_true", help="subscribe to books alone (topics filter), as the ceiling sends")
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.mode, args.rate, args.port)
        return
    import uvloop

    bench_api._raise_fd_limit()
    print(
        f"bench_ws: durability={args.durability}, sim step {args.step_ms} ms, "
        f"{f'[api.fanout] workers = {args.fanout}' if args.fanout else 'the daemon loop serving /ws/v1'}, cores={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.2f} at start (servers and clients on this box)"
    )
    with tempfile.TemporaryDirectory(prefix="pd-bench-ws-") as tmp, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sample = Path(tmp) / "book-frame.json"
        for clients in (int(c) for c in args.clients.split(",") if c):
            if args.fanout:
                daemon, port, ws_port = start_fanout_daemon(Path(tmp) / f"ws{clients}", args.durability, args.step_ms, args.fanout)
                stop = lambda: stop_daemon(daemon)  # noqa: E731
            else:
                proc, port = bench_api.start_server(Path(tmp) / f"ws{clients}", args.durability, args.step_ms)
                ws_port = port
                stop = lambda: bench_api.stop_server(proc)  # noqa: E731
            try:
                idle = runner.run(run_probe(port, min(args.secs, 5)))
                r = runner.run(clients_run(ws_port, "/ws/v1", clients, args.secs, probe_port=port, sample=sample,
                                           subscribe=SUBSCRIBE_BOOKS if args.books_only else SUBSCRIBE))
            finally:
                stop()
            size = len(sample.read_bytes()) if sample.exists() else 0
            print(
                f"perpd, {clients:>5} clients: connected in {r['connect_secs']:.1f} s ({r['failed']} failed), {r['alive']:.0f} still connected; "
                f"{r['books_per_sec']:,.0f} book msgs/s delivered in all ({r['frames_per_sec']:,.0f} frames/s of every topic; "
                f"book frames ~{size} bytes); {r['per_client']:.2f} books/client/s (slowest 1%: {r['per_client_p1']:.2f}) "
                f"against the venue's {r['venue_rate']:.1f} book updates/s = {r['per_client'] / r['venue_rate']:.0%} of the venue's rate; "
                f"delay p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms"
            )
            print(
                f"  order round trip (one every 50 ms, FULL) meanwhile: p50 {r['order_p50_ms']:.1f} ms, p99 {r['order_p99_ms']:.1f} ms; "
                f"before the clients connected: p50 {idle[0]:.1f} ms, p99 {idle[1]:.1f} ms"
            )
            if not sample.exists():
                print("  (no book frame captured: no ceiling measured)")
                continue
            venue_rate = r["venue_rate"] if r["venue_rate"] == r["venue_rate"] else 1000 / args.step_ms
            ceilings = {}
            for mode in ("rate", "max"):
                bare, bare_port = start_bare(sample, mode, venue_rate, max(1, args.fanout))
                try:
                    ceilings[mode] = c = runner.run(clients_run(bare_port, "/", clients, args.secs))
                finally:
                    stop_bare(bare)
                label = f"at the venue's {venue_rate:.1f}/s" if mode == "rate" else "as fast as it goes"
                print(
                    f"ceiling, bare websockets ({max(1, args.fanout)} process{'es' if args.fanout > 1 else ''}) {label}, {clients:>5} clients: {c['alive']:.0f} connected ({c['failed']} failed); "
                    f"{c['books_per_sec']:,.0f} msgs/s delivered ({c['per_client']:.2f}/client/s, slowest 1%: {c['per_client_p1']:.2f}); "
                    f"delay p50 {c['p50_ms']:.0f} ms, p99 {c['p99_ms']:.0f} ms"
                    + ("" if mode == "rate" else " (the delay here is queueing in socket buffers behind a saturated client: a throughput figure)")
                )
            print(
                f"ratios, {clients} clients: perpd's book deliveries / bare websockets' at the venue's rate = "
                f"{r['books_per_sec'] / max(ceilings['rate']['books_per_sec'], 1e-9):.0%}; "
                f"/ bare websockets' maximum = {r['books_per_sec'] / max(ceilings['max']['books_per_sec'], 1e-9):.0%} (goal >= 50%); "
                f"perpd's frames of every topic / bare maximum = {r['frames_per_sec'] / max(ceilings['max']['books_per_sec'], 1e-9):.0%}"
            )


if __name__ == "__main__":
    main()
