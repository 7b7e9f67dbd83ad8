"""`GET /metrics`: Prometheus text format from a registry private to one app.

Request latency and venue latency are histograms fed as things happen; everything else
(orders by status, reconcile passes, risk denials, rate-limit headroom, WS clients) is
read from the engine and the API at scrape time, so the hot paths pay nothing for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from perpd.api.context import ApiContext

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The API's metrics; `render()` is the body of `GET /metrics`."""

    def __init__(self, ctx: ApiContext) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Histogram(
            "perpd_api_request_seconds",
            "API request latency by route template, method and status.",
            ("method", "route", "status"),
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self.venue_latency = Histogram(
            "perpd_venue_request_seconds",
            "Latency of calls to venues (create_order, cancel_order, ...).",
            ("venue", "verb"),
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self.registry.register(_EngineCollector(ctx))

    def observe_request(self, method: str, route: str, status: int, secs: float) -> None:
        self.requests.labels(method, route, str(status)).observe(secs)

    def observe_venue(self, venue: str, verb: str, secs: float) -> None:
        self.venue_latency.labels(venue, verb).observe(secs)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _EngineCollector(Collector):
    """Reads the live engine and API state at scrape time."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def collect(self) -> Iterator[Metric]:
        ctx = self._ctx
        ws = GaugeMetricFamily("perpd_ws_clients", "Connected WebSocket clients by endpoint.", labels=("endpoint",))
        for endpoint, count in sorted(ctx.ws_clients.items()):
            ws.add_metric((endpoint,), count)
        fanout = ctx.daemon.fanout
        if fanout is not None:  # the worker processes' clients, as they last reported
            for endpoint, count in sorted(fanout.client_counts().items()):
                ws.add_metric((f"fanout:{endpoint}",), count)
        yield ws
        if fanout is not None:
            yield GaugeMetricFamily("perpd_fanout_workers", "WebSocket fan-out worker processes running.", value=len(fanout.feeds))
            yield CounterMetricFamily("perpd_fanout_worker_restarts", "Fan-out workers restarted after exiting.", value=fanout.restarts)
        headroom = GaugeMetricFamily(
            "perpd_api_rate_limit_headroom",
            "Fraction of each API token's request burst left (1 = idle, 0 = throttled).",
            labels=("token",),
        )
        for name, bucket in sorted(ctx.auth.buckets.items()):
            headroom.add_metric((name,), bucket.headroom())
        yield headroom
        engine = ctx.daemon.engine
        if engine is None:
            return
        orders = GaugeMetricFamily("perpd_orders", "Orders the engine tracks, by status.", labels=("status",))
        for status, count in sorted(Counter(o.status.value for o in engine.orders.values()).items()):
            orders.add_metric((status,), count)
        yield orders
        stats = engine.status()["stats"]
        yield CounterMetricFamily("perpd_reconcile_passes", "Reconcile passes run.", value=stats.get("passes", 0))
        yield GaugeMetricFamily("perpd_reconcile_last_pass_seconds", "Duration of the last reconcile pass.", value=stats.get("last_pass_ms", 0.0) / 1000)
        yield CounterMetricFamily("perpd_risk_denials", "Orders refused by trading state or a risk policy.", value=stats.get("denials", 0))
        yield CounterMetricFamily("perpd_orders_sent", "Orders sent to venues.", value=stats.get("orders_sent", 0))
        connected = GaugeMetricFamily("perpd_account_connected", "1 if an account's session is connected and synced.", labels=("account", "venue"))
        for name, state in sorted(engine.portfolio.accounts.items()):
            connected.add_metric((name, state.venue), 1.0 if state.synced and name in engine.sessions else 0.0)
        yield connected
        yield GaugeMetricFamily("perpd_bus_subscribers", "Subscriptions on the event bus.", value=engine.bus.subscriber_count())
