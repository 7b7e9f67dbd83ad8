"""The venue's semantics over the sim exchange: its accounts, keys and nonces, and what
each request does to the exchange.

Must: map the venue's account ids to exchange accounts (created on first use with the
starting balance, so a fresh key can trade at once); verify what the venue verifies
before acting (signature, nonce order, field sets, market rules) and refuse with the
venue's codes; turn each request into `SimExchange` calls (place, cancel, edit,
set_leverage, cancel_all_after) and the exchange's `SimReject` reasons into the venue's
refusals — synchronously where the venue refuses at once, on the streams where it
decides later.
"""

from __future__ import annotations

from typing import Any

from venues.simex.exchange import SimExchange


class TemplateExchange:
    """The venue's rules around one sim exchange."""

    def __init__(self, exchange: SimExchange) -> None:
        self.exchange = exchange
        self.accounts: dict[str, str] = {}  # venue account id -> exchange account id

    def account(self, venue_account: str) -> str:
        """The exchange account of a venue account, created on first use."""
        if venue_account not in self.accounts:
            self.accounts[venue_account] = venue_account
            self.exchange.ensure_account(venue_account)
        return self.accounts[venue_account]

    def submit(self, request: Any) -> Any:
        """Verify a signed request like the venue does, then apply it to the exchange."""
        raise NotImplementedError
