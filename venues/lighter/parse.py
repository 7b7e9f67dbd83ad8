"""Lighter JSON -> perpd.model. Pure functions: no I/O, no clocks, no globals.

Units, as read from lighter-sdk 1.1.8 models and the recorded samples:
- REST and WS amounts are decimal strings ("2361.32"); some stats are JSON numbers.
- Tx fields are integers: `Price = price * 10^price_decimals`,
  `BaseAmount = size * 10^size_decimals` (`LighterMarket.to_wire_*`).
- `initial_margin_fraction` of a position is a percentage ("5.00" = 20x) in REST; the
  documented WS fixture shows a fraction ("0.0500"); both are accepted.
- Margin fractions of a market are in 1/10,000 (500 = 5%).
- Trade `maker_fee`/`taker_fee` are integers in millionths of notional (196 = 1.96 bps).
- `market_stats.funding_rate` is a percentage per hour [unverified]; REST
  `funding-rates.rate` is a fraction per hour [unverified] (ccxt reads it as-is).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from perpd.model import (
    ZERO,
    Balance,
    BookLevel,
    Candle,
    Fill,
    FundingPayment,
    FundingRate,
    Liquidity,
    MarginMode,
    Market,
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
from venues.lighter.constants import (
    ORDER_STATUS_NAMES,
    ORDER_TYPE_NAMES,
    TIF_NAMES,
    TRADE_FEE_SCALE,
)
# Markets live in markets.py; they are re-exported here for `parse.*` call sites.
from venues.lighter.markets import HUNDRED, LighterMarket, dec, parse_market, parse_markets

__all__ = [
    "LighterMarket",
    "dec",
    "parse_market",
    "parse_markets",
    "parse_levels",
    "parse_order_book_orders",
    "parse_trade",
    "parse_trades",
    "parse_candles",
    "parse_funding_rates",
    "parse_market_stats",
    "parse_order",
    "parse_fills",
    "leverage_of",
    "parse_position",
    "parse_balance",
    "parse_user_stats",
    "by_market",
]

FUNDING_INTERVAL_SECS = 3600


# --------------------------------------------------------------------------- public data


def parse_levels(levels: Iterable[Mapping[str, Any]] | None) -> tuple[BookLevel, ...]:
    """`[{price, size}]` -> levels as given (size 0 kept: it deletes in a delta)."""
    return tuple(BookLevel(Decimal(lv["price"]), Decimal(lv["size"])) for lv in levels or ())


def parse_order_book_orders(body: Mapping[str, Any], market: Market, ts_ms: int = 0) -> OrderBook:
    """`GET /api/v1/orderBookOrders` (L3 resting orders) aggregated into price levels."""
    bids = _aggregate(body.get("bids") or (), reverse=True)
    asks = _aggregate(body.get("asks") or (), reverse=False)
    return OrderBook(market.venue, market.symbol, bids, asks, seq=0, ts_ms=ts_ms)


def _aggregate(orders: Iterable[Mapping[str, Any]], *, reverse: bool) -> tuple[BookLevel, ...]:
    sizes: dict[Decimal, Decimal] = {}
    for order in orders:
        price = Decimal(order["price"])
        sizes[price] = sizes.get(price, ZERO) + Decimal(order["remaining_base_amount"])
    return tuple(BookLevel(p, sizes[p]) for p in sorted(sizes, reverse=reverse) if sizes[p] > 0)


def parse_trade(row: Mapping[str, Any], market: Market) -> Trade:
    """A public trade; the aggressor sold if the maker was the bid (`is_maker_ask` false)."""
    side = Side.BUY if row.get("is_maker_ask") else Side.SELL
    return Trade(
        venue=market.venue,
        symbol=market.symbol,
        trade_id=str(row.get("trade_id_str") or row["trade_id"]),
        price=Decimal(row["price"]),
        size=Decimal(row["size"]),
        side=side,
        ts_ms=int(row.get("timestamp") or 0),
    )


def parse_trades(rows: Iterable[Mapping[str, Any]] | None, market: Market) -> list[Trade]:
    """Trades oldest first (Lighter lists newest first)."""
    trades = [parse_trade(r, market) for r in rows or () if r.get("type", "trade") == "trade"]
    trades.sort(key=lambda t: (t.ts_ms, int(t.trade_id) if t.trade_id.isdigit() else 0))
    return trades


def parse_candles(body: Mapping[str, Any], market: Market) -> list[Candle]:
    """`GET /api/v1/candles` -> candles oldest first (`"c": null` is none)."""
    interval = str(body.get("r") or "1m")
    out = [
        Candle(
            venue=market.venue,
            symbol=market.symbol,
            interval=interval,
            open_ms=int(c["t"]),
            open=dec(c["o"]) or ZERO,
            high=dec(c["h"]) or ZERO,
            low=dec(c["l"]) or ZERO,
            close=dec(c["c"]) or ZERO,
            volume=dec(c.get("v")) or ZERO,
        )
        for c in body.get("c") or ()
    ]
    out.sort(key=lambda c: c.open_ms)
    return out


def parse_funding_rates(body: Mapping[str, Any], market: LighterMarket, ts_ms: int) -> FundingRate | None:
    """`GET /api/v1/funding-rates` -> this market's current rate (rows of other venues skipped)."""
    for row in body.get("funding_rates") or ():
        if int(row.get("market_id", -1)) == market.market_id and row.get("exchange", "lighter") == "lighter":
            return FundingRate(
                venue=market.market.venue,
                symbol=market.symbol,
                rate=dec(row["rate"]) or ZERO,
                interval_secs=FUNDING_INTERVAL_SECS,
                ts_ms=ts_ms,
            )
    return None


