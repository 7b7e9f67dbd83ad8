"""EdgeX JSON -> perpd.model. Pure functions: no I/O, no clock, no state.

Numbers arrive as strings and become Decimals from their text; ids and times are
strings of digits. Metadata (`getMetaData`) gives every contract its rules and the
values order signatures need (chain id, contract address, resolutions); `Metadata`
keeps them. Unified symbols come from the base coin (`BTC` -> `BTC-PERP`); a market's
`venue_symbol` is its contractId. Tested over the recorded samples in
../shared/venues/edgex/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from perpd.model import (
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
from venues.edgex.constants import (
    CANCEL_REASON_NONE,
    EXPIRED_REASONS,
    ORDER_TYPES_FROM_WIRE,
    STATUS_CANCELED,
    STATUS_FILLED,
    STATUS_PENDING,
    TIFS_FROM_WIRE,
)

ZERO = Decimal(0)


def dec(value: Any, default: Decimal | None = ZERO) -> Decimal | None:
    """A Decimal from EdgeX's text (`""` and null give `default`)."""
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return default


def num(value: Any) -> Decimal:
    """A required number; ValueError if it is missing or not one."""
    out = dec(value, None)
    if out is None:
        raise ValueError(f"not a number: {value!r}")
    return out


def resolution(value: Any) -> Decimal | None:
    """`"1000"`, `"0xf4240"` (hex) or missing, as the SDK's parse_resolution reads it."""
    text = str(value or "").strip().lower()
    if not text:
        return None
    return Decimal(int(text, 16)) if text.startswith("0x") else Decimal(text)


_WIDE = Context(prec=40)  # EdgeX prints up to ~34 digits ("0.289926609240472316741943359375")


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    total = ZERO
    for value in values:
        total = _WIDE.add(total, value)
    return total


def ms(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True, slots=True)
class Coin:
    coin_id: str
    name: str
    resolution: Decimal | None


@dataclass(frozen=True, slots=True)
class Contract:
    """One EdgeX contract: the perpd Market plus what orders on it are signed with."""

    contract_id: str
    name: str
    market: Market
    quote: Coin
    resolution: Decimal | None
    default_leverage: int
    funding_interval_secs: int
    fee_cap_rate: Decimal  # what an order's fee cap is computed with: max(taker, maker), as the SDK
    asset_ids: tuple[int, int]  # (contractId, quote coinId) as the order signature's asset ids

    @property
    def symbol(self) -> str:
        return self.market.symbol


@dataclass(frozen=True, slots=True)
class Metadata:
    chain_id: int | None  # global.nativeChainId or chainId (EIP-712 domain)
    contract_address: str | None  # global.contractAddress (EIP-712 verifyingContract)
    coins: dict[str, Coin] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)  # by contractId
    by_symbol: dict[str, Contract] = field(default_factory=dict)


def _chain_id(value: Any) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def _max_leverage(contract: Mapping[str, Any]) -> int:
    shown = dec(contract.get("displayMaxLeverage"), None)
    if shown:
        return int(shown)
    tiers = [dec(t.get("maxLeverage"), ZERO) or ZERO for t in contract.get("riskTierList") or ()]
    return int(max(tiers)) if tiers and max(tiers) >= 1 else 1


