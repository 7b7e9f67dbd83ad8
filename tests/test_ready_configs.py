"""Every ready config in configs/ runs as a user would run it, and its targets trade
exactly their size and then nothing.

Each config is started with `perpd run` in its own process (and its venues' emulators
with `perpd emulate KIND --port 0`), changed only where a test must: the emulator's port,
the state dir and no HTTP listener. Once a target is reached, the daemon is watched for
HOLD_SECS more: not one more fill in the target's symbol. Judged from the journal file the
daemon writes (fills are deduplicated by venue trade id and resynced from the venue).
All configs run at once, so the suite pays the hold once.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import sqlite3
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
READY = sorted(p for p in (ROOT / "configs").glob("*.toml") if "testnet" not in p.name and "mainnet" not in p.name)
HOLD_SECS = 30.0
REACH_SECS = 90.0
PERPD = [sys.executable, "-m", "perpd.cli"]


def _lighter_key() -> str:
    from venues.lighter.signing import create_api_key

    return create_api_key()[0]


# Values for the secret references the ready configs' headers tell a user to export.
SECRETS: dict[str, Callable[[], str]] = {
    "HL_EMULATOR_KEY": lambda: "0x" + "e1" * 32,  # the documented throwaway key
    "LIGHTER_EMULATOR_KEY": lambda: "0x" + "1a" * 40,  # the emulator's documented demo key (configs header)
    # The Extended emulator registers its demo account under these (configs header).
    "EXTENDED_EMULATOR_API_KEY": lambda: "emulator-demo-api-key-0000000001",
    "EXTENDED_EMULATOR_STARK_KEY": lambda: "0xd31d5cc4fd48edc09528b02760ab73580a12c4372fe33673f53ae1ca5a99bd",
    # The EdgeX emulator derives its demo account from --seed 7 (configs header, docs/venues/edgex.md).
    "EDGEX_EMULATOR_API_KEY": lambda: "4b49e9bbe0f58e7a180e31c50cc62052",
    "EDGEX_EMULATOR_PASSPHRASE": lambda: "5a989a23c82ac573",
    "EDGEX_EMULATOR_SECRET": lambda: "7c1a4ce2b040c1a9a329058c0227129ddaef44d790dfe01b",
    "EDGEX_EMULATOR_TRADING_KEY": lambda: "0x27c672ab2acb5da80b247a4820a11fb922eecd4e6eadff7dc959e948b8d65f6e",
    # The Vest emulator config registers these documented throwaway keys on connect (configs header).
    "VEST_EMULATOR_PRIMARY_KEY": lambda: "0x" + "a7" * 32,
    "VEST_EMULATOR_SIGNING_KEY": lambda: "0x" + "5e" * 32,
}


@dataclass
class Target:
    accounts: tuple[str, ...]
    symbol: str
    position: D
    tolerance: D


@dataclass
class Run:
    """One ready config running: its processes, journal and targets."""

    config: Path
    workdir: Path
    targets: list[Target] = field(default_factory=list)
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)  # env name -> the key material it held
    reached: dict[str, D] = field(default_factory=dict)
    held: dict[str, D] = field(default_factory=dict)
    error: str | None = None

    @property
    def journal(self) -> Path:
        return self.workdir / "state" / "journal.sqlite"

    def traded(self) -> dict[str, tuple[D, D]]:
        """Per target symbol: (net position from fills, gross size traded)."""
        out = {}
        if not self.journal.exists():
            return {t.symbol: (D(0), D(0)) for t in self.targets}
        with sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True) as db:
            for target in self.targets:
                marks = ",".join("?" * len(target.accounts))
                try:
                    rows = db.execute(
                        f"SELECT side, size FROM fills WHERE symbol = ? AND account IN ({marks})", (target.symbol, *target.accounts)
                    ).fetchall()
                except sqlite3.OperationalError:  # the daemon is still creating its journal
                    rows = []
                net = sum((D(size) * (1 if side == "buy" else -1) for side, size in rows), D(0))
                out[target.symbol] = (net, sum((D(size) for _, size in rows), D(0)))
        return out

    def log_tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.logs if p.exists())


def _targets(raw: dict) -> list[Target]:
    routes = {r["name"]: tuple(r["accounts"]) for r in raw.get("routes", [])}
    out = []
    for t in raw.get("targets", []):
        if t.get("enabled", True) is False:
            continue
        accounts = (t["account"],) if "account" in t else routes[t["route"]]
        symbol = t["symbol"] if t["symbol"].endswith("-PERP") else f"{t['symbol']}-PERP"
        out.append(Target(accounts, symbol, D(str(t["position"])), D(str(t.get("tolerance", 0)))))
    return out


async def _emulator(kind: str, workdir: Path, run: Run, env: dict[str, str]) -> int:
    log = workdir / f"emulate-{kind}.log"
    run.logs.append(log)
    with log.open("wb") as out:  # the child keeps its own descriptor
        process = await asyncio.create_subprocess_exec(
            *PERPD, "emulate", kind, "--port", "0", stdout=out, stderr=asyncio.subprocess.STDOUT, cwd=workdir, env=env
        )
    run.processes.append(process)
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if found:
            return int(found.group(1))
        if process.returncode is not None:
            break
        await asyncio.sleep(0.1)
    raise AssertionError(f"perpd emulate {kind} did not start:\n{log.read_text(errors='replace')}")


async def _start(config: Path, workdir: Path) -> Run:
    run = Run(config, workdir)
    text = config.read_text()
    raw = tomllib.loads(text)
    run.targets = _targets(raw)
    env = dict(os.environ)  # the same secrets for the emulators and the daemon
    for name in sorted(set(re.findall(r'"env:([A-Z0-9_]+)"', text))):
        if name not in SECRETS:
            raise AssertionError(f"{config.name} references env:{name}: add how to make one to SECRETS")
        env[name] = run.secrets[name] = SECRETS[name]()
    for venue in raw.get("venues", {}).values():
        url = venue.get("rest_url", "")
        if "127.0.0.1" in url:
            port = await _emulator(venue["kind"], workdir, run, env)
            old = url.rsplit(":", 1)[1].split("/")[0]
            text = text.replace(f"127.0.0.1:{old}", f"127.0.0.1:{port}")
    copy = workdir / config.name
    copy.write_text(text)
    log = workdir / "perpd.log"
    run.logs.append(log)
    with log.open("wb") as out:
        run.processes.append(
            await asyncio.create_subprocess_exec(
                *PERPD, "run", "-c", str(copy), "--state-dir", str(workdir / "state"), "--http", "false",
                stdout=out, stderr=asyncio.subprocess.STDOUT, cwd=workdir, env=env,
            )
        )
    return run


async def _watch(run: Run) -> None:
    """Wait for every target, then hold: record what was traded at each point."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REACH_SECS
    while True:
        traded = run.traded()
        if all(abs(traded[t.symbol][0] - t.position) <= t.tolerance for t in run.targets):
            break
        if any(p.returncode is not None for p in run.processes):
            run.error = "a process exited"
            return
        if loop.time() > deadline:
            run.error = f"targets not reached in {REACH_SECS:.0f} s: {traded}"
            return
        await asyncio.sleep(0.2)
    run.reached = {s: gross for s, (_, gross) in traded.items()}
    await asyncio.sleep(HOLD_SECS)  # an observation window, not a synchronisation
    run.held = {s: gross for s, (_, gross) in run.traded().items()}
    if any(p.returncode is not None for p in run.processes):
        run.error = "a process exited while holding"


