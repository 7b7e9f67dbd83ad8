"""The emulator app: its state (`ExtendedEmulator`), fault controls, the routes (REST in
rest.py, the streams in ws.py) and `create_app`.

A demo account is registered at start so a config can trade at once: API key and Stark
private key from `EXTENDED_EMULATOR_API_KEY` / `EXTENDED_EMULATOR_STARK_KEY` when set
(the variables configs/extended-emulator.toml reads), else the built-in throwaway
values below. Any other account is made by onboarding, exactly as on Extended.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from perpd.clock import Clock, SystemClock
from venues.extended.emulator.exchange import ExtendedExchange
from venues.extended.emulator.hub import Hub
from venues.extended.emulator.markets import DEFAULT_MARKETS, MarketDef
from venues.extended.emulator.rest import rest_routes
from venues.extended.emulator.ws import ws_routes
from venues.extended.signing import public_key_of
from venues.simex.controls import faults_endpoint
from venues.simex.exchange import SimExchange
from venues.simex.lifespan import running, step_forever

DEFAULT_PORT = 8783
SIGNING_DOMAINS = {"SN_SEPOLIA": "starknet.sepolia.extended.exchange", "SN_MAIN": "extended.exchange"}
# The demo account: throwaway credentials, valid on this emulator only.
DEMO_API_KEY = "emulator-demo-api-key-0000000001"
DEMO_STARK_KEY = "0xd31d5cc4fd48edc09528b02760ab73580a12c4372fe33673f53ae1ca5a99bd"
DEMO_ACCOUNT_ID = 3001
DEMO_VAULT = 10001


@dataclass
class Faults:
    """Fault injection for tests (also settable over `POST /_emulator/faults`)."""

    rate_limited: int = 0  # the next N REST requests are answered 429
    server_errors: int = 0  # the next N REST requests are answered 503
    accept_then_timeout: int = 0  # the next N orders are applied, then answered late
    timeout_secs: float = 30.0


class ExtendedEmulator:
    """Everything behind one emulator app: engine, Extended's rules, streams, faults."""

    def __init__(self, engine: SimExchange, markets: tuple[MarketDef, ...], clock: Clock, *, chain_id: str,
                 signing_domain: str, step_ms: int) -> None:
        self.clock = clock
        self.engine = engine
        self.exchange = ExtendedExchange(engine, markets, clock, chain_id=chain_id)
        self.hub = Hub(self.exchange)
        self.faults = Faults()
        self.chain_id = chain_id
        self.signing_domain = signing_domain
        self.step_ms = step_ms

    def drop_ws(self) -> int:
        return self.hub.drop_all()


def _drop_book_deltas(emu: ExtendedEmulator, count: Any) -> None:
    emu.hub.drop_book_deltas = int(count)


# `POST /_emulator/faults` {"rate_limited": 2} / {"action": "drop_ws"} / {"drop_book_deltas": 1}.
faults = faults_endpoint(lambda request: request.app.state.emulator, settings={"drop_book_deltas": _drop_book_deltas})


def routes() -> list[BaseRoute]:
    return [*rest_routes(), *ws_routes(), Route("/_emulator/faults", faults, methods=["POST"])]


def create_app(
    *,
    seed: int = 7,
    starting_balance: Decimal = Decimal(100_000),
    clock: Clock | None = None,
    markets: tuple[MarketDef, ...] = DEFAULT_MARKETS,
    chain_id: str = "SN_SEPOLIA",
    signing_domain: str | None = None,
    demo_account: bool = True,
    step_ms: int = 250,
    makers: bool = True,
    takers: bool = True,
    background: bool = True,
    **engine_opts: Any,
) -> Starlette:
    """An Extended emulator over one sim exchange; `app.state.emulator` is its ExtendedEmulator.

    `chain_id` is the StarknetDomain chain id orders must be hashed with (SN_SEPOLIA, as
    the SDK's TESTNET_CONFIG; SN_MAIN as MAINNET_CONFIG); `signing_domain` the EIP-712
    domain of onboarding (default: the chain's). `background`: step the engine every
    `step_ms` while served; requests also bring it up to the clock, so a ManualClock works.
    """
    if chain_id not in SIGNING_DOMAINS:
        raise ValueError(f"chain_id must be one of {sorted(SIGNING_DOMAINS)} (got {chain_id!r})")
    clock = clock or SystemClock()
    engine = SimExchange(
        [m.spec() for m in markets], clock=clock, seed=seed, starting_balance=starting_balance,
        step_ms=step_ms, makers=makers, takers=takers, **engine_opts,
    )
    emulator = ExtendedEmulator(engine, markets, clock, chain_id=chain_id,
                                signing_domain=signing_domain or SIGNING_DOMAINS[chain_id], step_ms=step_ms)
    if demo_account:
        stark_key = os.environ.get("EXTENDED_EMULATOR_STARK_KEY") or DEMO_STARK_KEY
        api_key = os.environ.get("EXTENDED_EMULATOR_API_KEY") or DEMO_API_KEY
        emulator.exchange.register(public_key_of(int(stark_key, 16)), api_key, description="Demo account",
                                   account_id=DEMO_ACCOUNT_ID, vault=DEMO_VAULT)

    stepping = (lambda: step_forever(emulator.exchange.step, emulator.step_ms / 1000),) if background else ()
    lifespan = running(*stepping, on_stop=emulator.drop_ws)
    app = Starlette(routes=routes(), lifespan=lifespan)
    app.state.emulator = emulator
    return app

