"""Vest JSON -> perpd.model. Pure functions: no I/O, no clock, no state of their own.

Shapes are the docs' examples (../shared/venues/vest/; no live capture exists):
- Orders (`GET /orders` rows and `account_private` ORDER events) carry the caller's
  `nonce`, which is perpd's client id (Vest has no other client order id). Cancellation
  and rejection events carry only `{id, status, postTime, nonce}` (+ `code`): the rest
  comes from what the caller already knows of the order (`known`).
- Vest fills an order whole against itself: `lastFilled*` are set once the order is
  FILLED ("null if status != FILLED"), so a FILLED order is one fill. Its trade id is
  `{order id}:{lastFilledTime}`, the same from REST and from the stream.
- Public trades carry no aggressor side. It is inferred: above the mid of the latest
  book is a buy, below a sell, at the mid the previous trade's tick decides.
- `GET /account` holds balances, positions and leverages in one answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from perpd.model import (
    ZERO,
    Balance,
    BookLevel,
    Candle,
    Fill,
    FundingRate,
    LeverageSetting,
    Liquidity,
    MarginMode,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Position,
    Side,
    Ticker,
    TimeInForce,
    Trade,
)
from venues.vest.constants import FUNDING_INTERVAL_SECS
from venues.vest.errors import name_of
from venues.vest.markets import VestMarket, dec, max_leverage

STATUSES: dict[str, OrderStatus] = {
    "NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}
TYPES: dict[str, OrderType] = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP_MARKET,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT_MARKET,
    "LIQUIDATION": OrderType.MARKET,
}


# --------------------------------------------------------------------------- market data


def parse_levels(rows: Iterable[Sequence[Any]] | None) -> tuple[BookLevel, ...]:
    """`[["4.00", "431.0000"], ...]` -> levels as given."""
    return tuple(BookLevel(Decimal(str(p)), Decimal(str(q))) for p, q in rows or ())


def parse_depth(body: Mapping[str, Any], market: VestMarket, ts_ms: int = 0, seq: int = 0) -> OrderBook:
    """`GET /depth` (or the data of a `{symbol}@depth` message) -> a book, best first."""
    bids = tuple(sorted((lv for lv in parse_levels(body.get("bids")) if lv.size > 0), key=lambda lv: -lv.price))
    asks = tuple(sorted((lv for lv in parse_levels(body.get("asks")) if lv.size > 0), key=lambda lv: lv.price))
    return OrderBook(market.market.venue, market.symbol, bids, asks, seq=seq, ts_ms=ts_ms)


class AggressorGuess:
    """Vest's trades name no side: above the mid is a buy, below a sell, else the tick rule."""

    __slots__ = ("last_price", "last_side")

    def __init__(self) -> None:
        self.last_price: Decimal | None = None
        self.last_side = Side.BUY

    def side(self, price: Decimal, mid: Decimal | None) -> Side:
        if mid is not None and price != mid:
            side = Side.BUY if price > mid else Side.SELL
        elif self.last_price is not None and price != self.last_price:
            side = Side.BUY if price > self.last_price else Side.SELL
        else:
            side = self.last_side
        self.last_price, self.last_side = price, side
        return side


def trade_id(value: Any) -> str:
    """REST trade ids are integers, stream ones hex strings: both as decimal text."""
    text = str(value)
    if text.startswith("0x"):
        try:
            return str(int(text, 16))
        except ValueError:
            return text
    return text


def parse_trade(row: Mapping[str, Any], market: VestMarket, side: Side) -> Trade:
    """A REST trade (`id` an integer) or a WS trade (`id` a hex string)."""
    return Trade(
        venue=market.market.venue,
        symbol=market.symbol,
        trade_id=trade_id(row["id"]),
        price=Decimal(str(row["price"])),
        size=Decimal(str(row["qty"])),
        side=side,
        ts_ms=int(row.get("time") or 0),
    )


