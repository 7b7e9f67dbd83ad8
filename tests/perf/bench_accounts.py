"""Throughput under many accounts (issue 23, item 4): one daemon with accounts spread over
three sim venues and the Hyperliquid and Lighter emulators (each its own `perpd emulate`
process on loopback), FULL durability; concurrent clients place a resting limit order and
cancel it again through the HTTP API, round-robin over every account.

Run: .venv/bin/python tests/perf/bench_accounts.py [--secs 30] [--concurrency 100]
     [--sim-accounts 10] [--hl-accounts 10] [--lighter-accounts 10] [--durability full]
     [--py-spy]

Default 10 accounts on each of sim-a, sim-b, sim-c, the Hyperliquid emulator and the
Lighter emulator: 50 accounts. Each emulator account has its own key: Hyperliquid's are
funded at the emulator's start (`-o accounts=ADDR:BALANCE,...`) and sign for themselves;
Lighter's are accounts 2001.. funded at start, each with its own fresh API key registered
at start (`-o accounts=...`, `-o api_keys=...`). The daemon's local request budgets for the
emulators (Hyperliquid's IP weight, Lighter's requests and transactions per minute) are set
out of the way: the emulators do not throttle, and the point is the daemon's own cost.

Prints, for the measured window: placements/s and cancels/s per venue and in all, the
round trip p50/p99 of each (POST /api/v1/orders -> 201, DELETE /api/v1/orders/{id} -> 200),
and where the time goes: the daemon's own /metrics (mean time inside the venue call per
venue and verb, against the API's time per request), the journal's commits and writes, and
the CPU each process used (the daemon, each emulator, this client) per operation. With
--py-spy, a py-spy record of the daemon for the window, its top frames printed.

Figures only: nothing here asserts on time. Everything runs on the same box as the load.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_api  # (the daemon child, the keep-alive client, pct)

ROOT = bench_api.ROOT
TOKEN = bench_api.TOKEN
PERPD = [sys.executable, "-m", "perpd.cli"]
BALANCE = 10_000_000
TICKS = os.sysconf("SC_CLK_TCK")

HEAD = """
[daemon]
state_dir = "{state}"
http = "127.0.0.1:{port}"
socket = "{state}/run/perpd.sock"
durability = "{durability}"

[api]
requests_per_sec = 1000000
metrics = "public"

[[api.tokens]]
name = "bench"
secret = "env:PERPD_BENCH_TOKEN"
scopes = ["trade"]
"""

SIM_VENUE = """
[venues.{name}]
kind = "sim"
seed = {seed}
"""

HL_VENUE = """
[venues.hl-emu]
kind = "hyperliquid"
network = "testnet"
rest_url = "http://127.0.0.1:{port}"
ws_url = "ws://127.0.0.1:{port}/ws"
timeout_secs = 10.0
ip_weight_per_min = 100000000
"""

LIGHTER_VENUE = """
[venues.lighter-emu]
kind = "lighter"
network = "testnet"
rest_url = "http://127.0.0.1:{port}"
ws_url = "ws://127.0.0.1:{port}/stream"
chain_id = 300
tier = "premium"
requests_per_min = 100000000
tx_per_min = 100000000
timeout_secs = 10.0
signer_threads = 2
"""


def hl_keys(count: int) -> list[tuple[str, str]]:
    """(private key, address) pairs, deterministic: sha256 of a label is a valid key."""
    import coincurve

    from venues.hyperliquid.signing import address_of_public_key

    out = []
    for i in range(count):
        secret = hashlib.sha256(f"perpd-bench-accounts-hl-{i}".encode()).digest()
        address = address_of_public_key(coincurve.PrivateKey(secret).public_key)
        out.append(("0x" + secret.hex(), address))
    return out


def lighter_keys(count: int) -> list[tuple[int, str, str]]:
    """(account index, private API key, public API key), fresh from the native signer."""
    from venues.lighter.signing import create_api_key

    return [(2001 + i, *create_api_key()) for i in range(count)]


def start_emulator(kind: str, workdir: Path, options: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    log = workdir / f"emulate-{kind}.log"
    args = [*PERPD, "emulate", kind, "--port", "0", "--balance", str(BALANCE)]
    for option in options:
        args += ["-o", option]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if found:
            return proc, int(found.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"perpd emulate {kind} did not start:\n{log.read_text(errors='replace')[-3000:]}")


def cpu_secs(pid: int) -> float:
    """utime + stime of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# --------------------------------------------------------------------------- HTTP client


