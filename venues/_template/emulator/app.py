"""The emulator app: its state (one sim exchange, the venue's semantics, faults), the
routes (REST in rest.py, the WebSocket in ws.py) and `create_app`.

Must: build the app with `create_app(*, seed=7, starting_balance=..., clock=None,
**options) -> Starlette`, keep the emulator on `app.state.emulator`, and step the
exchange in the background while served (requests also bring it up to the clock
first, so a ManualClock works in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from perpd.clock import Clock, SystemClock
from venues._template.emulator.exchange import TemplateExchange
from venues._template.emulator.rest import rest_routes
from venues._template.emulator.ws import Hub, stream
from venues.simex.controls import faults_endpoint
from venues.simex.exchange import SimExchange
from venues.simex.lifespan import running, step_forever

DEFAULT_PORT = 8790  # pick one free among the emulators (8781 Hyperliquid, 8782 Lighter)


@dataclass
class Faults:
    """What the emulator should do wrong next (tests set these)."""

    rate_limited: int = 0  # answer the next N requests as throttled


class TemplateEmulator:
    """Everything behind one emulator app."""

    def __init__(self, exchange: SimExchange, clock: Clock, step_interval_secs: float) -> None:
        self.clock = clock
        self.engine = exchange
        self.exchange = TemplateExchange(exchange)
        self.faults = Faults()
        self.hub = Hub()  # fed by the exchange's listeners, as the venues' hubs are
        self.step_interval_secs = step_interval_secs

    def step(self) -> None:
        self.engine.step()

    def drop_ws(self) -> int:
        return self.hub.drop_all()


def create_app(
    *,
    seed: int = 7,
    starting_balance: Decimal = Decimal(100_000),
    clock: Clock | None = None,
    step_interval_secs: float = 0.25,
    **exchange_options: Any,
) -> Starlette:
    """The emulator as a Starlette app; its state is `app.state.emulator`."""
    clock = clock or SystemClock()
    emulator = TemplateEmulator(
        SimExchange(clock=clock, seed=seed, starting_balance=starting_balance, **exchange_options),
        clock,
        step_interval_secs,
    )

    # Step while served, and drop the sockets on the way out (venues/simex/lifespan.py).
    lifespan = running(lambda: step_forever(emulator.step, emulator.step_interval_secs), on_stop=emulator.drop_ws)
    # Tests set faults over HTTP too (venues/simex/controls.py; a venue adds its own actions).
    faults = faults_endpoint(lambda request: request.app.state.emulator)
    routes = [*rest_routes(), Route("/_emulator/faults", faults, methods=["POST"]), WebSocketRoute("/ws", stream)]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = emulator
    return app
