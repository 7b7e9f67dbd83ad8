"""Positions: per account and aggregated by asset; one symbol; close."""

from __future__ import annotations

from collections.abc import Iterable

from perpd.api.endpoint import Call
from perpd.api.models import AssetExposure, CloseIn, Orders, PositionQuery, Positions
from perpd.engine import Engine
from perpd.errors import NotFound
from perpd.model import ZERO, Position, base_asset


async def list_positions(call: Call) -> Positions:
    q: PositionQuery = call.query
    accounts = _accounts(call.engine, q.account)
    return _positions(call.engine, accounts, symbol=None)


async def get_position(call: Call) -> Positions:
    symbol = call.params["symbol"]  # normalised: BTC-PERP
    return _positions(call.engine, _accounts(call.engine, None), symbol=symbol)


async def close_position(call: Call) -> Orders:
    body: CloseIn = call.body
    symbol = call.params["symbol"]  # normalised: BTC-PERP
    engine = call.engine
    if body.account is not None:
        _accounts(engine, body.account)
        if body.account not in engine.portfolio.accounts:
            raise NotFound(f"account {body.account!r} is not running", details={"field": "account"})
    orders = await engine.close_position(symbol, account=body.account, actor=call.actor, slippage_bps=body.slippage_bps)
    return Orders(orders=orders)


def _accounts(engine: Engine, account: str | None) -> list[str]:
    if account is None:
        return sorted(engine.portfolio.accounts)
    if account not in engine.config.accounts:
        raise NotFound(f"no account named {account!r}", details={"field": "account"})
    return [account] if account in engine.portfolio.accounts else []


def _positions(engine: Engine, accounts: Iterable[str], symbol: str | None) -> Positions:
    portfolio = engine.portfolio
    positions: list[Position] = []
    for name in accounts:
        state = portfolio.accounts[name]
        for position in sorted(state.positions.values(), key=lambda p: p.symbol):
            if symbol is None or position.symbol == symbol:
                positions.append(position)
    by_asset: dict[str, list[Position]] = {}
    for position in positions:
        by_asset.setdefault(base_asset(position.symbol), []).append(position)
    exposures = []
    for asset, held in sorted(by_asset.items()):
        net = sum((p.size for p in held), ZERO)
        notional = ZERO
        for p in held:
            mark = portfolio.mark(p.venue, p.symbol) or p.mark_price or p.entry_price or ZERO
            notional += p.size * mark
        exposures.append(AssetExposure(asset=asset, size=net, notional=abs(notional), accounts=sorted({p.account for p in held})))
    return Positions(positions=positions, by_asset=exposures)
