"""Every API call, defined once: `Surface` builds a `Call`, the concrete client sends it.

`Client` (sync, httpx.Client) returns each call's value; `AsyncClient` (httpx.AsyncClient)
returns an awaitable of it. Adding an endpoint is adding one method here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from perpd.client.results import (
    Account,
    AuditRecord,
    Books,
    ConfigInfo,
    CsvPage,
    FillPage,
    FundingPage,
    MarketInfo,
    Plan,
    PnlReport,
    Positions,
    Status,
    TradingStateChange,
    decode,
)
from perpd.model import Balance, Candle, FundingRate, Market, Order, OrderSpec, Trade
from perpd.wire import to_data

Number = Decimal | int | float | str


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request to the daemon and how to decode its JSON answer."""

    method: str
    path: str
    decode: Callable[[Any], Any]
    params: Mapping[str, Any] | None = None
    json: Any = None
    content: str | None = None
    idempotency_key: str | None = None
    text: bool = False  # the answer is text (CSV): decode gets (text, headers)

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.idempotency_key is not None:
            headers["Idempotency-Key"] = self.idempotency_key
        if self.content is not None:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return headers

    def query(self) -> dict[str, str]:
        return {k: _text(v) for k, v in (self.params or {}).items() if v is not None}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(getattr(value, "value", value))


def _seg(value: str) -> str:
    """A path segment, quoted: an id typed by a person must not walk the URL tree."""
    return quote(str(value), safe="")


def _amount(value: Number | None) -> str | None:
    """The daemon's decimal string: plain notation (it takes no exponent: 1e-07 is sent
    as "0.0000001"). Floats go through str(): 0.1 stays "0.1", never 0.1000000000000000055..."""
    if value is None:
        return None
    text = str(value)
    try:
        exact = Decimal(text)
    except InvalidOperation:
        return text  # not a number: the daemon names the field
    return format(exact, "f") if exact.is_finite() else text


