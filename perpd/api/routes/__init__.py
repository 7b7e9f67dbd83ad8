"""The whole REST surface in one list: every endpoint with its scope and models.

The OpenAPI document is generated from this list, so what is declared here is what is
served and what is documented.
"""

from __future__ import annotations

from perpd.api import models as m
from perpd.api.endpoint import Endpoint
from perpd.api.routes import accounts, control, markets, money, orders, positions
from perpd.model import Balance, Order
from perpd.wire import FillPage, FundingPage, PnlReport

# An answer's `links` (OpenAPI) lead from what it created to the operations on it.

# Each endpoint's `errors` are what its handler may raise; `Endpoint.error_statuses` adds
# what every endpoint may answer (400 not as documented, 403 Host/Origin, 401/429 with a
# scope, 503 before the engine runs) and a venue's (429, 502-504) where `venue=True`.
ENDPOINTS: list[Endpoint] = [
    # orders
    Endpoint("POST", "/orders", orders.place, "Place an order (Idempotency-Key honoured across restarts)",
             scope="trade", headers=m.OrderHeaders, body=m.OrderIn, response=m.Orders, status=201, also=(200,),
             errors=(403, 404, 409, 422), venue=True, tag="orders", hot=True,
             links=(("/orders/{client_id}", "$response.body#/orders/0/client_id"),)),
    Endpoint("GET", "/orders", orders.list_orders, "List orders, newest first, with filters and pagination",
             query=m.OrderQuery, response=m.OrderPage, errors=(404,), tag="orders"),
    Endpoint("DELETE", "/orders", orders.cancel_all, "Cancel every live order (optionally one account / symbol)",
             scope="trade", query=m.CancelAllQuery, response=m.Cancelled, errors=(404,), tag="orders"),
    Endpoint("GET", "/orders/{client_id}", orders.get_order, "One order by client id",
             response=Order, errors=(404,), tag="orders"),
    Endpoint("PATCH", "/orders/{client_id}", orders.modify_order, "Modify a live order's price and/or size",
             scope="trade", body=m.OrderPatch, response=Order, errors=(403, 404, 422), venue=True, tag="orders"),
    Endpoint("DELETE", "/orders/{client_id}", orders.cancel_order, "Cancel one order",
             scope="trade", response=Order, errors=(403, 404), venue=True, tag="orders"),
    # positions
    Endpoint("GET", "/positions", positions.list_positions, "Positions per account and aggregated by asset",
             query=m.PositionQuery, response=m.Positions, errors=(404,), tag="positions"),
    Endpoint("GET", "/positions/{symbol}", positions.get_position, "One symbol's positions across accounts",
             response=m.Positions, tag="positions"),
    Endpoint("POST", "/positions/{symbol}/close", positions.close_position, "Close a position with reduce-only market orders",
             scope="trade", body=m.CloseIn, response=m.Orders, errors=(403, 404, 422), venue=True, tag="positions"),
    # accounts
    Endpoint("GET", "/accounts", accounts.list_accounts, "Every configured account with its live state",
             response=m.Accounts, tag="accounts"),
    Endpoint("POST", "/accounts", accounts.add_account, "Add an account to the config file and start it",
             scope="admin", body=m.AccountIn, response=m.ConfigChange, status=201, errors=(409, 422), tag="accounts",
             links=(("/accounts/{name}", "$request.body#/name"),)),
    Endpoint("GET", "/accounts/{name}", accounts.get_account, "One account: state and config (secret references only)",
             response=m.AccountOut, errors=(404,), tag="accounts"),
    Endpoint("DELETE", "/accounts/{name}", accounts.remove_account, "Remove an account from the config file and stop it",
             scope="admin", response=m.ConfigChange, errors=(404, 409, 422), tag="accounts"),
    Endpoint("GET", "/accounts/{name}/balance", accounts.get_balance, "An account's balance",
             response=Balance, errors=(404,), tag="accounts"),
    Endpoint("PUT", "/accounts/{name}/leverage", accounts.set_leverage,
             "Set leverage (and margin mode) in the config file; the reconciler applies it",
             scope="trade", body=m.LeverageIn, response=m.ConfigChange, errors=(404, 409, 422), tag="accounts"),
    # markets
    Endpoint("GET", "/markets", markets.list_markets, "Markets of every running venue",
             query=m.VenueQuery, response=m.Markets, errors=(404,), tag="markets"),
    Endpoint("GET", "/markets/{symbol}", markets.get_market, "One symbol on each venue: rules, ticker, funding",
             query=m.VenueQuery, response=m.MarketOut, errors=(404,), tag="markets"),
    Endpoint("GET", "/markets/{symbol}/orderbook", markets.orderbook, "Order book per venue and merged across venues",
             query=m.BookQuery, response=m.OrderBooks, errors=(404,), venue=True, tag="markets"),
    Endpoint("GET", "/markets/{symbol}/trades", markets.trades, "Recent public trades, oldest first",
             query=m.TradesQuery, response=m.Trades, errors=(404,), venue=True, tag="markets"),
    Endpoint("GET", "/markets/{symbol}/funding", markets.funding, "Current funding rate per venue",
             query=m.VenueQuery, response=m.Fundings, errors=(404,), venue=True, tag="markets"),
    Endpoint("GET", "/markets/{symbol}/candles", markets.candles, "Candles per venue",
             query=m.CandlesQuery, response=m.Candles, errors=(404, 422), venue=True, tag="markets"),
    # money
    Endpoint("GET", "/fills", money.fills, "Our fills with their orders and intents, oldest first, a page at a time (or CSV)",
             query=money.LedgerQuery, response=FillPage, text_formats=("text/csv",), errors=(404,), tag="money"),
    Endpoint("GET", "/funding-payments", money.funding_payments,
             "Funding payments received (negative: paid), oldest first, a page at a time (or CSV)",
             query=money.LedgerQuery, response=FundingPage, text_formats=("text/csv",), errors=(404,), tag="money"),
    Endpoint("GET", "/pnl", money.pnl,
             "PnL per account, venue, asset and in total: today (the kill switch's numbers), a window, or since inception",
             query=money.PnlQuery, response=PnlReport, errors=(404, 422), tag="money"),
    # control
    Endpoint("GET", "/status", control.status, "Venue and account health, config revision, trading states",
             response=m.Status, tag="control"),
    Endpoint("POST", "/plan", control.plan,
             "What applying the config file (or the config in the body: JSON {\"toml\": ...} or TOML text) would do",
             scope="admin", body=m.PlanIn, body_text=True, response=m.Plan, errors=(422,), tag="control"),
    Endpoint("POST", "/reload", control.reload, "Re-read the config file; a bad file keeps the old config running",
             scope="admin", response=m.ConfigChange, errors=(422,), tag="control"),
    Endpoint("POST", "/halt", control.halt, "Halt (or make reduce-only) a scope; cancels its live orders",
             scope="trade", body=m.HaltIn, response=m.TradingStateOut, errors=(404,), tag="control"),
    Endpoint("POST", "/resume", control.resume, "Resume trading in a scope",
             scope="admin", body=m.ResumeIn, response=m.TradingStateOut, errors=(404,), tag="control"),
    Endpoint("GET", "/events", control.events, "The audit log, filterable; since_id tails it",
             query=m.EventsQuery, response=m.Events, tag="control"),
    Endpoint("GET", "/config", control.get_config, "The running config (secret references only)",
             response=m.ConfigOut, tag="control"),
]
