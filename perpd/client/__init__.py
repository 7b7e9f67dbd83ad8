"""The Python client of the running perpd daemon (sync and asyncio).

    import perpd
    perp = perpd.connect()                          # the Unix socket, found from the config
    perp.markets()                                  # -> list[Market]
    perp.buy("0.01", "BTC", 60000, account="paper") # -> list[Order]
    perp.positions().by_asset                       # -> list[AssetExposure]
    for message in perp.subscribe("markets", symbols=["BTC"]):
        ...                                         # StreamMessage: snapshot, then updates

Modules:

    locate.py    find the daemon: $PERPD_SOCKET, $PERPD_URL + $PERPD_TOKEN, the config's state dir
    calls.py     every API call, defined once (`Surface`), for both clients
    sync.py      `Client` (httpx) and `Subscription` (websockets.sync)
    aio.py       `AsyncClient` and `AsyncSubscription` (async iterators)
    stream.py    the WebSocket protocol: snapshot, numbered updates, resubscribe on a gap
    results.py   typed results: the domain models plus records for composite answers
    errors.py    the API's JSON errors back into `perpd.errors` classes (a data table)

Every trading call goes to the daemon, through its risk gate and into its audit log:
nothing here trades in-process.
"""

from perpd.client.aio import AsyncClient, AsyncSubscription
from perpd.client.errors import (
    DaemonUnreachable,
    Forbidden,
    TooManyRequests,
    Unauthorized,
)
from perpd.client.locate import Endpoint, locate
from perpd.client.results import (
    Account,
    AssetExposure,
    AuditRecord,
    Books,
    ConfigInfo,
    MarketInfo,
    Plan,
    Positions,
    Status,
    StreamMessage,
    TradingStateChange,
)
from perpd.client.sync import Client, Subscription

__all__ = [
    "Account",
    "AssetExposure",
    "AsyncClient",
    "AsyncSubscription",
    "AuditRecord",
    "Books",
    "Client",
    "ConfigInfo",
    "DaemonUnreachable",
    "Endpoint",
    "Forbidden",
    "MarketInfo",
    "Plan",
    "Positions",
    "Status",
    "StreamMessage",
    "Subscription",
    "TooManyRequests",
    "TradingStateChange",
    "Unauthorized",
    "locate",
]
