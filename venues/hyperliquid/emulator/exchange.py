"""The emulator's `/exchange`: verify like Hyperliquid, then act on the sim exchange.

Order of checks, as the venue does them: the body must deserialize (else HTTP 422
text), the signer is recovered from the EIP-712 signature and must be a known user or
an agent approved for one (else "User or API Wallet ... does not exist."), the nonce
must be fresh for that signer (the 100 highest are kept; a window of -2 days / +1 day
around now), then the action runs. Per-order problems come back in `statuses`.
"""

from __future__ import annotations

import bisect
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from hyperliquid.utils.signing import recover_user_from_user_signed_action

from perpd.model import MarginMode, OrderType, Side, TimeInForce
from venues.hyperliquid import errors, wire
from venues.hyperliquid.emulator import shapes
from venues.hyperliquid.signing import recover_l1_signer
from venues.simex.events import OrderView, Reason, SimReject

if TYPE_CHECKING:
    from venues.hyperliquid.emulator.app import HyperliquidEmulator

NONCES_KEPT = 100
NONCE_PAST_MS = 2 * 86_400_000
NONCE_FUTURE_MS = 86_400_000
SCHEDULE_MIN_MS = 5_000
SCHEDULE_TRIGGERS_PER_DAY = 10
BUILDER_NOT_APPROVED = "Builder fee has not been approved."
_USER_SIGNED = {
    "approveAgent": ([
        {"name": "hyperliquidChain", "type": "string"},
        {"name": "agentAddress", "type": "address"},
        {"name": "agentName", "type": "string"},
        {"name": "nonce", "type": "uint64"},
    ], "HyperliquidTransaction:ApproveAgent"),
    "approveBuilderFee": ([
        {"name": "hyperliquidChain", "type": "string"},
        {"name": "maxFeeRate", "type": "string"},
        {"name": "builder", "type": "address"},
        {"name": "nonce", "type": "uint64"},
    ], "HyperliquidTransaction:ApproveBuilderFee"),
}
_TIF = {"Gtc": TimeInForce.GTC, "Ioc": TimeInForce.IOC, "Alo": TimeInForce.POST_ONLY,
        "FrontendMarket": TimeInForce.IOC}
_TRIGGER_TYPES = {("sl", True): OrderType.STOP_MARKET, ("sl", False): OrderType.STOP_LIMIT,
                  ("tp", True): OrderType.TAKE_PROFIT_MARKET, ("tp", False): OrderType.TAKE_PROFIT_LIMIT}
_REJECT_TEXT = {
    Reason.BAD_TICK: errors.TICK,
    Reason.BAD_PRICE: errors.INVALID_PRICE,
    Reason.BAD_LOT: "Order has invalid size.",
    Reason.BAD_SIZE: "Order has invalid size.",
    Reason.MIN_SIZE: errors.MIN_NOTIONAL,
    Reason.MIN_NOTIONAL: errors.MIN_NOTIONAL,
    Reason.INSUFFICIENT_MARGIN: errors.MARGIN,
    Reason.REDUCE_ONLY_WOULD_INCREASE: errors.REDUCE_ONLY,
    Reason.BAD_TRIGGER: errors.INVALID_TPSL,
    Reason.DUPLICATE_CLIENT_ID: errors.DUPLICATE_CLOID,
    Reason.UNKNOWN_ORDER: errors.CANCEL_MISSING,
    Reason.BAD_LEVERAGE: errors.LEVERAGE_TOO_HIGH,
    Reason.POSITION_OPEN: "Cannot switch margin mode with an open position",
}


class Malformed(Exception):
    """The body does not deserialize into a known action: HTTP 422, text/plain."""


