"""`/stream` subscriptions and the exchange feed that fills them (the socket itself is ws.py).

Channels are subscribed in Lighter's slash form (`order_book/0`) and answered in its
colon form (`order_book:0`): a `subscribed/<name>` snapshot, then `update/<name>`.
Order books carry `offset` (+1 per update of the market), `nonce` (the engine's book
sequence) and `begin_nonce` (the nonce the update applies on), so a skipped update is
visible to the client. The engine calls `on_event` synchronously; messages are encoded
once and queued per connection without ever blocking the engine (a connection whose
queue overflows is closed, as a slow consumer would be).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from venues.lighter.constants import RESOLUTION_MS
from venues.lighter.emulator import shapes
from venues.lighter.emulator.exchange import LighterExchange
from venues.lighter.emulator.markets import USDC_ASSET_ID, MarketDef
from venues.lighter.emulator.txs import TxError
from venues.lighter.emulator.ws import Connection, error
from venues.simex.events import (
    BalanceEvent,
    BookDelta,
    FillEvent,
    FundingEvent,
    MarkEvent,
    OrderEvent,
    PositionEvent,
    TradeEvent,
)
from venues.simex.wshub import ConnectionHub

AUTH_CHANNELS = frozenset({"account_all_orders", "account_orders", "account_all_assets", "account_tx", "notification"})
ACCOUNT_CHANNELS = frozenset(
    {"account_all", "account_all_orders", "account_orders", "account_all_trades", "account_all_positions",
     "account_all_assets", "user_stats", "account_tx", "notification"}
)
PUBLIC_CHANNELS = frozenset({"order_book", "trade", "market_stats", "ticker", "candle", "height"})


class Hub(ConnectionHub[Connection]):
    """Every connection and subscription of the emulator's `/stream`."""

    def __init__(self, exchange: LighterExchange) -> None:
        super().__init__()
        self.exchange = exchange
        self.engine = exchange.engine
        self.offsets: dict[int, int] = defaultdict(int)
        self._last_height = 0
        self.engine.subscribe(self.on_event)
        exchange.on_synthetic.append(self._synthetic_order)

    # ------------------------------------------------------------------ connections

    def attach(self) -> Connection:
        return self.register(Connection())

    def has(self, channel: str) -> bool:
        subs = self.subs.get(channel)
        return bool(subs)

    # ------------------------------------------------------------------ subscribe

    def subscribe(self, conn: Connection, path: str, auth: str | None) -> dict[str, Any]:
        """Register `path` (`order_book/0`) and return its snapshot, or an error frame."""
        parts = path.split("/")
        name, args = parts[0], parts[1:]
        key = ":".join(parts)
        if key in conn.channels:
            return error(30003, f"Already Subscribed to : {key}")
        try:
            snapshot = self._snapshot(name, args, auth)
        except TxError as exc:
            return error(exc.code, exc.message)
        except (ValueError, KeyError, IndexError):
            return error(30005, f"Invalid Channel: {path}")
        self.listen(conn, key)
        return {"channel": key, **snapshot, "type": f"subscribed/{name}"}

    def unsubscribe(self, conn: Connection, path: str) -> dict[str, Any]:
        key = ":".join(path.split("/"))
        if key not in conn.channels:
            return error(30002, f"Not Subscribed to : {key}")
        self.unlisten(conn, key)
        return {"type": "unsubscribed", "channel": key}

    def _snapshot(self, name: str, args: list[str], auth: str | None) -> dict[str, Any]:
        ex = self.exchange
        now = ex.clock.now_ms()
        if name in PUBLIC_CHANNELS:
            if name == "height":
                if args:
                    raise ValueError(name)
                return {"height": self.height(), "timestamp": now}
            if name == "candle":
                market, resolution = ex.markets[int(args[0])], args[1]
                if len(args) != 2 or resolution not in RESOLUTION_MS:
                    raise ValueError(name)
                return {"candles": self._candles(market, resolution), "timestamp": now}
            if name == "market_stats" and args == ["all"]:
                return {"market_stats": {str(m.market_id): ex.stats_json(m) for m in ex.markets.values()}, "timestamp": now}
            market = ex.markets[int(args[0])]
            if len(args) != 1:
                raise ValueError(name)
            if name == "order_book":
                return self._book_snapshot(market, now)
            if name == "trade":
                trades = self.engine.recent_trades(market.symbol, 50)
                rows = [self._public_trade(t, market) for t in reversed(trades)]
                return {"trades": rows, "liquidation_trades": [], "nonce": self.engine.book(market.symbol, 0).seq}
            if name == "market_stats":
                return {"market_stats": ex.stats_json(market), "timestamp": now}
            tick = self._ticker(market)
            return {"ticker": tick, "last_updated_at": tick["last_updated_at"],
                    "nonce": self.engine.book(market.symbol, 0).seq, "timestamp": now}
        if name not in ACCOUNT_CHANNELS:
            raise ValueError(name)
        account = int(args[-1])
        if name in AUTH_CHANNELS or auth:
            ex.check_auth(auth, account)
        ex.ensure_account(account)
        engine_account = ex.engine_id(account)
        if name == "account_orders":
            market = ex.markets[int(args[0])]
            return {"account": account, "orders": {str(market.market_id): ex.active_orders(account, market.market_id)}}
        if name == "account_all_orders":
            return {"orders": self._by_market(ex.active_orders(account), "market_index")}
        if name == "account_all_trades":
            fills = self.engine.fills(engine_account)[-50:]
            rows = [shapes.fill_trade_json(f, ex.by_symbol[f.symbol], account, shapes.order_index(f.oid)) for f in fills]
            return {"trades": self._by_market(rows, "market_id")}
        if name == "account_all_positions":
            return {"positions": {str(p["market_id"]): p for p in ex.positions_json(account)}, "shares": []}
        if name == "account_all_assets":
            return {"assets": {str(USDC_ASSET_ID): shapes.asset_json(self.engine.balance(engine_account))}, "timestamp": now}
        if name == "user_stats":
            return {"stats": shapes.user_stats_json(self.engine.balance(engine_account)), "timestamp": now}
        if name == "account_all":
            return {
                "account": account,
                "positions": {str(p["market_id"]): p for p in ex.positions_json(account)},
                "orders": self._by_market(ex.active_orders(account), "market_index"),
                "trades": {},
                "funding_histories": {},
                "shares": [],
            }
        return {"txs": [], "timestamp": now}  # account_tx / notification: nothing to replay

    @staticmethod
    def _by_market(rows: list[dict[str, Any]], field: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            out.setdefault(str(row[field]), []).append(row)
        return out

    def _book_snapshot(self, market: MarketDef, now: int) -> dict[str, Any]:
        book = self.engine.book(market.symbol)
        offset = self.offsets[market.market_id]
        payload = {
            "code": 0,
            "asks": [{"price": market.fmt_price(p), "size": market.fmt_size(s)} for p, s in book.asks],
            "bids": [{"price": market.fmt_price(p), "size": market.fmt_size(s)} for p, s in book.bids],
            "offset": offset,
            "nonce": book.seq,
            "last_updated_at": now * 1000,
            "begin_nonce": book.seq,
        }
        return {"offset": offset, "last_updated_at": now * 1000, "order_book": payload, "timestamp": now}

    def tick(self) -> None:
        """After each background step: a new height to `height` subscribers."""
        if self.has("height"):
            height = self.height()
            if height != self._last_height:
                self._last_height = height
                self.broadcast("height", {"channel": "height", "height": height,
                                        "timestamp": self.exchange.clock.now_ms(), "type": "update/height"})

    def height(self) -> int:
        """The block height: one block per 100 ms of the exchange's time (as block_height is)."""
        return self.exchange.clock.now_ms() // 100

    def _candles(self, market: MarketDef, resolution: str) -> list[dict[str, Any]]:
        rows = self.engine.candles(market.symbol, RESOLUTION_MS[resolution], limit=1)
        return [shapes.candle_json(c) for c in rows]

    def _ticker(self, market: MarketDef) -> dict[str, Any]:
        book = self.engine.book(market.symbol, 1)
        bid = book.bids[0] if book.bids else (0, 0)
        ask = book.asks[0] if book.asks else (0, 0)
        return {
            "s": market.base,
            "a": {"price": market.fmt_price(ask[0]), "size": market.fmt_size(ask[1])},
            "b": {"price": market.fmt_price(bid[0]), "size": market.fmt_size(bid[1])},
            "last_updated_at": book.ts_ms * 1000,
        }

    def _public_trade(self, trade: Any, market: MarketDef) -> dict[str, Any]:
        ex = self.exchange
        return shapes.public_trade_json(trade, market, ex.account_index_of, ex.client_index_of)

    # ------------------------------------------------------------------ engine feed

    def on_event(self, event: Any) -> None:  # noqa: C901 - one dispatch table, kept flat
        ex = self.exchange
        if isinstance(event, BookDelta):
            market = ex.by_symbol.get(event.symbol)
            if market is None:
                return
            self._book_delta(market, event)
        elif isinstance(event, TradeEvent):
            market = ex.by_symbol[event.trade.symbol]
            channel = f"trade:{market.market_id}"
            if self.has(channel):
                self.broadcast(channel, {
                    "channel": channel, "liquidation_trades": [], "nonce": event.trade.trade_id,
                    "trades": [self._public_trade(event.trade, market)], "type": "update/trade",
                })
            for resolution in RESOLUTION_MS:
                channel = f"candle:{market.market_id}:{resolution}"
                if self.has(channel):
                    self.broadcast(channel, {"candles": self._candles(market, resolution), "channel": channel,
                                           "timestamp": ex.clock.now_ms(), "type": "update/candle"})
        elif isinstance(event, (MarkEvent, FundingEvent)):
            market = ex.by_symbol[event.symbol]
            for channel in (f"market_stats:{market.market_id}", "market_stats:all"):
                if self.has(channel):
                    stats = ex.stats_json(market)
                    payload = stats if channel != "market_stats:all" else {str(market.market_id): stats}
                    self.broadcast(channel, {"channel": channel, "market_stats": payload,
                                           "timestamp": ex.clock.now_ms(), "type": "update/market_stats"})
        elif event.account is None or not event.account.isdigit():
            return  # house accounts have no streams
        elif isinstance(event, OrderEvent):
            account = int(event.account)
            market = ex.by_symbol[event.order.symbol]
            self._account_order(account, market, ex.order_json(account, event.order))
        elif isinstance(event, FillEvent):
            account = int(event.account)
            channel = f"account_all_trades:{account}"
            if self.has(channel) or self.has(f"account_all:{account}"):
                market = ex.by_symbol[event.fill.symbol]
                row = shapes.fill_trade_json(event.fill, market, account, shapes.order_index(event.fill.oid))
                trades = {str(market.market_id): [row]}
                self.broadcast(channel, {"channel": channel, "trades": trades, "type": "update/account_all_trades"})
                self.broadcast(f"account_all:{account}", {"channel": f"account_all:{account}", "account": account,
                                                        "trades": trades, "type": "update/account_all"})
        elif isinstance(event, PositionEvent):
            account = int(event.account)
            channel = f"account_all_positions:{account}"
            if self.has(channel) or self.has(f"account_all:{account}"):
                market = ex.by_symbol[event.position.symbol]
                engine_account = ex.engine_id(account)
                open_count = len(self.engine.open_orders(engine_account, market.symbol))
                positions = {str(market.market_id): shapes.position_json(event.position, market, open_count)}
                self.broadcast(channel, {"channel": channel, "positions": positions, "shares": [],
                                       "type": "update/account_all_positions"})
                self.broadcast(f"account_all:{account}", {"channel": f"account_all:{account}", "account": account,
                                                        "positions": positions, "type": "update/account_all"})
        elif isinstance(event, BalanceEvent):
            account = int(event.account)
            now = ex.clock.now_ms()
            channel = f"user_stats:{account}"
            if self.has(channel):
                self.broadcast(channel, {"channel": channel, "stats": shapes.user_stats_json(event.balance),
                                       "timestamp": now, "type": "update/user_stats"})
            channel = f"account_all_assets:{account}"
            if self.has(channel):
                assets = {str(USDC_ASSET_ID): shapes.asset_json(event.balance)}
                self.broadcast(channel, {"channel": channel, "assets": assets, "timestamp": now,
                                       "type": "update/account_all_assets"})

    def _book_delta(self, market: MarketDef, event: BookDelta) -> None:
        channel = f"order_book:{market.market_id}"
        self.offsets[market.market_id] += 1
        if not self.has(channel) and not self.has(f"ticker:{market.market_id}"):
            return
        faults = self.exchange.faults
        if faults.drop_book_deltas > 0:
            faults.drop_book_deltas -= 1  # the update is lost: the next one shows the gap
            return
        offset = self.offsets[market.market_id]
        now = self.exchange.clock.now_ms()
        payload = {
            "code": 0,
            "asks": [{"price": market.fmt_price(p), "size": market.fmt_size(s)} for p, s in event.asks],
            "bids": [{"price": market.fmt_price(p), "size": market.fmt_size(s)} for p, s in event.bids],
            "offset": offset,
            "nonce": event.seq,
            "last_updated_at": now * 1000,
            "begin_nonce": event.seq - 1,
        }
        self.broadcast(channel, {"channel": channel, "offset": offset, "last_updated_at": now * 1000,
                               "order_book": payload, "timestamp": now, "type": "update/order_book"})
        ticker = f"ticker:{market.market_id}"
        if self.has(ticker):
            tick = self._ticker(market)
            self.broadcast(ticker, {"channel": ticker, "last_updated_at": tick["last_updated_at"],
                                  "nonce": event.seq, "ticker": tick,
                                  "timestamp": now, "type": "update/ticker"})

    def _account_order(self, account: int, market: MarketDef, order: dict[str, Any]) -> None:
        orders = {str(market.market_id): [order]}
        channel = f"account_all_orders:{account}"
        self.broadcast(channel, {"channel": channel, "orders": orders, "type": "update/account_all_orders"})
        channel = f"account_orders:{market.market_id}:{account}"
        self.broadcast(channel, {"account": account, "channel": channel, "nonce": order["nonce"],
                               "orders": orders, "type": "update/account_orders"})
        channel = f"account_all:{account}"
        self.broadcast(channel, {"account": account, "channel": channel, "orders": orders, "type": "update/account_all"})

    def _synthetic_order(self, account: int, market: MarketDef, order: dict[str, Any]) -> None:
        self._account_order(account, market, order)
