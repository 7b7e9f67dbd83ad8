"""The emulator app: its state (`LighterEmulator`), fault controls, the routes (REST in
rest.py, `/stream` in ws.py) and `create_app`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from perpd.clock import Clock, SystemClock
from venues.lighter.emulator import seeding
from venues.lighter.emulator.exchange import LighterExchange
from venues.lighter.emulator.hub import Hub
from venues.lighter.emulator.keys import KeyRing
from venues.lighter.emulator.markets import DEFAULT_MARKETS, MarketDef
from venues.lighter.emulator.rest import rest_routes
from venues.lighter.emulator.ws import stream
from venues.simex import faults as random_faults
from venues.simex.controls import faults_endpoint
from venues.simex.exchange import SimExchange
from venues.simex.faults import FaultRates
from venues.simex.lifespan import running, step_forever

DEFAULT_PORT = 8782
OPTIONS: dict[str, str] = {**seeding.OPTIONS, **random_faults.OPTIONS}


class LighterEmulator:
    """Everything behind one emulator app: engine, exchange semantics, WS hub, faults."""

    def __init__(self, engine: SimExchange, markets: tuple[MarketDef, ...], clock: Clock, step_ms: int,
                 keyring: KeyRing | None = None, rates: FaultRates | None = None) -> None:
        self.clock = clock
        self.engine = engine
        self.keyring = keyring or KeyRing()
        self.exchange = LighterExchange(engine, markets, clock, self.keyring)
        self.hub = Hub(self.exchange)
        self.faults = self.exchange.faults
        self.rates = rates or FaultRates()
        self.step_ms = step_ms
        self.ws_ping_secs = 60.0  # a quiet /stream gets the server's {"type": "ping"} this often

    def drop_ws(self) -> int:
        return self.hub.drop_all()

    def step(self) -> None:
        """Bring the exchange up to the clock, and the hub's height and tickers with it."""
        self.exchange.step()
        self.hub.tick()

    def desync_nonce(self, account_index: int, api_key_index: int, by: int = 1) -> None:
        self.exchange.desync_nonce(account_index, api_key_index, by)


# --------------------------------------------------------------------------- faults


def _desync_nonce(emu: LighterEmulator, body: dict[str, Any]) -> None:
    emu.desync_nonce(int(body.pop("account_index")), int(body.pop("api_key_index")), int(body.pop("by", 1)))


# `POST /_emulator/faults` {"rate_limited": 2} / {"action": "drop_ws"} /
# {"action": "desync_nonce", "account_index": 1, "api_key_index": 3}.
faults = faults_endpoint(lambda request: request.app.state.lighter, {"desync_nonce": _desync_nonce})


# --------------------------------------------------------------------------- the app


async def not_found(request: Request, exc: Exception) -> Response:
    """A path Lighter does not serve: what its Go HTTP server answers."""
    return Response("404 page not found\n", status_code=404, media_type="text/plain")


def routes() -> list[Any]:
    return [
        *rest_routes(),
        Route("/_emulator/faults", faults, methods=["POST"]),
        WebSocketRoute("/stream", stream),
    ]


def create_app(
    *,
    seed: int = 7,
    starting_balance: Decimal = Decimal(100_000),
    clock: Clock | None = None,
    markets: tuple[MarketDef, ...] = DEFAULT_MARKETS,
    step_ms: int = 250,
    makers: bool = True,
    takers: bool = True,
    background: bool = True,
    accounts: str | Any = (),
    api_keys: str | Any = (),
    demo_account: bool | str = True,
    chain_ids: str | tuple[int, ...] = (304, 300),
    ws_ping_secs: float = 60.0,
    **options: Any,
) -> Starlette:
    """A Lighter emulator over one sim exchange; `app.state.lighter` is its LighterEmulator.

    `background`: step the engine every `step_ms` while served (market data keeps moving);
    requests always bring the engine up to the clock first, so a ManualClock works too.
    Seeding (`accounts`, `api_keys`, `demo_account`, `chain_ids`: seeding.py) and random
    faults (`latency_ms`, `rate_limit_rate`, `error_rate`, `drop_rate`, `drop_secs`:
    venues/simex/faults.py) take command-line strings too; any other option is the sim
    exchange's.
    """
    clock = clock or SystemClock()
    rates = FaultRates.pop_from(options, seed)
    engine = SimExchange(
        [m.spec() for m in markets], clock=clock, seed=seed, starting_balance=starting_balance,
        step_ms=step_ms, makers=makers, takers=takers, **options,
    )
    keyring = KeyRing(seeding.chain_ids(chain_ids))
    emulator = LighterEmulator(engine, markets, clock, step_ms, keyring, rates)
    emulator.ws_ping_secs = ws_ping_secs
    seeding.seed(emulator.exchange, accounts=accounts, api_keys=api_keys, demo=seeding.flag(demo_account, "demo_account"))

    stepping = (lambda: step_forever(emulator.step, emulator.step_ms / 1000),) if background else ()
    lifespan = running(*stepping, on_stop=emulator.drop_ws)
    app = Starlette(routes=routes(), lifespan=lifespan, exception_handlers={404: not_found})
    app.state.lighter = emulator
    return app

