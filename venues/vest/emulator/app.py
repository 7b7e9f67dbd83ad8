"""The emulator app: its state (`VestEmulator`), fault controls, the routes (REST in
rest.py, the WebSocket in ws.py) and `create_app`.

Two background tasks run while it is served: one steps the sim exchange every `step_ms`
(the market moves, waiting orders fire), one decides accepted orders as they arrive
(`processing_delay_ms` later, 0 by default: Vest answers `POST /orders` before it
decides). Requests also bring the exchange up to the clock first, so a ManualClock works.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from perpd.clock import Clock, SystemClock
from venues.simex.controls import faults_endpoint
from venues.simex.exchange import SimExchange
from venues.simex.lifespan import running
from venues.vest.emulator.exchange import VestExchange
from venues.vest.emulator.hub import Hub
from venues.vest.emulator.markets import DEFAULT_MARKETS, MarketDef
from venues.vest.emulator.rest import rest_routes
from venues.vest.emulator.ws import stream
from venues.vest.errors import INVALID_PARAMETER

DEFAULT_PORT = 8785


@dataclass
class Faults:
    """What the emulator should do wrong next (tests set these, or POST /_emulator/faults)."""

    rate_limited: int = 0  # answer the next N requests 429 {"code": 429, "msg": "Rate limited"}
    server_errors: int = 0  # answer the next N requests 500
    accept_then_timeout: int = 0  # apply the next N writes, then answer after timeout_secs
    timeout_secs: float = 30.0


class VestEmulator:
    """Everything behind one emulator app: engine, Vest's semantics, WS hub, faults."""

    def __init__(self, engine: SimExchange, markets: tuple[MarketDef, ...], clock: Clock, *, step_ms: int,
                 seed: int, groups: int, processing_delay_ms: int) -> None:
        self.clock = clock
        self.engine = engine
        self.exchange = VestExchange(engine, markets, clock, seed=seed, groups=groups)
        self.hub = Hub(self.exchange)
        self.faults = Faults()
        self.step_ms = step_ms
        self.processing_delay_ms = processing_delay_ms
        self._work: asyncio.Event | None = None

    def wake(self) -> None:
        """Orders were accepted: let the processor decide them."""
        if self._work is not None:
            self._work.set()

    def hold_orders(self, hold: bool = True) -> None:
        """Fault: keep accepted orders undecided (NEW, unannounced) until released."""
        self.exchange.desk.hold = hold
        if not hold:
            self.wake()

    def drop_ws(self) -> int:
        return self.hub.drop_all()

    def process(self) -> None:
        self.exchange.desk.process()

    async def run_processor(self) -> None:
        self._work = asyncio.Event()
        while True:
            await self._work.wait()
            self._work.clear()
            if self.processing_delay_ms:
                await asyncio.sleep(self.processing_delay_ms / 1000)
            self.exchange.step()
            self.process()

    async def run_stepper(self) -> None:
        while True:
            await asyncio.sleep(self.step_ms / 1000)
            self.exchange.step()
            self.process()


# `POST /_emulator/faults` {"rate_limited": 2} / {"action": "drop_ws"} / {"action": "hold_orders"}.
faults = faults_endpoint(
    lambda request: request.app.state.vest,
    {"hold_orders": lambda emu, body: emu.hold_orders(True),
     "release_orders": lambda emu, body: emu.hold_orders(False)},
    refusal=lambda name: {"code": INVALID_PARAMETER, "msg": f"unknown fault {name!r}"},
)


def routes() -> list[Any]:
    return [
        *rest_routes(),
        Route("/_emulator/faults", faults, methods=["POST"]),
        WebSocketRoute("/ws-api", stream),
        WebSocketRoute("/ws", stream),  # the newer endpoint a 2026 client uses
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
    groups: int = 4,
    processing_delay_ms: int = 0,
    **engine_opts: Any,
) -> Starlette:
    """A Vest emulator over one sim exchange; `app.state.vest` is its VestEmulator.

    `groups`: how many account groups (`restserver{g}`) accounts are spread over.
    """
    clock = clock or SystemClock()
    engine_opts.setdefault("default_leverage", min(m.max_leverage for m in markets))
    engine = SimExchange(
        [m.spec() for m in markets], clock=clock, seed=seed, starting_balance=starting_balance,
        step_ms=step_ms, makers=makers, takers=takers, **engine_opts,
    )
    emulator = VestEmulator(engine, markets, clock, step_ms=step_ms, seed=seed, groups=groups,
                            processing_delay_ms=processing_delay_ms)

    lifespan = running(emulator.run_processor, emulator.run_stepper, on_stop=emulator.drop_ws)
    app = Starlette(routes=routes(), lifespan=lifespan)
    app.state.vest = app.state.emulator = emulator
    return app