def _ok(kind: str = "default", statuses: list[Any] | None = None) -> dict[str, Any]:
    if statuses is None:
        return {"status": "ok", "response": {"type": kind}}
    return {"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}}


def _err(text: str) -> dict[str, Any]:
    return {"status": "err", "response": text}


class NonceBook:
    """The 100 highest nonces of each signer, as the venue keeps them."""

    def __init__(self) -> None:
        self._kept: dict[str, list[int]] = {}

    def use(self, signer: str, nonce: int, now_ms: int) -> str | None:
        """Record `nonce`; return the refusal text if it may not be used."""
        if not now_ms - NONCE_PAST_MS < nonce < now_ms + NONCE_FUTURE_MS:
            return errors.NONCE_WINDOW.format(nonce=nonce)
        kept = self._kept.setdefault(signer, [])
        at = bisect.bisect_left(kept, nonce)
        if at < len(kept) and kept[at] == nonce:
            return errors.DUPLICATE_NONCE.format(nonce=nonce)
        if len(kept) >= NONCES_KEPT and nonce < kept[0]:
            return errors.NONCE_TOO_LOW.format(nonce=nonce)
        kept.insert(at, nonce)
        if len(kept) > NONCES_KEPT:
            del kept[0]
        return None


def answer(emu: HyperliquidEmulator, body: Any) -> dict[str, Any]:
    """Process one /exchange body; raises Malformed for a 422."""
    try:
        action, nonce, signature = body["action"], int(body["nonce"]), body["signature"]
        kind = action["type"]
        vault = body.get("vaultAddress")
        expires = body.get("expiresAfter")
    except (KeyError, TypeError, ValueError) as exc:
        raise Malformed from exc
    if not isinstance(action, dict) or not isinstance(signature, dict):
        raise Malformed
    if vault is not None and not str(vault).startswith("0x"):
        vault = "0x" + str(vault)  # ccxt sends it without the prefix
    emu.received.append(body)
    if kind in _USER_SIGNED:
        return _user_signed(emu, kind, action, nonce, signature)
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise Malformed
    try:
        signer = recover_l1_signer(action, signature, nonce, vault, expires, emu.mainnet)
    except (ValueError, TypeError) as exc:
        raise Malformed from exc
    user = emu.user_of_signer(signer)
    if user is None:
        return _err(errors.UNKNOWN_SIGNER.format(address=signer))
    now = emu.now_ms()
    if expires is not None and int(expires) < now:
        return _err(f"Action expired: expiresAfter {expires} < now {now}")
    refusal = emu.nonces.use(signer, nonce, now)
    if refusal is not None:
        return _err(refusal)
    account = vault.lower() if vault else user
    emu.ensure_user(account)
    emu.count_action(account, _batch_length(action))
    try:
        return handler(emu, account, action)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise Malformed from exc


def _batch_length(action: dict[str, Any]) -> int:
    for key in ("orders", "cancels", "modifies"):
        if key in action:
            return max(1, len(action[key]))
    return 1


# --------------------------------------------------------------------------- orders


def _decode_order(emu: HyperliquidEmulator, order: dict[str, Any]) -> dict[str, Any]:
    """Wire order -> engine arguments; raises _OrderError with the venue's text."""
    try:
        symbol, sz_decimals = emu.asset_symbol(int(order["a"]))
    except KeyError:
        raise _OrderError(errors.UNKNOWN_ASSET.format(asset=order["a"])) from None
    price, size = Decimal(order["p"]), Decimal(order["s"])
    if size <= 0:
        raise _OrderError(errors.ZERO_SIZE)
    if not wire.is_valid_size(size, sz_decimals):
        raise _OrderError("Order has invalid size.")
    if not wire.is_valid_price(price, sz_decimals):
        raise _OrderError(errors.TICK)
    kind = order["t"]
    args: dict[str, Any] = {"symbol": symbol, "side": Side.BUY if order["b"] else Side.SELL, "size": size,
                            "reduce_only": bool(order["r"]), "client_id": order.get("c"), "price": price}
    if "limit" in kind:
        args["type"], args["tif"] = OrderType.LIMIT, _TIF[kind["limit"]["tif"]]
    else:
        trigger = kind["trigger"]
        trigger_px = Decimal(trigger["triggerPx"])
        if not wire.is_valid_price(trigger_px, sz_decimals):
            raise _OrderError(errors.TICK)
        args["type"] = _TRIGGER_TYPES[(trigger["tpsl"], bool(trigger["isMarket"]))]
        args["trigger_price"], args["tif"] = trigger_px, TimeInForce.GTC
    return args


class _OrderError(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _reject_text(exc: SimReject, emu: HyperliquidEmulator, symbol: str) -> str:
    if exc.reason is Reason.POST_ONLY_WOULD_CROSS:
        return errors.POST_ONLY.format(bbo=emu.bbo_text(symbol))
    return _REJECT_TEXT.get(exc.reason, exc.message)


def place_one(emu: HyperliquidEmulator, account: str, order: dict[str, Any]) -> tuple[Any, OrderView | None]:
    """Place one wire order; (status slot, view or None)."""
    try:
        args = _decode_order(emu, order)
    except _OrderError as exc:
        return {"error": exc.text}, None
    try:
        view = emu.engine.place(account, args["symbol"], args["side"], args["size"],
                                type=args["type"], price=args["price"], trigger_price=args.get("trigger_price"),
                                tif=args["tif"], reduce_only=args["reduce_only"], client_id=args["client_id"])
    except SimReject as exc:
        return {"error": _reject_text(exc, emu, args["symbol"])}, None
    if not view.status.is_live and view.filled == 0:
        text = errors.NO_LIQUIDITY if view.reason is Reason.NO_LIQUIDITY else errors.IOC_NO_MATCH
        if view.reason is Reason.POST_ONLY_WOULD_CROSS:
            text = errors.POST_ONLY.format(bbo=emu.bbo_text(args["symbol"]))
        return {"error": text}, view
    return shapes.place_status(view), view


def _order(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    orders = action["orders"]
    if not orders:
        return _err("Order list is empty")
    builder = action.get("builder")
    if builder is not None:
        approved = emu.builder_fees.get((account, str(builder["b"]).lower()))
        if approved is None or int(builder["f"]) > approved:
            return _err(BUILDER_NOT_APPROVED)
    grouping = action.get("grouping", "na")
    if grouping in ("normalTpsl", "positionTpsl"):
        children = orders[1:] if grouping == "normalTpsl" else orders
        if any(not o["r"] or "trigger" not in o["t"] for o in children):
            return _err(errors.INVALID_TPSL)
    if grouping == "normalTpsl":
        return _ok("order", emu.place_with_children(account, orders[0], orders[1:]))
    return _ok("order", [place_one(emu, account, o)[0] for o in orders])


def _lookup(emu: HyperliquidEmulator, account: str, key: Any) -> OrderView | None:
    if isinstance(key, str) and key.startswith("0x"):
        return emu.engine.order(account, client_id=key)
    return emu.engine.order(account, oid=int(key))


def _modify_one(emu: HyperliquidEmulator, account: str, key: Any, order: dict[str, Any]) -> Any:
    current = _lookup(emu, account, key)
    if current is None or not current.status.is_live:
        return {"error": errors.CANCEL_MISSING}
    try:
        args = _decode_order(emu, order)
    except _OrderError as exc:
        return {"error": exc.text}
    if (args["symbol"], args["side"], args["type"]) != (current.symbol, current.side, current.type):
        return {"error": "Modify cannot change the asset, side or order type."}
    try:
        # Hyperliquid replaces the order: same cloid, a new oid, `s` its own size.
        view = emu.engine.replace(account, oid=current.oid, price=args["price"], size=args["size"],
                                  trigger_price=args.get("trigger_price") if current.waiting_for_trigger else None)
    except SimReject as exc:
        return {"error": _reject_text(exc, emu, current.symbol)}
    return shapes.place_status(view)


def _modify(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    status = _modify_one(emu, account, action["oid"], action["order"])
    return _err(status["error"]) if "error" in status else _ok()


def _batch_modify(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    return _ok("order", [_modify_one(emu, account, m["oid"], m["order"]) for m in action["modifies"]])


def _cancel(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    statuses: list[Any] = []
    for c in action["cancels"]:
        emu.asset_symbol(int(c["a"]))
        view = emu.engine.cancel(account, oid=int(c["o"]))
        statuses.append("success" if view is not None else {"error": errors.CANCEL_MISSING})
    return _ok("cancel", statuses)


def _cancel_by_cloid(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    statuses: list[Any] = []
    for c in action["cancels"]:
        emu.asset_symbol(int(c["asset"]))
        view = emu.engine.cancel(account, client_id=str(c["cloid"]))
        statuses.append("success" if view is not None else {"error": errors.CANCEL_MISSING})
    return _ok("cancel", statuses)


# --------------------------------------------------------------------------- settings


def _update_leverage(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    symbol, _ = emu.asset_symbol(int(action["asset"]))
    mode = MarginMode.CROSS if action["isCross"] else MarginMode.ISOLATED
    try:
        emu.engine.set_leverage(account, symbol, int(action["leverage"]), mode)
    except SimReject as exc:
        return _err(_REJECT_TEXT.get(exc.reason, exc.message))
    return _ok()


def _schedule_cancel(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    when = action.get("time")
    if when is None:
        emu.arm_switch(account, None)
        return _ok()
    now = emu.now_ms()
    if int(when) < now + SCHEDULE_MIN_MS:
        return _err(errors.SCHEDULE_TOO_SOON)
    if emu.schedule_triggers_today(account) >= SCHEDULE_TRIGGERS_PER_DAY:
        return _err(errors.SCHEDULE_TOO_MANY)
    emu.arm_switch(account, int(when))
    return _ok()


def _noop(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    return _ok()


def _user_signed(emu: HyperliquidEmulator, kind: str, action: dict[str, Any], nonce: int, signature: dict[str, Any]) -> dict[str, Any]:
    """approveAgent / approveBuilderFee: EIP-712 signed by the master wallet itself
    (agents cannot sign these)."""
    types, primary = _USER_SIGNED[kind]
    try:
        message = dict(action)
        if kind == "approveAgent":
            message.setdefault("agentName", "")  # the SDK signs "" but drops the key when unnamed
        if int(message["nonce"]) != nonce:
            return _err("Nonce in the action does not match the request nonce")
        master = recover_user_from_user_signed_action(
            message, {k: signature[k] for k in ("r", "s", "v")}, types, primary, emu.mainnet
        ).lower()
    except (KeyError, TypeError, ValueError) as exc:
        raise Malformed from exc
    if master in emu.agents:  # an agent is not a master
        return _err(errors.UNKNOWN_SIGNER.format(address=master))
    refusal = emu.nonces.use(master, nonce, emu.now_ms())
    if refusal is not None:
        return _err(refusal)
    emu.ensure_user(master)
    if kind == "approveAgent":
        emu.approve_agent(str(action["agentAddress"]).lower(), master, str(action.get("agentName") or ""))
    else:
        rate = str(action["maxFeeRate"])
        try:
            tenths = Decimal(rate.removesuffix("%")) * 1000  # "0.001%" = 0.1 bp = 1 tenth of a bp
        except InvalidOperation as exc:
            raise Malformed from exc
        if not rate.endswith("%") or tenths < 0 or tenths != tenths.to_integral_value():
            return _err(f"Invalid max fee rate {rate}")
        emu.builder_fees[(master, str(action["builder"]).lower())] = int(tenths)
    return _ok()


def _twap_order(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    twap = action["twap"]
    symbol, sz_decimals = emu.asset_symbol(int(twap["a"]))
    size = Decimal(twap["s"])
    status = emu.twaps.start(account, symbol, Side.BUY if twap["b"] else Side.SELL, size,
                             Decimal(1).scaleb(-sz_decimals), bool(twap["r"]), int(twap["m"]), emu.now_ms())
    return {"status": "ok", "response": {"type": "twapOrder", "data": {"status": status}}}


def _twap_cancel(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    symbol, _ = emu.asset_symbol(int(action["a"]))
    status = emu.twaps.cancel(account, symbol, int(action["t"]))
    return {"status": "ok", "response": {"type": "twapCancel", "data": {"status": status}}}


def _update_isolated_margin(emu: HyperliquidEmulator, account: str, action: dict[str, Any]) -> dict[str, Any]:
    """`ntli`: USDC x 1e6 to add (negative: remove) to an open isolated position."""
    symbol, _ = emu.asset_symbol(int(action["asset"]))
    try:
        emu.engine.adjust_isolated_margin(account, symbol, Decimal(int(action["ntli"])).scaleb(-6))
    except SimReject as exc:
        return _err(_REJECT_TEXT.get(exc.reason, exc.message) if exc.reason is not Reason.POSITION_OPEN else exc.message)
    return _ok()


_HANDLERS = {
    "order": _order,
    "cancel": _cancel,
    "cancelByCloid": _cancel_by_cloid,
    "modify": _modify,
    "batchModify": _batch_modify,
    "updateLeverage": _update_leverage,
    "scheduleCancel": _schedule_cancel,
    "noop": _noop,
    "updateIsolatedMargin": _update_isolated_margin,
    "twapOrder": _twap_order,
    "twapCancel": _twap_cancel,
}
