"""The venue's signatures, byte-identical to its official SDK's.

Must: sign exactly what the venue verifies (field order, number formatting, domain,
nonce), proven by tests against the SDK itself or recorded signing vectors; hold the
private key so it never shows — repr, str and error messages carry the public
identity only; resolve the key once from the account's `SecretRef`. Wire encoding that
the signature covers lives here or beside trading.py (Hyperliquid: wire.py, orders.py).
"""

from __future__ import annotations

from pydantic import SecretStr


class TemplateSigner:
    """Signs for one account; shows its public identity only."""

    def __init__(self, key: SecretStr, public_id: str) -> None:
        self._key = key
        self.public_id = public_id

    def __repr__(self) -> str:
        return f"<TemplateSigner {self.public_id}>"

    def sign(self, payload: bytes) -> str:
        """The signature the venue expects over `payload`."""
        raise NotImplementedError