def parse_market_stats(stats: Mapping[str, Any], market: Market, ts_ms: int) -> tuple[Ticker, FundingRate]:
    """A `market_stats` entry -> (Ticker with mark/index, FundingRate of the hour)."""
    mark = dec(stats.get("mark_price")) or ZERO
    index = dec(stats.get("index_price"), None)
    rate = (dec(stats.get("funding_rate")) or ZERO) / HUNDRED
    funding_ms = int(stats.get("funding_timestamp") or 0)
    ticker = Ticker(
        venue=market.venue,
        symbol=market.symbol,
        mark_price=mark,
        index_price=index,
        last_price=dec(stats.get("last_trade_price"), None),
        funding_rate=rate,
        open_interest=dec(stats.get("open_interest"), None),
        ts_ms=ts_ms,
    )
    funding = FundingRate(
        venue=market.venue,
        symbol=market.symbol,
        rate=rate,
        interval_secs=FUNDING_INTERVAL_SECS,
        ts_ms=ts_ms,
        mark_price=mark,
        index_price=index,
        next_funding_ms=funding_ms or None,
    )
    return ticker, funding


# --------------------------------------------------------------------------- private data


def parse_order(row: Mapping[str, Any], market: Market, account: str) -> Order:
    """An `Order` object (REST accountActiveOrders/accountOrders, WS account_*_orders)."""
    status_name = str(row.get("status") or "open")
    status = ORDER_STATUS_NAMES.get(status_name, OrderStatus.UNKNOWN)
    size = Decimal(row["initial_base_amount"])
    filled = dec(row.get("filled_base_amount")) or ZERO
    remaining = dec(row.get("remaining_base_amount"), None)
    if remaining is not None and status is OrderStatus.OPEN and filled == 0 and remaining < size:
        filled = size - remaining  # older payloads leave filled_base_amount at zero
    if status is OrderStatus.OPEN and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    quote = dec(row.get("filled_quote_amount")) or ZERO
    otype = ORDER_TYPE_NAMES.get(str(row.get("type")), OrderType.LIMIT)
    trigger = dec(row.get("trigger_price")) or ZERO
    price = dec(row.get("price"), None)
    client = int(row.get("client_order_index") or 0)
    created = _ms(row.get("created_at"))
    return Order(
        account=account,
        venue=market.venue,
        client_id=str(client) if client else f"order:{row['order_index']}",
        symbol=market.symbol,
        side=Side.SELL if row.get("is_ask") else Side.BUY,
        type=otype,
        size=size,
        status=status,
        price=price if otype is not OrderType.MARKET or price else None,
        trigger_price=trigger if otype.is_trigger and trigger > 0 else None,
        tif=TIF_NAMES.get(str(row.get("time_in_force")), TimeInForce.GTC),
        reduce_only=bool(row.get("reduce_only")),
        venue_order_id=str(row.get("order_id") or row["order_index"]),
        filled_size=filled,
        avg_fill_price=quote / filled if filled > 0 and quote > 0 else None,
        created_ms=created,
        updated_ms=_ms(row.get("updated_at")) or created,
        reason=status_name[len("canceled-"):] if status_name.startswith("canceled-") else None,
    )


def _ms(value: Any) -> int:
    """Lighter timestamps are ms, but some older payloads carry seconds."""
    number = int(value or 0)
    return number * 1000 if 0 < number < 10_000_000_000 else number


def parse_position_funding(
    row: Mapping[str, Any], spec_of: Callable[[int], LighterMarket | None], account: str, venue: str = "lighter"
) -> FundingPayment | None:
    """One /api/v1/positionFunding row (lighter-sdk's PositionFunding); None for a market
    not loaded. `change` is what the account received; funding_id names the payment.

    No recorded positionFunding payload exists anywhere we looked (tests/fixtures/lighter/
    README.md): this follows the SDK 1.1.8 model's fields (timestamp, market_id, funding_id,
    change, discount, rate, position_size, position_side long|short). What it cannot confirm
    is read defensively: `timestamp` in seconds or ms (`_ms`), the size's sign from
    `position_side` whether `position_size` is signed or not. `discount` is not used."""
    spec = spec_of(int(row.get("market_id", -1)))
    if spec is None:
        return None
    size = abs(dec(row.get("position_size")) or Decimal(0))
    return FundingPayment(
        account=account, venue=venue, payment_id=str(row["funding_id"]), symbol=spec.symbol,
        amount=dec(row["change"]), ts_ms=_ms(row["timestamp"]), rate=dec(row["rate"]) if row.get("rate") else None,
        position=-size if row.get("position_side") == "short" else size,
    )


