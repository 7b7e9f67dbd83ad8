"""`perpd onboard ACCOUNT`: make the key the daemon trades with, authorised by the master key.

Given the account's master key once (prompted without echo, or a reference such as
`env:NAME`), the venue's own onboarding (`venues/<kind>/onboard.py`) creates a trading
key and has the master key authorise it: Hyperliquid approves an agent wallet (and a
builder fee when the account opts in), Lighter registers an API key at a key index with
a ChangePubKey. The new key goes into the encrypted keystore; the TOML of the account
section is printed for the operator to add to the config.

The master key is held as a `SecretStr` for the signatures and dropped: it is never
written to the config, the keystore, a log or the journal, and no error message quotes it.
The keystore passphrase is asked (and checked) before the venue is contacted, so a key the
venue has authorised is never lost to a mistyped passphrase.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from perpd.config import Config
from perpd.errors import ConfigError, NotSupported
from perpd.secrets import Secrets


@dataclass(frozen=True)
class Onboarded:
    """What onboarding made: the keystore reference of the new key and the account's TOML."""

    reference: str
    account_toml: str


def venue_of(config: Config, account: str, venue: str | None) -> tuple[str, Any, Any]:
    """(venue name, venue config, the account's config or None) for `account`."""
    current = config.accounts.get(account)
    if current is not None:
        if venue is not None and venue != current.venue:
            raise ConfigError(f"accounts.{account} trades on venue {current.venue!r}, not {venue!r}")
        venue = current.venue
    if venue is None:
        raise ConfigError(f"accounts.{account} is not in the config: name its venue with --venue")
    if venue not in config.venues:
        raise ConfigError(f"venues.{venue}: no such venue in the config (it has: {', '.join(config.venues) or 'none'})")
    return venue, config.venues[venue], current


def keystore_name(secrets: Secrets, wanted: str) -> str:
    """`wanted`, or `wanted-2`, `-3`, ... if the keystore has it already (nothing is overwritten)."""
    names = set(secrets.list())
    name, n = wanted, 1
    while name in names:
        n += 1
        name = f"{wanted}-{n}"
    return name


def onboard(
    config: Config,
    account: str,
    *,
    venue: str | None,
    master: SecretStr,
    secrets: Secrets,
    passphrase: str,
    options: Mapping[str, Any],
    say: Callable[[str], None],
) -> Onboarded:
    """Create and authorise `account`'s trading key with `master`; store it under `passphrase`."""
    venue_name, venue_config, current = venue_of(config, account, venue)
    try:
        module = importlib.import_module(f"venues.{venue_config.kind}.onboard")
    except ModuleNotFoundError as exc:
        if exc.name != f"venues.{venue_config.kind}.onboard":
            raise
        raise NotSupported(f"perpd onboard does not know venue kind {venue_config.kind!r} yet: "
                           f"see docs/venues/{venue_config.kind}.md for its keys") from None
    stored: list[str] = []

    def store(wanted: str, secret: SecretStr) -> str:
        name = keystore_name(secrets, wanted)
        secrets.add(name, secret, passphrase)
        stored.append(f"keystore:{name}")
        return stored[-1]

    toml = module.onboard(account=account, venue_name=venue_name, venue=venue_config, current=current,
                          master=master, store=store, options=dict(options), say=say)
    if not stored:
        raise ConfigError(f"venues.{venue_name}: onboarding stored no key")  # a venue module's bug
    return Onboarded(stored[-1], toml)
