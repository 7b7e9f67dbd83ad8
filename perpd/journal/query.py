"""Small query helpers for the journal's readers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from perpd.journal import codec


class Where:
    """A conjunction of `column = ?` clauses, skipping filters that are None."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def eq(self, column: str, value: Any) -> Where:
        if value is not None:
            self.add(f"{column} = ?", codec.to_db(value))
        return self

    def any_of(self, column: str, values: Iterable[Any]) -> Where:
        items = list(values)
        self.clauses.append(f"{column} IN ({', '.join('?' * len(items))})" if items else "0")
        self.params.extend(items)
        return self

    def add(self, clause: str, *params: Any) -> Where:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def __str__(self) -> str:
        return f"WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def clamp_limit(limit: int) -> int:
    return max(0, min(int(limit), 100_000))


