"""Venue adapters: one package per exchange, all behind the contract in `venues.base`."""
