"""Risk policies (pre-trade checks, kill switches) and routing strategies."""
