"""The venue contract: what every exchange adapter implements, and what it can do.

A venue is two objects. `Venue` is one per configured venue (`[venues.NAME]`), owns the
public market data and the connection budget shared by every account on it. An
`AccountSession` is one per account (`[accounts.NAME]`), made by `Venue.session(...)`, and
owns the private verbs. Names follow ccxt's unified verbs in snake_case.

=========================  ========  ==================================================
verb                       required  notes
=========================  ========  ==================================================
Venue.connect / close      yes       open / close transports; idempotent
Venue.load_markets         yes       -> {symbol: Market}; tick, lot, min size/notional
Venue.fetch_order_book     yes       -> OrderBook (bids and asks best first)
Venue.fetch_ticker         yes       -> Ticker (mark price drives risk and targets)
Venue.fetch_trades         yes       -> recent public trades, newest last
Venue.fetch_funding        yes       -> current FundingRate
Venue.fetch_candles        optional  default raises NotSupported
Venue.watch                yes       -> AsyncIterator[Event]: BookUpdate (snapshot then
                                     deltas, seq +1 each), TradeUpdate, TickerUpdate,
                                     FundingUpdate; StreamGap on any loss
Venue.session              yes       -> AccountSession for one account
Session.fetch_balance      yes       -> Balance
Session.fetch_positions    yes       -> [Position] (non-zero only)
Session.fetch_open_orders  yes       -> [Order] (live: open / partially filled / trigger)
Session.fetch_order        yes       -> Order | None by client id; None = never seen
Session.fetch_fills        yes       -> [Fill] since a time, oldest first
Session.fetch_funding_payments
                           optional  -> [FundingPayment] since a time, oldest first;
                                     capabilities.funding_payments; default NotSupported
Session.create_order       yes       -> Order (status may be PENDING on venues that
                                     acknowledge asynchronously); VenueRejected when
                                     definitive; OutcomeUnknown when not known
Session.create_orders      optional  default loops create_order; batching venues
                                     override (capabilities.batch_create)
Session.create_bracket     optional  an entry and its TP/SL exits in one request; the
                                     venue holds the exits and places them when the
                                     entry fills; capabilities.native_brackets
Session.cancel_order       yes       -> True if a live order was cancelled, False if no
                                     live order has that id (not an error)
Session.cancel_orders      optional  default loops cancel_order
Session.cancel_all_orders  yes       -> number cancelled (symbol=None: every market)
Session.edit_order         optional  capabilities.edit; "replace" venues use the
                                     new_client_id given, "native" keep the old one
Session.fetch_leverage     yes       -> LeverageSetting for a symbol
Session.set_leverage       yes       leverage and margin mode for a symbol
Session.cancel_all_after   optional  dead man's switch; capabilities.dead_mans_switch
Session.watch_account      yes       -> AsyncIterator[Event]: OrderUpdate, FillUpdate,
                                     PositionUpdate, BalanceUpdate; StreamGap on loss.
                                     Events from the moment of the call are delivered
                                     (the engine subscribes, then resyncs)
=========================  ========  ==================================================

Rules every implementation keeps:
- Map every foreign exception to `perpd.errors` inside `venues/<kind>/`; none escapes.
- A timeout, transport error, 5xx or 429 on a write is `OutcomeUnknown` (or its
  subclasses), never `VenueRejected`.
- Refuse what `capabilities` says is unsupported with `NotSupported` before sending
  (`Capabilities.check` does it; call it first).
- Round and validate prices and sizes against the `Market` before signing.
- Never log, repr or raise a secret.
"""

from __future__ import annotations

import enum
import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from perpd.clock import Clock, SystemClock
from perpd.errors import InvalidRequest, NotFound, NotSupported
from perpd.model import (
    Balance,
    Candle,
    Event,
    Fill,
    FundingPayment,
    FundingRate,
    LeverageSetting,
    MarginMode,
    Market,
    Order,
    OrderBook,
    OrderRequest,
    OrderType,
    Position,
    Ticker,
    TimeInForce,
    Trade,
    is_multiple,
    normalize_symbol,
)