def parse_metadata(data: Mapping[str, Any], *, venue: str) -> Metadata:
    """`getMetaData` data -> Metadata (contracts that cannot trade are left out)."""
    glob = data.get("global") or {}
    coins: dict[str, Coin] = {}
    for row in data.get("coinList") or ():
        coin_id = str(row.get("coinId") or "")
        if coin_id:
            coins[coin_id] = Coin(coin_id, str(row.get("coinName") or coin_id),
                                  resolution(row.get("resolution") or row.get("starkExResolution")))
    contracts: dict[str, Contract] = {}
    by_symbol: dict[str, Contract] = {}
    for row in data.get("contractList") or ():
        if row.get("enableTrade") is False:
            continue
        contract_id = str(row.get("contractId") or "")
        base = coins.get(str(row.get("baseCoinId") or ""))
        quote = coins.get(str(row.get("quoteCoinId") or ""))
        if not contract_id.isdigit() or base is None or quote is None or not quote.coin_id.isdigit():
            continue  # ids are numbers on the wire and in order signatures
        symbol = _symbol(base.name)
        if symbol is None or symbol in by_symbol:
            continue  # a name perpd cannot spell, or a second contract on one coin
        step = num(row.get("stepSize"))
        market = Market(
            venue=venue,
            symbol=symbol,
            venue_symbol=contract_id,
            base=base.name,
            quote=quote.name,
            tick_size=num(row.get("tickSize")),
            lot_size=step,
            min_size=max(dec(row.get("minOrderSize"), step) or step, step),
            min_notional=ZERO,  # EdgeX has a minimum size, no minimum value
            max_leverage=_max_leverage(row),
            maker_fee=dec(row.get("defaultMakerFeeRate")) or ZERO,
            taker_fee=dec(row.get("defaultTakerFeeRate")) or ZERO,
        )
        contract = Contract(
            contract_id=contract_id,
            name=str(row.get("contractName") or contract_id),
            market=market,
            quote=quote,
            resolution=resolution(row.get("resolution") or row.get("starkExResolution")),
            default_leverage=int(dec(row.get("defaultLeverage"), Decimal(1)) or 1),
            funding_interval_secs=int(dec(row.get("fundingRateIntervalMin"), Decimal(240)) or 240) * 60,
            fee_cap_rate=max(market.taker_fee, market.maker_fee),
            asset_ids=(int(contract_id), int(quote.coin_id)),
        )
        contracts[contract_id] = contract
        by_symbol[symbol] = contract
    return Metadata(
        chain_id=_chain_id(glob.get("nativeChainId") or glob.get("chainId")),
        contract_address=(str(glob.get("contractAddress") or "").strip() or None),
        coins=coins,
        contracts=contracts,
        by_symbol=by_symbol,
    )


def _symbol(coin: str) -> str | None:
    base = coin.strip().upper()
    if not base or not all(c.isalnum() or c == "_" for c in base):
        return None
    return f"{base}-PERP"


# --------------------------------------------------------------------------- market data


def parse_levels(levels: Iterable[Mapping[str, Any]] | None) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(Decimal(lv["price"]), Decimal(lv["size"])) for lv in levels or ())


def parse_order_book(item: Mapping[str, Any], market: Market, *, ts_ms: int = 0) -> OrderBook:
    """One `getDepth` data item (or a depth Snapshot) -> OrderBook, best first."""
    bids = sorted((lv for lv in parse_levels(item.get("bids")) if lv.size > 0), key=lambda lv: -lv.price)
    asks = sorted((lv for lv in parse_levels(item.get("asks")) if lv.size > 0), key=lambda lv: lv.price)
    return OrderBook(market.venue, market.symbol, tuple(bids), tuple(asks), seq=ms(item.get("endVersion")), ts_ms=ts_ms)


def parse_ticker(item: Mapping[str, Any], market: Market, *, ts_ms: int = 0) -> Ticker:
    """A `getTicker` row or a `ticker.*` push -> Ticker (the mark is EdgeX's oracle price)."""
    mark = dec(item.get("markPrice"), None) or dec(item.get("oraclePrice"), None) or dec(item.get("lastPrice"))
    return Ticker(
        venue=market.venue,
        symbol=market.symbol,
        mark_price=mark or ZERO,
        index_price=dec(item.get("indexPrice"), None),
        last_price=dec(item.get("lastPrice"), None),
        best_bid=dec(item.get("bestBidPrice"), None) or None,
        best_ask=dec(item.get("bestAskPrice"), None) or None,
        funding_rate=dec(item.get("fundingRate"), None),
        open_interest=dec(item.get("openInterest"), None),
        ts_ms=ms(item.get("endTime")) or ts_ms,
    )


def parse_funding(item: Mapping[str, Any], contract: Contract) -> FundingRate:
    """A `getLatestFundingRate` row or a `fundingRate.*` push -> FundingRate.

    `fundingTime` is the start of the current interval; the rate settles at its end."""
    interval = ms(item.get("fundingRateIntervalMin")) * 60 or contract.funding_interval_secs
    start = ms(item.get("fundingTime"))
    market = contract.market
    return FundingRate(
        venue=market.venue,
        symbol=market.symbol,
        rate=dec(item.get("fundingRate")) or ZERO,
        interval_secs=interval,
        ts_ms=ms(item.get("fundingTimestamp")) or start,
        mark_price=dec(item.get("markPrice"), None) or dec(item.get("oraclePrice"), None),
        index_price=dec(item.get("indexPrice"), None),
        next_funding_ms=start + interval * 1000 if start else None,
    )


