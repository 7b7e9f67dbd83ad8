"""WebSockets served by worker processes, fed by the daemon (`[api.fanout]`).

    daemon (the engine's loop)                       N worker processes, one port
    bus ─ tap ─ encode once ─ feed (socketpair) ──▶ hub ─▶ inboxes ─▶ clients
                   ◀── "want" topics, "sub" (a snapshot), "stats" ───

The daemon's part is cheap and bounded: each bus message a worker wants is encoded once
and written to the workers that want it; a channel's snapshot is taken on the daemon's
loop when a worker asks and written into the same ordered stream, so a worker opens its
client's inbox exactly between the messages before and after the snapshot (the bus tap
writes each message as it is published, so nothing can overtake it). Everything per
client (routing, conflation, framing, sockets) runs in the workers: the channels,
protocol, tokens and Host/Origin checks are those of /ws/v1 on the daemon's own port
(`perpd.api.ws`), without its shared frame budget. A client that falls behind gets the
latest books and tickers (conflated); one too far behind on queued topics is closed
(1013), as on the daemon's port.

Tokens reach a worker only as SHA-256 digests. A worker exits when its feed closes (the
daemon stopped or died); the daemon restarts a worker that dies, and drops (restarts) one
whose feed backs up past `MAX_BACKLOG` rather than hold the engine's memory for it.

Feed frames: 8 bytes (header length, data length, big-endian), an orjson header, then
raw data (already-encoded JSON the worker forwards as is).

    daemon -> worker   ["cfg", {tokens: [[name, digest hex, scopes]], hosts, origins, rate}]   (want: refined topics, as the hub files
                                 them: "book|BTC-PERP", "orders@paper", "events")
                       ["m", topic, seq, key, {symbol, account, venue present on the data},
                        book depth or null]  + the message's data
                       ["snap", id, error or null]  + the snapshot frame
    worker -> daemon   ["want", [topics], depth]   ["sub", id, channel, filters]
                       ["stats", {endpoint: clients}]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import struct
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson

from perpd.api import browser_refusal, refuse
from perpd.api.auth import IMPLIES, Auth, TokenAuth, TokenEntry
from perpd.api.channels import ALL_TOPICS, KINDS, Channel, Filters, check_filters, dumps
from perpd.api.errors import RouteNotFound, error_response
from perpd.api.hub import Hub, Inbox, base_topic, routing_names
from perpd.bus import Message
from perpd.errors import ConfigError, PerpdError, Unavailable
from perpd.portfolio import LocalBook

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from perpd.config import FanoutConfig
    from perpd.daemon import Daemon

log = logging.getLogger("perpd.api.fanout")

_PREFIX = struct.Struct(">II")
MAX_FRAME = 64 << 20  # a feed frame larger than this is a broken peer
MAX_BACKLOG = 256 << 20  # bytes a worker's feed may hold unread before it is dropped
ATTRS = ("symbol", "account", "venue")  # what hub routing and channel filters read
DEFAULT_DEPTH = 20  # Filters.depth's default: the book depth fed until a worker asks more
RESTART_SECS = (0.5, 1.0, 2.0, 5.0, 10.0)  # back-off between restarts of a dying worker
STATS_SECS = 1.0


# --------------------------------------------------------------------------- feed frames


def pack(header: list[Any], data: bytes = b"") -> bytes:
    head = orjson.dumps(header)
    return _PREFIX.pack(len(head), len(data)) + head + data


class FrameReader:
    """Cuts a byte stream into (header, data) frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> Iterator[tuple[list[Any], bytes]]:
        buf = self._buf
        buf += chunk
        at = 0
        try:
            while len(buf) - at >= 8:
                head_len, data_len = _PREFIX.unpack_from(buf, at)
                if head_len + data_len > MAX_FRAME:
                    raise ValueError(f"feed frame of {head_len + data_len} bytes")
                end = at + 8 + head_len + data_len
                if len(buf) < end:
                    break
                header = orjson.loads(memoryview(buf)[at + 8 : at + 8 + head_len])
                data = bytes(buf[at + 8 + head_len : end])
                at = end
                yield header, data
        finally:
            del buf[:at]


# --------------------------------------------------------------------------- the daemon's side