if TYPE_CHECKING:
    from pydantic import SecretStr

    from perpd.config import AccountConfig, VenueConfig

SecretResolver = Callable[[str], "SecretStr"]
"""Turns a reference (`env:X`, `file:/p`, `keystore:name`) into its secret value."""


# --------------------------------------------------------------------------- client ids


class ClientIdFormat(str, enum.Enum):
    """How a venue wants client order ids; perpd derives them from (account, intent)."""

    HEX128 = "hex128"  # Hyperliquid cloid: 0x + 32 hex digits
    INT48 = "int48"  # Lighter client_order_index: 1 .. 2^48 - 1
    INT63 = "int63"  # numeric ids up to 2^63 - 1 (EdgeX clientOrderId, Vest order nonce)
    STRING = "string"  # free text (Extended external id, sim)

    def derive(self, account: str, intent_id: int | str, attempt: int = 0, salt: str = "") -> str:
        """Deterministic id for an intent: the same inputs always give the same id.

        `attempt` > 0 gives a fresh id for a *new* order from the same intent (an edit
        that the venue implements as a replace); a retry of the same send must reuse 0.
        `salt` is the journal's own (created once, kept in it): intent ids restart at 1 in
        a new state dir, and its ids must not repeat an old one's on the venue.
        """
        digest = hashlib.blake2b(
            f"{salt}\x00{account}\x00{intent_id}\x00{attempt}".encode(), digest_size=16
        ).digest()
        if self is ClientIdFormat.HEX128:
            return "0x" + digest.hex()
        if self is ClientIdFormat.INT48:
            return str(int.from_bytes(digest[:6], "big") % (2**48 - 1) + 1)
        if self is ClientIdFormat.INT63:
            return str(int.from_bytes(digest[:8], "big") % (2**63 - 1) + 1)
        return f"pd-{digest[:12].hex()}"

    def validate(self, client_id: str) -> str:
        ok = False
        if self is ClientIdFormat.HEX128:
            ok = len(client_id) == 34 and client_id.startswith("0x") and _is_hex(client_id[2:])
        elif self is ClientIdFormat.INT48:
            ok = client_id.isdigit() and 1 <= int(client_id) < 2**48
        elif self is ClientIdFormat.INT63:
            ok = client_id.isdigit() and 1 <= int(client_id) < 2**63
        else:
            ok = 0 < len(client_id) <= 64 and client_id.isprintable()
        if not ok:
            raise InvalidRequest(f"client id {client_id!r} is not a valid {self.value} id")
        return client_id


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- capabilities


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A budget of `limit` weight units per `per_secs`, shared across `scope`."""

    name: str
    limit: int
    per_secs: float
    scope: Literal["ip", "venue", "account", "key"] = "venue"


class EditMode(str, enum.Enum):
    NONE = "none"
    NATIVE = "native"  # amended in place, keeps its client id
    REPLACE = "replace"  # cancel-replace under a new client id (atomic on the venue)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue can do, as data. The reconciler, the risk gate and the contract
    tests read it; requests outside it are refused locally with NotSupported."""

    order_types: frozenset[OrderType]
    tifs: frozenset[TimeInForce]
    reduce_only: bool = True
    edit: EditMode = EditMode.NONE
    edit_keeps_priority_on_shrink: bool = False
    batch_create: int = 1  # max orders per create_orders call sent as one request
    batch_cancel: int = 1
    dead_mans_switch: bool = False
    dead_mans_switch_min_secs: int = 0
    dead_mans_switch_max_secs: int = 0
    client_id_format: ClientIdFormat = ClientIdFormat.STRING
    margin_modes: frozenset[MarginMode] = frozenset({MarginMode.CROSS, MarginMode.ISOLATED})
    async_acks: bool = False  # create_order may return PENDING; the stream confirms
    trigger_reference: str = "mark"  # what triggers compare with: mark | last | oracle
    funding_payments: bool = False  # the account's funding payments can be fetched
    native_brackets: bool = False  # create_bracket: the venue holds an entry's exits
    rate_limits: tuple[RateLimit, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def post_only(self) -> bool:
        return TimeInForce.POST_ONLY in self.tifs

    @property
    def triggers(self) -> bool:
        return any(t.is_trigger for t in self.order_types)

    def check(self, request: OrderRequest, venue: str) -> None:
        """Raise NotSupported if `request` asks for something this venue cannot do."""
        if request.type not in self.order_types:
            raise NotSupported(f"{venue} does not support {request.type.value} orders")
        if request.tif not in self.tifs:
            raise NotSupported(f"{venue} does not support time in force {request.tif.value}")
        if request.reduce_only and not self.reduce_only:
            raise NotSupported(f"{venue} does not support reduce-only orders")
        self.client_id_format.validate(request.client_id)


def check_against_market(request: OrderRequest, market: Market) -> None:
    """Validate size and prices of a request against a market's rules (no rounding)."""
    problems = []
    if not is_multiple(request.size, market.lot_size):
        problems.append(f"size {request.size} is not a multiple of lot {market.lot_size}")
    if request.size < market.min_size and not request.reduce_only:
        problems.append(f"size {request.size} is below the minimum {market.min_size}")
    for label, price in (("price", request.price), ("trigger_price", request.trigger_price)):
        if price is not None and not is_multiple(price, market.tick_size):
            problems.append(f"{label} {price} is not a multiple of tick {market.tick_size}")
    if (
        request.price is not None
        and not request.reduce_only
        and request.price * request.size < market.min_notional
    ):
        problems.append(
            f"notional {request.price * request.size} is below the minimum {market.min_notional}"
        )
    if problems:
        raise InvalidRequest(f"{market.venue} {market.symbol}: " + "; ".join(problems))


# --------------------------------------------------------------------------- channels


@dataclass(frozen=True, slots=True)
class Channel:
    """A public stream to watch: kind in book | trades | ticker | funding."""

    kind: Literal["book", "trades", "ticker", "funding"]
    symbol: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))