def parse_candle(item: Mapping[str, Any], market: Market, interval: str) -> Candle:
    return Candle(
        venue=market.venue,
        symbol=market.symbol,
        interval=interval,
        open_ms=ms(item.get("klineTime")),
        open=num(item.get("open")),
        high=num(item.get("high")),
        low=num(item.get("low")),
        close=num(item.get("close")),
        volume=dec(item.get("size")) or ZERO,
        trades=ms(item.get("trades")),
    )


def parse_trade(item: Mapping[str, Any], market: Market) -> Trade:
    """A `trades.{id}` item -> Trade; the side is the taker's (`isBuyerMaker` -> sell)."""
    return Trade(
        venue=market.venue,
        symbol=market.symbol,
        trade_id=str(item.get("ticketId") or item.get("id") or ""),
        price=num(item.get("price")),
        size=num(item.get("size")),
        side=Side.SELL if item.get("isBuyerMaker") else Side.BUY,
        ts_ms=ms(item.get("time")),
    )


# --------------------------------------------------------------------------- account


def parse_balance(data: Mapping[str, Any], account: str, *, venue: str, asset: str, ts_ms: int = 0) -> Balance:
    """`getAccountAsset` data -> Balance of the collateral coin."""
    models = data.get("collateralAssetModelList") or []
    model = models[0] if models else {}
    unrealized = exact_sum(dec(p.get("unrealizePnl")) or ZERO for p in data.get("positionAssetList") or ())
    return Balance(
        account=account,
        venue=venue,
        asset=asset,
        equity=dec(model.get("totalEquity")) or ZERO,
        available=dec(model.get("availableAmount")) or ZERO,
        margin_used=dec(model.get("initialMarginRequirement")) or ZERO,
        unrealized_pnl=unrealized,
        ts_ms=ms(data.get("responseTime")) or ts_ms,
    )


def parse_positions(data: Mapping[str, Any], contracts: Mapping[str, Contract], account: str,
                    *, ts_ms: int = 0) -> list[Position]:
    """`getAccountAsset` data -> non-zero positions (size signed: + long, - short)."""
    assets = {str(a.get("contractId")): a for a in data.get("positionAssetList") or ()}
    out = []
    for row in data.get("positionList") or ():
        contract = contracts.get(str(row.get("contractId")))
        size = dec(row.get("openSize")) or ZERO
        if contract is None or size == 0:
            continue
        out.append(parse_position(row, assets.get(contract.contract_id, {}), contract, account, ts_ms=ts_ms))
    return out


def parse_position(row: Mapping[str, Any], asset: Mapping[str, Any], contract: Contract, account: str,
                   *, ts_ms: int = 0) -> Position:
    """A `positionList` row (with its `positionAssetList` row, if known) -> Position."""
    market = contract.market
    size = dec(row.get("openSize")) or ZERO
    value = dec(row.get("openValue")) or ZERO
    entry = dec(asset.get("avgEntryPrice"), None) or (_WIDE.divide(value, size).copy_abs() if size else None)
    position_value = dec(asset.get("positionValue"), None)
    mark = _WIDE.divide(position_value, size).copy_abs() if position_value is not None and size else None
    leverage = dec(asset.get("maxLeverage"), None)
    return Position(
        account=account,
        venue=market.venue,
        symbol=market.symbol,
        size=size,
        entry_price=entry,
        mark_price=mark,
        unrealized_pnl=dec(asset.get("unrealizePnl")) or ZERO,
        realized_pnl=dec(asset.get("totalRealizePnl")) or ZERO,
        leverage=int(leverage) if leverage else None,
        margin_mode=MarginMode.CROSS,
        liquidation_price=dec(asset.get("liquidatePrice"), None) or None,
        margin_used=dec(asset.get("initialMarginRequirement")) or ZERO,
        ts_ms=ms(row.get("updatedTime")) or ts_ms,
    )


