"""One Hyperliquid account: its state over `/info` and its private stream; the trading
verbs are in trading.py (HyperliquidTrading, its base class).

An agent (API) wallet signs; the account address (or `vault_address`) is whose orders,
positions and fills these are. A signer whose address *is* the account's (the master
key) is refused unless the account says `allow_master_key = true`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpd.errors import ConfigError
from perpd.model import (
    Balance,
    BalanceUpdate,
    Event,
    Fill,
    FillUpdate,
    FundingPayment,
    LeverageSetting,
    Order,
    OrderUpdate,
    Position,
    PositionUpdate,
    StreamGap,
)
from venues.base import SecretResolver
from venues.hyperliquid import orders, parse
from venues.hyperliquid.config import HyperliquidAccountConfig
from venues.hyperliquid.signing import NonceSource, Signer
from venues.hyperliquid.trading import HyperliquidTrading
from venues.hyperliquid.transport import Reconnected, Subscribed, subscribe_stream

if TYPE_CHECKING:
    from perpd.config import AccountConfig
    from venues.hyperliquid.venue import HyperliquidVenue

FILLS_PAGE = 2000  # userFillsByTime returns at most this many per call
FUNDING_PAGE = 500  # userFunding returns at most this many per call
CATCH_UP_MARGIN_MS = 2_000  # clock skew allowance: a duplicate is harmless, a gap is not


class HyperliquidSession(HyperliquidTrading):
    """Private verbs of one Hyperliquid account (its address or vault, one signer)."""

    venue: HyperliquidVenue
    config: HyperliquidAccountConfig

    def __init__(self, venue: HyperliquidVenue, account: str, config: AccountConfig, secrets: SecretResolver) -> None:
        super().__init__(venue, account, config)
        try:
            self._signer = Signer(secrets(self.config.signer).get_secret_value())
        except ValueError:
            raise ConfigError(f"accounts.{account}.signer: {self.config.signer} is not a private key") from None
        self.account_address = self.config.account_address.lower()
        if self._signer.address == self.account_address and not self.config.allow_master_key:
            raise ConfigError(
                f"accounts.{account}.signer: this is the master key of {self.config.account_address}; "
                "sign with an API wallet (approveAgent) or set allow_master_key = true"
            )
        self.vault_address = self.config.vault_address.lower() if self.config.vault_address else None
        self.user = self.vault_address or self.account_address  # whose state we read
        self.nonces = NonceSource.for_signer(self._signer.address)
        self._builder = (
            {"b": self.config.builder_address.lower(), "f": self.config.builder_fee_tenths_bp or 0}
            if self.config.builder_address
            else None
        )
        self._known: dict[str, Order] = {}  # client id -> last Order we saw
        # A modify replaces the order under the same cloid with a new oid whose size is
        # what remained: cloid -> (the new oid, what the replaced oids had filled), so the
        # order perpd tracks keeps its total size and filled size; replaced oids' own
        # reports ("canceled") are not the order's.
        self._carried: dict[str, tuple[str, Decimal]] = {}
        self._replaced: set[str] = set()
        self._held: set[str] = set()  # symbols with a position at the last state read

    async def connect(self) -> None:
        """Read the address budget the venue has counted for this account (it also
        tells an emulator the account exists, like a deposit would)."""
        await self.fetch_rate_limit()

    @property
    def signer_address(self) -> str:
        return self._signer.address

    def _symbol_of(self, coin: str) -> str | None:
        return self.venue.symbol_of(coin)

    async def _info(self, body: dict[str, Any]) -> Any:
        return await self.venue.transport.info(body)

    # ------------------------------------------------------------------ state

    async def fetch_state(self) -> tuple[Balance, list[Position]]:
        payload = await self._info({"type": "clearinghouseState", "user": self.user, "dex": ""})
        return parse.parse_clearinghouse_state(payload, self.account, self._symbol_of, venue=self.venue.name, ts_ms=self.venue.clock.now_ms())

    async def fetch_balance(self) -> Balance:
        return (await self.fetch_state())[0]

    async def fetch_positions(self) -> list[Position]:
        return (await self.fetch_state())[1]

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        payload = await self._info({"type": "frontendOpenOrders", "user": self.user, "dex": ""})
        found = [self._remember(o) for o in parse.parse_open_orders(payload, self.account, self._symbol_of, venue=self.venue.name)]
        if symbol is not None:
            unified = self.venue.market(symbol).symbol
            found = [o for o in found if o.symbol == unified]
        return found

    async def fetch_order(self, client_id: str) -> Order | None:
        self.capabilities.client_id_format.validate(client_id)
        payload = await self._info({"type": "orderStatus", "user": self.user, "oid": client_id})
        order = parse.parse_order_status(payload, self.account, self._symbol_of, venue=self.venue.name)
        return self._remember(order) if order is not None else None

    async def fetch_fills(self, since_ms: int = 0) -> list[Fill]:
        fills: list[Fill] = []
        start = since_ms
        while True:
            page = await self._info({"type": "userFillsByTime", "user": self.user, "startTime": start, "aggregateByTime": False})
            fills.extend(parse.parse_fills(page, self.account, self._symbol_of, venue=self.venue.name))
            if len(page) < FILLS_PAGE:
                break
            # The same ms may hold more fills (re-read it; duplicates are dropped), but a
            # full page inside one ms must not loop forever.
            start = max(max(int(item["time"]) for item in page), start + 1)
        return _dedup(fills)

    async def fetch_funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        """userFunding, paged by time. Hyperliquid gives a funding row no id of its own (its
        hash is zero): one payment per coin per hour, so time and symbol name it."""
        found: dict[str, FundingPayment] = {}
        start = since_ms
        while True:
            page = await self._info({"type": "userFunding", "user": self.user, "startTime": start})
            for p in parse.parse_user_funding(page, self._symbol_of):
                payment_id = f"{p.ts_ms}:{p.symbol}"
                found.setdefault(payment_id, FundingPayment(
                    account=self.account, venue=self.venue.name, payment_id=payment_id, symbol=p.symbol,
                    amount=p.amount, ts_ms=p.ts_ms, rate=p.rate, position=p.size))
            if len(page) < FUNDING_PAGE:
                break
            start = max(max(int(item["time"]) for item in page), start + 1)
        return sorted(found.values(), key=lambda p: (p.ts_ms, p.symbol))

    async def fetch_rate_limit(self) -> tuple[int, int]:
        """The venue's count of this address's actions: (used, cap); also resyncs the
        shared budget."""
        payload = await self._info({"type": "userRateLimit", "user": self.user})
        used, cap = parse.parse_user_rate_limit(payload)
        self.venue.transport.address_budgets.update(self.user, used, cap)
        return used, cap

    async def fetch_leverage(self, symbol: str) -> LeverageSetting:
        market = self.venue.market(symbol)
        payload = await self._info({"type": "activeAssetData", "user": self.user, "coin": market.venue_symbol})
        return parse.parse_active_asset_data(payload, market.symbol)

    # ------------------------------------------------------------------ stream

    def _remember(self, order: Order) -> Order:
        if order.venue_order_id in self._replaced:
            return self._known.get(order.client_id, order)
        carried = self._carried.get(order.client_id)
        if carried is not None and carried[0] == order.venue_order_id:
            order = order.evolve(size=order.size + carried[1], filled_size=order.filled_size + carried[1])
        merged = orders.merge(self._known.get(order.client_id), order)
        if not merged.client_id.startswith("oid:"):
            self._known[merged.client_id] = merged
        return merged

    async def watch_account(self) -> AsyncIterator[Event]:
        """Order updates and fills from the WS; after fills, positions and balance from
        REST; a StreamGap after every reconnect (nothing missed is replayed).

        What happened between this call and the first subscription being acknowledged
        is caught up from REST (historicalOrders, userFillsByTime), so the stream
        behaves as if it had subscribed when called."""
        since = self.venue.clock.now_ms() - CATCH_UP_MARGIN_MS
        subscriptions = [
            {"type": "orderUpdates", "user": self.user},
            {"type": "userFills", "user": self.user},
        ]
        caught_up = False
        async for message in subscribe_stream(self.venue.ws_url, subscriptions):
            if isinstance(message, Reconnected):
                yield StreamGap(venue=self.venue.name, account=self.account, reason=message.reason, ts_ms=self.venue.clock.now_ms())
            elif isinstance(message, Subscribed):
                if not caught_up:
                    caught_up = True
                    for event in await self._catch_up(since):
                        yield event
            else:
                for event in await self._account_events(message):
                    yield event

    async def _catch_up(self, since_ms: int) -> list[Event]:
        history = await self._info({"type": "historicalOrders", "user": self.user})
        recent = [e for e in history if int(e.get("statusTimestamp", 0)) >= since_ms]
        recent.sort(key=lambda e: int(e.get("statusTimestamp", 0)))
        name = self.venue.name
        events: list[Event] = [OrderUpdate(self._remember(o)) for o in parse.parse_order_updates(recent, self.account, self._symbol_of, venue=name)]
        fills = await self.fetch_fills(since_ms)
        events.extend(FillUpdate(f) for f in fills)
        if fills:
            events.extend(await self._state_events())
        return events

    async def _account_events(self, message: dict[str, Any]) -> list[Event]:
        channel, data = message.get("channel"), message.get("data")
        name = self.venue.name
        if channel == "orderUpdates":
            return [OrderUpdate(self._remember(o)) for o in parse.parse_order_updates(data, self.account, self._symbol_of, venue=name)]
        if channel == "userFills" and not data.get("isSnapshot"):
            events: list[Event] = [FillUpdate(f) for f in parse.parse_fills(data["fills"], self.account, self._symbol_of, venue=name)]
            if events:
                events.extend(await self._state_events())
            return events
        return []


    async def _state_events(self) -> list[Event]:
        # A closed position vanishes from clearinghouseState: report it at size 0.
        balance, positions = await self.fetch_state()
        now_held = {p.symbol for p in positions}
        events: list[Event] = [PositionUpdate(p) for p in positions]
        events.extend(
            PositionUpdate(Position(self.account, self.venue.name, symbol, Decimal(0), ts_ms=balance.ts_ms))
            for symbol in self._held - now_held
        )
        self._held = now_held
        events.append(BalanceUpdate(balance))
        return events


def _dedup(fills: list[Fill]) -> list[Fill]:
    seen: dict[str, Fill] = {}
    for fill in fills:
        seen.setdefault(fill.trade_id, fill)
    return sorted(seen.values(), key=lambda f: (f.ts_ms, f.trade_id))
