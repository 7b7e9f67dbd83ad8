"""Every verb of perpctl and %perp in one list: its syntax, what it does, and its help.

A verb's `run(session, args)` calls the daemon through the client and returns a
`Result` (typed value + tables). `watch` is parsed here but shown by each front end
(a full-screen view in the terminal, a display that updates in a notebook).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perpd.client.calls import Surface
from perpd.errors import InvalidRequest, NotFound
from perpd.model import normalize_symbol
from perpd.perpctl import money, tables
from perpd.perpctl.catalog import LiveCatalog
from perpd.perpctl.grammar import Kind, Slot, Syntax, UsageError, parse_words, split
from perpd.perpctl.tables import Result, Table

ON_TARGET = {"on": Slot("target", Kind.TARGET, metavar="ACCOUNT|ROUTE")}
ON_ACCOUNT = {"on": Slot("account", Kind.ACCOUNT)}
TIFS = {"gtc": ("tif", "gtc"), "ioc": ("tif", "ioc"), "fok": ("tif", "fok"), "post": ("tif", "post_only")}
REDUCE = {"reduce": ("reduce_only", True)}
SIDE = Slot("side", Kind.WORD, choices=("buy", "sell"))


@dataclass
class Session:
    """One front end's connection: the client and its cached names."""

    client: Surface
    catalog: LiveCatalog = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = LiveCatalog(self.client)

    def parse(self, line: str) -> tuple[Verb, dict[str, Any]] | None:
        """The verb and arguments of a line; None for a blank one; UsageError if it is wrong."""
        words = split(line)
        if not words:
            return None
        verb = VERBS.get(words[0].lower())
        if verb is None:
            raise UsageError(f"no verb {words[0]!r}; `help` lists them")
        return verb, parse_words(verb.syntax, verb.name, words[1:])

    def run(self, line: str) -> Result | None:
        parsed = self.parse(line)
        if parsed is None:
            return None
        verb, args = parsed
        if verb.run is None:
            raise UsageError(f"{verb.name} needs a live display: use it in perpctl or a notebook")
        return verb.run(self, args)


@dataclass(frozen=True)
class Verb:
    name: str
    syntax: Syntax
    summary: str
    run: Callable[[Session, dict[str, Any]], Result] | None
    example: str = ""

    @property
    def usage(self) -> str:
        return self.syntax.usage(self.name)


# --------------------------------------------------------------------------- reads


def _status(s: Session, a: dict[str, Any]) -> Result:
    value = s.client.status()
    return Result(value, tables.status(value))


def _accounts(s: Session, a: dict[str, Any]) -> Result:
    value = s.client.accounts()
    return Result(value, [tables.accounts(value)])


def _balance(s: Session, a: dict[str, Any]) -> Result:
    name = a.get("account")
    if name is not None:
        value = [s.client.balance(name)]
    else:
        value = [acct.balance for acct in s.client.accounts() if acct.balance is not None]
    return Result(value, [tables.balances(value)])


def _markets(s: Session, a: dict[str, Any]) -> Result:
    value = s.client.markets(a.get("venue"))
    return Result(value, [tables.markets(value)])


def _book(s: Session, a: dict[str, Any]) -> Result:
    depth = a.get("depth", 10)
    value = s.client.order_book(a["symbol"], a.get("venue"), depth)
    return Result(value, [tables.book(value, a.get("venue"), depth)])


def _trades(s: Session, a: dict[str, Any]) -> Result:
    value = s.client.trades(a["symbol"], a.get("venue"), a.get("limit", 20))
    return Result(value, [tables.trades(value)])


def _funding(s: Session, a: dict[str, Any]) -> Result:
    symbols = [a["symbol"]] if "symbol" in a else s.catalog.symbols()
    value = []
    for symbol in symbols:
        try:
            value += s.client.funding(symbol, a.get("venue"))
        except NotFound:
            if "symbol" in a:
                raise  # asked for by name: say so; listing all, skip what a venue lacks
    return Result(value, [tables.funding(value)])


def _orders(s: Session, a: dict[str, Any]) -> Result:
    live = None if a.get("which") == "all" else True
    value = s.client.orders(account=a.get("account"), symbol=a.get("symbol"), live=live, limit=a.get("limit", 50))
    return Result(value, [tables.orders(value)])


def _positions(s: Session, a: dict[str, Any]) -> Result:
    value = s.client.positions(a.get("account") or a.get("on"))
    return Result(value, tables.positions(value))


