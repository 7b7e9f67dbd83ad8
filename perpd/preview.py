"""`perpd plan` with no daemon running: the config file against the journal's last known
state (the config that last took effect, trading states, and the orders it holds live).

Nothing is connected and nothing is sent: the same planner runs over what the journal
knows, so standing orders, removed rules, halts and reduce-only read as they would;
what needs a venue (positions, marks, markets) is unknown offline and shows as blocked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perpd import config as config_mod
from perpd.engine import Engine
from perpd.errors import ConfigError
from perpd.journal import Journal
from perpd.model import TradingState
from perpd.portfolio import AccountState


async def offline_plan(new: config_mod.Config) -> dict[str, Any]:
    """diff (against the last config the journal recorded) and the converged actions."""
    path: Path = new.daemon.state_dir / "journal.sqlite"
    if not path.exists():
        empty = config_mod.from_dict({})
        return {"diff": config_mod.diff(empty, new), "actions": [], "config_hash": config_mod.config_hash(new),
                "journal": None}
    journal = await Journal.open(path, durability="fast")
    try:
        latest = journal.latest_config_revision()
        old = config_mod.from_dict(latest.config) if latest is not None else config_mod.from_dict({})
        engine = Engine(old, journal, secrets=_no_secrets, offline=True)
        engine.trading = {s: (TradingState(st), r or "") for s, (st, r) in journal.trading_states().items()}
        for name, account in new.accounts.items():
            engine.portfolio.accounts[name] = AccountState(name, account.venue, synced=True)
        engine.restore_intents(new)
        return {
            "diff": config_mod.diff(old, new),
            "actions": engine.preview(new),
            "config_hash": config_mod.config_hash(new),
            "journal": str(path),
        }
    finally:
        await journal.close()


def _no_secrets(reference: str) -> Any:
    raise ConfigError(f"{reference}: no secrets are resolved for an offline preview")
