"""Hyperliquid wire numbers and action shapes, exactly as the official SDK emits them.

Signatures cover the msgpack encoding of the action, so every string and every key
order here must match `hyperliquid.utils.signing` byte for byte: `"1100"` and
`"1100.0"` hash differently. Prices and sizes arrive as `Decimal` and leave as the
string the SDK's `float_to_wire` would have produced for the same number.

Price rules (perps): at most 5 significant figures and at most `6 - szDecimals`
decimals; integer prices are always allowed. Sizes: at most `szDecimals` decimals.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

from perpd.model import BPS, Side

MAX_DECIMALS_PERP = 6
SIG_FIGS = 5
_WIRE_DECIMALS = 8  # float_to_wire formats with 8 decimals and refuses to round
_ONE = Decimal(1)
_STEPS = {n: _ONE.scaleb(-n) for n in range(-20, 21)}

# --------------------------------------------------------------------------- numbers


_WIRE_CACHE: dict[Decimal, str] = {}
_WIRE_CACHE_MAX = 100_000


def to_wire(value: Decimal) -> str:
    """The SDK's `float_to_wire` for a Decimal: no exponent, no trailing zeros.

    Raises ValueError for more than 8 decimals (the SDK refuses to round too).
    """
    # Equal Decimals (1.0 and 1) have one wire form, so the cache may key on the value.
    text = _WIRE_CACHE.get(value)
    if text is not None:
        return text
    if value.is_zero():
        text = "0"  # also turns "-0" into "0", as the SDK does
    else:
        normal = value.normalize()
        if normal.as_tuple().exponent < -_WIRE_DECIMALS:  # type: ignore[operator]
            raise ValueError(f"{value} has more than {_WIRE_DECIMALS} decimals")
        text = f"{normal:f}"
    if len(_WIRE_CACHE) >= _WIRE_CACHE_MAX:
        _WIRE_CACHE.clear()
    _WIRE_CACHE[value] = text
    return text


def max_price_decimals(sz_decimals: int) -> int:
    return MAX_DECIMALS_PERP - sz_decimals


def price_tick(price: Decimal, sz_decimals: int) -> Decimal:
    """The smallest valid price step at `price`: 5 significant figures, capped by the
    decimals allowed for the asset; 1 from 100,000 up (integers are always valid)."""
    if price <= 0:
        return _STEPS[max_price_decimals(sz_decimals)]
    magnitude = price.adjusted()  # floor(log10(price))
    if magnitude >= SIG_FIGS - 1:
        return _ONE
    decimals = min(SIG_FIGS - 1 - magnitude, max_price_decimals(sz_decimals))
    return _STEPS[decimals]


def is_valid_price(price: Decimal, sz_decimals: int) -> bool:
    """True if Hyperliquid accepts `price` for an asset with `sz_decimals`."""
    if price <= 0:
        return False
    if price == price.to_integral_value():
        return True
    return price % price_tick(price, sz_decimals) == 0


def round_price(price: Decimal, sz_decimals: int, side: Side | None = None) -> Decimal:
    """Round `price` to a valid Hyperliquid price, never more aggressive for `side`.

    A buy rounds down and a sell rounds up; with no side, to the nearest.
    """
    if price <= 0:
        raise ValueError(f"price must be positive (got {price})")
    if is_valid_price(price, sz_decimals):
        return price  # the usual case: already on the grid
    mode = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING if side is Side.SELL else ROUND_HALF_EVEN
    tick = price_tick(price, sz_decimals)
    rounded = (price / tick).to_integral_value(rounding=mode) * tick
    if rounded <= 0:
        rounded = tick
    # Rounding up may cross into the next decade, where the tick is coarser.
    if not is_valid_price(rounded, sz_decimals):
        tick = price_tick(rounded, sz_decimals)
        rounded = (rounded / tick).to_integral_value(rounding=mode) * tick
    return rounded.normalize() if rounded == rounded.to_integral_value() else rounded


def lot_size(sz_decimals: int) -> Decimal:
    return _STEPS[sz_decimals]


def is_valid_size(size: Decimal, sz_decimals: int) -> bool:
    return size > 0 and size % lot_size(sz_decimals) == 0


def slippage_price(mark: Decimal, side: Side, slippage_bps: Decimal, sz_decimals: int) -> Decimal:
    """The limit of a market order: mark moved against us by the cap, rounded so it
    never exceeds the cap (the SDK's `_slippage_price`, done in Decimal)."""
    factor = _ONE + slippage_bps / BPS * side.sign
    return round_price(mark * factor, sz_decimals, side)


# --------------------------------------------------------------------------- order wire


def limit_type(tif: str) -> dict[str, Any]:
    return {"limit": {"tif": tif}}


def trigger_type(trigger_px: Decimal, is_market: bool, tpsl: str) -> dict[str, Any]:
    # Key order isMarket, triggerPx, tpsl is the SDK's and is hashed.
    return {"trigger": {"isMarket": is_market, "triggerPx": to_wire(trigger_px), "tpsl": tpsl}}


def order_wire(
    asset: int,
    is_buy: bool,
    price: Decimal,
    size: Decimal,
    reduce_only: bool,
    order_type: dict[str, Any],
    cloid: str | None = None,
) -> dict[str, Any]:
    """One order as the SDK's `order_request_to_order_wire` builds it (keys a,b,p,s,r,t,c)."""
    wire: dict[str, Any] = {
        "a": asset,
        "b": is_buy,
        "p": to_wire(price),
        "s": to_wire(size),
        "r": reduce_only,
        "t": order_type,
    }
    if cloid is not None:
        wire["c"] = cloid
    return wire


def order_action(
    orders: list[dict[str, Any]], grouping: str = "na", builder: dict[str, Any] | None = None
) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "order", "orders": orders, "grouping": grouping}
    if builder:
        action["builder"] = {"b": str(builder["b"]).lower(), "f": builder["f"]}
    return action


def cancel_by_cloid_action(cancels: list[tuple[int, str]]) -> dict[str, Any]:
    return {"type": "cancelByCloid", "cancels": [{"asset": a, "cloid": c} for a, c in cancels]}


def cancel_action(cancels: list[tuple[int, int]]) -> dict[str, Any]:
    return {"type": "cancel", "cancels": [{"a": a, "o": o} for a, o in cancels]}


def batch_modify_action(modifies: list[tuple[int | str, dict[str, Any]]]) -> dict[str, Any]:
    return {"type": "batchModify", "modifies": [{"oid": oid, "order": order} for oid, order in modifies]}


def update_leverage_action(asset: int, is_cross: bool, leverage: int) -> dict[str, Any]:
    return {"type": "updateLeverage", "asset": asset, "isCross": is_cross, "leverage": leverage}


def schedule_cancel_action(time_ms: int | None) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "scheduleCancel"}
    if time_ms is not None:
        action["time"] = time_ms
    return action


def parse_decimal(text: str | int | float) -> Decimal:
    """A wire number as Decimal (strings on the wire; ccxt fixtures sometimes use ints)."""
    return Decimal(text.strip()) if isinstance(text, str) else Decimal(str(text))

