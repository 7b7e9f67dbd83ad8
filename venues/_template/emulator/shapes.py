"""Sim exchange views -> the venue's JSON, in the shapes of the recorded samples.

Must: print every field the venue (and its SDK's models) require, numbers formatted the
way the venue prints them (strings or integers, trailing zeros, scales), so the
official SDK parses the emulator's answers unchanged. Pure functions, used by the
emulator only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from venues.simex.events import BalanceView, OrderView


def num(value: Decimal) -> str:
    """A number as the venue prints it."""
    return format(value.normalize(), "f")


def order(view: OrderView) -> dict[str, Any]:
    raise NotImplementedError


def balance(view: BalanceView) -> dict[str, Any]:
    raise NotImplementedError
