"""Alerts: webhooks that tell an operator, outside the logs, what needs a look.

    the bus ("events": the audit stream; "orders")   a look every CHECK_SECS at positions
           |                                          and daily PnL (the loss limits' numbers)
           v                                                     |
    classify -> Alert(kind, key, text, details) <----------------+
           |
    each [[alerts]] entry: kind in `on`? the same key within min_interval_secs? -> its queue
           |
    its sender task: POST the body (json | slack | telegram), retried with backoff,
    every attempt audited (action "alert": retrying | delivered | failed | dropped)

Nothing here is on the order path. The bus never waits on a subscriber; classifying is a
few dict reads; each webhook has its own bounded queue (full: the oldest waiting alert is
dropped, counted and audited) and its own task, so a slow or dead receiver holds up only
its own deliveries. The webhook URL is a secret (Slack and Telegram put tokens in it): it
is resolved from its reference, used for the request, and never logged, audited or shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from perpd.bus import Bus, SlowConsumer
from perpd.clock import Clock
from perpd.config import AlertConfig, Config
from perpd.engine.audit import Audit
from perpd.engine.state import EngineState
from perpd.errors import ConfigError
from perpd.model import Order, OrderStatus
from venues.base import SecretResolver

log = logging.getLogger("perpd.alerts")

CHECK_SECS = 1.0  # how often positions and daily PnL are looked at
MAX_BACKOFF_SECS = 60.0
MAX_INTERVAL_MS = 86_400_000  # the largest min_interval_secs the config allows
# The trading-state actions the audit log records (perpd/engine/controls.py).
STATE_ACTIONS = {"halted": "halted", "reduce_only": "reduce-only", "resume": "resumed"}
# Rejections perpd made itself, not a venue (perpd/engine/desk.py, perpd/engine/sync.py).
LOCAL_REJECTIONS = ("refused locally", "perpd:")


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # one of perpd.config.ALERT_KINDS
    key: str  # what makes two alerts "the same" for min_interval_secs
    text: str  # one line for a human
    details: dict[str, Any]
    ts_ms: int


# --------------------------------------------------------------------------- what is an alert


def from_event(event: dict[str, Any], now_ms: int) -> Alert | None:
    """An audit record (as the bus carries it) -> the alert it calls for, if any."""
    action, actor, result = event.get("action"), event.get("actor"), event.get("result")
    details = event.get("details") or {}
    account, venue = event.get("account"), event.get("venue")
    if action in STATE_ACTIONS:
        scope, reason = event.get("rule") or "global", details.get("reason") or ""
        if action == "halted" and actor == "risk":
            return Alert("kill_switch", scope, f"perpd: kill switch tripped: {scope} halted ({reason})",
                         {"scope": scope, "reason": reason}, now_ms)
        why = f" ({reason})" if reason else ""
        return Alert("trading_state", f"{scope}:{action}:{reason}", f"perpd: {scope} {STATE_ACTIONS[action]} by {actor}{why}",
                     {"scope": scope, "state": "active" if action == "resume" else action, "reason": reason, "actor": actor},
                     now_ms)
    where = account or venue or ""
    error = details.get("error", "")
    if action == "disconnected":
        stream = details.get("stream", "")
        return Alert("disconnected", f"{venue}:{account or ''}",
                     f"perpd: {stream} stream of {where} on {venue} disconnected: {error}",
                     {"venue": venue, "account": account, "stream": stream, "error": error}, now_ms)
    if action == "resync_failed":
        return Alert("resync_failed", where, f"perpd: resync of {where} failing: {error}",
                     {"account": account, "error": error}, now_ms)
    if action == "watchdog":
        silent, cancelled = details.get("silent_secs"), details.get("cancelled")
        return Alert("watchdog", where,
                     f"perpd: watchdog fired on {where}: no contact for {silent} s, {cancelled} order(s) cancelled",
                     {"account": account, "venue": venue, "silent_secs": silent, "cancelled": cancelled}, now_ms)
    if action == "dead_mans_switch":
        fired = result == "fired"
        text = (f"perpd: dead man's switch on {where} has fired ({venue} cancels every order): {error}" if fired
                else f"perpd: dead man's switch on {where} could not be refreshed: {error}")
        return Alert("dead_mans_switch", f"{where}:{result}", text,
                     {"account": account, "venue": venue, "result": result, "error": error,
                      "horizon_secs": details.get("horizon_secs")}, now_ms)
    return None


def from_order(order: Order, now_ms: int) -> Alert | None:
    """An order a venue refused (not one perpd refused or gave up on itself)."""
    if order.status is not OrderStatus.REJECTED or (order.reason or "").startswith(LOCAL_REJECTIONS):
        return None
    price = f" @ {order.price}" if order.price is not None else ""
    what = f"{order.side.value} {order.size} {order.symbol}{price}"
    return Alert("order_rejected", f"{order.account}:{order.symbol}:{order.reason}",
                 f"perpd: {order.venue} rejected {order.account}'s {what} ({order.client_id}): {order.reason}",
                 {"account": order.account, "venue": order.venue, "symbol": order.symbol, "client_id": order.client_id,
                  "side": order.side.value, "size": str(order.size), "price": _s(order.price), "reason": order.reason},
                 now_ms)


def near_liquidation(state: EngineState, pct: Decimal, now_ms: int) -> Iterator[Alert]:
    """Positions whose mark is within `pct` % of their liquidation price (venue reports)."""
    portfolio = state.portfolio
    for name, held in sorted(portfolio.accounts.items()):
        for symbol, position in sorted(held.positions.items()):
            liquidation = position.liquidation_price
            mark = portfolio.mark(held.venue, symbol) or position.mark_price
            if liquidation is None or liquidation <= 0 or not mark:
                continue
            distance = abs(mark - liquidation) / mark * 100
            if distance <= pct:
                side = "long" if position.size > 0 else "short"
                yield Alert("liquidation", f"{name}:{symbol}",
                            f"perpd: {name} {symbol} {side} {abs(position.size)} is {distance:.2f}% from liquidation "
                            f"(mark {mark}, liquidation {liquidation})",
                            {"account": name, "venue": held.venue, "symbol": symbol, "size": str(position.size),
                             "mark": str(mark), "liquidation_price": str(liquidation), "distance_pct": f"{distance:.4f}"},
                            now_ms)


def pnl_below(state: EngineState, threshold: Decimal, reset_time_utc: str, now_ms: int) -> Iterator[Alert]:
    """Accounts whose PnL since the daily reset (the loss limits' tracker) is below `threshold`."""
    for name in sorted(state.portfolio.accounts):
        view = state.pnl.view(name, reset_time_utc, now_ms)
        if view.pnl < threshold:
            yield Alert("daily_pnl", name,
                        f"perpd: {name} PnL since {reset_time_utc} UTC is {view.pnl:.2f}, below {threshold}",
                        {"account": name, "pnl": str(view.pnl), "realized": str(view.realized),
                         "threshold": str(threshold), "since_ms": view.start_ms}, now_ms)


# --------------------------------------------------------------------------- bodies


def body(config: AlertConfig, alert: Alert) -> dict[str, Any]:
    """The JSON a webhook receives, in its format."""
    if config.format == "slack":
        return {"text": alert.text}
    if config.format == "telegram":
        chat = config.chat_id or ""
        return {"chat_id": int(chat) if chat.lstrip("-").isdigit() else chat, "text": alert.text}
    return {"source": "perpd", "alert": config.name, "kind": alert.kind, "text": alert.text, "ts_ms": alert.ts_ms,
            "details": alert.details}


# --------------------------------------------------------------------------- delivery


def resolve_urls(config: Config, secrets: SecretResolver) -> dict[str, SecretStr]:
    """Each enabled alert's webhook URL from its reference; ConfigError names the alert
    and the reference, never the URL."""
    urls, problems = {}, []
    for i, alert in enumerate(config.alerts):
        if not alert.enabled:
            continue
        try:
            url = secrets(alert.url)
        except ConfigError as exc:
            problems.append(f"alerts[{i}].url: {exc.message}")
            continue
        if not url.get_secret_value().startswith(("http://", "https://")):
            problems.append(f"alerts[{i}].url: {alert.url} does not hold an http:// or https:// URL")
            continue
        urls[alert.name] = url
    if problems:
        raise ConfigError(f"{len(problems)} problem(s)\n  " + "\n  ".join(problems), problems=problems)
    return urls


@dataclass
class Webhook:
    """One [[alerts]] entry: its URL, its queue and the task delivering from it."""

    config: AlertConfig
    url: SecretStr
    queue: deque[Alert] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Alerter:
    """Turns what the engine does into webhook deliveries; see the module doc."""

    def __init__(self, state: EngineState, bus: Bus, audit: Audit, secrets: SecretResolver, clock: Clock,
                 *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._state = state
        self._bus = bus
        self._audit = audit
        self._secrets = secrets
        self._clock = clock
        self._client = httpx.AsyncClient(transport=transport, follow_redirects=False)
        self._hooks: dict[str, Webhook] = {}
        self._configured: tuple[AlertConfig, ...] | None = None
        self._last: dict[tuple[str, str, str], int] = {}  # (alert, kind, key) -> when last queued
        self._tasks: list[asyncio.Task[None]] = []
        self._track_resets(state.config)  # before the engine starts: its rebuild replays these windows

    def check(self, config: Config) -> None:
        """Refuse (ConfigError) a config whose webhook references do not resolve."""
        resolve_urls(config, self._secrets)

    async def start(self) -> None:
        self._configure()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._listen(), name="alerts:listen"),
                       loop.create_task(self._look(), name="alerts:look")]

    async def stop(self) -> None:
        tasks = [*self._tasks, *(h.task for h in self._hooks.values() if h.task is not None)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._hooks.clear()
        await self._client.aclose()

    # ------------------------------------------------------------------ configuration

    def _track_resets(self, config: Config) -> None:
        resets = {a.reset_time_utc for a in config.alerts if a.enabled and a.daily_pnl_below is not None}
        if resets:
            self._state.pnl.track(*resets)  # idempotent; a reset added by a reload counts from then

    def _configure(self) -> None:
        """Follow the running config (a reload swaps it): start new webhooks, replace
        changed ones (their waiting alerts carried over), stop removed ones."""
        config = self._state.config
        if config.alerts is self._configured:
            return
        self._configured = config.alerts
        self._track_resets(config)
        wanted = {a.name: a for a in config.alerts if a.enabled}
        try:
            urls = resolve_urls(config, self._secrets)
        except ConfigError as exc:  # checked before the swap; a reference may break after
            log.error("alerts not reconfigured: %s", exc.message)
            return
        for name in [n for n, hook in self._hooks.items() if wanted.get(n) != hook.config]:
            hook = self._hooks.pop(name)
            if hook.task is not None:
                hook.task.cancel()
            if name in wanted:
                self._start_hook(wanted[name], urls[name], hook.queue)
        for name, cfg in wanted.items():
            if name not in self._hooks:
                self._start_hook(cfg, urls[name], deque())

    def _start_hook(self, config: AlertConfig, url: SecretStr, queue: deque[Alert]) -> None:
        hook = Webhook(config, url, queue)
        hook.task = asyncio.get_running_loop().create_task(self._send_loop(hook), name=f"alerts:{config.name}")
        self._hooks[config.name] = hook
        if queue:
            hook.wakeup.set()

    # ------------------------------------------------------------------ sources

    async def _listen(self) -> None:
        """Classify everything the audit log and the order stream carry."""
        while True:
            try:
                with self._bus.subscribe(("events", "orders")) as subscription:
                    async for message in subscription:
                        now = self._clock.now_ms()
                        if message.topic == "events":
                            if message.data.get("action") == "alert":
                                continue  # our own deliveries
                            alert = from_event(message.data, now)
                        else:
                            alert = from_order(message.data, now)
                        self._configure()
                        if alert is not None:
                            self.raise_alert(alert)
            except SlowConsumer:
                log.warning("alerts fell behind the event stream; resubscribing")

    async def _look(self) -> None:
        """The level conditions: positions near liquidation, daily PnL below a threshold."""
        while True:
            await asyncio.sleep(CHECK_SECS)
            try:
                self._configure()
                now = self._clock.now_ms()
                for hook in list(self._hooks.values()):
                    cfg = hook.config
                    if cfg.liquidation_pct is not None and "liquidation" in cfg.on:
                        for alert in near_liquidation(self._state, cfg.liquidation_pct, now):
                            self._offer(hook, alert)
                    if cfg.daily_pnl_below is not None and "daily_pnl" in cfg.on:
                        for alert in pnl_below(self._state, cfg.daily_pnl_below, cfg.reset_time_utc, now):
                            self._offer(hook, alert)
                if len(self._last) > 1000:  # forget repeats older than the longest min_interval_secs
                    self._last = {seen: ts for seen, ts in self._last.items() if now - ts < MAX_INTERVAL_MS}
            except Exception:  # noqa: BLE001 - one bad look must not stop the next
                log.exception("alert check failed")

    # ------------------------------------------------------------------ queues

    def raise_alert(self, alert: Alert) -> None:
        """Queue an alert for every webhook that wants its kind (never waits)."""
        for hook in list(self._hooks.values()):
            if alert.kind in hook.config.on:
                self._offer(hook, alert)

    def _offer(self, hook: Webhook, alert: Alert) -> None:
        cfg = hook.config
        seen = (cfg.name, alert.kind, alert.key)
        last = self._last.get(seen)
        if last is not None and alert.ts_ms - last < cfg.min_interval_secs * 1000:
            return  # the same alert again, sooner than min_interval_secs
        self._last[seen] = alert.ts_ms
        if len(hook.queue) >= cfg.queue_size:
            dropped = hook.queue.popleft()
            self._state.stats["alerts_dropped"] = self._state.stats.get("alerts_dropped", 0) + 1
            self._audit("alert", actor="alerts", rule=f"alert:{cfg.name}", result="dropped",
                        details={"kind": dropped.kind, "text": dropped.text, "error": f"queue full ({cfg.queue_size})"})
        hook.queue.append(alert)
        hook.wakeup.set()

    async def _send_loop(self, hook: Webhook) -> None:
        while True:
            if not hook.queue:
                hook.wakeup.clear()
                await hook.wakeup.wait()
                continue
            alert = hook.queue.popleft()
            try:
                await self._deliver(hook, alert)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one alert must not stop the next
                log.exception("alert %s failed", hook.config.name)

    async def _deliver(self, hook: Webhook, alert: Alert) -> None:
        """POST one alert, retrying transport errors, timeouts, 408, 429 and 5xx with
        doubling backoff up to max_attempts; every attempt's outcome is audited."""
        cfg, stats = hook.config, self._state.stats
        content = orjson.dumps(body(cfg, alert))
        delay = cfg.backoff_secs
        for attempt in range(1, cfg.max_attempts + 1):
            started = time.perf_counter()
            status: int | None = None
            try:
                response = await self._client.post(
                    hook.url.get_secret_value(), content=content, timeout=cfg.timeout_secs,
                    headers={"content-type": "application/json", "user-agent": "perpd-alerts"},
                )
                status = response.status_code
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except httpx.TimeoutException:
                error = f"no answer within {cfg.timeout_secs:g} s"
            except Exception as exc:  # noqa: BLE001 - named by type only: messages may carry the URL
                error = type(exc).__name__
            audit = {"kind": alert.kind, "key": alert.key, "text": alert.text, "attempt": attempt,
                     "elapsed_ms": round((time.perf_counter() - started) * 1000, 1)}
            if error is None:
                stats["alerts_sent"] = stats.get("alerts_sent", 0) + 1
                self._audit("alert", actor="alerts", rule=f"alert:{cfg.name}", result="delivered", details=audit)
                return
            final = attempt == cfg.max_attempts or (status is not None and 400 <= status < 500 and status not in (408, 429))
            if final:
                stats["alerts_failed"] = stats.get("alerts_failed", 0) + 1
                self._audit("alert", actor="alerts", rule=f"alert:{cfg.name}", result="failed", details={**audit, "error": error})
                log.warning("alert %s (%s) not delivered after %d attempt(s): %s", cfg.name, alert.kind, attempt, error)
                return
            self._audit("alert", actor="alerts", rule=f"alert:{cfg.name}", result="retrying",
                        details={**audit, "error": error, "retry_in_secs": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECS)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)

