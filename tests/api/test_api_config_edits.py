"""Config edits through the API change the operator's file only where asked: comments and
layout kept, written atomically, and never over an edit the operator made on disk."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.api.api_support import Api, start_api, stop_api, write_config

pytestmark = pytest.mark.anyio

COMMENTED = """
# The operator's notes: why each account exists, who to call.
[accounts.commented]   # a desk account
venue = "sim"          # paper only
leverage = { BTC = 2 } # kept low on purpose
"""


@pytest.fixture
async def commented(tmp_path: Path, socket_dir: Path, tokens_env: None):
    path = write_config(tmp_path, socket_dir / "run" / "perpd.sock")
    # Beside the other account tables, as a config is written (tomlkit regroups a table
    # that stands apart from its siblings when it edits it).
    path.write_text(path.read_text().replace("[[routes]]", COMMENTED.lstrip() + "\n[[routes]]", 1))
    os.chmod(path, 0o640)
    running = await start_api(path)
    try:
        yield running
    finally:
        await stop_api(running)


async def test_setting_leverage_changes_one_value_and_keeps_every_comment(commented: Api) -> None:
    before = commented.config_path.read_text()
    async with commented.client("trader") as http:
        answer = await http.put("/api/v1/accounts/commented/leverage", json={"symbol": "BTC", "leverage": 3})
    assert answer.status_code == 200, answer.text
    after = commented.config_path.read_text()
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ['-leverage = { BTC = 2 } # kept low on purpose', '+leverage = { BTC = 3 } # kept low on purpose']
    assert os.stat(commented.config_path).st_mode & 0o777 == 0o640  # the file's permissions kept
    assert commented.daemon.config.accounts["commented"].leverage == {"BTC-PERP": 3}


async def test_a_file_edited_on_disk_is_not_overwritten_by_an_api_edit(commented: Api) -> None:
    mine = commented.config_path.read_text().replace("# kept low on purpose", "# the operator is editing this")
    commented.config_path.write_text(mine)
    async with commented.client("trader") as http:
        answer = await http.put("/api/v1/accounts/commented/leverage", json={"symbol": "BTC", "leverage": 3})
    assert answer.status_code == 409, answer.text
    assert "changed on disk" in answer.json()["error"]["message"]
    assert commented.config_path.read_text() == mine  # the operator's edit wins
    async with commented.client("admin") as http:
        assert (await http.post("/api/v1/reload")).status_code == 200
    async with commented.client("trader") as http:
        answer = await http.put("/api/v1/accounts/commented/leverage", json={"symbol": "BTC", "leverage": 3})
    assert answer.status_code == 200, answer.text
    assert "# the operator is editing this" in commented.config_path.read_text()