def _events(s: Session, a: dict[str, Any]) -> Result:
    filters = {k: a[k] for k in ("action", "account", "symbol", "result") if k in a}
    value = s.client.events(limit=a.get("limit", 20), newest_first=True, **filters)
    value = list(reversed(value))  # newest last, as a terminal reads
    return Result(value, [tables.events(value)])


# --------------------------------------------------------------------------- orders


def _where(s: Session, a: dict[str, Any]) -> dict[str, str]:
    return s.catalog.target(a["target"]) if "target" in a else s.catalog.default_target()


def _order(s: Session, a: dict[str, Any], side: str, kind: str | None = None) -> Result:
    fields: dict[str, Any] = {"side": side, "size": a["size"], "symbol": a["symbol"], **_where(s, a)}
    for key in ("price", "tif", "reduce_only", "slippage_bps", "client_tag"):
        if key in a:
            fields[key] = a[key]
    if kind is not None:  # a trigger order: stop / take profit, market or limit
        fields["trigger_price"] = a["trigger"]
        fields["type"] = f"{kind}_{'limit' if 'price' in a else 'market'}"
    for exit_key in ("take_profit", "stop_loss"):  # a bracket: exits placed once the entry fills
        if exit_key in a:
            fields[exit_key] = {"trigger_price": str(a[exit_key])}
    value = s.client.place(**fields)
    return Result(value, [tables.orders(value, "placed")])


def _cancel(s: Session, a: dict[str, Any]) -> Result:
    if a["id"].lower() == "all":
        count = s.client.cancel_all(account=a.get("account"), symbol=a.get("symbol"))
        return Result(count, message=f"cancelled {count} order(s)")
    if "symbol" in a or "account" in a:
        raise UsageError("cancel ID takes no SYMBOL or account: those narrow `cancel all`")
    value = s.client.cancel(a["id"])
    return Result(value, [tables.orders([value], "cancelled")])


def _modify(s: Session, a: dict[str, Any]) -> Result:
    if "price" not in a and "size" not in a:
        raise UsageError("modify: give @ PRICE and/or size SIZE")
    value = s.client.modify(a["id"], price=a.get("price"), size=a.get("size"))
    return Result(value, [tables.orders([value], "modified")])


def _close(s: Session, a: dict[str, Any]) -> Result:
    value = s.client.close_position(a["symbol"], account=a.get("account"), slippage_bps=a.get("slippage_bps"))
    return Result(value, [tables.orders(value, "closing")])


def _leverage(s: Session, a: dict[str, Any]) -> Result:
    if "leverage" in a:
        if "symbol" not in a or "account" not in a:
            raise InvalidRequest("usage: leverage SYMBOL N on ACCOUNT")
        change = s.client.set_leverage(a["account"], a["symbol"], a["leverage"])
        text = f"leverage {normalize_symbol(a['symbol'])} {a['leverage']}x on {a['account']}: written to the config, reloaded"
        return Result(change, message=text)
    symbol = normalize_symbol(a["symbol"]) if "symbol" in a else None
    names = [a["account"]] if "account" in a else s.catalog.accounts()
    rows = []
    for name in names:
        account = s.client.account(name)
        configured = {normalize_symbol(k): v for k, v in ((account.config or {}).get("leverage") or {}).items()}
        held = {p.symbol: p.leverage for p in account.positions}
        for sym in sorted(set(configured) | set(held)):
            if symbol is None or sym == symbol:
                rows.append((name, sym, configured.get(sym), held.get(sym), (account.config or {}).get("margin_mode")))
    return Result(rows, [Table(("account", "symbol", "configured", "position", "margin"), rows, "leverage")])


# --------------------------------------------------------------------------- control


def _plan(s: Session, a: dict[str, Any]) -> Result:
    text = Path(a["file"]).expanduser().read_text(encoding="utf-8") if "file" in a else None
    value = s.client.plan(text)
    lines = [f"config {value.config_hash}: {'no change' if not value.diff else 'changes'}"]
    for section, change in value.diff.items():
        lines += [f"  {section} {kind}: {', '.join(names)}" for kind, names in change.items() if names]
    lines.append(f"{len(value.actions)} action(s)" if value.actions else "no actions")
    lines += [f"  {action}" for action in value.actions]
    return Result(value, message="\n".join(lines))


def _reload(s: Session, a: dict[str, Any]) -> Result:
    value = s.client.reload()
    s.catalog.invalidate()
    lines = [f"reloaded {section}: " + "; ".join(f"{k} {', '.join(v)}" for k, v in parts.items() if v)
             for section, parts in value.items()]
    return Result(value, message="\n".join(lines) or "reloaded: no change")


