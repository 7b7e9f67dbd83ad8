"""Find the running daemon: its Unix socket (the default) or an HTTP(S) URL with a token.

Lookup order, first match wins:

    explicit `url=`            HTTP(S); token from `token=` or $PERPD_TOKEN; streams from
                               `stream_url=` or $PERPD_STREAM_URL if given (the daemon's
                               [api.fanout] port, ws://HOST:PORT), else from `url`
    explicit `socket=`         that Unix socket
    $PERPD_SOCKET              that Unix socket
    $PERPD_URL                 HTTP(S); token from $PERPD_TOKEN
    the config file            `-c`/`config=`, $PERPD_CONFIG, ./perpd.toml: its daemon.socket,
                               else <state_dir>/run/perpd.sock ($PERPD_STATE_DIR overrides)
    the default state dir      ~/.local/state/perpd/run/perpd.sock

The config is read leniently (only the [daemon] table): a file edited into a state the
running daemon refused must not stop an operator from reaching that daemon.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_STATE_DIR = Path("~/.local/state/perpd")
SOCKET_NAME = Path("run") / "perpd.sock"


@dataclass(frozen=True)
class Endpoint:
    """Where the daemon listens. The token never appears in the repr."""

    socket: Path | None = None
    url: str | None = None
    token: str | None = field(default=None, repr=False)
    state_dir: Path | None = None  # known when found through a config or state dir
    stream_url: str | None = None  # where WebSockets are served, if not at `url` ([api.fanout])

    def __post_init__(self) -> None:
        if (self.socket is None) == (self.url is None):
            raise ValueError("an endpoint is a Unix socket or a URL, exactly one")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"the daemon's URL must start with http:// or https:// (got {self.url!r})")
        if self.stream_url is not None:
            if self.url is None:
                raise ValueError("a stream URL needs the daemon's URL and token (the Unix socket streams itself)")
            if not self.stream_url.startswith(("ws://", "wss://")):
                raise ValueError(f"the stream URL must start with ws:// or wss:// (got {self.stream_url!r})")

    @property
    def http_base(self) -> str:
        """Base URL of the REST API (the host is nominal on the Unix socket)."""
        root = "http://localhost" if self.url is None else self.url.rstrip("/")
        return f"{root}/api/v1"

    @property
    def ws_base(self) -> str:
        """Base URL of the WebSocket API."""
        if self.url is None:
            return "ws://localhost/ws/v1"
        if self.stream_url is not None:
            return self.stream_url.rstrip("/").removesuffix("/ws/v1") + "/ws/v1"
        return "ws" + self.url.rstrip("/")[len("http"):] + "/ws/v1"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token and self.url else {}

    def describe(self) -> str:
        """A human label: `unix:/path/perpd.sock` or the URL (never the token)."""
        return f"unix:{self.socket}" if self.socket is not None else str(self.url)


def locate(
    socket: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    stream_url: str | None = None,
    config: str | os.PathLike[str] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
) -> Endpoint:
    """Return the endpoint of the daemon to talk to (see the module docstring)."""
    env = os.environ
    if url:
        return Endpoint(url=url, token=token or env.get("PERPD_TOKEN"), stream_url=stream_url or env.get("PERPD_STREAM_URL"))
    if socket:
        return Endpoint(socket=Path(socket).expanduser())
    if env.get("PERPD_SOCKET") and config is None and state_dir is None:
        return Endpoint(socket=Path(env["PERPD_SOCKET"]).expanduser())
    if env.get("PERPD_URL") and config is None and state_dir is None:
        return Endpoint(url=env["PERPD_URL"], token=token or env.get("PERPD_TOKEN"),
                        stream_url=stream_url or env.get("PERPD_STREAM_URL"))
    path = Path(config or env.get("PERPD_CONFIG") or "perpd.toml").expanduser()
    if config is not None or path.is_file():
        return _from_config(path, state_dir or env.get("PERPD_STATE_DIR"))
    base = Path(state_dir or env.get("PERPD_STATE_DIR") or DEFAULT_STATE_DIR).expanduser()
    return Endpoint(socket=base / SOCKET_NAME, state_dir=base)


def _from_config(path: Path, state_dir: str | os.PathLike[str] | None) -> Endpoint:
    """The socket a daemon started from this file listens on (paths as perpd.config resolves them)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")).get("daemon", {})
    except (OSError, tomllib.TOMLDecodeError):
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    base = path.resolve().parent
    state = _absolute(Path(state_dir or raw.get("state_dir") or DEFAULT_STATE_DIR), base)
    socket = raw.get("socket")
    return Endpoint(socket=_absolute(Path(socket), base) if socket else state / SOCKET_NAME, state_dir=state)


def _absolute(path: Path, base: Path) -> Path:
    expanded = path.expanduser()
    return expanded if expanded.is_absolute() else (base / expanded).resolve()
