"""Client-side rate limits by account tier, so Lighter rarely has to refuse us.

Lighter (docs rate-limits page; nautilus table): REST per IP and L1 address —
standard 60 requests/min unweighted, premium 24,000 weighted/min; sendTx/sendTxBatch —
standard 60 tx/min, premium 4,000/min (more with staked LIT). Premium weights: sendTx,
sendTxBatch, nextNonce 6; accountInactiveOrders 100; apikeys 150; trades and
recentTrades 600; everything else 300.

The transport paces on perpd's `TokenBucket` (perpd/ratelimit.py), which waits on the
injected clock until a request fits and never refuses. When Lighter still says
429/405/23xxx, the transport raises RateLimited.
"""

from __future__ import annotations

from dataclasses import dataclass

from venues.base import RateLimit

PREMIUM_WEIGHTS = {
    "/api/v1/sendTx": 6,
    "/api/v1/sendTxBatch": 6,
    "/api/v1/nextNonce": 6,
    "/api/v1/accountInactiveOrders": 100,
    "/api/v1/apikeys": 150,
    "/api/v1/trades": 600,
    "/api/v1/recentTrades": 600,
}
PREMIUM_DEFAULT_WEIGHT = 300


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    requests_per_min: int
    tx_per_min: int
    weighted: bool

    def weight(self, path: str) -> int:
        if not self.weighted:
            return 1
        return PREMIUM_WEIGHTS.get(path, PREMIUM_DEFAULT_WEIGHT)

    def rate_limits(self) -> tuple[RateLimit, ...]:
        return (
            RateLimit("rest_weight" if self.weighted else "rest_requests", self.requests_per_min, 60.0, "account"),
            RateLimit("transactions", self.tx_per_min, 60.0, "account"),
        )


TIERS = {
    "standard": Tier("standard", 60, 60, weighted=False),
    "premium": Tier("premium", 24_000, 4_000, weighted=True),
}


def tier_of(name: str, requests_per_min: int | None = None, tx_per_min: int | None = None) -> Tier:
    base = TIERS[name]
    return Tier(base.name, requests_per_min or base.requests_per_min, tx_per_min or base.tx_per_min, base.weighted)