async def _stop(run: Run) -> None:
    for process in reversed(run.processes):
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in run.processes:
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture(scope="module")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
async def fleet(tmp_path_factory) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    try:
        for config in READY:
            workdir = tmp_path_factory.mktemp(config.stem)
            try:
                runs[config.name] = await _start(config, workdir)
            except AssertionError as exc:  # one config's trouble is that config's failure
                runs[config.name] = Run(config, workdir, error=str(exc))
        await asyncio.gather(*(_watch(r) for r in runs.values() if r.error is None))
        yield runs
    finally:
        await asyncio.gather(*(_stop(r) for r in runs.values()))


def test_every_ready_config_is_in_this_test():
    assert {p.name for p in READY} >= {
        "sim.toml", "multi-sim.toml", "hyperliquid-emulator.toml", "lighter-emulator.toml", "extended-emulator.toml",
        "edgex-emulator.toml", "vest-emulator.toml",
    }


@pytest.mark.parametrize("name", [p.name for p in READY])
async def test_a_ready_config_reaches_its_targets_exactly_and_then_trades_nothing(fleet, name):
    run = fleet[name]
    assert run.error is None, f"{name}: {run.error}\n{run.log_tail()}"
    assert run.targets, f"{name} has no target to hold"
    for target in run.targets:
        # From flat, exactly the target's size (within its tolerance): no slice traded back.
        assert abs(run.reached[target.symbol] - abs(target.position)) <= target.tolerance, (name, run.reached)
        assert run.held[target.symbol] == run.reached[target.symbol], (
            f"{name}: {target.symbol} traded {run.held[target.symbol] - run.reached[target.symbol]} more "
            f"in the {HOLD_SECS:.0f} s after reaching its target"
        )


def _forms(secret: str) -> set[str]:
    """A secret as it could leak: as given, its hex without 0x, its bytes in base64."""
    forms = {secret}
    bare = secret.removeprefix("0x")
    forms.add(bare)
    try:
        raw = bytes.fromhex(bare)
    except ValueError:
        raw = secret.encode()
    forms |= {base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return {f for f in forms if len(f) >= 12}


@pytest.mark.parametrize("name", [p.name for p in READY])
def test_no_key_material_reaches_a_ready_configs_logs_or_journal(fleet, name):
    """The daemons above ran with real keys on the emulators: no form of any of them is in
    what they logged or journaled (the journal file read as bytes, WAL included)."""
    run = fleet[name]
    # The daemon's own output (not the emulator's, which prints its demo credentials).
    daemon_files = [p for p in run.logs if p.name == "perpd.log"] + list(run.journal.parent.glob("journal.sqlite*"))
    written = b"".join(p.read_bytes() for p in daemon_files if p.exists())
    assert written, f"{name}: nothing to scan"
    for env_name, secret in run.secrets.items():
        for form in _forms(secret):
            assert form.encode() not in written, f"{name}: {env_name} appears in the daemon's output or journal"
