"""EdgeX (API V2): HMAC-signed REST, EIP-712 signed orders, the quote and account
WebSockets, and a protocol-faithful emulator (`perpd emulate edgex`)."""
