"""The emulator's WebSocket: the venue's subscribe protocol, pushes fed by the exchange.

Must: speak the venue's protocol (hello, subscribe/unsubscribe and their answers, ping,
authenticated channels); push book snapshots then deltas with the venue's sequence
fields, trades, tickers and account updates as the exchange emits them (it calls its
listeners synchronously: queue per connection, never block it, close a connection that
falls too far behind); support dropping every connection as a fault.
"""

from __future__ import annotations

from starlette.websockets import WebSocket


async def stream(websocket: WebSocket) -> None:
    """One client connection, from accept to close."""
    await websocket.accept()
    await websocket.close(code=1011)  # replace with the venue's protocol
