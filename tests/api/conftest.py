"""Fixtures for the API tests: tokens in the environment, a short socket directory, and a
running daemon + API (see api_support)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from api_support import TOKENS, Api, start_api, stop_api, write_config


@pytest.fixture
def tokens_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, secret in TOKENS.items():
        monkeypatch.setenv(f"PERPD_TEST_{name.upper()}", secret)


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # AF_UNIX paths are limited to ~108 bytes: pytest's tmp_path is often longer.
    path = Path(tempfile.mkdtemp(prefix="pd-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def api(tmp_path: Path, socket_dir: Path, tokens_env: None) -> AsyncIterator[Api]:
    running = await start_api(write_config(tmp_path, socket_dir / "run" / "perpd.sock"))
    try:
        yield running
    finally:
        await stop_api(running)
