"""A protocol-faithful local Extended over one sim exchange (venues/simex/): the REST
paths and JSON shapes of x10-python-trading-starknet 2.6.0 (which works against it
unchanged), the classic streams and the v2 RPC stream, onboarding and API-key
creation, `X-Api-Key` checks, Stark signatures verified against each account's
registered key, a configurable StarknetDomain chain id. `perpd emulate extended`
serves it on DEFAULT_PORT.

Modules: `app.py` (state, faults, create_app), `exchange.py` (Extended's rules over
the sim exchange), `onboarding.py`, `rest.py`, `ws.py` and `hub.py` (streams),
`markets.py`, `shapes.py` (exchange views -> Extended's JSON).
"""

from venues.extended.emulator.app import DEFAULT_PORT, ExtendedEmulator, create_app

__all__ = ["DEFAULT_PORT", "ExtendedEmulator", "create_app"]
