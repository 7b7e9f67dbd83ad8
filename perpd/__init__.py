"""perpd: a trading daemon for perpetual-futures DEXes.

`perpd.connect()` returns a client of the running daemon; `%load_ext perpd` loads the
`%perp` IPython magics.
"""

__version__ = "0.1.0"
