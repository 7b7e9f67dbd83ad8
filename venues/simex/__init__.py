"""simex, the sim exchange: a perpetual-futures exchange in process that the sim venue
and every venue emulator run on (not a venue itself: it speaks no wire protocol).

Modules: `exchange.py` (`SimExchange`, the public face and its quick reference),
`matching.py` (order entry, price-time matching, clearing, event plumbing), `trading.py`
(the verbs: place, cancel, edit, leverage, triggers), `timeline.py` (stepping time:
funding, liquidation, dead man's switches), `book.py`, `orders.py` (the exchange's own
order record), `accounts.py` (positions and margin), `markets.py` (market specs and
state), `market_makers.py` (the simulated world around the book), `events.py` (what it
hands out), `snapshot.py` (save and restore as JSON-able data).

What every emulator serves the same way lives here too, below the venues: `wshub.py`
(WebSocket connections, their queues and the loop that serves one), `lifespan.py` (the
app's background jobs), `controls.py` (`POST /_emulator/faults`), `faults.py` (random
faults at rates).
"""
