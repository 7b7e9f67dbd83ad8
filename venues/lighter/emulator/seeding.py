"""What the emulator holds before the first request: accounts, owners, API keys, chain ids.

From `create_app(...)` keywords or `perpd emulate lighter -o NAME=VALUE` strings:

- `accounts="1001:0xOwner:250000,1002::5000"`: account index, its owner's L1 address
  (may be empty: the first key registration claims it) and its balance (may be empty:
  `--balance`).
- `api_keys="1001:3=0x<public key>,1001:4=0x<public key>"`: keys registered at start, as
  if a ChangePubKey had put them there (a tester's own keys, no L1 key needed).
- `demo_account` (default true): account 1001, owned by the documented demo Ethereum key
  `DEMO_ETH_PRIVATE_KEY`, with the documented demo API key registered at indices 3 and 4
  (`DEMO_API_PRIVATE_KEY`: what configs/lighter-emulator.toml trades with). Throwaway keys,
  published here: never use them anywhere else.
- `chain_ids` (default "304,300"): the chain ids whose signatures are accepted: 304 is
  what lighter-sdk signs for when pointed at any URL it does not know, 300 perpd's
  testnet config. Give one to refuse the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from eth_account import Account

from venues.lighter.emulator.exchange import LighterExchange
from venues.lighter.emulator.schnorr import public_key_of

OPTIONS: dict[str, str] = {
    "accounts": "INDEX:L1ADDRESS:BALANCE[,...]: accounts funded at start, with their owner (L1ADDRESS and "
                "BALANCE may be empty: the first key registration claims the account; --balance)",
    "api_keys": "ACCOUNT:INDEX=PUBLICKEY[,...]: API keys registered at start (public keys, 0x + 80 hex)",
    "demo_account": "false: no demo account (by default account 1001, keys 3 and 4 = the documented demo key)",
    "chain_ids": "chain ids whose signatures are accepted (default 304,300: lighter-sdk's and perpd testnet's)",
}
DEMO_ACCOUNT = 1001
DEMO_KEY_INDICES = (3, 4)
DEMO_API_PRIVATE_KEY = "0x" + "1a" * 40  # documented throwaway: configs/lighter-emulator.toml
DEMO_ETH_PRIVATE_KEY = "0x" + "1e" * 32  # documented throwaway owner of the demo account
DEMO_API_PUBLIC_KEY = "0x" + public_key_of(bytes.fromhex(DEMO_API_PRIVATE_KEY[2:])).hex()
DEMO_OWNER = Account.from_key(DEMO_ETH_PRIVATE_KEY).address


def flag(value: bool | str, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false (got {value!r})")


def chain_ids(value: str | Iterable[int]) -> tuple[int, ...]:
    try:
        ids = tuple(int(v) for v in (value.split(",") if isinstance(value, str) else value))
    except ValueError:
        raise ValueError(f"chain_ids must be integers separated by commas (got {value!r})") from None
    if not ids:
        raise ValueError("chain_ids: give at least one chain id")
    return ids


def _items(value: str | Iterable[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item.strip()]


def _index(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} must be an integer (got {text!r})") from None


def seed(exchange: LighterExchange, *, accounts: str | Iterable[str], api_keys: str | Iterable[str], demo: bool) -> None:
    """Create the accounts, owners and keys asked for (ValueError names a bad item)."""
    now = exchange.clock.now_ms()
    keyring = exchange.keyring
    if demo:
        exchange.ensure_account(DEMO_ACCOUNT)
        keyring.bind(DEMO_ACCOUNT, DEMO_OWNER)
        for index in DEMO_KEY_INDICES:
            keyring.register(DEMO_ACCOUNT, index, bytes.fromhex(DEMO_API_PUBLIC_KEY[2:]), now)
    for item in _items(accounts):
        index_text, _, rest = item.partition(":")
        owner, _, balance_text = rest.partition(":")
        index = _index(index_text, f"accounts: {item!r}: the account index")
        balance: Decimal | None = None
        if balance_text:
            try:
                balance = Decimal(balance_text)
            except InvalidOperation:
                raise ValueError(f"accounts: {item!r}: the balance must be a number") from None
        if owner and not (owner.startswith("0x") and len(owner) == 42):
            raise ValueError(f"accounts: {item!r}: the owner must be an L1 address (0x + 40 hex)")
        if exchange.engine.ensure_account(exchange.engine_id(index), balance):
            exchange.created_ms[index] = now
        elif balance is not None:
            raise ValueError(f"accounts: {item!r}: account {index} exists already")
        if owner:
            keyring.bind(index, owner)
    for item in _items(api_keys):
        where, sep, public = item.partition("=")
        account_text, _, key_text = where.partition(":")
        if not sep or not key_text:
            raise ValueError(f"api_keys: {item!r} must be ACCOUNT:INDEX=PUBLICKEY")
        account, key = _index(account_text, "api_keys: the account"), _index(key_text, "api_keys: the key index")
        if not 0 <= key <= 254:
            raise ValueError(f"api_keys: {item!r}: key index must be 0 .. 254")
        try:
            raw = bytes.fromhex(public.removeprefix("0x"))
            exchange.ensure_account(account)
            keyring.register(account, key, raw, now)
        except ValueError:
            raise ValueError(f"api_keys: {item!r}: not a Lighter public key (0x + 80 hex)") from None