# --------------------------------------------------------------------------- the contract


class Venue(ABC):
    """One configured venue: public data, markets, and a factory for account sessions."""

    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    config_model: ClassVar[type[VenueConfig]]
    account_model: ClassVar[type[AccountConfig]]

    def __init__(
        self,
        name: str,
        config: VenueConfig,
        *,
        clock: Clock | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.clock = clock or SystemClock()
        self.state_dir = state_dir  # private to this venue: <daemon state_dir>/venues/<name>
        self._markets: dict[str, Market] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # lifecycle
    async def connect(self) -> None:  # noqa: B027 - optional hook
        """Open transports. Called once before any other verb."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Close transports and background tasks."""

    # markets
    @property
    def markets(self) -> Mapping[str, Market]:
        return self._markets

    def market(self, symbol: str) -> Market:
        """Return a loaded market by unified symbol; NotFound names the venue."""
        unified = normalize_symbol(symbol)
        try:
            return self._markets[unified]
        except KeyError:
            raise NotFound(f"{self.name} has no market {unified}") from None

    @abstractmethod
    async def load_markets(self) -> dict[str, Market]: ...

    # public data
    @abstractmethod
    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook: ...

    @abstractmethod
    async def fetch_ticker(self, symbol: str) -> Ticker: ...

    @abstractmethod
    async def fetch_trades(self, symbol: str, limit: int = 100) -> list[Trade]: ...

    @abstractmethod
    async def fetch_funding(self, symbol: str) -> FundingRate: ...

    async def fetch_candles(
        self,
        symbol: str,
        interval: str = "1m",
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Candle]:
        raise NotSupported(f"{self.name} does not serve candles")

    @abstractmethod
    def watch(self, channels: Sequence[Channel]) -> AsyncIterator[Event]: ...

    # accounts
    @abstractmethod
    def session(
        self, account: str, config: AccountConfig, secrets: SecretResolver
    ) -> AccountSession: ...


class AccountSession(ABC):
    """One account on one venue: balances, positions, orders, fills, and trading."""

    def __init__(self, venue: Venue, account: str, config: AccountConfig) -> None:
        self.venue = venue
        self.account = account
        self.config = config

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.account}@{self.venue.name}>"

    @property
    def capabilities(self) -> Capabilities:
        return self.venue.capabilities

    async def connect(self) -> None:  # noqa: B027 - optional hook
        """Authenticate / open private streams. Called once before any other verb."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Close private transports."""

    # state
    @abstractmethod
    async def fetch_balance(self) -> Balance: ...

    @abstractmethod
    async def fetch_positions(self) -> list[Position]: ...

    @abstractmethod
    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    @abstractmethod
    async def fetch_order(self, client_id: str) -> Order | None: ...

    @abstractmethod
    async def fetch_fills(self, since_ms: int = 0) -> list[Fill]: ...

    async def fetch_funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        """The account's funding payments at or after `since_ms`, oldest first, each with
        an id unique on the account (the venue's, else time and symbol)."""
        raise NotSupported(f"{self.venue.name} does not report funding payments")

    # trading
    @abstractmethod
    async def create_order(self, request: OrderRequest) -> Order: ...

    async def create_orders(self, requests: Sequence[OrderRequest]) -> list[Order | Exception]:
        """Place several orders; each slot is the Order or the error for that request."""
        out: list[Order | Exception] = []
        for request in requests:
            try:
                out.append(await self.create_order(request))
            except Exception as exc:  # noqa: BLE001 - reported per slot by contract
                out.append(exc)
        return out

    async def create_bracket(
        self, entry: OrderRequest, take_profit: OrderRequest | None = None, stop_loss: OrderRequest | None = None
    ) -> list[Order | Exception]:
        """The entry and its exits in one venue request (capabilities.native_brackets): the
        venue holds the exits and places them, reduce-only, once the entry fills. Slots: the
        entry, then the exits given (take_profit first). An exit the venue holds but has not
        placed yet comes back PENDING. Errors per slot as create_orders: VenueRejected when
        definitive, OutcomeUnknown when not known."""
        raise NotSupported(f"{self.venue.name}: no native brackets (perpd places the exits when the entry fills)")

    @abstractmethod
    async def cancel_order(self, client_id: str) -> bool: ...

    async def cancel_orders(self, client_ids: Sequence[str]) -> list[bool | Exception]:
        out: list[bool | Exception] = []
        for client_id in client_ids:
            try:
                out.append(await self.cancel_order(client_id))
            except Exception as exc:  # noqa: BLE001 - reported per slot by contract
                out.append(exc)
        return out

    @abstractmethod
    async def cancel_all_orders(self, symbol: str | None = None) -> int: ...

    async def edit_order(
        self,
        client_id: str,
        *,
        new_client_id: str,
        price: Decimal | None = None,
        size: Decimal | None = None,
    ) -> Order:
        raise NotSupported(f"{self.venue.name} does not support editing orders")

    @abstractmethod
    async def fetch_leverage(self, symbol: str) -> LeverageSetting: ...

    @abstractmethod
    async def set_leverage(
        self, symbol: str, leverage: int, margin_mode: MarginMode = MarginMode.CROSS
    ) -> None: ...

    async def cancel_all_after(self, seconds: int) -> None:
        """Arm (seconds > 0) or disarm (0) the venue's dead man's switch."""
        raise NotSupported(f"{self.venue.name} has no dead man's switch")

    @abstractmethod
    def watch_account(self) -> AsyncIterator[Event]: ...
