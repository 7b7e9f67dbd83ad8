"""The emulator's WebSocket: the venue's subscribe protocol, pushes fed by the exchange.

Must: speak the venue's protocol (hello, subscribe/unsubscribe and their answers, ping,
authenticated channels); push book snapshots then deltas with the venue's sequence
fields, trades, tickers and account updates as the exchange emits them (it calls its
listeners synchronously: queue per connection, never block it, close a connection that
falls too far behind); support dropping every connection as a fault.

The mechanism is shared (venues/simex/wshub.py): a `Connection` per client with its
queue, a `ConnectionHub` that knows who listens to what (`broadcast`, `drop_all`), and
`serve`, which runs one socket. A venue adds its channels (a `Hub` subclass, in hub.py
once it grows) and its frames (the receiver below); it writes no queue or sender again.
"""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket

from venues.simex import wshub


class Hub(wshub.ConnectionHub[wshub.Connection]):
    """The venue's channels: subscribe/unsubscribe, and the feeds the exchange calls."""

    def attach(self) -> wshub.Connection:
        return self.register(wshub.Connection())

    def subscribe(self, conn: wshub.Connection, channel: str) -> dict[str, Any]:
        """Register `channel` and answer as the venue does (then send its snapshot)."""
        self.listen(conn, channel)
        return {"subscribed": channel}  # replace with the venue's answer


async def stream(websocket: WebSocket) -> None:
    """One client connection, from accept to close."""
    hub: Hub = websocket.app.state.emulator.hub
    await websocket.accept()
    conn = hub.attach()
    try:
        await wshub.serve(websocket, conn, lambda: _receiver(websocket, conn, hub))
    finally:
        hub.detach(conn)


async def _receiver(websocket: WebSocket, conn: wshub.Connection, hub: Hub) -> None:
    async for text in wshub.frames(websocket):
        conn.send({"error": f"replace with the venue's protocol: {text[:80]}"})
