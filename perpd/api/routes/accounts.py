"""Accounts: list, one, balance; add and remove at runtime through the config file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpd.api.endpoint import Call
from perpd.api.errors import Conflict, field_error
from perpd.api.models import AccountIn, AccountOut, Accounts, ConfigChange, LeverageIn
from perpd.engine import Engine
from perpd.errors import NotFound, Unavailable
from perpd.model import Balance, base_asset, normalize_symbol


async def list_accounts(call: Call) -> Accounts:
    engine = call.engine
    return Accounts(accounts=[_account(engine, name, with_config=False) for name in sorted(engine.config.accounts)])


async def get_account(call: Call) -> AccountOut:
    name = _known(call.engine, call.params["name"])
    return _account(call.engine, name, with_config=True)


async def get_balance(call: Call) -> Balance:
    engine = call.engine
    name = _known(engine, call.params["name"])
    state = engine.portfolio.accounts.get(name)
    if state is None or state.balance is None:
        raise Unavailable(f"no balance known yet for account {name!r}", venue=engine.config.accounts[name].venue)
    return state.balance


async def add_account(call: Call) -> ConfigChange:
    body: AccountIn = call.body
    if "venue" in body.settings:
        raise field_error("settings.venue", "give the venue as the top-level `venue` field")
    if body.name in call.engine.config.accounts:
        raise Conflict(f"an account named {body.name!r} already exists", details={"field": "name"})
    table = {"venue": body.venue, **_toml(body.settings)}

    def mutate(data: dict[str, Any]) -> None:
        accounts = data.setdefault("accounts", {})
        if body.name in accounts:
            raise Conflict(f"an account named {body.name!r} already exists", details={"field": "name"})
        accounts[body.name] = table

    change = await call.ctx.daemon.edit_config(mutate, actor=call.actor)
    call.status = 201
    return ConfigChange(changed=change)


async def remove_account(call: Call) -> ConfigChange:
    name = _known(call.engine, call.params["name"])

    def mutate(data: dict[str, Any]) -> None:
        accounts = data.get("accounts", {})
        if name not in accounts:
            raise NotFound(f"account {name!r} is not in the config file")
        del accounts[name]

    return ConfigChange(changed=await call.ctx.daemon.edit_config(mutate, actor=call.actor))


async def set_leverage(call: Call) -> ConfigChange:
    """Leverage is desired state: it goes into the config file (the source of truth) and the
    reconciler applies it, instead of a venue call a reload would undo."""
    engine = call.engine
    name = _known(engine, call.params["name"])
    body: LeverageIn = call.body
    symbol = body.symbol  # normalised: BTC-PERP
    venue = engine.config.accounts[name].venue
    market = engine.portfolio.market_data.market(venue, symbol)
    if market is None:
        # A 422, not a 404: the path names the account, and a 404 would say it is missing.
        raise field_error("symbol", f"{venue} has no market {symbol}")
    if body.leverage > market.max_leverage:
        raise field_error("leverage", f"must be <= {market.max_leverage} on {venue} {symbol}")

    def mutate(data: dict[str, Any]) -> None:
        account = data.get("accounts", {}).get(name)
        if account is None:
            raise NotFound(f"account {name!r} is not in the config file")
        table = account.setdefault("leverage", {})
        same = [k for k in table if normalize_symbol(k) == symbol]
        for key in same[1:]:
            del table[key]
        table[same[0] if same else base_asset(symbol)] = body.leverage  # in place: the line keeps its layout
        if body.margin_mode is not None:
            account["margin_mode"] = body.margin_mode.value

    return ConfigChange(changed=await call.ctx.daemon.edit_config(mutate, actor=call.actor))


def _known(engine: Engine, name: str) -> str:
    if name not in engine.config.accounts:
        raise NotFound(f"no account named {name!r}")
    return name


def _account(engine: Engine, name: str, *, with_config: bool) -> AccountOut:
    cfg = engine.config.accounts[name]
    state = engine.portfolio.accounts.get(name)
    trading, reason = engine.trading_state_reason(name)
    return AccountOut(
        name=name,
        venue=cfg.venue,
        enabled=cfg.enabled,
        connected=name in engine.sessions,
        synced=bool(state and state.synced),
        trading_state=trading.value,
        reason=reason,
        open_orders=sum(1 for _ in state.live_orders()) if state else 0,
        balance=state.balance if state else None,
        positions=sorted(state.positions.values(), key=lambda p: p.symbol) if state else [],
        config=cfg.model_dump(mode="json") if with_config else None,
    )


def _toml(value: Any) -> Any:
    """JSON's exact numbers as TOML numbers (tomlkit writes no Decimal); nulls were refused
    by the model."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, dict):
        return {key: _toml(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_toml(item) for item in value]
    return value