def parse_fills(row: Mapping[str, Any], market: Market, account_index: int, account: str) -> list[Fill]:
    """An account trade -> our fill(s): one per side of it that is ours."""
    out = []
    maker_is_ask = bool(row.get("is_maker_ask"))
    price, size = Decimal(row["price"]), Decimal(row["size"])
    notional = dec(row.get("usd_amount")) or price * size
    trade_id = str(row.get("trade_id_str") or row["trade_id"])
    for side, prefix in ((Side.SELL, "ask"), (Side.BUY, "bid")):
        if int(row.get(f"{prefix}_account_id", -1)) != account_index:
            continue
        is_maker = maker_is_ask == (side is Side.SELL)
        fee_units = row.get("maker_fee" if is_maker else "taker_fee") or 0
        client = int(row.get(f"{prefix}_client_id") or 0)
        pnl = dec(row.get(f"{prefix}_account_pnl"), None)
        out.append(
            Fill(
                account=account,
                venue=market.venue,
                trade_id=trade_id if not out else f"{trade_id}:{prefix}",
                client_id=str(client) if client else None,
                venue_order_id=str(row.get(f"{prefix}_id_str") or row.get(f"{prefix}_id")),
                symbol=market.symbol,
                side=side,
                price=price,
                size=size,
                fee=notional * Decimal(int(fee_units)) / TRADE_FEE_SCALE,
                liquidity=Liquidity.MAKER if is_maker else Liquidity.TAKER,
                ts_ms=int(row.get("timestamp") or 0),
                realized_pnl=pnl,
            )
        )
    return out


def leverage_of(imf: Any) -> int | None:
    """Position `initial_margin_fraction` -> leverage ("5.00" % or 0.05 fraction -> 20)."""
    value = dec(imf, None)
    if value is None or value <= 0:
        return None
    fraction = value if value <= 1 else value / HUNDRED
    return int((1 / fraction).to_integral_value())


def parse_position(row: Mapping[str, Any], market: Market, account: str, ts_ms: int = 0) -> Position | None:
    """An `AccountPosition` -> Position; None when flat."""
    size = dec(row.get("position")) or ZERO
    if size == 0:
        return None
    sign = -1 if int(row.get("sign") or 1) < 0 else 1
    entry = dec(row.get("avg_entry_price"), None)
    value = dec(row.get("position_value"), None)
    liq = dec(row.get("liquidation_price"), None)
    return Position(
        account=account,
        venue=market.venue,
        symbol=market.symbol,
        size=size * sign,
        entry_price=entry,
        mark_price=(value / size).quantize(market.tick_size) if value else None,
        unrealized_pnl=dec(row.get("unrealized_pnl")) or ZERO,
        realized_pnl=dec(row.get("realized_pnl")) or ZERO,
        leverage=leverage_of(row.get("initial_margin_fraction")),
        margin_mode=MarginMode.ISOLATED if int(row.get("margin_mode") or 0) == 1 else MarginMode.CROSS,
        liquidation_price=liq if liq else None,
        margin_used=dec(row.get("allocated_margin")) or ZERO,
        ts_ms=ts_ms,
    )


def parse_balance(acct: Mapping[str, Any], account: str, venue: str, ts_ms: int = 0) -> Balance:
    """A `DetailedAccount` -> the USDC collateral balance of the perp account."""
    collateral = dec(acct.get("collateral")) or ZERO
    upnl = sum((dec(p.get("unrealized_pnl")) or ZERO for p in acct.get("positions") or ()), ZERO)
    equity = dec(acct.get("total_asset_value"), None)
    if equity is None:
        equity = collateral + upnl
    available = dec(acct.get("available_balance"), None)
    if available is None:
        available = equity
    return Balance(
        account=account,
        venue=venue,
        asset="USDC",
        equity=equity,
        available=available,
        margin_used=max(equity - available, ZERO),
        unrealized_pnl=upnl,
        ts_ms=ts_ms,
    )


def parse_user_stats(stats: Mapping[str, Any], account: str, venue: str, ts_ms: int = 0) -> Balance:
    """A WS `user_stats` payload -> Balance (portfolio value is equity)."""
    collateral = dec(stats.get("collateral")) or ZERO
    equity = dec(stats.get("portfolio_value"), None)
    if equity is None:
        equity = collateral
    available = dec(stats.get("available_balance"), None)
    if available is None:
        available = equity
    return Balance(
        account=account,
        venue=venue,
        asset="USDC",
        equity=equity,
        available=available,
        margin_used=max(equity - available, ZERO),
        unrealized_pnl=equity - collateral,
        ts_ms=ts_ms,
    )


def by_market(payload: Any) -> list[tuple[int, Any]]:
    """WS account payloads are keyed by market id (`{"0": [...]}`) or flat lists."""
    if isinstance(payload, Mapping):
        return [(int(k), v) for k, v in payload.items()]
    out = []
    for item in payload or ():
        out.append((int(item.get("market_id", item.get("market_index", -1))), [item]))
    return out

