"""Extended (formerly X10): Starknet perpetuals, Stark-signed orders, external ids as client ids."""