def order_body(spec: OrderSpec | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of `POST /orders` from an OrderSpec and/or keyword fields (fields win).

    Without a `type`, an order with neither a price nor a trigger is a market order.
    Validation is the daemon's: a bad order comes back as `InvalidRequest`.
    """
    body: dict[str, Any] = {k: v for k, v in to_data(spec).items() if v is not None} if spec is not None else {}
    for key, value in fields.items():
        if value is None:
            continue
        if key in ("size", "price", "trigger_price", "slippage_bps"):
            value = _amount(value)
        body[key] = to_data(value)
    if "type" not in body:
        body["type"] = "market" if body.get("price") is None and body.get("trigger_price") is None else "limit"
    return body


def new_idempotency_key() -> str:
    return f"pc-{uuid.uuid4().hex}"


def _csv_page(answer: tuple[str, Mapping[str, str]]) -> CsvPage:
    text, headers = answer
    return CsvPage(text=text, next_cursor=headers.get("next-cursor"))


def _field(name: str, kind: Any) -> Callable[[Any], Any]:
    return lambda data: decode(kind, data[name])


class Surface:
    """The daemon's API as methods. Subclasses implement `_send(call)`."""

    def _send(self, call: Call) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ control

    def status(self) -> Any:
        """The daemon's health -> `Status`."""
        return self._send(Call("GET", "/status", lambda d: decode(Status, d)))

    def config(self) -> Any:
        """The running config, secret references only -> `ConfigInfo`."""
        return self._send(Call("GET", "/config", lambda d: decode(ConfigInfo, d)))

    def plan(self, toml: str | None = None) -> Any:
        """What applying the daemon's file (or this TOML text) would change and do -> `Plan`."""
        return self._send(Call("POST", "/plan", lambda d: decode(Plan, d), content=toml))

    def reload(self) -> Any:
        """Re-read the config file -> {section: {added/changed/removed: [names]}}."""
        return self._send(Call("POST", "/reload", lambda d: d["changed"]))

    def halt(self, scope: str = "global", *, reason: str = "", reduce_only: bool = False, cancel: bool = True) -> Any:
        """Halt (or make reduce-only) a scope: global, account:X, venue:X, policy:X -> `TradingStateChange`."""
        body = {"scope": scope, "reason": reason, "reduce_only": reduce_only, "cancel": cancel}
        return self._send(Call("POST", "/halt", lambda d: decode(TradingStateChange, d), json=body))

    def resume(self, scope: str = "global", *, reason: str = "") -> Any:
        """Resume trading in a scope -> `TradingStateChange`."""
        body = {"scope": scope, "reason": reason}
        return self._send(Call("POST", "/resume", lambda d: decode(TradingStateChange, d), json=body))

    def events(self, *, limit: int = 100, newest_first: bool = False, **filters: Any) -> Any:
        """The audit log -> list[AuditRecord]. Filters: action, actor, account, venue,
        symbol, client_id, result, since_id, since (ms)."""
        params = {**filters, "limit": limit, "newest_first": newest_first}
        return self._send(Call("GET", "/events", _field("events", list[AuditRecord]), params=params))

    # ------------------------------------------------------------------ accounts

    def accounts(self) -> Any:
        """Every configured account with its live state -> list[Account]."""
        return self._send(Call("GET", "/accounts", _field("accounts", list[Account])))

    def account(self, name: str) -> Any:
        """One account, with its config (secret references only) -> `Account`."""
        return self._send(Call("GET", f"/accounts/{_seg(name)}", lambda d: decode(Account, d)))

    def balance(self, account: str) -> Any:
        """An account's balance -> `Balance`."""
        return self._send(Call("GET", f"/accounts/{_seg(account)}/balance", lambda d: decode(Balance, d)))

    def add_account(self, name: str, venue: str, **settings: Any) -> Any:
        """Add `[accounts.NAME]` to the config file and start it (admin) -> the change."""
        body = {"name": name, "venue": venue, "settings": to_data(settings)}
        return self._send(Call("POST", "/accounts", lambda d: d["changed"], json=body))

    def remove_account(self, name: str) -> Any:
        """Remove an account from the config file and stop it (admin) -> the change."""
        return self._send(Call("DELETE", f"/accounts/{_seg(name)}", lambda d: d["changed"]))

    def set_leverage(self, account: str, symbol: str, leverage: int, margin_mode: str | None = None) -> Any:
        """Set leverage for a symbol (and the account's margin mode) in the config file;
        the daemon reloads and its reconciler applies it (trade) -> the change."""
        body = {"symbol": symbol, "leverage": leverage, "margin_mode": margin_mode}
        return self._send(Call("PUT", f"/accounts/{_seg(account)}/leverage", lambda d: d["changed"], json=body))

    # ------------------------------------------------------------------ markets

    def markets(self, venue: str | None = None) -> Any:
        """Markets of every running venue (or one) -> list[Market]."""
        return self._send(Call("GET", "/markets", _field("markets", list[Market]), params={"venue": venue}))

    def market(self, symbol: str, venue: str | None = None) -> Any:
        """One symbol on each venue: rules, ticker, funding -> `MarketInfo`."""
        return self._send(Call("GET", f"/markets/{_seg(symbol)}", lambda d: decode(MarketInfo, d), params={"venue": venue}))

    def order_book(self, symbol: str, venue: str | None = None, depth: int = 20) -> Any:
        """Books per venue and merged across venues -> `Books`."""
        params = {"venue": venue, "depth": depth}
        return self._send(Call("GET", f"/markets/{_seg(symbol)}/orderbook", lambda d: decode(Books, d), params=params))

    def trades(self, symbol: str, venue: str | None = None, limit: int = 100) -> Any:
        """Recent public trades, oldest first -> list[Trade]."""
        params = {"venue": venue, "limit": limit}
        return self._send(Call("GET", f"/markets/{_seg(symbol)}/trades", _field("trades", list[Trade]), params=params))

    def funding(self, symbol: str, venue: str | None = None) -> Any:
        """The current funding rate per venue -> list[FundingRate]."""
        path = f"/markets/{_seg(symbol)}/funding"
        return self._send(Call("GET", path, _field("funding", list[FundingRate]), params={"venue": venue}))

    def candles(self, symbol: str, venue: str | None = None, interval: str = "1m", *, start: int | None = None,
                end: int | None = None, limit: int = 500) -> Any:
        """Candles per venue -> list[Candle]."""
        params = {"venue": venue, "interval": interval, "start": start, "end": end, "limit": limit}
        return self._send(Call("GET", f"/markets/{_seg(symbol)}/candles", _field("candles", list[Candle]), params=params))

    # ------------------------------------------------------------------ orders

    def place(self, spec: OrderSpec | None = None, /, *, idempotency_key: str | None = None, **fields: Any) -> Any:
        """Place an order -> list[Order] (a route may place several).

        Give an `OrderSpec`, or fields: account or route, symbol, side, size, price,
        trigger_price, type, tif, reduce_only, post_only, client_tag, slippage_bps.
        Every call carries an idempotency key (a fresh one unless given): if the answer
        is lost, `OutcomeUnknown.details["idempotency_key"]` retries without doubling.
        """
        key = idempotency_key or new_idempotency_key()
        body = order_body(spec, fields)
        return self._send(Call("POST", "/orders", _field("orders", list[Order]), json=body, idempotency_key=key))

    def buy(self, size: Number, symbol: str, price: Number | None = None, **fields: Any) -> Any:
        """Buy: a limit order with a price, else a market order -> list[Order]."""
        return self.place(side="buy", size=size, symbol=symbol, price=price, **fields)

    def sell(self, size: Number, symbol: str, price: Number | None = None, **fields: Any) -> Any:
        """Sell: a limit order with a price, else a market order -> list[Order]."""
        return self.place(side="sell", size=size, symbol=symbol, price=price, **fields)

    def orders(self, *, account: str | None = None, symbol: str | None = None, status: str | None = None,
               live: bool | None = None, since: int | None = None, limit: int = 100, offset: int = 0) -> Any:
        """Orders, newest first -> list[Order] (`live=True` for the working ones)."""
        params = {"account": account, "symbol": symbol, "status": status, "live": live, "since": since,
                  "limit": limit, "offset": offset}
        return self._send(Call("GET", "/orders", _field("orders", list[Order]), params=params))

    def order(self, client_id: str) -> Any:
        """One order by client id -> `Order`."""
        return self._send(Call("GET", f"/orders/{_seg(client_id)}", lambda d: decode(Order, d)))

    def modify(self, client_id: str, *, price: Number | None = None, size: Number | None = None) -> Any:
        """A live order's new price and/or size -> `Order`."""
        body = {k: _amount(v) for k, v in (("price", price), ("size", size)) if v is not None}
        return self._send(Call("PATCH", f"/orders/{_seg(client_id)}", lambda d: decode(Order, d), json=body))

    def cancel(self, client_id: str) -> Any:
        """Cancel one order (a no-op on a finished one) -> `Order`."""
        return self._send(Call("DELETE", f"/orders/{_seg(client_id)}", lambda d: decode(Order, d)))

    def cancel_all(self, *, account: str | None = None, symbol: str | None = None) -> Any:
        """Cancel every live order (of one account / symbol) -> how many."""
        params = {"account": account, "symbol": symbol}
        return self._send(Call("DELETE", "/orders", lambda d: int(d["cancelled"]), params=params))

    # ------------------------------------------------------------------ money

    def fills(self, *, account: str | None = None, symbol: str | None = None, since: int | None = None,
              until: int | None = None, cursor: str | None = None, limit: int = 100, newest_first: bool = False) -> Any:
        """One page of our fills (since <= ts_ms < until, ms) -> `FillPage` (`.fills`, `.next_cursor`)."""
        params = {"account": account, "symbol": symbol, "since": since, "until": until, "cursor": cursor,
                  "limit": limit, "newest_first": newest_first}
        return self._send(Call("GET", "/fills", lambda d: decode(FillPage, d), params=params))

    def fills_csv(self, *, account: str | None = None, symbol: str | None = None, since: int | None = None,
                  until: int | None = None, cursor: str | None = None, limit: int = 1000) -> Any:
        """One page of fills as the daemon's CSV -> `CsvPage` (`.text`, `.next_cursor`)."""
        params = {"account": account, "symbol": symbol, "since": since, "until": until, "cursor": cursor,
                  "limit": limit, "format": "csv"}
        return self._send(Call("GET", "/fills", _csv_page, params=params, text=True))

    def funding_payments(self, *, account: str | None = None, symbol: str | None = None, since: int | None = None,
                         until: int | None = None, cursor: str | None = None, limit: int = 100,
                         newest_first: bool = False) -> Any:
        """One page of funding payments (amount received; negative: paid) -> `FundingPage`."""
        params = {"account": account, "symbol": symbol, "since": since, "until": until, "cursor": cursor,
                  "limit": limit, "newest_first": newest_first}
        return self._send(Call("GET", "/funding-payments", lambda d: decode(FundingPage, d), params=params))

    def funding_payments_csv(self, *, account: str | None = None, symbol: str | None = None, since: int | None = None,
                             until: int | None = None, cursor: str | None = None, limit: int = 1000) -> Any:
        """One page of funding payments as the daemon's CSV -> `CsvPage`."""
        params = {"account": account, "symbol": symbol, "since": since, "until": until, "cursor": cursor,
                  "limit": limit, "format": "csv"}
        return self._send(Call("GET", "/funding-payments", _csv_page, params=params, text=True))

    def pnl(self, *, account: str | None = None, period: str | None = None, since: int | None = None,
            until: int | None = None, curve: bool = False) -> Any:
        """PnL per account, venue, asset and in total -> `PnlReport`: today (the kill switch's
        numbers; the default), a window (since/until, ms) or period="inception"; `curve=True`
        adds the cumulative booked PnL after each journaled fill and payment."""
        params = {"account": account, "period": period, "since": since, "until": until, "curve": curve or None}
        return self._send(Call("GET", "/pnl", lambda d: decode(PnlReport, d), params=params))

    # ------------------------------------------------------------------ positions

    def positions(self, account: str | None = None) -> Any:
        """Positions and their per-asset exposure -> `Positions` (iterates the positions)."""
        return self._send(Call("GET", "/positions", lambda d: decode(Positions, d), params={"account": account}))

    def position(self, symbol: str) -> Any:
        """One symbol across accounts -> `Positions`."""
        return self._send(Call("GET", f"/positions/{_seg(symbol)}", lambda d: decode(Positions, d)))

    def close_position(self, symbol: str, *, account: str | None = None, slippage_bps: Number | None = None) -> Any:
        """Close a position with reduce-only market orders -> list[Order]."""
        body = {"account": account, "slippage_bps": _amount(slippage_bps)}
        body = {k: v for k, v in body.items() if v is not None}
        return self._send(Call("POST", f"/positions/{_seg(symbol)}/close", _field("orders", list[Order]), json=body))
