"""A protocol-faithful local copy of the venue, over one sim exchange (venues/simex/).

Must: serve the venue's real URLs and JSON shapes, so the venue's official SDK and
perpd's own venue both work against it unchanged, and `perpd emulate <kind>` serves it
(this package exports `create_app` and `DEFAULT_PORT`). Check what the venue checks
(signatures, nonces, field sets, market rules) and answer refusals with the venue's own
codes and texts (errors.py's constants, so both sides of a test speak one language).
Fault injection for tests (rate limits, accept-then-timeout, dropped streams) lives on
the app's state.

Modules: `app.py` (state, routes, create_app), `exchange.py` (the venue's semantics
over the sim exchange), `rest.py` (REST routes; `info.py` where the venue calls it so),
`ws.py` (the WebSocket), `shapes.py` (exchange views -> the venue's JSON).
"""

from venues._template.emulator.app import DEFAULT_PORT, TemplateEmulator, create_app

__all__ = ["DEFAULT_PORT", "TemplateEmulator", "create_app"]
