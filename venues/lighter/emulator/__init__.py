"""A protocol-faithful local Lighter: REST under `/api/v1`, `/stream` WS, one sim exchange.

Serve it with `perpd emulate lighter --port 8782`, or in tests build it with
`create_app(...)` and run it on loopback with uvicorn. The official lighter-sdk clients
(`ApiClient` with `OrderApi`/`AccountApi`/`TransactionApi`, `SignerClient`, `WsClient`)
work against it, as does perpd's own Lighter venue.

Modules: `app.py` (state, faults, routes, create_app), `rest.py` (REST routes), `ws.py`
(the `/stream` socket), `hub.py` (its subscriptions, fed by the exchange), `exchange.py`
(accounts, nonces and tx semantics over the sim exchange), `keys.py` (account owners and
registered API keys), `schnorr.py` (Lighter's ECgFp5/Poseidon2 signatures, verified in
Python), `txs.py` (tx decoding, checks and the signed hash), `seeding.py` (accounts, keys
and the demo account at start), `shapes.py` (JSON shapes), `markets.py` (markets).

What it checks: tx field sets and ranges, every tx's signature against the key
registered at its (account, key index) (ChangePubKey registers keys, signed by the new key
and the account owner's Ethereum key), auth tokens the same way, nonce order per
(account, API key), expiry, client order index uniqueness, market rules.

Options (`perpd emulate lighter -o NAME=VALUE`, listed in `OPTIONS`): seeding
(`accounts`, `api_keys`, `demo_account`, `chain_ids`) and random faults (`latency_ms`,
`rate_limit_rate`, `error_rate`, `drop_rate`, `drop_secs`).

Fault injection (`app.state.lighter`, or `POST /_emulator/faults`): `faults.rate_limited`
(next N requests answered 429), `faults.accept_then_timeout` (+ `timeout_secs`: next N
sendTx applied but answered late), `faults.drop_book_deltas` (a gap in order_book/{m}),
`desync_nonce(account, key)` (the client's next nonce is invalid), `drop_ws()`.
"""

from venues.lighter.emulator.app import DEFAULT_PORT, OPTIONS, LighterEmulator, create_app

__all__ = ["DEFAULT_PORT", "OPTIONS", "LighterEmulator", "create_app"]
