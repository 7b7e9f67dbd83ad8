"""Pydantic models of what goes into and out of the REST API.

A request is valid exactly when it matches the OpenAPI document generated from these
models: every constraint a validator checks is in the JSON schema it emits, and nothing
the schema allows is refused by validation (rules that need the live state, such as a
market's tick size, answer 422 from the handler instead). So the value types here check
JSON's own types (a JSON `true` is not the number 1, the string "5" not the integer 5)
and numbers as exact Decimals within sane bounds (a size of 1e30 is a typo, not an
order). Responses embed the domain dataclasses (`perpd.model`) directly, so the API and
the engine cannot drift apart; Decimals are serialised as strings.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from typing_extensions import TypeAliasType

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    PlainValidator,
    WithJsonSchema,
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
    Bracket,
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

MAX_AMOUNT = 10**15  # no price or size on any venue comes near this

# --------------------------------------------------------------------------- value types


def _json_number(text_pattern: str, bounds: str) -> Any:
    """A Decimal given as a JSON number, or as a string in plain notation matching
    `text_pattern` (which holds the bounds for strings; Field constraints for numbers)."""
    compiled = re.compile(text_pattern)

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be a number or a decimal string {bounds}")
        if isinstance(value, str):
            if not compiled.fullmatch(value):
                raise ValueError(f"must be a number or a decimal string {bounds} (got {_shown(value)})")
            return Decimal(value)
        if isinstance(value, (int, Decimal)):
            return Decimal(value)
        raise ValueError(f"must be a number or a decimal string {bounds}")

    return BeforeValidator(check)


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# Plain notation (no sign, no exponent), so that a regular expression can state the bounds.
_AMOUNT_TEXT = r"^0*(?:[1-9][0-9]{0,14}(?:\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)$"
_BPS_TEXT = r"^0*(?:[0-9]{1,4}(?:\.[0-9]+)?|10000(?:\.0+)?)$"

Amount = Annotated[
    Decimal,
    _json_number(_AMOUNT_TEXT, "above 0 and below 1e15"),
    Field(gt=0, lt=MAX_AMOUNT),
    WithJsonSchema({"anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": MAX_AMOUNT},
        {"type": "string", "pattern": _AMOUNT_TEXT, "description": "plain decimal notation: exact"},
    ]}),
]
Bps = Annotated[
    Decimal,
    _json_number(_BPS_TEXT, "from 0 to 10000"),
    Field(ge=0, le=10_000),
    WithJsonSchema({"anyOf": [
        {"type": "number", "minimum": 0, "maximum": 10_000},
        {"type": "string", "pattern": _BPS_TEXT},
    ]}),
]


def _json_integer(value: Any) -> Any:
    # JSON Schema's integer is a number with no fraction (5 and 5.0), never true or "5".
    if isinstance(value, bool) or isinstance(value, str) or (isinstance(value, Decimal) and value != value.to_integral_value()):
        raise ValueError("must be an integer")
    return int(value) if isinstance(value, Decimal) else value


# Bounds go before the validator, Annotated[int, Field(gt=0), BeforeValidator(_json_integer)]:
# after it, pydantic emits them as `gt`/`le` keys no JSON Schema reader knows, and the
# document would allow what validation refuses.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]
# BTC, btc or BTC-PERP; what normalize_symbol accepts, in ASCII.
Symbol = Annotated[
    str,
    Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+(?:-[Pp][Ee][Rr][Pp])?$", description="BTC, btc or BTC-PERP"),
    AfterValidator(normalize_symbol),
]
ClientId = Annotated[str, Field(min_length=1, max_length=128)]
Millis = Annotated[int, Field(ge=0, lt=10**15)]
Limit = Annotated[int, Field(ge=1, le=1000)]
Scope = Annotated[
    str,
    Field(max_length=80, pattern=r"^(?:global|(?:account|venue|policy|target):[A-Za-z0-9_.:-]+)$"),
]
# Printable ASCII without leading or trailing spaces (HTTP strips those).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~](?:[ -~]*[!-~])?$"
IdempotencyKey = Annotated[str, Field(max_length=128, pattern=IDEMPOTENCY_KEY_PATTERN)]

# The value of a TOML key: anything JSON has except null, at any depth.
TomlValue = TypeAliasType("TomlValue", Union[str, float, bool, list["TomlValue"], dict[str, "TomlValue"]])


def _toml_table(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    _no_nulls(value, "")
    return value


def _no_nulls(value: Any, path: str) -> None:
    if value is None:
        raise ValueError(f"null is not a TOML value (at {path}); leave the key out")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nulls(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_nulls(item, f"{path}[{i}]")


TomlTable = Annotated[dict[str, Any], PlainValidator(_toml_table, json_schema_input_type=dict[str, TomlValue])]


class In(BaseModel):
    """Base of request models: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# The answers shared with the client live in perpd.wire (defined once, imported by both).


