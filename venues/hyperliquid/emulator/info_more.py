"""The `/info` types beyond trading: fees, portfolio, ledger, agents, builder fees, staking,
vaults, sub-accounts, referral, spot and multi-dex views, predicted fundings.

Each answers in the shape of its recorded or documented sample (../shared/venues/
hyperliquid/info_<type>.*), from the emulator's state; what the sim has no notion of
(staking, vaults, sub-accounts, spot pairs, open-interest caps, other venues' funding) is an empty list, the venue's answer for a user who has none. `referral` has no
sample in shared/: its shape is the one NautilusTrader's models and a published testnet
capture give (`referredBy`, `cumVlm`, `unclaimedRewards`, `claimedRewards`,
`builderRewards`, `referrerState`, `rewardHistory`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from venues.hyperliquid.emulator import shapes

if TYPE_CHECKING:
    from venues.hyperliquid.emulator.app import HyperliquidEmulator

DAY_MS = 86_400_000
PERIODS = (("day", DAY_MS), ("week", 7 * DAY_MS), ("month", 30 * DAY_MS), ("allTime", None))
REFERRAL_VOLUME = Decimal(10_000)  # volume a user must trade before it may create a code


def _user(emu: HyperliquidEmulator, body: dict[str, Any], key: str = "user") -> str:
    user = str(body[key]).lower()
    if not (user.startswith("0x") and len(user) == 42):
        raise ValueError("not an address")
    emu.ensure_user(user)
    return user


def _volume(emu: HyperliquidEmulator, user: str, since_ms: int = 0) -> Decimal:
    return sum((f.price * f.size for f in emu.engine.fills(user, since_ms)), Decimal(0))


def _nothing(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    if "user" in body:
        _user(emu, body)
    return []


def _spot_meta_and_ctxs(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    return [shapes.SPOT_META, []]  # USDC only: no spot pair, no context


def _predicted_fundings(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    out = []
    for coin in emu.coins:
        view = emu.engine.market(emu.coin_symbol[coin])
        out.append([coin, [["HlPerp", {"fundingRate": shapes.num(view.funding_rate.quantize(Decimal("1e-10"))),
                                       "nextFundingTime": view.next_funding_ms}]]])
    return out


def _extra_agents(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    user = _user(emu, body)
    return [{"name": name, "address": agent, "validUntil": until}
            for agent, (name, until) in emu.agent_names.items() if name and emu.agents.get(agent) == user]


def _max_builder_fee(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    return emu.builder_fees.get((_user(emu, body), str(body["builder"]).lower()), 0)


def _user_fees(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    user = _user(emu, body)
    spec = emu.engine.spec(emu.coin_symbol[emu.coins[0]])
    taker, maker = shapes.num(spec.taker_fee), shapes.num(spec.maker_fee)
    days: dict[str, list[Decimal]] = {}
    for fill in emu.engine.fills(user):
        day = _date(fill.ts_ms)
        cross_add = days.setdefault(day, [Decimal(0), Decimal(0)])
        cross_add[0 if fill.liquidity.value == "taker" else 1] += fill.price * fill.size
    return {
        "dailyUserVlm": [{"date": d, "userCross": shapes.num(c), "userAdd": shapes.num(a), "exchange": shapes.num(c + a)}
                         for d, (c, a) in sorted(days.items())],
        "feeSchedule": {"cross": taker, "add": maker, "spotCross": taker, "spotAdd": maker,
                        "tiers": {"vip": [], "mm": []}, "referralDiscount": "0.0", "stakingDiscountTiers": []},
        "userCrossRate": taker,
        "userAddRate": maker,
        "userSpotCrossRate": taker,
        "userSpotAddRate": maker,
        "activeReferralDiscount": "0.0",
        "trial": None,
        "feeTrialReward": "0.0",
        "nextTrialAvailableTimestamp": None,
        "stakingLink": None,
        "activeStakingDiscount": {"bpsOfMaxSupply": "0.0", "discount": "0.0"},
    }


def _date(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).strftime("%Y-%m-%d")


def _portfolio(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    """Account value and pnl from the account's start to now, per period (perp* the same:
    the sim has perps only)."""
    user = _user(emu, body)
    now = emu.now_ms()
    start = emu.created_ms.get(user, now)
    balance = emu.engine.balance(user)
    deposited = emu.engine.starting_balance
    rows = []
    for prefix in ("", "perp"):
        for name, span in PERIODS:
            since = max(start, now - span) if span else start
            period = name if not prefix else prefix + name[0].upper() + name[1:]
            rows.append([period, {
                "accountValueHistory": [[since, shapes.num(deposited if since == start else balance.equity)],
                                        [now, shapes.num(balance.equity)]],
                "pnlHistory": [[since, "0.0"], [now, shapes.num(balance.equity - deposited if since == start else 0)]],
                "vlm": shapes.num(_volume(emu, user, since)),
            }])
    return rows


def _ledger(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    """The deposit that opened the account (the emulator's first use of it)."""
    user = _user(emu, body)
    when = emu.created_ms.get(user, 0)
    end = body.get("endTime")
    if when < int(body.get("startTime") or 0) or (end is not None and when > int(end)):
        return []
    return [{"time": when, "hash": shapes.tx_hash(0),
             "delta": {"type": "deposit", "usdc": shapes.num(emu.engine.starting_balance)}}]


def _referral(emu: HyperliquidEmulator, body: dict[str, Any]) -> Any:
    volume = _volume(emu, _user(emu, body))
    state: dict[str, Any] = ({"stage": "needToCreateCode"} if volume >= REFERRAL_VOLUME
                             else {"stage": "needToTrade", "data": {"required": shapes.num(REFERRAL_VOLUME)}})
    return {"referredBy": None, "cumVlm": shapes.num(volume), "unclaimedRewards": "0.0", "claimedRewards": "0.0",
            "builderRewards": "0.0", "referrerState": state, "rewardHistory": []}


HANDLERS: dict[str, Callable[[HyperliquidEmulator, dict[str, Any]], Any]] = {
    "spotMetaAndAssetCtxs": _spot_meta_and_ctxs,
    "predictedFundings": _predicted_fundings,
    "perpsAtOpenInterestCap": _nothing,
    "extraAgents": _extra_agents,
    "maxBuilderFee": _max_builder_fee,
    "userFees": _user_fees,
    "portfolio": _portfolio,
    "userNonFundingLedgerUpdates": _ledger,
    "referral": _referral,
    "subAccounts": _nothing,
    "userVaultEquities": _nothing,
    "delegatorHistory": _nothing,
}
