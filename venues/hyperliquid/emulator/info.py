"""The emulator's `/info`: every request type perpd and the official SDK send.

Looking a user up creates its account (funded with the starting balance): the
emulator's stand-in for a deposit, so a fresh key can trade after one query.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from venues.hyperliquid.emulator import info_more, shapes

if TYPE_CHECKING:
    from venues.hyperliquid.emulator.app import HyperliquidEmulator

INTERVALS_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
                "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "8h": 28_800_000,
                "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000}
MAX_FILLS = 2000
L2_LEVELS = 20
ADDRESS_BUFFER = 10_000


class Malformed(Exception):
    """Not a request the venue could deserialize: HTTP 422 text."""


class Unknown(Exception):
    """A well-formed request the venue cannot serve (an unknown coin or dex): HTTP 500 `null`."""


def answer(emu: HyperliquidEmulator, body: Any) -> Any:
    """The answer to one /info body. A type the venue does not know does not deserialize
    (Malformed: HTTP 422 text), as on the venue."""
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise Malformed
    handler = _HANDLERS.get(body["type"])
    if handler is None:
        raise Malformed(body["type"])
    try:
        return handler(emu, body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Malformed from exc


def _user(emu: HyperliquidEmulator, body: dict[str, Any]) -> str:
    user = str(body["user"]).lower()
    if not (user.startswith("0x") and len(user) == 42):
        raise ValueError("not an address")
    emu.ensure_user(user)
    return user


def _symbol(emu: HyperliquidEmulator, coin: str) -> str:
    try:
        return emu.symbol_of_coin(coin)
    except KeyError:
        raise Unknown(coin) from None


# --------------------------------------------------------------------------- markets


def _meta_entries(emu: HyperliquidEmulator) -> list[dict[str, Any]]:
    return [shapes.universe_entry(coin, emu.sz_decimals[emu.coin_symbol[coin]], emu.max_leverage[emu.coin_symbol[coin]])
            for coin in emu.coins]


def meta_of(emu: HyperliquidEmulator) -> dict[str, Any]:
    return shapes.meta(_meta_entries(emu))


def _meta(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    if body.get("dex"):
        raise Unknown("dex")
    return meta_of(emu)


def _all_perp_metas(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    return [_meta_and_ctxs(emu, {})]  # [meta, asset contexts] per perp dex: only the first here


def _meta_and_ctxs(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    if body.get("dex"):
        raise Unknown("dex")
    meta = dict(shapes.meta(_meta_entries(emu)), collateralToken=0)
    ctxs = [shapes.asset_ctx(emu.engine.market(emu.coin_symbol[coin]), emu.engine.book(emu.coin_symbol[coin], 1))
            for coin in emu.coins]
    return [meta, ctxs]


def _all_mids(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    return mids(emu)


def mids(emu: HyperliquidEmulator) -> dict[str, str]:
    out = {}
    for coin in emu.coins:
        symbol = emu.coin_symbol[coin]
        book = emu.engine.book(symbol, 1)
        if book.bids and book.asks:
            out[coin] = shapes.num((book.bids[0][0] + book.asks[0][0]) / 2)
        else:  # the venue falls back to the last trade; the mark is our best stand-in
            out[coin] = shapes.num(emu.engine.market(symbol).mark_price)
    return out


def l2_book(emu: HyperliquidEmulator, coin: str, sig_figs: int | None = None, mantissa: int | None = None) -> dict[str, Any]:
    """Up to 20 levels a side, each with `n`, the number of orders resting there; with
    `nSigFigs` (2 .. 5) levels merge into prices of that many significant figures (bids
    rounded down, asks up; `mantissa` 2 or 5 widens the step at 5 figures)."""
    symbol = _symbol(emu, coin)
    if sig_figs is None:
        return shapes.l2_book(coin, emu.engine.book(symbol, L2_LEVELS), emu.engine.level_counts(symbol, L2_LEVELS))
    if sig_figs not in (2, 3, 4, 5) or (mantissa is not None and (sig_figs != 5 or mantissa not in (1, 2, 5))):
        raise ValueError("nSigFigs 2..5; mantissa 1, 2 or 5 with nSigFigs 5")
    book = emu.engine.book(symbol)
    bid_counts, ask_counts = emu.engine.level_counts(symbol)
    bids = _merge(book.bids, bid_counts, sig_figs, mantissa or 1, ROUND_FLOOR)
    asks = _merge(book.asks, ask_counts, sig_figs, mantissa or 1, ROUND_CEILING)
    merged = book._replace(bids=tuple((p, s) for p, s, _ in bids), asks=tuple((p, s) for p, s, _ in asks))
    return shapes.l2_book(coin, merged, (tuple(n for *_, n in bids), tuple(n for *_, n in asks)))


def _merge(levels: Any, counts: Any, sig_figs: int, mantissa: int, rounding: str) -> list[tuple[Decimal, Decimal, int]]:
    out: list[tuple[Decimal, Decimal, int]] = []
    for (price, size), n in zip(levels, counts, strict=True):
        step = Decimal(mantissa).scaleb(price.adjusted() - sig_figs + 1)
        bucket = (price / step).to_integral_value(rounding) * step
        if out and out[-1][0] == bucket:
            out[-1] = (bucket, out[-1][1] + size, out[-1][2] + n)
        elif len(out) < L2_LEVELS:
            out.append((bucket, size, n))
        else:
            break
    return out


def _l2_book(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    sig_figs, mantissa = body.get("nSigFigs"), body.get("mantissa")
    return l2_book(emu, str(body["coin"]), int(sig_figs) if sig_figs is not None else None,
                   int(mantissa) if mantissa is not None else None)


def _recent_trades(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    coin = str(body["coin"])
    return [shapes.trade(coin, t) for t in emu.engine.recent_trades(_symbol(emu, coin), 100)]


def _candles(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    req = body["req"]
    coin, interval = str(req["coin"]), str(req["interval"])
    step = INTERVALS_MS[interval]
    rows = emu.engine.candles(_symbol(emu, coin), step, int(req["startTime"]), int(req["endTime"]), 5000)
    return [shapes.candle(coin, interval, step, c) for c in rows]


def _funding_history(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    coin = str(body["coin"])
    end = body.get("endTime")
    rows = [f for f in emu.engine.funding_history(_symbol(emu, coin), int(body["startTime"]))
            if end is None or f.ts_ms <= int(end)]
    return [{"coin": coin, "fundingRate": shapes.num(f.rate), "premium": shapes.num(f.mark_price / f.index_price - 1),
             "time": f.ts_ms} for f in rows[:500]]


def _spot_meta(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    return shapes.SPOT_META


def _perp_dexs(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    return [None]  # only the first (default) dex


# --------------------------------------------------------------------------- users


def clearinghouse_of(emu: HyperliquidEmulator, user: str) -> dict[str, Any]:
    positions = [(emu.symbol_coin[p.symbol], p, emu.max_leverage[p.symbol]) for p in emu.engine.positions(user)]
    return emu.lagged_state(user, shapes.clearinghouse_state(positions, emu.engine.balance(user), emu.now_ms()))


def _clearinghouse(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    if body.get("dex"):
        raise Unknown("dex")
    return clearinghouse_of(emu, _user(emu, body))


def _batch_clearinghouse(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    # The one recording of this type is the venue's HTTP 500 `null`
    # (info_batchClearinghouseStates--http500): answered as recorded, not invented.
    raise Unknown("batchClearinghouseStates")


def _coin(emu: HyperliquidEmulator, symbol: str) -> str:
    return emu.symbol_coin[symbol]


def _open_orders(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    user = _user(emu, body)
    return [shapes.basic_order(_coin(emu, o.symbol), o) for o in reversed(emu.engine.open_orders(user))]


def _frontend_open_orders(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    user = _user(emu, body)
    return [shapes.frontend_order(_coin(emu, o.symbol), o) for o in reversed(emu.engine.open_orders(user))]


def _order_status(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    user = _user(emu, body)
    key = body["oid"]
    if isinstance(key, str) and key.startswith("0x"):
        view = emu.engine.order(user, client_id=key)
    else:
        view = emu.engine.order(user, oid=int(key))
    return shapes.order_status(_coin(emu, view.symbol) if view else "", view)


def _fills(emu: HyperliquidEmulator, user: str, start: int, end: int | None) -> list[dict[str, Any]]:
    rows = [f for f in emu.engine.fills(user, start) if end is None or f.ts_ms <= end]
    rows.sort(key=lambda f: (f.ts_ms, f.trade_id), reverse=True)  # newest first, as the venue
    return [shapes.fill(_coin(emu, f.symbol), f, emu.twaps.slice_of.get(f.oid)) for f in rows[:MAX_FILLS]]


def _user_fills(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    return _fills(emu, _user(emu, body), 0, None)


def _user_fills_by_time(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    end = body.get("endTime")
    user = _user(emu, body)
    start = int(body["startTime"])
    rows = [f for f in emu.engine.fills(user, start) if end is None or f.ts_ms <= int(end)]
    rows.sort(key=lambda f: (f.ts_ms, f.trade_id))  # the oldest page first when paging forward
    page = rows[:MAX_FILLS]
    page.reverse()
    return [shapes.fill(_coin(emu, f.symbol), f, emu.twaps.slice_of.get(f.oid)) for f in page]


def _twap_slice_fills(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    """TWAP slice fills, newest first (at most 2000)."""
    rows = emu.twaps.fills.get(_user(emu, body), [])[-MAX_FILLS:]
    return [{"fill": shapes.fill(_coin(emu, f.symbol), f, twap_id), "twapId": twap_id} for f, twap_id in reversed(rows)]


def _user_funding(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    user = _user(emu, body)
    end = body.get("endTime")
    return [shapes.funding_payment(_coin(emu, p.symbol), p)
            for p in emu.engine.funding_payments(user, int(body["startTime"])) if end is None or p.ts_ms <= int(end)]


def _active_asset_data(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    user = _user(emu, body)
    coin = str(body["coin"])
    symbol = _symbol(emu, coin)
    lev, mode = emu.engine.leverage(user, symbol)
    mark = emu.engine.market(symbol).mark_price
    available = emu.engine.balance(user).available
    max_size = shapes.num((available * lev / mark).quantize(shapes.Decimal(1).scaleb(-emu.sz_decimals[symbol])))
    return {"user": user, "coin": coin, "leverage": shapes.leverage(lev, mode), "maxTradeSzs": [max_size, max_size],
            "availableToTrade": [shapes.num(available * lev), shapes.num(available * lev)], "markPx": shapes.num(mark)}


def _user_rate_limit(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    user = _user(emu, body)
    volume = sum(f.price * f.size for f in emu.engine.fills(user))
    used, cap = emu.action_counts.get(user, 0), ADDRESS_BUFFER + int(volume)
    return {"cumVlm": shapes.num(volume), "nRequestsUsed": used, "nRequestsCap": cap, "nRequestsSurplus": 0}


def _user_role(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    address = str(body["user"]).lower()
    if address in emu.agents:
        return {"role": "agent", "data": {"user": emu.agents[address]}}
    return {"role": "user"} if address in emu.users else {"role": "missing"}


def _spot_state(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    _user(emu, body)
    return {"balances": []}


def _historical_orders(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    """The most recent orders in any state, newest change first."""
    user = _user(emu, body)
    views = reversed(emu.history.get(user, {}).values())
    return [{"order": shapes.frontend_order(_coin(emu, o.symbol), o), "status": shapes.status_word(o),
             "statusTimestamp": o.updated_ms} for o in views]


_HANDLERS: dict[str, Callable[[HyperliquidEmulator, dict[str, Any]], Any]] = {
    "meta": _meta,
    "metaAndAssetCtxs": _meta_and_ctxs,
    "spotMeta": _spot_meta,
    "perpDexs": _perp_dexs,
    "allMids": _all_mids,
    "l2Book": _l2_book,
    "recentTrades": _recent_trades,
    "candleSnapshot": _candles,
    "fundingHistory": _funding_history,
    "clearinghouseState": _clearinghouse,
    "spotClearinghouseState": _spot_state,
    "openOrders": _open_orders,
    "frontendOpenOrders": _frontend_open_orders,
    "orderStatus": _order_status,
    "historicalOrders": _historical_orders,
    "userFills": _user_fills,
    "userFillsByTime": _user_fills_by_time,
    "userFunding": _user_funding,
    "activeAssetData": _active_asset_data,
    "userRateLimit": _user_rate_limit,
    "userRole": _user_role,
    "allPerpMetas": _all_perp_metas,
    "userTwapSliceFills": _twap_slice_fills,
    "batchClearinghouseStates": _batch_clearinghouse,
    **info_more.HANDLERS,
}
