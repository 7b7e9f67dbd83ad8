"""The emulator app: its state (`HyperliquidEmulator`: one sim exchange, users and
agents, nonces, faults, TP/SL groups, the dead man's switch), the `/info` and
`/exchange` routes, and `create_app`.

Fault injection for tests lives on `HyperliquidEmulator.faults` (`app.state.emulator`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anyio
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from perpd.clock import Clock, SystemClock
from venues.hyperliquid.emulator import exchange, info, shapes
from venues.hyperliquid.emulator.twap import Twaps
from venues.hyperliquid.emulator.ws import WsHub
from venues.simex.events import OrderEvent, OrderView
from venues.simex import faults as random_faults
from venues.simex.exchange import SimExchange
from venues.simex.faults import CutOffAnswer, FaultRates
from venues.simex.markets import MarketSpec, default_specs

log = logging.getLogger(__name__)

DEFAULT_PORT = 8781
DESERIALIZE = "Failed to deserialize the JSON body into the target type"
DAY_MS = 86_400_000
HISTORY_LIMIT = 2000  # historicalOrders: the venue returns at most the 2000 most recent


@dataclass
class Faults:
    """What the emulator should do wrong next (tests set these)."""

    http_statuses: list[tuple[str, int]] = field(default_factory=list)  # (path, status) answered next
    accept_then_delay_secs: list[float] = field(default_factory=list)  # /exchange: apply, then stall
    position_lag_secs: float = 0.0  # clearinghouseState shows the account as it was this long ago

    def fail_next(self, status: int, *, path: str = "/exchange", count: int = 1) -> None:
        """Answer the next `count` requests on `path` with `status`, doing nothing."""
        self.http_statuses.extend([(path, status)] * count)

    def accept_then_delay(self, secs: float, *, count: int = 1) -> None:
        """Apply the next `count` /exchange actions, then wait `secs` before answering."""
        self.accept_then_delay_secs.extend([secs] * count)

    def take_status(self, path: str) -> int | None:
        for i, (p, status) in enumerate(self.http_statuses):
            if p == path:
                del self.http_statuses[i]
                return status
        return None


class HyperliquidEmulator:
    """The emulator's state: one engine, its users and agents, nonces, faults, streams."""

    def __init__(
        self,
        *,
        seed: int = 7,
        starting_balance: Decimal = Decimal(100_000),
        clock: Clock | None = None,
        mainnet: bool = False,
        agents: dict[str, str] | None = None,
        markets: Iterable[MarketSpec] | None = None,
        step_interval_secs: float = 0.25,
        ws_idle_secs: float = 60.0,
        **engine_options: Any,
    ) -> None:
        self.clock = clock or SystemClock()
        specs = list(markets) if markets is not None else default_specs()
        self.engine = SimExchange(specs, clock=self.clock, seed=seed, starting_balance=starting_balance, **engine_options)
        self.mainnet = mainnet
        self.step_interval_secs = step_interval_secs
        self.ws_idle_secs = ws_idle_secs
        self.coins = [spec.base for spec in specs]  # asset id -> coin
        self.symbol_coin = {spec.symbol: spec.base for spec in specs}
        self.coin_symbol = {coin: symbol for symbol, coin in self.symbol_coin.items()}
        self.sz_decimals = {spec.symbol: -int(spec.lot_size.normalize().as_tuple().exponent) for spec in specs}
        self.max_leverage = {spec.symbol: spec.max_leverage for spec in specs}
        self.users: set[str] = set()
        self.created_ms: dict[str, int] = {}  # user -> when it was "deposited" (first use)
        self.agents: dict[str, str] = {}  # agent address -> user address
        self.agent_names: dict[str, tuple[str, int | None]] = {}  # agent -> (name, valid until ms)
        self.builder_fees: dict[tuple[str, str], int] = {}  # (user, builder) -> max fee, tenths of a bp
        self.nonces = exchange.NonceBook()
        self.faults = Faults()
        self.rates = FaultRates()
        self.action_counts: dict[str, int] = {}
        self._dms_armed: dict[str, int] = {}  # account -> when its switch fires
        self._dms_fired: dict[str, list[int]] = {}  # account -> times its switch fired
        self.received: deque[dict[str, Any]] = deque(maxlen=200)  # last /exchange bodies (tests)
        self.history: dict[str, OrderedDict[int, OrderView]] = {}  # account -> latest views (historicalOrders)
        self._children: dict[tuple[str, int], list[dict[str, Any]]] = {}  # parent -> TP/SL wires
        self._deferred: list[tuple[str, int]] = []
        self.hub = WsHub(self)
        self.twaps = Twaps(self.engine)
        self.twaps.listeners.append(self.hub.on_twap_fills)
        self._states: dict[str, deque[tuple[int, Any]]] = {}  # user -> clearinghouseState answers
        for agent, user in (agents or {}).items():
            self.ensure_user(user.lower())
            self.agents[agent.lower()] = user.lower()  # pre-approved: none replaces another
        self.engine.subscribe(self._on_event)

    # ------------------------------------------------------------------ identities

    def now_ms(self) -> int:
        return max(self.clock.now_ms(), self.engine.now_ms)

    def lagged_state(self, user: str, state: Any) -> Any:
        """`state` as `faults.position_lag_secs` ago: the newest answer at least that old
        (or the oldest kept), as a venue whose account view trails its fills."""
        lag_ms = int(self.faults.position_lag_secs * 1000)
        if not lag_ms:
            return state
        now = self.now_ms()
        kept = self._states.setdefault(user, deque())
        kept.append((now, state))
        while len(kept) > 1 and kept[1][0] <= now - lag_ms:
            kept.popleft()
        return kept[0][1]

    def ensure_user(self, address: str) -> None:
        """Create the account on first use, funded with the starting balance."""
        address = address.lower()
        if address not in self.users:
            self.users.add(address)
            self.created_ms[address] = self.now_ms()
            self.engine.ensure_account(address)

    def approve_agent(self, agent: str, user: str, name: str = "") -> None:
        """Approve `agent` for `user`; an unnamed one (or one of the same name) replaces the
        user's previous one, as on the venue. `name` may end in " valid_until <ms>"."""
        agent, user = agent.lower(), user.lower()
        base, _, until = name.partition(" valid_until ")
        for other, owner in list(self.agents.items()):
            if owner == user and self.agent_names.get(other, ("", None))[0] == base and other != agent:
                del self.agents[other]
                self.agent_names.pop(other, None)
        self.agents[agent] = user
        self.agent_names[agent] = (base, int(until) if until.isdigit() else None)

    def user_of_signer(self, signer: str) -> str | None:
        signer = signer.lower()
        return self.agents.get(signer) or (signer if signer in self.users else None)

    def count_action(self, account: str, n: int) -> None:
        self.action_counts[account] = self.action_counts.get(account, 0) + n

    # ------------------------------------------------------------------ markets

    def asset_symbol(self, asset: int) -> tuple[str, int]:
        """(unified symbol, szDecimals) of an asset id; KeyError if unknown."""
        if not 0 <= asset < len(self.coins):
            raise KeyError(asset)
        symbol = self.coin_symbol[self.coins[asset]]
        return symbol, self.sz_decimals[symbol]

    def symbol_of_coin(self, coin: str) -> str:
        return self.coin_symbol[coin]

    def bbo_text(self, symbol: str) -> str:
        book = self.engine.book(symbol, 1)
        bid = shapes.num(book.bids[0][0]) if book.bids else "None"
        ask = shapes.num(book.asks[0][0]) if book.asks else "None"
        return f"({bid}, {ask})"

    # ------------------------------------------------------------------ TP/SL groups and the switch

    def place_with_children(self, account: str, parent: dict[str, Any], children: list[dict[str, Any]]) -> list[Any]:
        """normalTpsl: children are placed once the parent has filled."""
        status, view = exchange.place_one(self, account, parent)
        if view is None or "error" in status:
            return [status] + [{"error": "Parent order was not placed."}] * len(children)
        if view.status.value == "filled":
            return [status] + [self._place_child(account, c) for c in children]
        self._children[(account, view.oid)] = children
        return [status] + ["waitingForFill"] * len(children)

    def _place_child(self, account: str, child: dict[str, Any]) -> Any:
        status, _ = exchange.place_one(self, account, child)
        return status if "error" in status else "waitingForTrigger"

    def arm_switch(self, account: str, when_ms: int | None) -> None:
        """scheduleCancel: the engine cancels at `when_ms`; we count the firings."""
        self.engine.cancel_all_after(account, when_ms)
        if when_ms is None:
            self._dms_armed.pop(account, None)
        else:
            self._dms_armed[account] = when_ms

    def schedule_triggers_today(self, account: str) -> int:
        today = self.now_ms() // DAY_MS
        return sum(1 for t in self._dms_fired.get(account, ()) if t // DAY_MS == today)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, OrderEvent):
            order = event.order
            history = self.history.setdefault(event.account, OrderedDict())
            history.pop(order.oid, None)
            history[order.oid] = order
            if len(history) > HISTORY_LIMIT:
                history.popitem(last=False)
            key = (event.account, order.oid)
            if key in self._children and not order.status.is_live:
                if order.status.value == "filled":
                    self._deferred.append(key)
                else:
                    del self._children[key]
        self.hub.on_event(event)

    def settle(self) -> None:
        """After each request or step: place TP/SL children of filled parents, then push
        the coalesced WS updates (full books, mids, asset contexts)."""
        now = self.engine.now_ms
        for account, when in list(self._dms_armed.items()):
            if when <= now:  # fired (with or without orders to cancel): one of 10 a day
                del self._dms_armed[account]
                self._dms_fired.setdefault(account, []).append(when)
        while self._deferred:
            account, oid = self._deferred.pop(0)
            for child in self._children.pop((account, oid), []):
                self._place_child(account, child)
        self.twaps.step(now)
        self.hub.flush()

    def step(self) -> None:
        self.engine.step()
        self.settle()


# --------------------------------------------------------------------------- HTTP


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def _body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None


async def _refusal(emu: HyperliquidEmulator, path: str) -> Response | None:
    """Injected faults before a request is served: latency, then a refusal (nothing done)."""
    if emu.rates.latency_ms:
        await anyio.sleep(emu.rates.latency_secs)
    status = emu.faults.take_status(path)
    if status is None:
        status = emu.rates.roll_refusal()
    if status is None:
        return None
    return PlainTextResponse("" if status != 500 else "null", status_code=status)


async def post_info(request: Request) -> Response:
    emu: HyperliquidEmulator = request.app.state.emulator
    if (refused := await _refusal(emu, "/info")) is not None:
        return refused
    body = await _body(request)
    try:
        return _json(info.answer(emu, body))
    except info.Malformed:
        return PlainTextResponse(DESERIALIZE, status_code=422)
    except info.Unknown:
        return _json(None, 500)  # what the venue answers for a request it cannot serve


async def post_exchange(request: Request) -> Response:
    emu: HyperliquidEmulator = request.app.state.emulator
    if (refused := await _refusal(emu, "/exchange")) is not None:
        return refused
    body = await _body(request)
    try:
        answer = exchange.answer(emu, body)
    except exchange.Malformed:
        return PlainTextResponse(DESERIALIZE, status_code=422)
    finally:
        emu.settle()
    if emu.faults.accept_then_delay_secs:
        await anyio.sleep(emu.faults.accept_then_delay_secs.pop(0))
    elif emu.rates.roll_drop():
        await anyio.sleep(emu.rates.drop_secs)  # applied; the answer is lost
        return CutOffAnswer()  # type: ignore[return-value] - an ASGI callable, as Starlette accepts
    return _json(answer)


OPTIONS: dict[str, str] = {
    "position_lag_secs": "clearinghouseState shows each account as it was this many seconds ago (the venue's own lag)",
    "accounts": "ADDRESS[:BALANCE][,...]: users funded at start (BALANCE default --balance); others still "
                "open on their first lookup",
    "agents": "AGENT=USER[,...]: agent addresses approved for users at start (as approveAgent would)",
    "mainnet": "true: check signatures as mainnet's (source 'a'); by default as testnet's, what any client "
               "pointed at a URL other than mainnet's signs",
    **random_faults.OPTIONS,
}


def _pairs(value: str, what: str) -> list[tuple[str, str]]:
    out = []
    for item in (i.strip() for i in value.split(",")):
        if not item:
            continue
        left, sep, right = item.partition("=" if what == "agents" else ":")
        if not (left.startswith("0x") and len(left) == 42) or (what == "agents" and not right.startswith("0x")):
            raise ValueError(f"{what}: {item!r} is not {'AGENT=USER' if what == 'agents' else 'ADDRESS[:BALANCE]'}")
        out.append((left.lower(), right))
    return out


def create_app(
    *,
    seed: int = 7,
    starting_balance: Decimal = Decimal(100_000),
    clock: Clock | None = None,
    **options: Any,
) -> Starlette:
    """The emulator as a Starlette app; its state is `app.state.emulator`.

    Options: `mainnet` (sign-check as mainnet), `agents` ({agent: user} pre-approved),
    `accounts` (users funded at start), `markets` (MarketSpecs), `step_interval_secs` (how
    often the engine moves on), `ws_idle_secs`, random faults (`latency_ms`,
    `rate_limit_rate`, `error_rate`, `error_status`, `drop_rate`, `drop_secs`:
    venues/simex/faults.py) and any SimExchange option (`makers`, `takers`, `step_ms`, ...).
    The OPTIONS take command-line strings too (`perpd emulate hyperliquid -o NAME=VALUE`).
    """
    lag = options.pop("position_lag_secs", None)
    rates = FaultRates.pop_from(options, seed)
    accounts = options.pop("accounts", "")
    agents = options.pop("agents", None) or {}
    if isinstance(agents, str):
        agents = dict(_pairs(agents, "agents"))
    if isinstance(options.get("mainnet"), str):
        if options["mainnet"].lower() not in ("true", "false"):
            raise ValueError(f"mainnet must be true or false (got {options['mainnet']!r})")
        options["mainnet"] = options["mainnet"].lower() == "true"
    emu = HyperliquidEmulator(seed=seed, starting_balance=starting_balance, clock=clock, **options)
    emu.rates = rates
    for address, balance in _pairs(accounts, "accounts") if isinstance(accounts, str) else accounts:
        try:
            amount = Decimal(balance) if balance else None
        except ArithmeticError:
            raise ValueError(f"accounts: {address}:{balance}: the balance must be a number") from None
        emu.engine.ensure_account(address, amount)
        emu.ensure_user(address)
    for agent, user in agents.items():  # pre-approved: none replaces another
        emu.ensure_user(user.lower())
        emu.agents[agent.lower()] = user.lower()
    if lag is not None:
        try:
            emu.faults.position_lag_secs = float(lag)
        except ValueError:
            raise ValueError(f"position_lag_secs must be a number of seconds (got {lag!r})") from None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_run_engine, emu)
            yield
            tg.cancel_scope.cancel()

    app = Starlette(
        routes=[
            Route("/info", post_info, methods=["POST"]),
            Route("/exchange", post_exchange, methods=["POST"]),
            WebSocketRoute("/ws", emu.hub.serve),
        ],
        lifespan=lifespan,
    )
    app.state.emulator = emu
    return app


async def _run_engine(emu: HyperliquidEmulator) -> None:
    while True:
        try:
            emu.step()
        except Exception:  # the stepper must survive a bad event handler
            log.exception("hyperliquid emulator step failed")
        await anyio.sleep(emu.step_interval_secs)