class _Feed(asyncio.Protocol):
    """The daemon's end of one worker's feed."""

    def __init__(self, fanout: Fanout, index: int) -> None:
        self.fanout = fanout
        self.index = index
        self.transport: asyncio.Transport | None = None
        self.reader = FrameReader()
        self.want: frozenset[str] = frozenset()  # refined topics ("book|BTC-PERP", "orders@paper", "events")
        self.bases: frozenset[str] = frozenset()  # their topics ("book", ...): the tap's first, cheap check
        self.depth = DEFAULT_DEPTH
        self.clients: dict[str, int] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] - uvloop's is not an asyncio.Transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.wants(frozenset())
        self.clients = {}

    def wants(self, refined: frozenset[str]) -> None:
        self.want = refined
        self.bases = frozenset(base_topic(t) for t in refined)

    def write(self, frame: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        transport.write(frame)
        if transport.get_write_buffer_size() > MAX_BACKLOG:
            log.warning("fan-out worker %d fell %d MiB behind its feed; restarting it", self.index, MAX_BACKLOG >> 20)
            transport.abort()

    def data_received(self, data: bytes) -> None:
        try:
            for header, _ in self.reader.feed(data):
                self.fanout.on_request(self, header)
        except Exception:  # noqa: BLE001 - a broken worker must not take the daemon down
            log.exception("fan-out worker %d sent a bad request; restarting it", self.index)
            if self.transport is not None:
                self.transport.abort()


class Fanout:
    """Starts the worker processes on `[api.fanout] http`, feeds them, restarts the dead."""

    def __init__(self, daemon: Daemon, config: FanoutConfig) -> None:
        self.daemon = daemon
        self.config = config
        self.feeds: list[_Feed] = []
        self.processes: dict[int, asyncio.subprocess.Process] = {}  # worker index -> process
        self.port: int | None = None
        self._listener: socket.socket | None = None
        self._untap: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self.auth = Auth(daemon)  # resolves the config's token references, follows reloads
        self._cfg_sent: Any = None  # the config the workers were last told of
        self._stopping = False
        self.restarts = 0
        self.relayed = 0  # bus messages encoded for the workers

    async def start(self) -> None:
        from perpd.api.server import bind_tcp

        engine = self.daemon.engine
        assert engine is not None, "the fan-out starts after the engine"
        try:
            self._listener = bind_tcp(*self.config.host_port)
        except OSError as exc:
            raise ConfigError(f"api.fanout.http {self.config.http}: cannot listen there ({exc.strerror or exc})") from None
        self.port = self._listener.getsockname()[1]
        self._untap = engine.bus.tap(self._on_publish)
        started = [asyncio.Event() for _ in range(self.config.workers)]
        for index in range(self.config.workers):
            self._tasks.append(asyncio.get_running_loop().create_task(self._keep(index, started[index]), name=f"fanout-{index}"))
        await asyncio.gather(*(e.wait() for e in started))
        self._tasks.append(asyncio.get_running_loop().create_task(self._follow_config(), name="fanout-config"))
        log.info("WebSocket fan-out listening", extra={"http": f"{self.config.host_port[0]}:{self.port}", "workers": self.config.workers})

    async def stop(self) -> None:
        self._stopping = True
        if self._untap is not None:
            self._untap()
            self._untap = None
        for feed in self.feeds:
            if feed.transport is not None:
                feed.transport.close()  # the worker sees its feed end and exits
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    async def _keep(self, index: int, started: asyncio.Event) -> None:
        """Run worker `index`; when it exits, start it again (with back-off)."""
        failures = 0
        while not self._stopping:
            began = time.monotonic()
            try:
                process, feed = await self._spawn(index)
            except OSError:
                log.exception("could not start fan-out worker %d", index)
                started.set()
                await asyncio.sleep(RESTART_SECS[-1])
                continue
            started.set()
            self.processes[index] = process
            try:
                code = await process.wait()
            except asyncio.CancelledError:
                await _end(process)
                raise
            finally:
                if feed.transport is not None:
                    feed.transport.close()
                if feed in self.feeds:
                    self.feeds.remove(feed)
            if self._stopping:
                return
            failures = 0 if time.monotonic() - began > 60 else failures + 1
            self.restarts += 1
            delay = RESTART_SECS[min(failures, len(RESTART_SECS) - 1)]
            log.warning("fan-out worker %d exited (%s); restarting in %.1f s", index, code, delay)
            await asyncio.sleep(delay)

    async def _spawn(self, index: int) -> tuple[asyncio.subprocess.Process, _Feed]:
        assert self._listener is not None
        ours, theirs = socket.socketpair()
        try:
            level = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "perpd.api.fanout",
                "--feed-fd", str(theirs.fileno()), "--listen-fd", str(self._listener.fileno()),
                "--index", str(index), "--log-level", level,
                pass_fds=(theirs.fileno(), self._listener.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                env=worker_env(),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        feed = _Feed(self, index)
        ours.setblocking(False)
        await asyncio.get_running_loop().create_unix_connection(lambda: feed, sock=ours)
        self.feeds.append(feed)
        feed.write(pack(["cfg", self._cfg()]))
        return process, feed

    # ------------------------------------------------------------------ feeding

    def _cfg(self) -> dict[str, Any]:
        config = self.daemon.config
        self._cfg_sent = config
        return {
            "tokens": [[t.name, t.digest.hex(), sorted(t.scopes)] for t in self.auth.tokens()],
            "hosts": list(config.daemon.allowed_hosts),
            "origins": list(config.api.allowed_origins),
            "rate": config.api.requests_per_sec,
        }

    def refresh(self) -> None:
        """Send the workers the running config's tokens, hosts and origins if they changed
        (accounts are the daemon's to check, at each subscribe)."""
        if self._cfg_sent is self.daemon.config:
            return
        frame = pack(["cfg", self._cfg()])
        for feed in self.feeds:
            feed.write(frame)

    async def _follow_config(self) -> None:
        """A reload reaches the workers within a second (and before any later subscribe)."""
        while True:
            await asyncio.sleep(STATS_SECS)
            self.refresh()

    def _on_publish(self, message: Message) -> None:
        """The bus tap: runs inside every publish on the engine's loop, so stay cheap."""
        topic = message.topic
        data = message.data
        names = None
        targets = []
        for feed in self.feeds:
            if topic in feed.bases:  # someone there reads this topic: for this symbol or account?
                if names is None:
                    names = routing_names(topic, data)
                if not feed.want.isdisjoint(names):
                    targets.append(feed)
        if not targets:
            return
        self.relayed += 1
        depth = None
        if isinstance(data, LocalBook):
            depth = max(f.depth for f in targets)
            raw = dumps(data.snapshot(depth))
        else:
            raw = dumps(data)
        attrs = {name: getattr(data, name) for name in ATTRS if hasattr(data, name)}
        frame = pack(["m", topic, message.seq, message.key, attrs, depth], raw)
        for feed in targets:
            feed.write(frame)

    def on_request(self, feed: _Feed, header: list[Any]) -> None:
        kind = header[0]
        if kind == "want":
            feed.wants(frozenset(t for t in header[1] if base_topic(t) in ALL_TOPICS))
            feed.depth = max(1, min(int(header[2]), 100))
        elif kind == "sub":
            self.refresh()  # the snapshot and what the worker checks agree on the config
            _, request_id, name, filters = header
            try:
                engine = self.daemon.engine
                if engine is None:
                    raise Unavailable("the daemon is not running yet")
                channel = KINDS[name](Filters.model_validate(filters))
                check_filters(channel, engine)
                # From this point on, as the snapshot assumes.
                feed.wants(feed.want | frozenset(channel.refined_topics()))
                feed.write(pack(["snap", request_id, None], channel.snapshot_frame(engine)))
            except PerpdError as exc:
                feed.write(pack(["snap", request_id, exc.to_dict()]))
        elif kind == "stats":
            feed.clients = {str(k): int(v) for k, v in header[1].items()}
        else:
            raise ValueError(f"unknown feed request {kind!r}")

    def client_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for feed in self.feeds:
            for endpoint, n in feed.clients.items():
                counts[endpoint] += n
        return dict(counts)


def worker_env() -> dict[str, str]:
    """What a worker needs of the daemon's environment: how to run Python, not the
    secrets the daemon's references may name (a worker faces the network)."""
    keep = ("PATH", "HOME", "LANG", "TZ", "TMPDIR", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k in keep or k.startswith(("PYTHON", "LC_"))}


async def _end(process: asyncio.subprocess.Process) -> None:
    """Ask a worker to stop (its feed is closed first); kill it if it does not."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(asyncio.shield(process.wait()), 5)
    except (TimeoutError, asyncio.TimeoutError):
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


# --------------------------------------------------------------------------- the worker's side


class Relayed:
    """A bus message's data as a worker has it: the attributes routing and filters read
    (only those the daemon's object had), and the encoded JSON."""

    __slots__ = ("account", "depth", "raw", "symbol", "venue")

    def __init__(self, attrs: dict[str, Any], raw: bytes, depth: int | None) -> None:
        for name, value in attrs.items():
            if name in ATTRS:
                setattr(self, name, value)
        self.raw = raw
        self.depth = depth


class RelayedFrames:
    """`data(message, depth)` for a worker's channels: the daemon's encoding, a book cut
    to the client's depth (once per book update and depth)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._cut: dict[tuple[str, int, int], bytes] = {}

    def data(self, message: Message, depth: int) -> bytes:
        relayed: Relayed = message.data
        if relayed.depth is None or depth >= relayed.depth:
            return relayed.raw
        key = (message.key, message.seq, depth)
        cut = self._cut.get(key)
        if cut is None:
            if len(self._cut) >= self._size:
                self._cut.clear()
            book = orjson.loads(relayed.raw)
            book["bids"] = book["bids"][:depth]
            book["asks"] = book["asks"][:depth]
            cut = self._cut[key] = orjson.dumps(book)
        return cut


class FeedAuth(TokenAuth):
    """The daemon's tokens, as digests sent over the feed."""

    def __init__(self) -> None:
        super().__init__()
        self._tokens: list[TokenEntry] = []
        self._rate = 50.0

    def tokens(self) -> list[TokenEntry]:
        return self._tokens

    def requests_per_sec(self) -> float:
        return self._rate

    def update(self, tokens: list[list[Any]], rate: float) -> None:
        self._tokens = [
            TokenEntry(name, bytes.fromhex(digest), frozenset().union(*(IMPLIES[s] for s in scopes)))
            for name, digest, scopes in tokens
        ]
        self._rate = rate
        self._keep_buckets({t.name for t in self._tokens}, rate)


class WorkerContext(asyncio.Protocol):
    """A worker's `StreamSource` (see `perpd.api.ws`), and the worker's end of its feed."""

    frame_budget = None  # each client's own socket is its limit

    def __init__(self) -> None:
        self.auth = FeedAuth()
        self.frames = RelayedFrames()
        self.ws_clients: dict[str, int] = defaultdict(int)
        self.hub = Hub()
        self.hosts: tuple[str, ...] = ()
        self.origins: tuple[str, ...] = ()
        self.configured = asyncio.Event()
        self.gone = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self._reader = FrameReader()
        self._pending: dict[int, tuple[Channel, int, asyncio.Future[tuple[Inbox, bytes]]]] = {}
        self._next_id = 0
        self._open: dict[Inbox, Channel] = {}  # what this worker's clients have open
        self._topics: Counter[str] = Counter()  # channels open or asked for, per topic
        self._depths: Counter[int] = Counter()  # ... per book depth
        self._want: tuple[frozenset[str], int] = (frozenset(), DEFAULT_DEPTH)
        self._stats: dict[str, int] = {}

    # ------------------------------------------------------------------ the feed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] - uvloop's is not an asyncio.Transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for _, _, future in self._pending.values():
            if not future.done():
                future.set_exception(Unavailable("the daemon's feed closed"))
        self._pending.clear()
        self.gone.set()

    def data_received(self, data: bytes) -> None:
        for header, raw in self._reader.feed(data):
            kind = header[0]
            if kind == "m":
                _, topic, seq, key, attrs, depth = header
                self.hub.route(Message(topic, seq, key, Relayed(attrs, raw, depth)))
            elif kind == "snap":
                self._opened(header[1], header[2], raw)
            elif kind == "cfg":
                cfg = header[1]
                self.auth.update(cfg["tokens"], float(cfg["rate"]))
                self.hosts = tuple(cfg["hosts"])
                self.origins = tuple(cfg["origins"])
                self.configured.set()

    def _send(self, header: list[Any]) -> None:
        if self.transport is not None:
            self.transport.write(pack(header))

    def _count(self, channel: Channel, step: int) -> None:
        self._topics.update(dict.fromkeys(channel.refined_topics(), step))
        self._depths[channel.filters.depth] += step
        self._topics = +self._topics  # drop the zeros
        self._depths = +self._depths

    def _prune(self) -> None:
        """Forget the channels clients have closed since the last look (O(open))."""
        for inbox in [i for i in self._open if i.closed]:
            self._count(self._open.pop(inbox), -1)

    def _update_want(self) -> None:
        """Tell the daemon which topics (and book depth) this worker's clients need."""
        want = (frozenset(self._topics), max([DEFAULT_DEPTH, *self._depths]))
        if want != self._want:
            self._want = want
            self._send(["want", sorted(want[0]), want[1]])

    # ------------------------------------------------------------------ StreamSource

    def check_ready(self) -> None:
        if self.transport is None or not self.configured.is_set():
            raise Unavailable("the daemon's feed is not connected")

    async def open_channel(self, channel: Channel, *, maxlen: int) -> tuple[Inbox, bytes]:
        self.check_ready()
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[tuple[Inbox, bytes]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (channel, maxlen, future)
        self._count(channel, +1)  # wanted from before the daemon takes the snapshot
        self._update_want()
        self._send(["sub", request_id, channel.name, channel.filters.model_dump(mode="json")])
        try:
            return await future
        except BaseException:
            self._count(channel, -1)
            raise
        finally:
            self._pending.pop(request_id, None)

    def _opened(self, request_id: int, error: dict[str, Any] | None, frame: bytes) -> None:
        """The daemon's snapshot arrived: open the inbox here, between the messages
        the snapshot covers and those it does not."""
        entry = self._pending.pop(request_id, None)
        if entry is None:
            return
        channel, maxlen, future = entry
        if future.done():
            return
        if error is not None:
            future.set_exception(RemoteError(error))
            return
        inbox = self.hub.inbox(channel.refined_topics(), maxlen=maxlen, accept=None if channel.exact else channel.matches)
        inbox.mark_seen()
        self._open[inbox] = channel
        future.set_result((inbox, frame))

    async def report(self) -> None:
        """Client counts to the daemon (for its metrics), and the topics still wanted."""
        while True:
            await asyncio.sleep(STATS_SECS)
            self._prune()
            self._update_want()
            stats = dict(self.ws_clients)
            if stats != self._stats:
                self._stats = stats
                self._send(["stats", stats])


class RemoteError(PerpdError):
    """A refusal the daemon answered to a worker's subscribe, passed on as it was."""

    def __init__(self, body: dict[str, Any]) -> None:
        error = body.get("error", {})
        super().__init__(str(error.get("message", "refused")), details=error.get("details"))
        self.body = body
        self.type_name = str(error.get("type", "internal"))

    def to_dict(self) -> dict[str, Any]:
        return self.body


class WorkerGuard:
    """The daemon's Host/Origin checks (`perpd.api.BrowserGuard`) for a worker, which
    serves WebSockets only: anything else is 404."""

    def __init__(self, app: ASGIApp, ctx: WorkerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            problem = browser_refusal(scope["headers"], self.ctx.hosts, self.ctx.origins)
            if problem is None:
                await self.app(scope, receive, send)
            else:
                await refuse(problem, scope, receive, send)
        elif scope["type"] == "http":
            await error_response(RouteNotFound("this port serves WebSockets only (/ws/v1)"))(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def worker_app(ctx: WorkerContext) -> ASGIApp:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from perpd.api import ws

    app = Starlette(routes=list(ws.ROUTES), middleware=[Middleware(WorkerGuard, ctx=ctx)])
    app.state.ctx = ctx
    return app


async def run_worker(feed_fd: int, listen_fd: int, index: int) -> None:
    import uvicorn

    from perpd.api.server import uvicorn_config

    loop = asyncio.get_running_loop()
    ctx = WorkerContext()
    feed = socket.socket(fileno=feed_fd)
    feed.setblocking(False)
    await loop.create_unix_connection(lambda: ctx, sock=feed)
    listener = socket.socket(fileno=listen_fd)
    listener.setblocking(False)

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = Server(uvicorn_config(worker_app(ctx)))
    loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
    # Ctrl-C reaches the whole process group: the daemon decides, and closes the feed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reporter = loop.create_task(ctx.report())
    serving = loop.create_task(server.serve(sockets=[listener]))
    gone = loop.create_task(ctx.gone.wait())
    await asyncio.wait({serving, gone}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    reporter.cancel()
    gone.cancel()
    await asyncio.gather(serving, reporter, gone, return_exceptions=True)
    log.debug("fan-out worker %d stopped", index)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="perpd.api.fanout", description="a WebSocket fan-out worker (started by perpd)")
    parser.add_argument("--feed-fd", type=int, required=True)
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    from perpd import logs

    logs.setup(args.log_level)
    try:
        import uvloop

        uvloop.run(run_worker(args.feed_fd, args.listen_fd, args.index))
    except ImportError:
        asyncio.run(run_worker(args.feed_fd, args.listen_fd, args.index))
    os._exit(0)  # nothing left to flush; skip interpreter teardown


if __name__ == "__main__":
    main()
