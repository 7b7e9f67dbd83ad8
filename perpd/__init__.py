"""perpd: a trading daemon for perpetual-futures DEXes.

`perpd.connect()` returns a client of the running daemon; `%load_ext perpd` loads the
`%perp` IPython magics.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perpd.client import Client

__version__ = "0.1.0"


def connect(
    socket: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    stream_url: str | None = None,
    config: str | os.PathLike[str] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    timeout_secs: float = 30.0,
) -> Client:
    """A client of the running daemon: its Unix socket by default (from $PERPD_SOCKET or
    the config's state dir), or `url=` with a token (`token=` or $PERPD_TOKEN), and
    subscriptions from an [api.fanout] port with `stream_url=` (or $PERPD_STREAM_URL).

        perp = perpd.connect()
        perp.positions()
        perp.buy("0.01", "BTC", 60000, account="paper")
    """
    from perpd.client import Client
    from perpd.client.locate import locate

    endpoint = locate(socket, url=url, token=token, stream_url=stream_url, config=config, state_dir=state_dir)
    return Client(endpoint, timeout_secs=timeout_secs)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext perpd`: register the `%perp` / `%%perp` magics."""
    from perpd.magics import load_ipython_extension as load

    load(ipython)
