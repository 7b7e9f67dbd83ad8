"""A protocol-faithful local Lighter: REST under `/api/v1`, `/stream` WS, one sim exchange.

Serve it with `perpd emulate lighter --port 8782`, or in tests build it with
`create_app(...)` and run it on loopback with uvicorn. The official lighter-sdk clients
(`ApiClient` with `OrderApi`/`AccountApi`/`TransactionApi`, `SignerClient`, `WsClient`)
work against it, as does perpd's own Lighter venue.

Modules: `app.py` (state, faults, routes, create_app), `rest.py` (REST routes), `ws.py`
(the `/stream` socket), `hub.py` (its subscriptions, fed by the exchange), `exchange.py`
(accounts, keys, nonces and tx semantics over the sim exchange), `txs.py` (tx decoding
and checks), `shapes.py` (JSON shapes), `markets.py` (markets and their JSON).

What it checks: tx field sets and ranges, nonce order per (account, API key), expiry,
client order index uniqueness, market rules, the form of signatures and auth tokens.
What it cannot check: Schnorr signatures themselves (ECgFp5/Poseidon2 has no Python
implementation), so any well-formed signature from any key is accepted.

Fault injection (`app.state.lighter`, or `POST /_emulator/faults`): `faults.rate_limited`
(next N requests answered 429), `faults.accept_then_timeout` (+ `timeout_secs`: next N
sendTx applied but answered late), `faults.drop_book_deltas` (a gap in order_book/{m}),
`desync_nonce(account, key)` (the client's next nonce is invalid), `drop_ws()`.
"""

from venues.lighter.emulator.app import DEFAULT_PORT, LighterEmulator, create_app

__all__ = ["DEFAULT_PORT", "LighterEmulator", "create_app"]