# --------------------------------------------------------------------------- orders


class BracketIn(In):
    """An exit for an entry: at `trigger_price`, a limit at `price` (else at market)."""

    trigger_price: Amount
    price: Amount | None = None


class OrderIn(In):
    """Place an order on one account, or through a route that picks the account(s);
    optionally with exits (take profit, stop loss) placed once it fills."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"account": "paper", "symbol": "BTC", "side": "buy", "size": "0.001", "price": "60000"},
    ]})

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
    take_profit: BracketIn | None = Field(None, description="placed reduce-only for what the entry filled")
    stop_loss: BracketIn | None = Field(None, description="placed reduce-only for what the entry filled; one cancels the other")

    def spec(self) -> OrderSpec:
        """The engine's OrderSpec; ValueError names what is incoherent (fields that are
        valid one by one but not together: a 422, not a schema violation)."""
        if self.post_only and self.tif not in (TimeInForce.GTC, TimeInForce.POST_ONLY):
            raise ValueError(f"post_only cannot be combined with tif {self.tif.value}")
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
            take_profit=Bracket(self.take_profit.trigger_price, self.take_profit.price) if self.take_profit else None,
            stop_loss=Bracket(self.stop_loss.trigger_price, self.stop_loss.price) if self.stop_loss else None,
        )


class OrderPatch(In):
    """A new price and/or size for a live order (giving neither is a 422)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"price": "59000"}]})

    price: Amount | None = None
    size: Amount | None = None


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

    symbol: Symbol
    leverage: Annotated[int, Field(gt=0, le=1000), BeforeValidator(_json_integer)]
    margin_mode: MarginMode | None = Field(default=None, description="cross or isolated (the whole account)")


class AccountIn(In):
    """A new `[accounts.NAME]` table: written to the config file, then reloaded."""

    name: Name
    venue: Name
    settings: TomlTable = Field(
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
    scope: Scope = Field("global", description="global, account:NAME, venue:NAME, policy:NAME or target:NAME")
    reason: Annotated[str, Field(max_length=500)] = ""
    reduce_only: StrictBool = Field(False, description="allow orders that reduce positions instead of halting")
    cancel: StrictBool = Field(True, description="cancel live orders in the halted scope")


class ResumeIn(In):
    scope: Scope = "global"
    reason: Annotated[str, Field(max_length=500)] = ""



class PlanIn(In):
    """A config to plan, as TOML text (the same body may be sent as application/toml)."""

    toml: str = Field(description="the whole config file's text")


class OrderHeaders(In):
    idempotency_key: IdempotencyKey | None = Field(
        None, alias="Idempotency-Key",
        description="the same key returns the same order(s), across restarts; a replay answers 200",
    )


# Path parameters by name: each one's type wherever it appears.
PATH_PARAMS: dict[str, Any] = {"symbol": Symbol, "name": Name, "client_id": ClientId}


class EventsQuery(In):
    action: Annotated[str, Field(max_length=64)] | None = None
    actor: Annotated[str, Field(max_length=80)] | None = None
    account: Name | None = None
    venue: Name | None = None
    symbol: Symbol | None = None
    client_id: Annotated[str, Field(max_length=80)] | None = None
    result: Annotated[str, Field(max_length=64)] | None = None
    since_id: Annotated[int, Field(ge=0, lt=2**63)] | None = None  # an SQLite INTEGER
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
