"""The emulator app: its state (`EdgexEmulator`), credentials, fault controls, the
routes (REST in rest.py, the WebSockets in ws.py) and `create_app`.

EdgeX's SDK cannot create API keys, so the emulator provisions them:

- at start, a demo account whose credentials derive from the seed (`perpd emulate
  edgex` logs them; `derive_credentials(seed, 0)` computes them), plus every
  `accounts=("ID:APIKEY:PASSPHRASE:SECRET:ADDRESS", ...)` given;
- at run time, `POST /_emulator/accounts` with an optional JSON body (`address` binds
  the trading address; `accountId`, `apiKey`, `passphrase`, `secret`, `balance` fix
  the rest) answers `accountId, apiKey, passphrase, secret, address` and, when it made
  the trading key itself, `tradingKey`. `GET /_emulator/accounts` lists them.

`POST /_emulator/faults` sets faults (`{"rate_limited": 2}`, `{"action": "drop_ws"}`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from perpd.clock import Clock, SystemClock
from venues.edgex.constants import PRIVATE_WS, PUBLIC_WS
from venues.edgex.emulator.auth import Credentials, EdgexError, Keyring, parse_account
from venues.edgex.emulator.exchange import EdgexExchange
from venues.edgex.emulator.hub import Hub
from venues.edgex.emulator.markets import DEFAULT_CONTRACTS, FUNDING_INTERVAL_MIN, ContractDef
from venues.edgex.emulator.rest import rest_routes
from venues.edgex.emulator.ws import private_ws, public_ws
from venues.simex.controls import faults_endpoint
from venues.simex.exchange import SimExchange
from venues.simex.lifespan import running, step_forever

DEFAULT_PORT = 8784
# The emulator's own create_app options a command line may set, for `perpd emulate --help`.
OPTIONS: dict[str, str] = {
    "accounts": "ID:APIKEY:PASSPHRASE:SECRET:ADDRESS[,...]: accounts with these credentials, funded at start "
                "(ADDRESS: the trading key's address that must sign their orders)",
    "demo_account": "false: no demo account (by default one derives from --seed and is logged at start)",
}
log = logging.getLogger("uvicorn.error")  # shown by `perpd emulate` at its default log level


class EdgexEmulator:
    """Everything behind one emulator app: engine, EdgeX semantics, keys, WS hub, faults."""

    def __init__(self, engine: SimExchange, contracts: Iterable[ContractDef], clock: Clock, *, seed: int,
                 step_ms: int, ping_interval_secs: float) -> None:
        self.clock = clock
        self.engine = engine
        self.keyring = Keyring(seed)
        self.exchange = EdgexExchange(engine, contracts, clock, self.keyring)
        self.hub = Hub(self.exchange)
        self.faults = self.exchange.faults
        self.step_ms = step_ms
        self.ping_interval_secs = ping_interval_secs
        self.demo: Credentials | None = None

    def step(self) -> None:
        """Bring the exchange up to the clock and send what that changed."""
        self.exchange.step()
        self.hub.flush()

    def provision(self, balance: Decimal | None = None, **given: Any) -> Credentials:
        """A new funded account with API credentials (see the module docstring)."""
        credentials = self.exchange.provision(balance, **given)
        self.hub.flush()
        return credentials

    def add_account(self, credentials: Credentials | str, balance: Decimal | None = None) -> Credentials:
        if isinstance(credentials, str):
            credentials = parse_account(credentials)
        self.exchange.add_account(credentials, balance)
        return credentials

    def drop_ws(self) -> int:
        return self.hub.drop_all()


# --------------------------------------------------------------------------- emulator-only routes


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def accounts(request: Request) -> Response:
    """`POST /_emulator/accounts` provisions one; `GET` lists every account's credentials."""
    emu: EdgexEmulator = request.app.state.emulator
    if request.method == "GET":
        return _json([c.as_json() for c in emu.keyring.by_account.values()])
    try:
        body = orjson.loads(await request.body() or b"{}")
        balance = Decimal(str(body.pop("balance"))) if "balance" in body else None
        given = {"account_id": body.get("accountId"), "api_key": body.get("apiKey"),
                 "passphrase": body.get("passphrase"), "secret": body.get("secret"), "address": body.get("address")}
        credentials = emu.provision(balance, **{k: v for k, v in given.items() if v})
    except (orjson.JSONDecodeError, AttributeError, InvalidOperation, ValueError) as exc:
        return _json({"error": f"bad request: {exc}"}, 400)
    except EdgexError as exc:
        return _json({"error": exc.msg}, 400)
    return _json(credentials.as_json())


# `POST /_emulator/faults` {"rate_limited": 2} / {"action": "drop_ws"}.
faults = faults_endpoint(lambda request: request.app.state.emulator)


def routes() -> list[Any]:
    return [
        *rest_routes(),
        Route("/_emulator/accounts", accounts, methods=["GET", "POST"]),
        Route("/_emulator/faults", faults, methods=["POST"]),
        WebSocketRoute(PUBLIC_WS, public_ws),
        WebSocketRoute(PRIVATE_WS, private_ws),
    ]


# --------------------------------------------------------------------------- the app


def create_app(
    *,
    seed: int = 7,
    starting_balance: Decimal = Decimal(100_000),
    clock: Clock | None = None,
    contracts: tuple[ContractDef, ...] = DEFAULT_CONTRACTS,
    accounts: str | Iterable[str | Credentials] = (),
    demo_account: bool | str = True,
    step_ms: int = 250,
    ping_interval_secs: float = 20.0,
    makers: bool = True,
    takers: bool = True,
    background: bool = True,
    **engine_opts: Any,
) -> Starlette:
    """An EdgeX emulator over one sim exchange; `app.state.emulator` is its EdgexEmulator.

    `demo_account`: provision the seed's demo account at once (`derive_credentials(seed,
    0)`); `accounts`: more accounts as `ID:APIKEY:PASSPHRASE:SECRET:ADDRESS` (a list, or
    one string with commas between accounts, as a command line gives it).
    `background`: step the engine every `step_ms` while served (market data keeps
    moving); requests always bring it up to the clock first, so a ManualClock works too.
    """
    clock = clock or SystemClock()
    engine_opts.setdefault("funding_interval_secs", FUNDING_INTERVAL_MIN * 60)
    engine = SimExchange(
        [c.spec() for c in contracts], clock=clock, seed=seed, starting_balance=starting_balance,
        step_ms=step_ms, makers=makers, takers=takers, **engine_opts,
    )
    emulator = EdgexEmulator(engine, contracts, clock, seed=seed, step_ms=step_ms,
                             ping_interval_secs=ping_interval_secs)
    if demo_account not in (False, "false", "0", "no"):
        emulator.demo = emulator.provision()
    for account in accounts.split(",") if isinstance(accounts, str) else accounts:
        if account:
            emulator.add_account(account)

    def announce_demo() -> None:
        if emulator.demo is not None:
            demo = emulator.demo
            log.info("edgex emulator demo account (seed %s): accountId=%s apiKey=%s passphrase=%s secret=%s "
                     "tradingKey=%s address=%s", seed, demo.account_id, demo.api_key, demo.passphrase, demo.secret,
                     demo.trading_key, demo.address)

    stepping = (lambda: step_forever(emulator.step, emulator.step_ms / 1000),) if background else ()
    lifespan = running(*stepping, on_start=announce_demo, on_stop=emulator.drop_ws)
    app = Starlette(routes=routes(), lifespan=lifespan)
    app.state.emulator = emulator
    return app

