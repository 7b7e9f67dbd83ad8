"""Rows and JSON <-> domain dataclasses, exactly.

Decimals are stored as TEXT (`str(Decimal)`) and read back with `Decimal(text)`, so a
value round-trips with its digits and exponent intact; SQL never does arithmetic on them.
Enums are stored by value, booleans as 0/1.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

import orjson
from pydantic import SecretStr

T = TypeVar("T")


def to_db(value: Any) -> Any:
    """One Python value as an SQLite value (TEXT for Decimal, value for enums)."""
    # Order matters: str-enums are str and bool is int, so test them first.
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in the journal")


def row_of(obj: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A dataclass as a column -> SQLite value mapping."""
    return {name: to_db(getattr(obj, name)) for name in _field_names(type(obj)) if name not in exclude}


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def columns_of(cls: type) -> tuple[str, ...]:
    """The columns of `values_of(obj)` for a dataclass `cls`, in field order."""
    return _field_names(cls)


def values_of(obj: Any) -> tuple[Any, ...]:
    """`row_of(obj)`'s values as a tuple, in `columns_of` order, by a function written
    once per class from its type hints (the order path builds a row per order)."""
    return _values_fn(type(obj))(obj)


@cache
def _values_fn(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    hints = typing.get_type_hints(cls)
    parts = []
    for name in _field_names(cls):
        hint = hints[name]
        optional = False
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            options = [a for a in typing.get_args(hint) if a is not type(None)]
            optional = len(options) < len(typing.get_args(hint))
            hint = options[0] if len(options) == 1 else Any
        value = f"o.{name}"
        if hint is Decimal:
            expr = f"str({value})"
        elif isinstance(hint, type) and issubclass(hint, enum.Enum):
            expr = f"getattr({value}, 'value', {value})"
        elif hint is bool:
            expr = f"int({value})"
        elif hint in (str, int, float):
            expr = value
            optional = False
        else:
            expr = f"to_db({value})"
            optional = False
        parts.append(f"None if {value} is None else {expr}" if optional else expr)
    source = f"def values(o):\n    return ({', '.join(f'({p})' for p in parts)},)\n"
    namespace: dict[str, Any] = {"to_db": to_db}
    exec(source, namespace)  # noqa: S102 - built from the class's own field names and hints
    return namespace["values"]  # type: ignore[no-any-return]


def from_row(cls: type[T], row: Mapping[str, Any]) -> T:
    """Build dataclass `cls` from a row or decoded JSON, converting by its type hints.

    Keys the class does not have are ignored; missing keys take the class defaults.
    """
    present = set(row.keys())
    kwargs = {name: _convert(hint, row[name]) for name, hint in _hints(cls).items() if name in present}
    return cls(**kwargs)


@cache
def _hints(cls: type) -> dict[str, Any]:
    resolved = typing.get_type_hints(cls)
    return {f.name: resolved[f.name] for f in dataclasses.fields(cls) if f.init}


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = options[0] if len(options) == 1 else Any
    if hint is Decimal:
        return Decimal(value)
    if hint is bool:
        return bool(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return from_row(hint, value)  # a nested record (an order's brackets)
    return value


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, SecretStr):
        return str(value)  # "**********": a secret never reaches the journal
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in the journal")


def dumps(value: Any) -> str:
    """JSON text for the journal: Decimals as strings, keys sorted, secrets redacted."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def spec_json(spec: Any) -> str:
    """An OrderSpec (any dataclass) as JSON with Decimals as strings."""
    # orjson walks dataclasses and enums natively; only Decimals go through `_default`.
    return orjson.dumps(spec, default=_default).decode()
