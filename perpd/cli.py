"""The `perpd` command.

Each subcommand is one `Command` in `COMMANDS`: a function that adds its arguments and a
function that runs it and returns the exit status. Add a command by adding a row.

Exit status: 0 success, 1 an expected error (bad config, missing key, ...), 2 a usage
error (bad arguments, an emulator that is not installed). Expected errors print one
clear line, or the list of config problems, and never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from perpd import config as config_module
from perpd.config import ALERT_KINDS, Config, DaemonConfig, config_hash
from perpd.errors import ConfigError, PerpdError
from perpd.secrets import PASSPHRASE_ENV, Secrets

USAGE_ERROR = 2


class UsageError(PerpdError):
    """Bad arguments or an unavailable feature: exit status 2."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------- check


def configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="config file (same as -c FILE)")


def run_check(args: argparse.Namespace) -> int:
    """Validate the config and print a one-screen summary of it."""
    path, config = _load_config(args, positional=args.file)
    print_summary(path, config, sys.stdout)
    return 0


def print_summary(path: Path, config: Config, out: TextIO) -> None:
    """Venues, accounts, policies, routes, targets, standing orders and the hash."""
    d = config.daemon
    w = out.write
    w(f"config    {path}  ok  (hash {config_hash(config)})\n")
    w(f"daemon    state_dir={d.state_dir}  http={d.http or 'off'}  socket={d.socket_path}\n")
    w(f"          log_level={d.log_level}  durability={d.durability}\n")
    tokens = ", ".join(f"{t.name} [{','.join(sorted(t.scopes))}] {_ref(t.secret, d.state_dir)}" for t in config.api.tokens)
    w(f"api       tokens: {tokens or 'none (unix socket only)'}\n")
    _section(out, "venues", config.venues.items(), lambda name, v: (
        f"{name:<16} kind={v.kind}  network={v.network}  "
        f"rest={v.rest_url or 'default'}  ws={v.ws_url or 'default'}{'' if v.enabled else '  (disabled)'}"
    ))
    _section(out, "accounts", config.accounts.items(), lambda name, a: "  ".join(
        [f"{name:<16} venue={a.venue}"]
        + [f"{key}={_ref(ref, d.state_dir)}" for key, ref in _references(a.model_dump(mode="json"))]
        + ([f"leverage {' '.join(f'{s}={x}' for s, x in a.leverage.items())}"] if a.leverage else [])
        + ([] if a.enabled else ["(disabled)"])
    ))
    _section(out, "policies", enumerate(config.policies), lambda _, p: (
        f"{p.name:<16} scope accounts={_list(p.scope.accounts)} venues={_list(p.scope.venues)} "
        f"symbols={_list(p.scope.symbols)}  limits: {_limits(p) or 'none'}"
    ))
    _section(out, "routes", enumerate(config.routes), lambda _, r: (
        f"{r.name:<16} {r.strategy}  symbols={_list(r.symbols)}  accounts={_list(r.accounts)}"
    ))
    _section(out, "targets", enumerate(config.targets), lambda _, t: (
        f"{t.key:<16} {t.symbol} position={t.position} via {t.via}  max_slice={t.max_slice}"
        f"{'' if t.enabled else '  (disabled)'}"
    ))
    _section(out, "standing orders", enumerate(config.orders), lambda _, o: (
        f"{o.name:<16} {o.side.value} {o.size} {o.symbol} {o.type.value}"
        f"{f' @ {o.price}' if o.price is not None else ''}"
        f"{f' trigger {o.trigger_price}' if o.trigger_price is not None else ''} via {o.via}"
        f"{'' if o.enabled else '  (disabled)'}"
    ))
    _section(out, "alerts", enumerate(config.alerts), lambda _, a: (
        f"{a.name:<16} {a.format}  url={_ref(a.url, d.state_dir)}  on={'all' if a.on == ALERT_KINDS else _list(a.on)}"
        f"{'' if a.enabled else '  (disabled)'}"
    ))


def _section(out: TextIO, title: str, items: Any, line: Callable[[Any, Any], str]) -> None:
    rows = [line(key, item) for key, item in items]
    out.write(f"{title} ({len(rows)})\n")
    for row in rows:
        out.write(f"  {row}\n")


