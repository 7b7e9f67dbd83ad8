"""Serve the API app with uvicorn (uvloop + httptools) on loopback TCP and a Unix socket.

The Unix socket is made by perpd, not by uvicorn's `uds` option (which leaves it 0666):
a 0700 directory owned by us, the socket bound inside it and chmod 0600 before anyone is
served, then handed to uvicorn. Its connections are marked local (`LOCAL_KEY`): the same
app, without a token. TCP binds loopback unless the config says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from perpd.api.auth import LOCAL_KEY
from perpd.config import DaemonConfig
from perpd.errors import ConfigError
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("perpd.api.server")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to the daemon (it owns SIGTERM/SIGHUP)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LocalApp:
    """Marks every connection of the Unix socket as local before the app sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[LOCAL_KEY] = True
        await self.app(scope, receive, send)


def uvicorn_config(app: ASGIApp) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",  # measured: 2x the fan-out of the legacy websockets impl
        lifespan="off",  # the daemon starts and stops the engine, not the app
        access_log=False,  # perpd journals what matters; access lines would cost 2x here
        log_config=None,
        ws_max_size=1 << 16,
        ws_per_message_deflate=False,  # compressing each frame per client cost more CPU than sending it
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        server_header=False,
        proxy_headers=False,  # no proxy in front: X-Forwarded-* from a client is not trusted
        timeout_graceful_shutdown=5,
    )


def bind_unix(path: Path) -> socket.socket:
    """A listening Unix socket 0600 in a 0700 directory; refuses if another perpd holds it."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise ConfigError(f"{directory}: socket directory must be a directory owned by this user")
    os.chmod(directory, 0o700)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ConfigError(f"{path}: exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError as exc:
            if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
                raise
            path.unlink(missing_ok=True)  # stale: left by a perpd that died
        else:
            raise ConfigError(f"{path}: another perpd is serving this socket")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o600)  # nobody else can reach it meanwhile: the directory is 0700
        sock.listen(1024)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on connections accepted from a
    # socket whose proto says TCP, and without it Nagle holds each body written after its
    # headers for the client's delayed ACK (40 ms per keep-alive request; uvloop always sets it).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(4096)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class ApiServer:
    """The TCP and Unix-socket servers of one app; `start()`, then `stop()`."""

    def __init__(
        self,
        app: ASGIApp,
        config: DaemonConfig,
        *,
        tcp: tuple[str, int] | None | bool = True,
        unix: Path | None | bool = True,
    ) -> None:
        self.app = app
        self.tcp_address = config.http_host_port if tcp is True else (tcp or None)
        self.unix_path = config.socket_path if unix is True else (unix or None)
        self._servers: list[tuple[_Server, socket.socket]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.port: int | None = None

    async def start(self) -> None:
        if self.tcp_address is not None:
            sock = bind_tcp(*self.tcp_address)
            self.port = sock.getsockname()[1]
            self._servers.append((_Server(uvicorn_config(self.app)), sock))
            log.info("API listening", extra={"http": f"{self.tcp_address[0]}:{self.port}"})
        if self.unix_path is not None:
            sock = bind_unix(self.unix_path)
            self._servers.append((_Server(uvicorn_config(LocalApp(self.app))), sock))
            log.info("API listening", extra={"socket": str(self.unix_path)})
        loop = asyncio.get_running_loop()
        for server, sock in self._servers:
            self._tasks.append(loop.create_task(server.serve(sockets=[sock])))
        while not all(s.started for s, _ in self._servers):
            if any(t.done() for t in self._tasks):
                for task in self._tasks:
                    if task.done() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
                raise RuntimeError("API server stopped during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for _, sock in self._servers:
            sock.close()
        if self.unix_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.unix_path.unlink()
        self._servers.clear()
        self._tasks.clear()


async def serve(app: ASGIApp, config: DaemonConfig, *, stop: asyncio.Event) -> None:
    """Serve until `stop` is set (the daemon sets it on SIGTERM/SIGINT)."""
    server = ApiServer(app, config)
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.stop()
