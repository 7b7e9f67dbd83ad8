"""The x10 SDK's stream clients (StreamClient and StreamRpcClient), unchanged, against the
Extended emulator, in a subprocess with a websockets 12-13 overlay.

SDK 2.6.0 calls `websockets.connect(url, extra_headers=...)` and reads `.closed`: the
API of websockets <= 13 (notes section 1.5). perpd keeps its own websockets (17.x), so
the SDK's streams run in a subprocess whose `websockets` is overlaid, built once per
test session: a `websockets>=12,<14` wheel installed with `pip install --target` when
one is available offline, else -- as on this machine, where the local index has none --
a `sitecustomize` that binds `websockets.connect` to the legacy client that websockets
17 still ships (`websockets.legacy.client.connect`), which is the very implementation
websockets 13 exported under that name. Either way the SDK's code runs unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from extended_support import serve
from sdk_support import onboard

from venues.extended.emulator import create_app

pytestmark = pytest.mark.anyio
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
LEGACY_SHIM = '''"""websockets 12-13's client API over websockets >= 14 (for the x10 SDK's streams)."""
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning, module="websockets")
import websockets  # noqa: E402
import websockets.legacy.client  # noqa: E402

if int(websockets.__version__.split(".")[0]) >= 14:
    websockets.connect = websockets.legacy.client.connect
'''


@pytest.fixture(scope="session")
def websockets_overlay(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(overlay dir, how it was built): websockets 12-13 for the SDK's stream clients."""
    target = tmp_path_factory.mktemp("websockets-overlay")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--target", str(target), "websockets>=12,<14"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    if pip.returncode == 0:
        return target, "pip"
    (target / "sitecustomize.py").write_text(LEGACY_SHIM)
    return target, "legacy-shim"


async def test_the_sdk_stream_clients_work_against_the_emulator(websockets_overlay, anyio_backend):
    overlay, how = websockets_overlay
    app = create_app(seed=13)
    async with serve(app) as url:
        onboarded, api_key = await onboard(url)
        keys = onboarded.l2_key_pair
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(overlay), str(HERE), str(ROOT)])}
        args = [sys.executable, str(HERE / "sdk_streams_script.py"), url, api_key, keys.private_hex, keys.public_hex,
                str(onboarded.account.l2_vault), str(onboarded.account.id)]
        import anyio

        result = await anyio.run_process(args, env=env, check=False)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    seen = json.loads(result.stdout.decode().strip().splitlines()[-1])
    major = int(seen["websockets"].split(".")[0])
    assert major < 14 if how == "pip" else major >= 14
    classic, rpc = seen["classic"], seen["rpc"]
    assert classic["orderbook"]["type"] == "SNAPSHOT" and classic["orderbook"]["market"] == "BTC-USD"
    assert classic["orderbook"]["bids"] > 1 and classic["orderbook"]["asks"] > 1
    assert classic["orderbook_depth1"] == {"bids": 1, "asks": 1}
    assert classic["funding"] == {"market": "BTC-USD"}
    assert classic["account_snapshots"] == ["ORDER", "POSITION", "BALANCE"]
    assert classic["public_trade"] is True
    assert classic["account_kinds"] == ["BALANCE", "ORDER", "POSITION", "TRADE"]
    assert classic["account_order"] == [classic["placed_external_id"]] and classic["account_trade_order_id"] is True
    assert classic["wrong_key"] == 403
    account = f"account.{onboarded.account.id}"
    assert rpc["subscriptions"] == sorted(["orderbooks.BTC-USD", "trades.BTC-USD", "prices.mark.BTC-USD", account])
    assert {"orderbooks.BTC-USD", "trades.BTC-USD", "prices.mark.BTC-USD", account} <= set(rpc["topics"])
    assert "trades.BTC-USD" not in rpc["after_unsubscribe"]
    assert rpc["wrong_key"] == -32001