def _references(data: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(key path, reference) for every secret reference in dumped account data."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _references(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _references(value, f"{path}[{i}]")
    elif isinstance(data, str) and data.split(":", 1)[0] in ("env", "file", "keystore") and ":" in data:
        yield path, data


def _ref(ref: str, state_dir: Path) -> str:
    """A reference with a hint whether it can be resolved; never reads a secret."""
    scheme, _, rest = ref.partition(":")
    if scheme == "env":
        found = bool(os.environ.get(rest))
    elif scheme == "file":
        found = Path(rest).expanduser().is_file()
    else:
        found = (state_dir / "keystore" / f"{rest}.key").is_file()
    return ref if found else f"{ref} (missing)"


def _list(items: Sequence[str]) -> str:
    return ",".join(items)


def _limits(policy: Any) -> str:
    parts = []
    for key, value in policy.model_dump(mode="json", exclude={"name", "scope", "reset_time_utc"}).items():
        if value in (None, False, []):
            continue
        if value is True:
            parts.append(key)
        elif isinstance(value, list):
            parts.append(f"{key}={_list(value)}")
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)


# --------------------------------------------------------------------------- keys


def configure_keys(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="keys_action", metavar="{add,list,remove}", required=True)
    add = actions.add_parser("add", help="encrypt a secret into the keystore (prompts; or the secret on stdin)")
    add.add_argument("name", help="reference it as keystore:NAME")
    actions.add_parser("list", help="list the keystore's key names")
    remove = actions.add_parser("remove", help="delete a key from the keystore")
    remove.add_argument("name")
    for sub in actions.choices.values():
        _add_common(sub, suppress=True)


def run_keys(args: argparse.Namespace) -> int:
    """Add, list or remove keystore entries under <state_dir>/keystore/."""
    secrets = Secrets(_state_dir(args))
    if args.keys_action == "list":
        names = secrets.list()
        for name in names:
            print(name)
        if not names:
            print(f"no keys in {secrets.keystore_dir}", file=sys.stderr)
        return 0
    if args.keys_action == "remove":
        secrets.remove(args.name)
        print(f"removed keystore:{args.name}")
        return 0
    secret = _read_secret(args.name)
    passphrase = _read_passphrase(secrets)
    path = secrets.add(args.name, secret, passphrase)
    print(f"added keystore:{args.name} ({path})")
    return 0


def _read_secret(name: str) -> str:
    if sys.stdin.isatty():
        value = getpass.getpass(f"Secret for keystore:{name} (not echoed): ")
    else:
        value = sys.stdin.read().strip()
    if not value:
        raise ConfigError(f"keystore:{name}: no secret given")
    return value


def _read_passphrase(secrets: Secrets) -> str:
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        if not _has_terminal():
            raise ConfigError(f"no keystore passphrase: set ${PASSPHRASE_ENV} or run on a terminal")
        passphrase = getpass.getpass("Keystore passphrase: ")
        if not secrets.list() and getpass.getpass("Repeat the passphrase: ") != passphrase:
            raise ConfigError("the passphrases differ; nothing was added")
    if not secrets.verify_passphrase(passphrase):
        raise ConfigError(
            f"the passphrase does not open the existing keys in {secrets.keystore_dir}; "
            "every key shares one passphrase"
        )
    return passphrase


def _has_terminal() -> bool:
    try:
        with open("/dev/tty"):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- onboard


def configure_onboard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", help="the account (in the config, or the name to give it with --venue)")
    parser.add_argument("--venue", help="the config's venue for an account not in the config yet")
    parser.add_argument("--master", metavar="REF",
                        help="the master key as a reference (env:NAME, file:PATH, keystore:NAME); default: prompt")
    parser.add_argument("--key-index", type=int, help="Lighter: the API key index to register (default: lowest free from 3)")
    parser.add_argument("--account-index", type=int, help="Lighter: the account index (default: the owner's master account)")
    parser.add_argument("--agent-name", help='Hyperliquid: the agent\'s name (default "perpd"; a name approved again is replaced)')
    parser.add_argument("--builder", metavar="ADDRESS", help="Hyperliquid: approve this builder's fee too")
    parser.add_argument("--builder-fee", type=int, metavar="TENTHS_BP", help="Hyperliquid: the builder fee to approve")


def run_onboard(args: argparse.Namespace) -> int:
    """Create and authorise the account's trading key with its master key; store it; print the config lines."""
    from perpd.onboard import onboard

    path, config = _load_config(args)
    secrets = Secrets(_state_dir(args))
    passphrase = _read_passphrase(secrets)  # before the venue is contacted: a typo loses nothing
    if args.master:
        master = secrets.resolve(args.master)
    elif _has_terminal():
        master = SecretStr(getpass.getpass(f"Master key of {args.account} (used once, not stored, not echoed): "))
    else:
        raise ConfigError("no master key: give --master env:NAME (or file:/keystore:) or run on a terminal")
    options = {"key_index": args.key_index, "account_index": args.account_index, "agent_name": args.agent_name,
               "builder": args.builder, "builder_fee": args.builder_fee}
    done = onboard(config, args.account, venue=args.venue, master=master, secrets=secrets, passphrase=passphrase,
                   options={k: v for k, v in options.items() if v is not None}, say=print)
    print(f"stored the new key as {done.reference}; add to {path}:\n\n{done.account_toml}")
    return 0


