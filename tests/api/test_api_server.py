"""The Unix socket perpd makes for itself: 0600 in a 0700 directory, stale ones replaced,
live ones (another perpd) refused; TCP answers without Nagle's delay."""

from __future__ import annotations

import stat
import statistics
import time
from pathlib import Path

import pytest
from api_support import Api

from perpd.api.server import bind_unix
from perpd.errors import ConfigError


def test_the_socket_is_0600_and_its_new_directory_0700(socket_dir: Path) -> None:
    path = socket_dir / "run" / "perpd.sock"
    sock = bind_unix(path)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        sock.close()


def test_a_live_socket_is_refused_and_a_stale_one_replaced(socket_dir: Path) -> None:
    path = socket_dir / "perpd.sock"
    live = bind_unix(path)
    try:
        with pytest.raises(ConfigError, match="another perpd"):
            bind_unix(path)
    finally:
        live.close()  # the file stays behind, as after a crash
    assert path.exists()
    again = bind_unix(path)
    again.close()


def test_a_regular_file_in_the_socket_path_is_left_alone(socket_dir: Path) -> None:
    path = socket_dir / "perpd.sock"
    path.write_text("not a socket")
    with pytest.raises(ConfigError, match="not a socket"):
        bind_unix(path)
    assert path.read_text() == "not a socket"


def test_an_existing_open_directory_is_tightened_to_0700(socket_dir: Path) -> None:
    directory = socket_dir / "run"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    sock = bind_unix(directory / "perpd.sock")
    sock.close()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


@pytest.mark.anyio
async def test_answers_on_a_keep_alive_connection_are_not_held_back_by_nagle(api: Api) -> None:
    # Without TCP_NODELAY a body written after its headers waits for the client's delayed
    # ACK: 40 ms on Linux for every request after a connection's first.
    elapsed = []
    async with api.client("reader") as http:
        for _ in range(6):
            started = time.perf_counter()
            assert (await http.get("/api/v1/status")).status_code == 200
            elapsed.append(time.perf_counter() - started)
    assert statistics.median(elapsed[1:]) < 0.03, elapsed  # each ~2 ms; held back, 40+ ms
