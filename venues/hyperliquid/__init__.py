"""The hyperliquid venue."""
