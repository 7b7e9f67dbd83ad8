"""Who is calling: bearer tokens with scopes, a per-token rate limit, Host and Origin checks.

Tokens come from `[[api.tokens]]`; their secrets are references resolved through the
daemon's secret resolver, re-resolved when the config changes, and compared in constant
time. Scopes nest: `admin` can do what `trade` can, and `trade` what `read` can.

The Unix socket needs no token (it is 0600 in a 0700 directory): `server.serve` marks
its connections with `LOCAL_KEY` in the ASGI scope, which no TCP client can set.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from perpd.api.errors import Forbidden, TooManyRequests, Unauthorized
from perpd.clock import Clock, SystemClock
from perpd.errors import PerpdError
from perpd.ratelimit import TokenBucket

if TYPE_CHECKING:
    from perpd.config import ApiConfig
    from perpd.daemon import Daemon

log = logging.getLogger("perpd.api")

Scope = Literal["read", "trade", "admin"]
LOCAL_KEY = "perpd.local"  # ASGI scope key set on Unix-socket connections only
IMPLIES: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "trade": frozenset({"read", "trade"}),
    "admin": frozenset({"read", "trade", "admin"}),
}
ALL_SCOPES = IMPLIES["admin"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a token's name (never its secret) and what it may do."""

    name: str
    scopes: frozenset[str]
    local: bool = False

    def require(self, scope: str | None) -> None:
        if scope is not None and scope not in self.scopes:
            raise Forbidden(f"token {self.name!r} lacks the {scope!r} scope", details={"needed": scope})


LOCAL = Principal("local", ALL_SCOPES, local=True)


def api_bucket(rate: float, clock: Clock) -> TokenBucket:
    """`rate` requests a second with a burst of one second's worth (at least 1)."""
    return TokenBucket(rate, max(1, math.ceil(rate)), clock)


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """A usable token: its name, what it may do, and the SHA-256 of its secret (what is
    compared, and all a fan-out worker process is ever given)."""

    name: str
    digest: bytes
    scopes: frozenset[str]


class TokenAuth:
    """Bearer-token authentication against a list of `TokenEntry`, with a rate limit per
    token. `tokens()` and `requests_per_sec()` say what the list and the rate are now."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.buckets: dict[str, TokenBucket] = {}

    def tokens(self) -> list[TokenEntry]:
        raise NotImplementedError

    def requests_per_sec(self) -> float:
        raise NotImplementedError

    def _keep_buckets(self, names: set[str], rate: float) -> None:
        """After the tokens changed: drop buckets of removed tokens, rebuild re-rated ones."""
        self.buckets = {n: b if b.rate == rate else api_bucket(rate, self.clock) for n, b in self.buckets.items() if n in names}

    def authenticate(self, headers: Iterable[tuple[bytes, bytes]], *, local: bool, subprotocols: Iterable[str] = ()) -> Principal:
        """The principal for a request, from `Authorization: Bearer` (or a WS subprotocol)."""
        if local:
            return LOCAL
        presented = _bearer(headers) or _from_subprotocols(subprotocols)
        if presented is None:
            raise Unauthorized("missing bearer token (Authorization: Bearer TOKEN)")
        tokens = self.tokens()
        if not tokens:
            raise Unauthorized("no API tokens are configured ([[api.tokens]]); use the Unix socket")
        candidate = hashlib.sha256(presented.encode()).digest()
        found: TokenEntry | None = None
        for token in tokens:
            # Compare against every token so timing says nothing about which one matched.
            if hmac.compare_digest(candidate, token.digest) and found is None:
                found = token
        if found is None:
            raise Unauthorized("invalid bearer token")
        bucket = self.buckets.get(found.name)
        if bucket is None:
            bucket = self.buckets[found.name] = api_bucket(self.requests_per_sec(), self.clock)
        wait = bucket.take()
        if wait:
            raise TooManyRequests(f"token {found.name!r} is over its rate limit", retry_after_secs=wait)
        return Principal(found.name, found.scopes)


class Auth(TokenAuth):
    """Authenticates requests against the running config's tokens."""

    def __init__(self, daemon: Daemon, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.daemon = daemon
        self._api: ApiConfig | None = None
        self._tokens: list[TokenEntry] = []

    def tokens(self) -> list[TokenEntry]:
        api = self.daemon.config.api
        if api is not self._api:
            self._resolve(api)
        return self._tokens

    def requests_per_sec(self) -> float:
        return self.daemon.config.api.requests_per_sec

    def _resolve(self, api: ApiConfig) -> None:
        resolver = self.daemon.engine.secrets if self.daemon.engine is not None else None
        tokens = []
        for token in api.tokens:
            try:
                secret = resolver(token.secret).get_secret_value() if resolver else ""
            except PerpdError as exc:
                # Name the token and the reference kind only, never a value.
                log.warning("api token %s unusable: %s", token.name, exc.message)
                continue
            if not secret:
                log.warning("api token %s has an empty secret; ignored", token.name)
                continue
            scopes = frozenset().union(*(IMPLIES[s] for s in token.scopes))
            tokens.append(TokenEntry(token.name, hashlib.sha256(secret.encode()).digest(), scopes))
        self._tokens = tokens
        self._api = api
        self._keep_buckets({t.name for t in tokens}, api.requests_per_sec)


SUBPROTOCOL = "perpd.v1"
_BEARER_PROTOCOL = "perpd.bearer."


def _bearer(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def _from_subprotocols(protocols: Iterable[str]) -> str | None:
    """Browsers cannot set headers on a WebSocket: they may offer `perpd.bearer.TOKEN`."""
    for protocol in protocols:
        if protocol.startswith(_BEARER_PROTOCOL):
            return protocol[len(_BEARER_PROTOCOL):]
    return None


# --------------------------------------------------------------------------- Host / Origin


def host_allowed(headers: Iterable[tuple[bytes, bytes]], allowed: Iterable[str]) -> bool:
    """True if the Host header names an allowed host (a DNS-rebinding guard)."""
    host = next((v.decode("latin-1") for k, v in headers if k == b"host"), None)
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name.startswith("[") and "]" in name:
        name = name[: name.index("]") + 1]
    return name.lower() in {a.lower() for a in allowed} or "*" in allowed


def origin_allowed(headers: Iterable[tuple[bytes, bytes]], allowed: Iterable[str]) -> bool:
    """A request carrying an Origin (a browser) must come from an allowed origin, or from
    the daemon's own (`http://` + the Host it was addressed to: a page it served).

    Clients that send no Origin (scripts, perpctl, Prometheus) are not browsers and pass;
    browsers send one on every cross-origin request and WebSocket, so a hostile page can
    neither call the API nor open a socket to the daemon.
    """
    origin = host = None
    for key, value in headers:
        if key == b"origin":
            origin = value.decode("latin-1").strip().rstrip("/").lower()
        elif key == b"host":
            host = value.decode("latin-1").strip().lower()
    if origin is None:
        return True
    return origin in {a.rstrip("/").lower() for a in allowed} or (host is not None and origin == f"http://{host}")