# --------------------------------------------------------------------------- emulate


def configure_emulate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", help="venue kind: hyperliquid, lighter, ...")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: the emulator's DEFAULT_PORT, else 8780")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--balance", default="100000", help="starting balance of each account, in USDC")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("-o", "--option", action="append", default=[], metavar="NAME=VALUE",
                        help="an option of the emulator itself (repeatable); each emulator's are listed below")
    parser.epilog = _emulator_options()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def _emulator_options() -> str:
    """Every installed emulator's own options (its module's OPTIONS: name -> help)."""
    lines = ["emulator options (-o NAME=VALUE):"]
    for kind in ("hyperliquid", "lighter", "extended", "edgex", "vest"):
        try:
            module = importlib.import_module(f"venues.{kind}.emulator")
        except ImportError:
            continue
        options = getattr(module, "OPTIONS", {})
        lines.append(f"  {kind}:" + ("" if options else " none"))
        lines.extend(f"    {name}  {text}" for name, text in options.items())
    return "\n".join(lines)


def run_emulate(args: argparse.Namespace) -> int:
    """Serve `venues.<kind>.emulator.create_app(...)` with uvicorn until interrupted."""
    if not args.kind.isidentifier():
        raise UsageError(f"no venue kind {args.kind!r}")
    module_name = f"venues.{args.kind}.emulator"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, f"venues.{args.kind}"):
            raise  # the emulator exists but something it imports is missing: a real bug
        raise UsageError(f"no emulator for venue kind {args.kind!r} (module {module_name} is not installed)") from None
    try:
        balance = Decimal(args.balance)
    except InvalidOperation:
        raise UsageError(f"--balance must be a number (got {args.balance!r})") from None
    if not balance.is_finite() or balance <= 0:
        raise UsageError(f"--balance must be positive (got {args.balance})")
    port = args.port if args.port is not None else int(getattr(module, "DEFAULT_PORT", 8780))
    options: dict[str, str] = {}
    for item in args.option:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"--option takes NAME=VALUE (got {item!r})")
        options[name] = value
    known = getattr(module, "OPTIONS", {})
    if unknown := sorted(set(options) - set(known)):
        raise UsageError(f"the {args.kind} emulator has no option {', '.join(unknown)} (it has: {', '.join(known) or 'none'})")
    try:
        app = module.create_app(seed=args.seed, starting_balance=balance, **options)
    except ValueError as exc:
        raise UsageError(f"--option: {exc}") from None

    import uvicorn

    where = f"http://{args.host}:{port}" if port else f"a free port on {args.host} (uvicorn names it below)"
    print(f"perpd emulate: {args.kind} on {where} (seed {args.seed}, balance {balance} USDC)", flush=True)
    uvicorn.run(app, host=args.host, port=port, log_level=args.log_level)
    return 0


# --------------------------------------------------------------------------- run / plan / reload / status


def configure_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="config file (same as -c FILE)")


def run_run(args: argparse.Namespace) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT (SIGHUP reloads)."""
    from perpd import logs
    from perpd.daemon import run

    path, config = _load_config(args, positional=args.file)
    logs.setup(config.daemon.log_level)
    return run(path, state_dir=args.state_dir, http=args.http)


def configure_plan(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("new", nargs="?", metavar="NEW", help="a config to preview (default: the daemon's own file)")


def run_plan(args: argparse.Namespace) -> int:
    """Ask the running daemon what applying a config would change and do, without acting."""
    from perpd.client import DaemonUnreachable

    body = Path(args.new).expanduser().read_text(encoding="utf-8") if args.new else None
    try:
        with _daemon(args) as daemon:
            plan = _explained(lambda: daemon.plan(body))
        config_hash, diff, actions = plan.config_hash, plan.diff, plan.actions
    except DaemonUnreachable:
        config_hash, diff, actions = _offline_plan(args)
    print(f"config {config_hash}: " + ("no change" if not diff else ""))
    for section, change in diff.items():
        for kind in ("added", "changed", "removed"):
            if change.get(kind):
                print(f"  {section} {kind}: {', '.join(change[kind])}")
    print(f"{len(actions)} action(s):" if actions else "no actions")
    for action in actions:
        print(f"  {action}")
    return 0


def _offline_plan(args: argparse.Namespace) -> tuple[str, dict[str, Any], list[str]]:
    from perpd.preview import offline_plan

    path = config_module.discover(args.new or args.config)
    config = config_module.load(path, state_dir=args.state_dir, http=args.http)
    preview = asyncio.run(offline_plan(config))
    where = preview["journal"] or f"{config.daemon.state_dir} (no journal yet)"
    print(f"no daemon is running: previewing {path} against the journal at {where}")
    print("  (offline: positions, marks and markets are unknown; what needs them shows as blocked)")
    return preview["config_hash"], preview["diff"], preview["actions"]


def run_reload(args: argparse.Namespace) -> int:
    """Ask the running daemon to re-read its config file (a bad file keeps the old one)."""
    with _daemon(args) as daemon:
        change = _explained(daemon.reload)
    if not change:
        print("reloaded: no change")
    for section, parts in change.items():
        summary = "; ".join(f"{k} {', '.join(v)}" for k, v in parts.items() if v)
        print(f"reloaded {section}: {summary}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print the running daemon's health: venues, accounts, trading states."""
    with _daemon(args) as daemon:
        status = daemon.status()
    print(f"config revision {status.config_revision} ({status.config_hash})")
    for name, venue in status.venues.items():
        print(f"  venue {name:<16} {venue['kind']:<12} {'up' if venue['connected'] else 'DOWN'}  {venue['markets']} markets")
    for name, account in status.accounts.items():
        health = "synced" if account["synced"] else ("connected" if account["connected"] else "DOWN")
        print(f"  account {name:<14} {account['venue']:<12} {health:<9} {account['trading_state']:<11} {account['open_orders']} open orders")
    for scope, state in status.trading_states.items():
        print(f"  {scope}: {state['state']} ({state.get('reason') or ''})")
    for rule, reason in status.blocked.items():
        print(f"  blocked {rule}: {reason}")
    return 0