def order_status(wire: str, cum_fill: Decimal, cancel_reason: str) -> OrderStatus:
    if wire == STATUS_FILLED:
        return OrderStatus.FILLED
    if wire == STATUS_CANCELED:
        return OrderStatus.EXPIRED if cancel_reason in EXPIRED_REASONS else OrderStatus.CANCELLED
    if wire == STATUS_PENDING:
        return OrderStatus.PENDING
    # OPEN, UNTRIGGERED, CANCELING (still live until CANCELED) and unknown enums.
    return OrderStatus.PARTIALLY_FILLED if cum_fill > 0 else OrderStatus.OPEN


def parse_order(item: Mapping[str, Any], market: Market, account: str) -> Order:
    """An order object (REST or the private stream) -> Order with its cumulative fill."""
    filled = dec(item.get("cumFillSize")) or ZERO
    value = dec(item.get("cumFillValue")) or ZERO
    reason = str(item.get("cancelReason") or "")
    otype = ORDER_TYPES_FROM_WIRE.get(str(item.get("type") or ""), OrderType.LIMIT)
    price = dec(item.get("price"), None)
    trigger = dec(item.get("triggerPrice"), None)
    created = ms(item.get("createdTime"))
    return Order(
        account=account,
        venue=market.venue,
        client_id=str(item.get("clientOrderId") or f"order:{item.get('id')}"),
        symbol=market.symbol,
        side=Side.BUY if item.get("side") == "BUY" else Side.SELL,
        type=otype,
        size=num(item.get("size")),
        status=order_status(str(item.get("status") or ""), filled, reason),
        price=price if price else None,  # "0" on market orders
        trigger_price=trigger if trigger else None,
        tif=TIFS_FROM_WIRE.get(str(item.get("timeInForce") or ""), TimeInForce.GTC),
        reduce_only=bool(item.get("reduceOnly")),
        venue_order_id=str(item.get("id") or "") or None,
        filled_size=filled,
        avg_fill_price=(value / filled) if filled else None,
        created_ms=created,
        updated_ms=ms(item.get("updatedTime")) or created,
        reason=reason if reason and reason != CANCEL_REASON_NONE else None,
    )


def parse_funding_transaction(
    item: Mapping[str, Any], contract_of: Callable[[str], Contract | None], account: str, venue: str = "edgex"
) -> FundingPayment | None:
    """A POSITION_FUNDING collateral transaction (the shape of the FUNDING_SETTLEMENT push):
    deltaAmount is what the account received; None for another type or an unknown contract."""
    contract = contract_of(str(item.get("positionContractId")))
    if item.get("type") != "POSITION_FUNDING" or contract is None:
        return None
    return FundingPayment(
        account=account, venue=venue, payment_id=str(item["id"]), symbol=contract.market.symbol,
        amount=dec(item["deltaAmount"]) or ZERO, ts_ms=int(item.get("createdTime") or item.get("fundingTime") or 0),
        rate=dec(item.get("fundingRate"), None), position=dec(item.get("fundingPositionSize"), None),
    )


def parse_fill(item: Mapping[str, Any], market: Market, account: str, client_id: str | None) -> Fill:
    """An `orderFillTransaction` -> Fill. EdgeX's `realizePnl` is net of the fee; perpd's
    `realized_pnl` is before fees, so the fee is added back."""
    fee = dec(item.get("fillFee")) or ZERO
    realized = dec(item.get("realizePnl"), None)
    return Fill(
        account=account,
        venue=market.venue,
        trade_id=str(item.get("id")),
        client_id=client_id,
        venue_order_id=str(item.get("orderId") or "") or None,
        symbol=market.symbol,
        side=Side.BUY if item.get("orderSide") == "BUY" else Side.SELL,
        price=num(item.get("fillPrice")),
        size=num(item.get("fillSize")),
        fee=fee,
        liquidity=Liquidity.MAKER if item.get("direction") == "MAKER" else Liquidity.TAKER,
        ts_ms=ms(item.get("matchTime")) or ms(item.get("createdTime")),
        realized_pnl=realized + fee if realized is not None else None,
    )