class Http:
    """One keep-alive HTTP/1.1 connection, one request at a time (as bench_api.Conn)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self.reader, self.writer, self.port = reader, writer, port

    @classmethod
    async def open(cls, port: int) -> Http:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {TOKEN}\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def wait_synced(port: int, accounts: dict[str, str], secs: float = 120) -> None:
    """Until every account reports connected in /metrics."""
    conn = await Http.open(port)
    deadline = time.monotonic() + secs
    try:
        while True:
            status, body = await conn.request("GET", "/metrics")
            text = body.decode()
            up = set(re.findall(r'perpd_account_connected\{account="([^"]+)",venue="[^"]+"\} 1\.0', text))
            if status == 200 and up >= set(accounts):
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"accounts not connected after {secs:.0f} s: {sorted(set(accounts) - up)}")
            await asyncio.sleep(0.5)
    finally:
        conn.close()


async def mids(port: int, venues: set[str]) -> dict[str, float]:
    """BTC's mid on each venue, from the daemon's merged order book."""
    conn = await Http.open(port)
    try:
        for _ in range(100):
            status, body = await conn.request("GET", "/api/v1/markets/BTC/orderbook?depth=1")
            out: dict[str, float] = {}
            if status == 200:
                for book in json.loads(body).get("books") or []:
                    if book.get("bids") and book.get("asks"):
                        out[book["venue"]] = (float(book["bids"][0]["price"]) + float(book["asks"][0]["price"])) / 2
            if set(out) >= venues:
                return out
            await asyncio.sleep(0.3)
        raise SystemExit(f"no BTC book on every venue: {status} {body[:500]!r}")
    finally:
        conn.close()


def parse_metrics(text: str) -> dict[tuple[str, ...], tuple[float, float]]:
    """(metric, labels...) -> (sum, count) of the request and venue histograms."""
    sums: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for line in text.splitlines():
        m = re.match(r'(perpd_api_request_seconds|perpd_venue_request_seconds)_(sum|count)\{(.*)\} (\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3)))
        if m.group(1) == "perpd_api_request_seconds":
            key = ("api", labels["method"], labels["route"], labels["status"])
        else:
            key = ("venue", labels["venue"], labels["verb"])
        sums[key][0 if m.group(2) == "sum" else 1] += float(m.group(4))
    return {k: (v[0], v[1]) for k, v in sums.items()}


async def scrape(port: int) -> dict[tuple[str, ...], tuple[float, float]]:
    conn = await Http.open(port)
    try:
        _, body = await conn.request("GET", "/metrics")
        return parse_metrics(body.decode())
    finally:
        conn.close()


async def load(port: int, accounts: dict[str, str], prices: dict[str, str], concurrency: int, secs: float) -> dict:
    """`concurrency` clients, each place-then-cancel in a loop over its share of the accounts
    (with at least as many clients as accounts: one account each, several clients on some)."""
    names = sorted(accounts)
    place: dict[str, list[float]] = defaultdict(list)
    cancel: dict[str, list[float]] = defaultdict(list)
    refused: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    conns = [await Http.open(port) for _ in range(concurrency)]
    deadline = time.perf_counter() + secs

    async def client(i: int, conn: Http) -> None:
        # A client keeps to its accounts (every `concurrency`-th), so a slow venue holds up
        # its own clients only, not the others'.
        mine = names[i % len(names) :: concurrency]
        n = 0
        while time.perf_counter() < deadline:
            account = mine[n % len(mine)]
            n += 1
            venue = accounts[account]
            body = json.dumps(
                {"account": account, "symbol": "BTC", "side": "buy", "type": "limit", "size": "0.001", "price": prices[venue]}
            ).encode()
            t0 = time.perf_counter()
            status, answer = await conn.request("POST", "/api/v1/orders", body)
            t1 = time.perf_counter()
            if status != 201:
                refused[venue][f"place {status} {answer[:120].decode(errors='replace')}"] += 1
                await asyncio.sleep(0.05)
                continue
            place[venue].append(t1 - t0)
            client_id = json.loads(answer)["orders"][0]["client_id"]
            t0 = time.perf_counter()
            status, answer = await conn.request("DELETE", f"/api/v1/orders/{client_id}")
            t1 = time.perf_counter()
            if status != 200:
                refused[venue][f"cancel {status} {answer[:120].decode(errors='replace')}"] += 1
                continue
            cancel[venue].append(t1 - t0)

    started = time.perf_counter()
    await asyncio.gather(*(client(i, c) for i, c in enumerate(conns)))
    elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    return {"place": place, "cancel": cancel, "refused": refused, "elapsed": elapsed}


def py_spy_top(pid: int, secs: float, out: Path) -> subprocess.Popen[bytes] | None:
    exe = Path(sys.executable).parent / "py-spy"
    if not exe.exists():
        print("(py-spy not found next to this Python: no profile)")
        return None
    return subprocess.Popen(
        [str(exe), "record", "--pid", str(pid), "--duration", str(int(secs)), "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def summarise_profile(path: Path, top: int = 15) -> None:
    """Self time by leaf frame and by package of the leaf, from py-spy's collapsed stacks."""
    if not path.exists():
        print("(py-spy wrote no profile: it may need ptrace permission)")
        return
    leaves: dict[str, int] = defaultdict(int)
    packages: dict[str, int] = defaultdict(int)
    owners: dict[str, int] = defaultdict(int)  # the deepest perpd/venues frame of each sample
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        leaf = frames[-1]
        owner = next((f for f in reversed(frames) if "(perpd/" in f or "(venues/" in f), "(no perpd/venues frame) " + leaf)
        owners[re.sub(r":\d+\)$", ")", owner)] += n
        total += n
        leaves[leaf] += n
        m = re.search(r"\(([^()]*?)(?::\d+)?\)$", leaf)
        parts = (m.group(1) if m else leaf).split("/")
        if parts[0] in ("perpd", "venues") and len(parts) > 2:
            where = "/".join(parts[:2])
        elif len(parts) > 1:
            where = parts[0]  # a package (uvicorn/..., asyncio/..., concurrent/...)
        else:
            where = parts[0]  # a module of the standard library's top level, or <frozen ...>
        packages[where] += n
    if not total:
        print("(empty profile)")
        return
    print(f"py-spy, the daemon, {total} samples, all threads, idle excluded; self time by package (perpd/venues: by subpackage) of the leaf frame:")
    for where, n in sorted(packages.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {n / total:6.1%}  {where}")
    print("  top leaf frames:")
    for leaf, n in sorted(leaves.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {n / total:6.1%}  {leaf[:150]}")
    print("  by the deepest perpd/venues function on the stack (the project code that spent it, itself or in what it called):")
    for owner, n in sorted(owners.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {n / total:6.1%}  {owner[:150]}")


def report(result: dict, accounts: dict[str, str], before: dict, after: dict, cpu: dict[str, float], journal: tuple[int, int]) -> None:
    elapsed = result["elapsed"]
    venues = sorted(set(accounts.values()))
    per_venue_accounts = defaultdict(int)
    for v in accounts.values():
        per_venue_accounts[v] += 1
    pct = bench_api.pct
    print(f"{'venue':<12} {'accts':>5} {'orders/s':>9} {'place p50':>10} {'p99':>8} {'cancels/s':>10} {'cancel p50':>11} {'p99':>8}")
    all_place: list[float] = []
    all_cancel: list[float] = []
    for v in venues:
        p, c = result["place"][v], result["cancel"][v]
        all_place += p
        all_cancel += c
        print(
            f"{v:<12} {per_venue_accounts[v]:>5} {len(p) / elapsed:>9,.0f} {_ms(p, 0.5):>10} {_ms(p, 0.99):>8} "
            f"{len(c) / elapsed:>10,.0f} {_ms(c, 0.5):>11} {_ms(c, 0.99):>8}"
        )
    print(
        f"{'all':<12} {len(accounts):>5} {len(all_place) / elapsed:>9,.0f} {_ms(all_place, 0.5):>10} {_ms(all_place, 0.99):>8} "
        f"{len(all_cancel) / elapsed:>10,.0f} {_ms(all_cancel, 0.5):>11} {_ms(all_cancel, 0.99):>8}"
    )
    ops = len(all_place) + len(all_cancel)
    print(f"  {ops / elapsed:,.0f} API operations/s (placements + cancels) over {elapsed:.1f} s")
    for v in venues:
        for what, n in sorted(result["refused"][v].items()):
            print(f"  refused on {v}: {n} x {what}")
    del pct
    # Where the time goes, by the daemon's own histograms.
    print("where the time goes (daemon /metrics, means over the window):")
    for key in sorted(after):
        if key[0] != "venue":
            continue
        s0, n0 = before.get(key, (0.0, 0.0))
        s1, n1 = after[key]
        if n1 - n0 > 0:
            print(f"  venue call {key[1]:<12} {key[2]:<14} {(s1 - s0) / (n1 - n0) * 1000:8.2f} ms mean, {(n1 - n0) / elapsed:8,.0f}/s")
    for key in sorted(after):
        if key[0] != "api" or not key[2].startswith("/api/v1/orders"):
            continue
        s0, n0 = before.get(key, (0.0, 0.0))
        s1, n1 = after[key]
        if n1 - n0 > 0:
            print(f"  API {key[1]:<6} {key[2]:<30} {key[3]} {(s1 - s0) / (n1 - n0) * 1000:8.2f} ms mean in the daemon, {(n1 - n0) / elapsed:8,.0f}/s")
    commits, writes = journal
    print(
        f"  journal: {commits / elapsed:,.0f} commits/s, {writes / max(commits, 1):.0f} writes per commit, "
        f"{writes / max(ops, 1):.1f} writes per API operation"
    )
    print(f"  CPU over the window ({os.cpu_count()} cores = {os.cpu_count() * elapsed:.0f} CPU-s available):")
    for name, secs in cpu.items():
        line = f"    {name:<34} {secs:6.1f} CPU-s = {secs / elapsed:4.0%} of a core, {secs / max(ops, 1) * 1e6:6.0f} us per API operation"
        venue = {"emulator hyperliquid": "hl-emu", "emulator lighter": "lighter-emu"}.get(name.split(" (")[0])
        if venue is not None:
            own = len(result["place"][venue]) + len(result["cancel"][venue])
            line += f" ({secs / max(own, 1) * 1e3:.1f} ms per operation on its own venue)"
        print(line)


def _ms(values: list[float], q: float) -> str:
    return f"{bench_api.pct(values, q) * 1000:.1f}ms" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secs", type=float, default=30.0, help="the measured window (default 30)")
    parser.add_argument("--concurrency", type=int, default=100, help="HTTP clients, each one request at a time (default 100: two per account)")
    parser.add_argument("--sim-accounts", type=int, default=10, help="accounts on each of the 3 sim venues")
    parser.add_argument("--hl-accounts", type=int, default=10)
    parser.add_argument("--lighter-accounts", type=int, default=10)
    parser.add_argument("--durability", default="full")
    parser.add_argument("--py-spy", action="store_true", help="profile the daemon with py-spy over the window")
    parser.add_argument("--profile-out", type=Path, help="with --py-spy: keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    bench_api._raise_fd_limit()
    print(
        f"bench_accounts: durability={args.durability}, concurrency {args.concurrency}, cores={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.2f} at start (emulators, daemon and clients all on this box)"
    )
    procs: dict[str, subprocess.Popen] = {}
    with tempfile.TemporaryDirectory(prefix="pd-bench-accts-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "PERPD_BENCH_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
        accounts: dict[str, str] = {}
        config = HEAD
        try:
            for v, seed in (("sim-a", 7), ("sim-b", 11), ("sim-c", 13)):
                if not args.sim_accounts:
                    continue
                config += SIM_VENUE.format(name=v, seed=seed)
                for i in range(args.sim_accounts):
                    name = f"{v}-{i:02d}"
                    accounts[name] = v
                    config += f'\n[accounts.{name}]\nvenue = "{v}"\nstarting_balance = {BALANCE}\n'
            if args.hl_accounts:
                keys = hl_keys(args.hl_accounts)
                procs["emulator hyperliquid"], hl_port = start_emulator(
                    "hyperliquid", work, ["accounts=" + ",".join(f"{addr}:{BALANCE}" for _, addr in keys)]
                )
                config += HL_VENUE.format(port=hl_port)
                for i, (secret, address) in enumerate(keys):
                    name = f"hl-{i:02d}"
                    accounts[name] = "hl-emu"
                    env[f"PERPD_BENCH_HL_{i}"] = secret
                    config += (
                        f'\n[accounts.{name}]\nvenue = "hl-emu"\naccount_address = "{address}"\n'
                        f'signer = "env:PERPD_BENCH_HL_{i}"\nallow_master_key = true\n'
                    )
            if args.lighter_accounts:
                keys_l = lighter_keys(args.lighter_accounts)
                procs["emulator lighter"], lighter_port = start_emulator(
                    "lighter",
                    work,
                    [
                        "accounts=" + ",".join(f"{index}::{BALANCE}" for index, _, _ in keys_l),
                        "api_keys=" + ",".join(f"{index}:3={public}" for index, _, public in keys_l),
                        "demo_account=false",
                    ],
                )
                config += LIGHTER_VENUE.format(port=lighter_port)
                for i, (index, private, _) in enumerate(keys_l):
                    name = f"lighter-{i:02d}"
                    accounts[name] = "lighter-emu"
                    env[f"PERPD_BENCH_LIGHTER_{i}"] = private
                    config += (
                        f'\n[accounts.{name}]\nvenue = "lighter-emu"\naccount_index = {index}\n'
                        f'api_keys = [{{ index = 3, secret = "env:PERPD_BENCH_LIGHTER_{i}" }}]\n'
                    )
            port = bench_api.free_port()
            path = work / "perpd.toml"
            path.write_text(HEAD.format(state=work / "state", port=port, durability=args.durability) + config[len(HEAD) :])
            t0 = time.monotonic()
            daemon = subprocess.Popen(
                [sys.executable, str(Path(bench_api.__file__)), "--serve", str(path)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=(work / "daemon.log").open("wb"), text=True, env=env, cwd=ROOT,
            )
            procs["daemon"] = daemon
            assert daemon.stdout is not None
            line = daemon.stdout.readline()
            if not line.startswith("READY"):
                raise SystemExit(f"daemon did not start: {line!r}\n{(work / 'daemon.log').read_text()[-3000:]}")
            api_port = int(line.split()[1])
            asyncio.run(wait_synced(api_port, accounts))
            venues = set(accounts.values())
            mid = asyncio.run(mids(api_port, venues))
            print(
                f"{len(accounts)} accounts on {len(venues)} venues connected and synced {time.monotonic() - t0:.1f} s after start; "
                f"BTC mids: " + ", ".join(f"{v} {m:,.0f}" for v, m in sorted(mid.items()))
            )
            # Resting bids 5 % under the mid: accepted, never filled, cancelled right after.
            prices = {v: str(int(m * 0.95)) for v, m in mid.items()}
            asyncio.run(load(api_port, accounts, prices, args.concurrency, min(3.0, args.secs)))  # warm up
            metrics_before = asyncio.run(scrape(api_port))
            journal_before = bench_api.daemon_counters(daemon)
            cpu_before = {name: cpu_secs(p.pid) for name, p in procs.items()}
            client_before = time.process_time()
            spy = py_spy_top(daemon.pid, args.secs, work / "profile.txt") if args.py_spy else None
            result = asyncio.run(load(api_port, accounts, prices, args.concurrency, args.secs))
            cpu = {f"{name} (pid {p.pid})": cpu_secs(p.pid) - cpu_before[name] for name, p in procs.items()}
            cpu["this client (the load)"] = time.process_time() - client_before
            journal_after = bench_api.daemon_counters(daemon)
            metrics_after = asyncio.run(scrape(api_port))
            report(
                result, accounts, metrics_before, metrics_after, cpu,
                (journal_after[0] - journal_before[0], journal_after[1] - journal_before[1]),
            )
            if spy is not None:
                spy.wait(timeout=args.secs + 60)
                summarise_profile(work / "profile.txt")
                if args.profile_out and (work / "profile.txt").exists():
                    args.profile_out.write_bytes((work / "profile.txt").read_bytes())
        finally:
            daemon_proc = procs.pop("daemon", None)
            if daemon_proc is not None and daemon_proc.poll() is None:
                bench_api.stop_server(daemon_proc)
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    main()
