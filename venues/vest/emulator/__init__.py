"""A protocol-faithful local Vest: REST under `/v2`, the `/ws-api` WebSocket, one sim exchange.

Serve it with `perpd emulate vest` (port 8785), or in tests build it with
`create_app(...)` and run it on loopback with uvicorn. perpd's own Vest venue and a
client written from Vest's API docs alone (tests/venues/vest/doc_client.py) both work
against it.

What it checks, as Vest does: registration (the primary key's EIP-712 SignerProof),
`X-API-KEY` and the `xrestservermm` account group, every signature (the signer is
recovered; any key but the registered signing key or the primary is refused with
INVALID_SIGNATURE and nothing happens), field types, decimals (BAD_DECIMALS), time in
force, recvWindow and age, nonce uniqueness (DUPLICATE), listen keys. It answers with
Vest's `{"code", "msg"}` and models Vest's non-CLOB orders (orders.py): nothing rests on
the book, limits wait for the index price, every fill is whole and asynchronous.

Modules: `app.py` (state, faults, create_app), `rest.py` (REST routes), `ws.py` (the
socket), `hub.py` (subscriptions and feeds), `exchange.py` (request checks), `orders.py`
(Vest's order model over the sim exchange), `auth.py` (keys and signatures), `shapes.py`
(JSON), `markets.py`, `refusal.py`.

Fault injection (`app.state.vest`, or `POST /_emulator/faults`): `faults.rate_limited`,
`faults.server_errors`, `faults.accept_then_timeout` (+ `timeout_secs`),
`hold_orders()` (accepted orders stay undecided), `drop_ws()`.
"""

from venues.vest.emulator.app import DEFAULT_PORT, VestEmulator, create_app

__all__ = ["DEFAULT_PORT", "VestEmulator", "create_app"]