def parse_trades(rows: Iterable[Mapping[str, Any]], market: VestMarket, mid: Decimal | None = None) -> list[Trade]:
    """`GET /trades` -> trades oldest first, sides inferred against `mid` then by tick."""
    ordered = sorted(rows, key=lambda r: (int(r.get("time") or 0), _int_or_zero(r.get("id"))))
    guess = AggressorGuess()
    return [parse_trade(row, market, guess.side(Decimal(str(row["price"])), mid if i == 0 else None))
            for i, row in enumerate(ordered)]


def _int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def parse_ticker(row: Mapping[str, Any], market: VestMarket, ts_ms: int,
                 best_bid: Decimal | None = None, best_ask: Decimal | None = None) -> Ticker:
    """A `/ticker/latest` row or a `tickers` stream item."""
    return Ticker(
        venue=market.market.venue,
        symbol=market.symbol,
        mark_price=dec(row.get("markPrice")) or ZERO,
        index_price=dec(row.get("indexPrice"), None),
        best_bid=best_bid,
        best_ask=best_ask,
        funding_rate=dec(row.get("oneHrFundingRate"), None),
        ts_ms=ts_ms,
    )


def parse_funding(row: Mapping[str, Any], market: VestMarket, ts_ms: int) -> FundingRate:
    """The current hourly rate from a ticker row (`oneHrFundingRate` is per hour)."""
    return FundingRate(
        venue=market.market.venue,
        symbol=market.symbol,
        rate=dec(row.get("oneHrFundingRate")) or ZERO,
        interval_secs=FUNDING_INTERVAL_SECS,
        ts_ms=ts_ms,
        mark_price=dec(row.get("markPrice"), None),
        index_price=dec(row.get("indexPrice"), None),
    )


def parse_kline(row: Sequence[Any], market: VestMarket, interval: str) -> Candle:
    """`[openTime, o, h, l, c, closeTime, v, quoteV, trades]` (trades a string on the stream)."""
    return Candle(
        venue=market.market.venue,
        symbol=market.symbol,
        interval=interval,
        open_ms=int(row[0]),
        open=Decimal(str(row[1])),
        high=Decimal(str(row[2])),
        low=Decimal(str(row[3])),
        close=Decimal(str(row[4])),
        volume=Decimal(str(row[6])),
        trades=int(row[8]) if len(row) > 8 and row[8] is not None else 0,
    )


def parse_klines(rows: Iterable[Sequence[Any]], market: VestMarket, interval: str) -> list[Candle]:
    return sorted((parse_kline(r, market, interval) for r in rows), key=lambda c: c.open_ms)


# --------------------------------------------------------------------------- account


def parse_balance(body: Mapping[str, Any], account: str, venue: str, ts_ms: int) -> Balance:
    """`GET /account` -> the USDC balance: equity is totalAccountValue, free is withdrawable."""
    positions = body.get("positions") or ()
    return Balance(
        account=account,
        venue=venue,
        asset="USDC",
        equity=dec(body.get("totalAccountValue")) or ZERO,
        available=dec(body.get("withdrawable")) or ZERO,
        margin_used=sum((dec(p.get("initMargin")) or ZERO for p in positions), ZERO),
        unrealized_pnl=sum((dec(p.get("unrealizedPnl")) or ZERO for p in positions), ZERO),
        ts_ms=int(body.get("time") or ts_ms),
    )


def leverages(body: Mapping[str, Any]) -> dict[str, int]:
    """Vest symbol -> leverage set on it (`leverages: [{symbol, value}]`)."""
    return {str(row["symbol"]): int(row["value"]) for row in body.get("leverages") or () if row.get("value") is not None}


def parse_positions(body: Mapping[str, Any], account: str, markets: Mapping[str, VestMarket], ts_ms: int) -> list[Position]:
    """Non-zero positions of `GET /account`, signed by `isLong`; unknown symbols skipped."""
    set_leverage = leverages(body)
    out = []
    for row in body.get("positions") or ():
        market = markets.get(str(row.get("symbol")))
        size = dec(row.get("size")) or ZERO
        if market is None or size == 0:
            continue
        imr = dec(row.get("initMarginRatio"), None)
        leverage = set_leverage.get(market.venue_symbol) or (max_leverage(imr) if imr else None)
        out.append(Position(
            account=account,
            venue=market.market.venue,
            symbol=market.symbol,
            size=size if row.get("isLong", True) else -size,
            entry_price=dec(row.get("entryPrice"), None),
            mark_price=dec(row.get("markPrice"), None),
            unrealized_pnl=dec(row.get("unrealizedPnl")) or ZERO,
            leverage=leverage,
            margin_mode=MarginMode.CROSS,
            liquidation_price=dec(row.get("liqPrice"), None),
            margin_used=dec(row.get("initMargin")) or ZERO,
            ts_ms=int(body.get("time") or ts_ms),
        ))
    return out