def _daemon(args: argparse.Namespace) -> Any:
    """A client of the running daemon: $PERPD_SOCKET, else the socket of the config's
    state dir (the file read leniently: it may hold an edit the daemon refused)."""
    from perpd.client import Client
    from perpd.client.locate import locate

    return Client(locate(config=args.config, state_dir=args.state_dir), timeout_secs=60)


def _explained(call: Callable[[], Any]) -> Any:
    """Run a daemon call; a refused config is reported with every problem's TOML path."""
    try:
        return call()
    except ConfigError as exc:
        raise ConfigError("\n  ".join([exc.message.splitlines()[0], *exc.problems]), problems=exc.problems) from None


# --------------------------------------------------------------------------- the table

COMMANDS: tuple[Command, ...] = (
    Command("run", "run the daemon in the foreground", configure_run, run_run),
    Command("check", "validate a config and print its summary", configure_check, run_check),
    Command("plan", "preview what a config would change and do (asks the running daemon)", configure_plan, run_plan),
    Command("reload", "make the running daemon re-read its config file", lambda p: None, run_reload),
    Command("status", "show the running daemon's venues, accounts and trading states", lambda p: None, run_status),
    Command("keys", "manage the encrypted keystore", configure_keys, run_keys),
    Command("emulate", "serve a venue's local emulator", configure_emulate, run_emulate),
    Command("onboard", "create and authorise an account's trading key with its master key", configure_onboard, run_onboard),
)


# --------------------------------------------------------------------------- shared options


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # Declared on the top parser and on every subcommand, so `perpd -c F check` and
    # `perpd check -c F` both work; SUPPRESS keeps a subcommand from resetting the value.
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("-c", "--config", default=default, metavar="FILE",
                        help="config file (default: $PERPD_CONFIG, then ./perpd.toml)")
    parser.add_argument("--state-dir", default=default, metavar="DIR",
                        help="override daemon.state_dir (also $PERPD_STATE_DIR)")
    parser.add_argument("--http", default=default, metavar="HOST:PORT",
                        help="override daemon.http, or 'false' (also $PERPD_HTTP)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perpd", description="A trading daemon for perpetual-futures DEXes.")
    _add_common(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        _add_common(sub, suppress=True)
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return parser


def _load_config(args: argparse.Namespace, positional: str | None = None) -> tuple[Path, Config]:
    if positional and args.config and positional != args.config:
        raise UsageError("give the config file once: as FILE or as -c FILE")
    path = config_module.discover(positional or args.config)
    return path, config_module.load(path, state_dir=args.state_dir, http=args.http)


def _state_dir(args: argparse.Namespace) -> Path:
    """--state-dir, then $PERPD_STATE_DIR, then the config's daemon.state_dir, then the default."""
    explicit = args.state_dir or os.environ.get("PERPD_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    if args.config or os.environ.get("PERPD_CONFIG") or Path("perpd.toml").is_file():
        return _load_config(args)[1].daemon.state_dir
    return DaemonConfig().state_dir.expanduser()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `perpd` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"perpd {args.command}: {exc.message}", file=sys.stderr)
        return USAGE_ERROR
    except PerpdError as exc:
        print(f"perpd {args.command}: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