def _halt(s: Session, a: dict[str, Any]) -> Result:
    scope = s.catalog.scope(a.get("scope", "global"))
    value = s.client.halt(scope, reason=a.get("reason", ""), reduce_only=a.get("reduce_only", False),
                          cancel=a.get("cancel", True))
    cancelled = f", cancelled {value.cancelled} order(s)" if value.cancelled else ""
    return Result(value, message=f"{value.scope}: {value.state} ({value.reason}){cancelled}")


def _resume(s: Session, a: dict[str, Any]) -> Result:
    value = s.client.resume(s.catalog.scope(a.get("scope", "global")), reason=a.get("reason", ""))
    return Result(value, message=f"{value.scope}: {value.state} ({value.reason})")


def _help(s: Session, a: dict[str, Any]) -> Result:
    if "verb" in a:
        verb = VERBS.get(a["verb"].lower())
        if verb is None:
            raise UsageError(f"no verb {a['verb']!r}; `help` lists them")
        text = f"{verb.usage}\n  {verb.summary}" + (f"\n  e.g. {verb.example}" if verb.example else "")
        return Result(text, message=text)
    text = "\n".join(f"{v.usage}\n    {v.summary}" for v in VERBS.values())
    return Result(text, message=text)


# --------------------------------------------------------------------------- the list

ORDER_SYNTAX = Syntax(
    (Slot("size", Kind.DECIMAL), Slot("symbol", Kind.SYMBOL)),
    {"@": Slot("price", Kind.DECIMAL), **ON_TARGET, "slippage": Slot("slippage_bps", Kind.DECIMAL, metavar="BPS"),
     "tag": Slot("client_tag", Kind.WORD, metavar="TAG"),
     "tp": Slot("take_profit", Kind.DECIMAL, metavar="PRICE"), "sl": Slot("stop_loss", Kind.DECIMAL, metavar="PRICE")},
    {**TIFS, **REDUCE},
)
TRIGGER_SYNTAX = Syntax(
    (SIDE, Slot("size", Kind.DECIMAL), Slot("symbol", Kind.SYMBOL)),
    {"at": Slot("trigger", Kind.DECIMAL, metavar="PRICE"), "@": Slot("price", Kind.DECIMAL), **ON_TARGET,
     "tag": Slot("client_tag", Kind.WORD, metavar="TAG")},
    {**REDUCE},
)


def _trigger(kind: str) -> Callable[[Session, dict[str, Any]], Result]:
    def run(s: Session, a: dict[str, Any]) -> Result:
        if "trigger" not in a:
            raise UsageError(f"{'stop' if kind == 'stop' else 'tp'}: give the trigger price: at PRICE")
        return _order(s, a, a["side"], kind)

    return run


