"""A protocol-faithful local EdgeX (API V2) over one sim exchange.

Serve it with `perpd emulate edgex` (port 8784), or in tests build it with
`create_app(...)` and run it on loopback with uvicorn. The official edgex-python-sdk
2.0.1 (`Client`, `WebSocketManager`) works against it unchanged, as does perpd's own
EdgeX venue: point `base_url` / `rest_url` at `http://127.0.0.1:8784` and the
WebSocket base at `ws://127.0.0.1:8784`.

What it checks, as EdgeX does: the HMAC of every private request (sorted, decoded
query or canonical JSON body, the +/- 60 s timestamp window, the API key's account),
the private WebSocket handshake (headers or the base64 subprotocol, which it echoes),
and each order's EIP-712 `LimitOrderParams` signature, recovered with eth_account and
compared with the account's registered trading address. Refusals use EdgeX's codes
(venues/edgex/errors.py). Credentials: the SDK cannot create keys, so the emulator
provisions them — a demo account derived from the seed at start (logged), `accounts=`
given to `create_app`, or `POST /_emulator/accounts` (app.py).

Modules: `app.py` (state, emulator-only routes, create_app), `rest.py` (REST routes),
`ws.py` (the two sockets), `hub.py` (subscriptions and the exchange feed),
`exchange.py` (accounts and order semantics over the sim exchange), `auth.py` (HMAC
and EIP-712 checks, credentials), `markets.py` (contracts and metadata), `shapes.py`
(JSON shapes).
"""

from venues.edgex.emulator.app import DEFAULT_PORT, OPTIONS, EdgexEmulator, create_app
from venues.edgex.emulator.auth import Credentials, derive_credentials

__all__ = ["DEFAULT_PORT", "OPTIONS", "Credentials", "EdgexEmulator", "create_app", "derive_credentials"]
