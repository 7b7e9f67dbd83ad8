"""The API is what its OpenAPI document says: schemathesis, run with its default checks over
the document a live daemon serves (real uvicorn on loopback, sim venue, admin token), finds
nothing, and the daemon survives it with a sound journal.

The fuzzer places and cancels orders, halts and resumes, adds and removes accounts in the
config file and reloads it: all in this test's own state dir and config copy. A failure
prints schemathesis' report, with a curl line per finding; `SEED` reproduces it.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import anyio
import pytest
from api_support import TOKENS, Api

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SEED = 20261203
EXAMPLES = 25  # per operation and phase: about 2,700 requests in 20 seconds

# Schemathesis' defaults, but for two points where this API's contract is deliberate:
SETTINGS = """
# 422 answers a request that matches the document but is refused on its merits (a price off
# the tick, a leverage above the market's, a config the daemon will not load): random valid
# data meets such rules often. A request the document forbids is a 400, still a finding here.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# DELETE /orders/{client_id} cancels the order; like every order, the cancelled one stays
# readable (its status says cancelled), so a read after the DELETE is not a use after free.
[[operations]]
include-operation-id = "get_orders_client_id"
checks.use_after_free.enabled = false
"""


async def test_schemathesis_finds_nothing_the_openapi_document_does_not_say(api: Api, tmp_path: Path) -> None:
    settings = tmp_path / "schemathesis.toml"
    settings.write_text(SETTINGS, encoding="utf-8")
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(settings), "--no-color",
        "run", f"{api.base_url}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {TOKENS['admin']}",
        "--seed", str(SEED), "--max-examples", str(EXAMPLES), "--workers", "1",
        "--generation-database", "none",
    ]
    # The daemon serves on this event loop while schemathesis runs in its own process.
    with anyio.fail_after(300):
        run = await anyio.run_process(command, cwd=tmp_path, check=False, stderr=sys.stderr.buffer)
    report = run.stdout.decode("utf-8", errors="replace")
    assert run.returncode == 0, report[report.find("FAILURES"):] if "FAILURES" in report else report
    assert "Stateful" in report and " passed" in report  # every phase ran

    async with api.client("admin") as http:
        status = await http.get("/api/v1/status")
        resumed = await http.post("/api/v1/resume", json={})
    assert status.status_code == 200 and resumed.status_code == 200
    assert await _integrity(api) == "ok"


async def _integrity(api: Api) -> str:
    assert api.daemon.journal is not None
    await api.daemon.journal.flush()
    conn = sqlite3.connect(api.daemon.journal.path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