VERB_LIST: tuple[Verb, ...] = (
    Verb("status", Syntax(), "venues, accounts, config revision, trading states", _status),
    Verb("accounts", Syntax(), "every account: health, trading state, equity", _accounts),
    Verb("balance", Syntax((Slot("account", Kind.ACCOUNT, optional=True),), ON_ACCOUNT), "balances", _balance),
    Verb("markets", Syntax((Slot("venue", Kind.VENUE, optional=True),)), "markets and their rules", _markets),
    Verb("book", Syntax((Slot("symbol", Kind.SYMBOL), Slot("venue", Kind.VENUE, optional=True)),
                        {"depth": Slot("depth", Kind.INT, metavar="N")}),
         "order book (merged across venues unless one is named)", _book, "book BTC sim depth 5"),
    Verb("trades", Syntax((Slot("symbol", Kind.SYMBOL), Slot("venue", Kind.VENUE, optional=True)),
                          {"limit": Slot("limit", Kind.INT, metavar="N")}), "recent public trades", _trades),
    Verb("funding", Syntax((Slot("symbol", Kind.SYMBOL, optional=True), Slot("venue", Kind.VENUE, optional=True))),
         "funding rates per venue", _funding),
    Verb("orders", Syntax((Slot("symbol", Kind.SYMBOL, optional=True),),
                          {**ON_ACCOUNT, "limit": Slot("limit", Kind.INT, metavar="N")}, {"all": ("which", "all"), "live": ("which", "live")}),
         "live orders (`all` for finished ones too)", _orders),
    Verb("positions", Syntax((Slot("account", Kind.ACCOUNT, optional=True),), {"on": Slot("on", Kind.ACCOUNT, metavar="ACCOUNT")}),
         "positions, and net exposure by asset", _positions),
    Verb("buy", ORDER_SYNTAX, "buy: limit with @ PRICE, else market; tp / sl PRICE attach exits", lambda s, a: _order(s, a, "buy"),
         "buy 0.1 BTC @ 60000 on paper post"),
    Verb("sell", ORDER_SYNTAX, "sell: limit with @ PRICE, else market; tp / sl PRICE attach exits", lambda s, a: _order(s, a, "sell"),
         "sell 0.1 BTC on paper ioc reduce"),
    Verb("stop", TRIGGER_SYNTAX, "stop order triggered at a price (limit with @ PRICE)", _trigger("stop"),
         "stop sell 0.1 BTC at 58000 on paper reduce"),
    Verb("tp", TRIGGER_SYNTAX, "take-profit order triggered at a price", _trigger("take_profit"),
         "tp sell 0.1 BTC at 70000 @ 69900 on paper reduce"),
    Verb("cancel", Syntax((Slot("id", Kind.ORDER_ID), Slot("symbol", Kind.SYMBOL, optional=True)), ON_ACCOUNT),
         "cancel one order, or all (of a symbol / account)", _cancel, "cancel all BTC on paper"),
    Verb("modify", Syntax((Slot("id", Kind.ORDER_ID),), {"@": Slot("price", Kind.DECIMAL), "size": Slot("size", Kind.DECIMAL)}),
         "move a live order's price and/or size", _modify, "modify pd-1a2b @ 60100 size 0.2"),
    Verb("close", Syntax((Slot("symbol", Kind.SYMBOL),), {**ON_ACCOUNT, "slippage": Slot("slippage_bps", Kind.DECIMAL, metavar="BPS")}),
         "close a position with reduce-only market orders", _close),
    Verb("leverage", Syntax((Slot("symbol", Kind.SYMBOL, optional=True), Slot("leverage", Kind.INT, optional=True)),
                            ON_ACCOUNT), "leverage per account and symbol (set in the config)", _leverage),
    Verb("plan", Syntax((Slot("file", Kind.FILE, optional=True),)), "what applying the config (or FILE) would do", _plan),
    Verb("reload", Syntax(), "re-read the config file (a bad file keeps the old one)", _reload),
    Verb("halt", Syntax((Slot("scope", Kind.SCOPE, optional=True),), {"reason": Slot("reason", Kind.TEXT)},
                        {"reduce": ("reduce_only", True), "keep": ("cancel", False)}),
         "kill switch: halt a scope (or reduce-only); cancels its orders unless `keep`", _halt,
         "halt account:paper reason fat finger"),
    Verb("resume", Syntax((Slot("scope", Kind.SCOPE, optional=True),), {"reason": Slot("reason", Kind.TEXT)}),
         "resume trading in a scope", _resume),
    Verb("fills", money.LEDGER_SYNTAX, "our fills, newest last: fee, liquidity, trade id, the intent (`csv`: all, as CSV)",
         money.fills, "fills BTC on paper since 12h"),
    Verb("payments", money.LEDGER_SYNTAX, "funding payments received (negative: paid), newest last (`csv`: all)",
         money.payments, "payments on paper since 2026-12-01"),
    Verb("pnl", money.PNL_SYNTAX, "PnL: realized, fees, funding, unrealized, net; today (the kill switch's), a window, "
         "inception; `curve` the booked PnL over time", money.pnl, "pnl paper since 7d"),
    Verb("events", Syntax((Slot("limit", Kind.INT, optional=True, metavar="N"),),
                          {k: Slot(k, Kind.ACCOUNT if k == "account" else (Kind.SYMBOL if k == "symbol" else Kind.WORD))
                           for k in ("action", "account", "symbol", "result")}),
         "the audit log, newest last", _events, "events 20 action place"),
    Verb("watch", Syntax((Slot("what", Kind.WORD, choices=("book", "positions", "orders", "fills")),
                          Slot("symbol", Kind.SYMBOL, optional=True), Slot("venue", Kind.VENUE, optional=True)),
                         {**ON_ACCOUNT, "depth": Slot("depth", Kind.INT, metavar="N"), "for": Slot("updates", Kind.INT, metavar="N")}),
         "a live view until Ctrl-C (`for N` stops after N updates)", None, "watch book BTC"),
    Verb("help", Syntax((Slot("verb", Kind.VERB, optional=True),)), "this list, or one verb's usage", _help),
)

VERBS: dict[str, Verb] = {v.name: v for v in VERB_LIST}
SYNTAXES: dict[str, Syntax] = {v.name: v.syntax for v in VERB_LIST}
