"""Pydantic models of what goes into and out of the REST API.

Requests forbid unknown fields and validate every number as an exact Decimal within sane
bounds (a size of 1e30 is a typo, not an order). Responses embed the domain dataclasses
(`perpd.model`) directly, so the API and the engine cannot drift apart; Decimals are
serialised as strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from perpd.wire import (  # the answers shared with the client, re-exported for the routes
    AccountOut as AccountOut,
    AssetExposure as AssetExposure,
    ConfigOut as ConfigOut,
    MarketOut as MarketOut,
    MergedBook as MergedBook,
    MergedLevel as MergedLevel,
    OrderBooks as OrderBooks,
    Out,
    Plan as Plan,
    Positions as Positions,
    Status as Status,
    TradingStateOut as TradingStateOut,
    VenueMarket as VenueMarket,
)
from perpd.model import (
    AuditEvent,
    Candle,
    FundingRate,
    MarginMode,
    Market,
    Order,
    OrderSpec,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    Trade,
    normalize_symbol,
)

MAX_AMOUNT = Decimal("1e15")  # no price or size on any venue comes near this

Amount = Annotated[Decimal, Field(gt=0, lt=MAX_AMOUNT, allow_inf_nan=False, max_digits=40)]
Bps = Annotated[Decimal, Field(ge=0, le=10_000, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Symbol = Annotated[str, Field(min_length=1, max_length=32), AfterValidator(normalize_symbol)]
Millis = Annotated[int, Field(ge=0, lt=10**15)]
Limit = Annotated[int, Field(ge=1, le=1000)]


class In(BaseModel):
    """Base of request models: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# The answers shared with the client live in perpd.wire (defined once, imported by both).


# --------------------------------------------------------------------------- orders


class OrderIn(In):
    """Place an order on one account, or through a route that picks the account(s)."""

    account: Name | None = None
    route: Name | None = None
    symbol: Symbol
    side: Side
    type: OrderType = OrderType.LIMIT
    size: Amount
    price: Amount | None = None
    trigger_price: Amount | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: StrictBool = False
    post_only: StrictBool = False
    client_tag: Annotated[str, Field(max_length=64)] | None = None
    slippage_bps: Bps | None = None

    @model_validator(mode="after")
    def _coherent(self) -> OrderIn:
        if self.post_only and self.tif not in (TimeInForce.GTC, TimeInForce.POST_ONLY):
            raise ValueError(f"post_only cannot be combined with tif {self.tif.value}")
        return self

    def spec(self) -> OrderSpec:
        """The engine's OrderSpec; ValueError names what is incoherent."""
        return OrderSpec(
            symbol=self.symbol,
            side=self.side,
            size=self.size,
            type=self.type,
            price=self.price,
            trigger_price=self.trigger_price,
            tif=TimeInForce.POST_ONLY if self.post_only else self.tif,
            reduce_only=self.reduce_only,
            account=self.account,
            route=self.route,
            client_tag=self.client_tag,
            slippage_bps=self.slippage_bps,
        )


class OrderPatch(In):
    """A new price and/or size for a live order."""

    price: Amount | None = None
    size: Amount | None = None

    @model_validator(mode="after")
    def _something(self) -> OrderPatch:
        if self.price is None and self.size is None:
            raise ValueError("give a new price or a new size")
        return self


class OrderQuery(In):
    account: Name | None = None
    symbol: Symbol | None = None
    status: OrderStatus | None = None
    live: bool | None = None  # query strings: true/false/1/0
    since: Millis | None = Field(None, description="updated at or after this time (ms since the epoch)")
    limit: Limit = 100
    offset: Annotated[int, Field(ge=0, le=10**9)] = 0


class CancelAllQuery(In):
    account: Name | None = None
    symbol: Symbol | None = None


class Orders(Out):
    orders: list[Order]


class OrderPage(Out):
    orders: list[Order]
    next_offset: int | None = Field(description="offset of the next page; null on the last page")


class Cancelled(Out):
    cancelled: int


# --------------------------------------------------------------------------- positions


class PositionQuery(In):
    account: Name | None = None


class CloseIn(In):
    account: Name | None = Field(None, description="close on this account only; default every account holding it")
    slippage_bps: Bps | None = None




# --------------------------------------------------------------------------- accounts


class LeverageIn(In):
    """Set an account's leverage for one symbol (and optionally its margin mode): written
    to the config file as `accounts.NAME.leverage.ASSET`, then reloaded and reconciled."""

    symbol: str = Field(description="BTC or BTC-PERP")
    leverage: int = Field(gt=0, le=1000)
    margin_mode: MarginMode | None = Field(default=None, description="cross or isolated (the whole account)")


class AccountIn(In):
    """A new `[accounts.NAME]` table: written to the config file, then reloaded."""

    name: Name
    venue: Name
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="the other keys of the account table (secrets as references only)",
    )



class Accounts(Out):
    accounts: list[AccountOut]


class ConfigChange(Out):
    changed: dict[str, dict[str, list[str]]] = Field(description="per config section, names added / changed / removed")


# --------------------------------------------------------------------------- markets


class VenueQuery(In):
    venue: Name | None = None


class BookQuery(In):
    venue: Name | None = None
    depth: Annotated[int, Field(ge=1, le=500)] = 20


class TradesQuery(In):
    venue: Name | None = None
    limit: Limit = 100


class CandlesQuery(In):
    venue: Name | None = None
    interval: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "1m"
    start: Millis | None = None
    end: Millis | None = None
    limit: Limit = 500


class Markets(Out):
    markets: list[Market]







class Trades(Out):
    trades: list[Trade]


class Fundings(Out):
    funding: list[FundingRate]


class Candles(Out):
    candles: list[Candle]


# --------------------------------------------------------------------------- control


class HaltIn(In):
    scope: Annotated[str, Field(max_length=80)] = Field("global", description="global, account:NAME, venue:NAME or policy:NAME")
    reason: Annotated[str, Field(max_length=500)] = ""
    reduce_only: StrictBool = Field(False, description="allow orders that reduce positions instead of halting")
    cancel: StrictBool = Field(True, description="cancel live orders in the halted scope")


class ResumeIn(In):
    scope: Annotated[str, Field(max_length=80)] = "global"
    reason: Annotated[str, Field(max_length=500)] = ""



class EventsQuery(In):
    action: Annotated[str, Field(max_length=64)] | None = None
    actor: Annotated[str, Field(max_length=80)] | None = None
    account: Name | None = None
    venue: Name | None = None
    symbol: Symbol | None = None
    client_id: Annotated[str, Field(max_length=80)] | None = None
    result: Annotated[str, Field(max_length=64)] | None = None
    since_id: Annotated[int, Field(ge=0)] | None = None
    since: Millis | None = None
    limit: Limit = 100
    newest_first: bool = False


class Events(Out):
    events: list[AuditEvent]





class ErrorBody(Out):
    type: str
    message: str
    details: Any = None


class Error(Out):
    """The one error shape of every endpoint."""

    error: ErrorBody
