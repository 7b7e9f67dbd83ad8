"""A protocol-faithful Hyperliquid, in process: `/info`, `/exchange` and `/ws`.

Same URLs and JSON shapes as the venue, backed by one sim exchange (venues/simex/exchange.py).
The official SDK's `Info` and `Exchange` pointed at it work unchanged, and so does
perpd's Hyperliquid venue. Serve it with `perpd emulate hyperliquid` (port 8781 by
default, as in configs/hyperliquid-emulator.toml).

Signatures are checked as the venue checks them: the signer is recovered from the
EIP-712 signature (testnet source "b" unless `mainnet=True`), and must be a known user
or an agent approved for one with `approveAgent` (or listed in `agents=`). A user
exists once it is looked up (`/info` with its address: the emulator's "deposit" of
`starting_balance`) or approves an agent, so any fresh key can trade after one query,
while a tampered signature, which recovers a random address, is refused with the
venue's text: "User or API Wallet 0x... does not exist."

Markets: BTC, ETH and SOL by default (asset ids 0, 1, 2; szDecimals from the engine's
lot sizes), prices checked against Hyperliquid's 5-significant-figure rule.

Fault injection for tests lives on `HyperliquidEmulator.faults` (`app.state.emulator`).

Modules: `app.py` (state, routes, create_app), `exchange.py` (`/exchange`: verify, then
act on the exchange), `info.py` (`/info`), `ws.py` (`/ws` subscriptions and pushes),
`shapes.py` (exchange views -> Hyperliquid JSON).
"""

from venues.hyperliquid.emulator.app import DEFAULT_PORT, OPTIONS, HyperliquidEmulator, create_app

__all__ = ["DEFAULT_PORT", "OPTIONS", "HyperliquidEmulator", "create_app"]