def parse_leverage(body: Mapping[str, Any], market: VestMarket) -> LeverageSetting:
    """The leverage of one market (Vest is cross margin only); the market's cap if unset."""
    value = leverages(body).get(market.venue_symbol)
    return LeverageSetting(market.symbol, value if value else market.market.max_leverage, MarginMode.CROSS)


def parse_order(row: Mapping[str, Any], account: str, venue: str, market: VestMarket | None,
                known: Order | None = None, ts_ms: int = 0) -> Order | None:
    """An order row or ORDER event -> Order; fields a short event lacks come from `known`.

    None when neither the row nor `known` says which market the order is on.
    """
    if market is None and known is None:
        return None
    status = STATUSES[str(row["status"])]
    wire_type = row.get("orderType")
    kind = TYPES[str(wire_type)] if wire_type else (known.type if known else OrderType.LIMIT)
    size = dec(row.get("size"), None) or (known.size if known else ZERO)
    if row.get("isBuy") is not None:
        side = Side.BUY if row["isBuy"] else Side.SELL
    else:
        side = known.side if known else Side.BUY
    limit = dec(row.get("limitPrice"), None)
    price = trigger = None
    if kind is OrderType.LIMIT:
        price = limit if limit is not None else (known.price if known else None)
    elif kind.is_trigger:
        trigger = limit if limit is not None else (known.trigger_price if known else None)
    filled = known.filled_size if known else ZERO
    if status is OrderStatus.FILLED:
        filled = size
    elif row.get("lastFilledSize") is not None:
        filled = max(filled, dec(row.get("lastFilledSize")) or ZERO)
    post_ms = int(row.get("postTime") or (known.created_ms if known else 0))
    nonce = row.get("nonce")
    return Order(
        account=account,
        venue=venue,
        client_id=str(nonce) if nonce is not None else (known.client_id if known else str(row["id"])),
        symbol=market.symbol if market is not None else known.symbol,  # type: ignore[union-attr]
        side=side,
        type=kind,
        size=size,
        status=status,
        price=price,
        trigger_price=trigger,
        tif=known.tif if known else _default_tif(kind),
        reduce_only=bool(row["reduceOnly"]) if row.get("reduceOnly") is not None else bool(known and known.reduce_only),
        venue_order_id=str(row["id"]),
        filled_size=filled,
        avg_fill_price=dec(row.get("avgFilledPrice"), None) or (known.avg_fill_price if known else None),
        created_ms=post_ms,
        updated_ms=int(row.get("lastFilledTime") or ts_ms or post_ms),
        reason=name_of(row.get("code")) if status is OrderStatus.REJECTED else None,
    )


def _default_tif(kind: OrderType) -> TimeInForce:
    return TimeInForce.IOC if kind is OrderType.MARKET else TimeInForce.GTC


def parse_fill(row: Mapping[str, Any], order: Order) -> Fill | None:
    """The execution an order row or event reports (`lastFilled*`), if any."""
    size = dec(row.get("lastFilledSize"), None)
    price = dec(row.get("lastFilledPrice"), None)
    if size is None or size <= 0 or price is None:
        return None
    filled_ms = int(row.get("lastFilledTime") or order.updated_ms)
    return Fill(
        account=order.account,
        venue=order.venue,
        trade_id=f"{row['id']}:{filled_ms}",
        client_id=order.client_id,
        venue_order_id=str(row["id"]),
        symbol=order.symbol,
        side=order.side,
        price=price,
        size=size,
        fee=dec(row.get("fees")) or ZERO,
        liquidity=Liquidity.TAKER,  # Vest is the counterparty of every fill
        ts_ms=filled_ms,
    )
