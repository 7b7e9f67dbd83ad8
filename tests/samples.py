"""Comparing an emulator's answer with a recorded or documented sample of the venue's: the
same shape, not the same values (the emulator's state is its own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ShapeRules:
    """What a venue's samples need besides the common rules."""

    optional: frozenset[str] = frozenset()  # keys only some rows carry: may be absent
    discriminators: tuple[str, ...] = ()  # objects of one union that differ here are other variants
    placeholder: str | None = None  # a schema's placeholder value ("string") matches anything
    maps: frozenset[str] = frozenset()  # objects keyed by id (digits): compared by one value
    none_may_be_absent: bool = False  # a key whose sample value is None may be absent


def shape_gaps(sample: Any, answer: Any, path: str = "$", *, stringified: bool = False,
               rules: ShapeRules = ShapeRules()) -> list[str]:
    """Where `answer` lacks the shape of `sample`. None on either side matches anything (an
    optional value); `stringified`: the sample (ccxt's) writes some integers as strings."""
    if sample is None or answer is None or (rules.placeholder is not None and sample == rules.placeholder):
        return []
    if stringified and isinstance(sample, str) and isinstance(answer, int) and not isinstance(answer, bool):
        return []
    if isinstance(sample, bool) or isinstance(answer, bool):
        return [] if isinstance(answer, bool) == isinstance(sample, bool) else [f"{path}: {type(answer).__name__}"]
    if isinstance(sample, dict):
        if not isinstance(answer, dict):
            return [f"{path}: not an object"]
        if any(k in sample and k in answer and sample[k] != answer[k] and isinstance(sample[k], str)
               for k in rules.discriminators):
            return []
        if path.rsplit(".", 1)[-1] in rules.maps and all(k.isdigit() for k in sample):
            if sample and answer:
                return shape_gaps(next(iter(sample.values())), next(iter(answer.values())), f"{path}.*",
                                  stringified=stringified, rules=rules)
            return []
        gaps = [f"{path}.{k}: missing" for k, v in sample.items()
                if k not in answer and k not in rules.optional and not (rules.none_may_be_absent and v is None)]
        for key in sample.keys() & answer.keys():
            gaps += shape_gaps(sample[key], answer[key], f"{path}.{key}", stringified=stringified, rules=rules)
        return gaps
    if isinstance(sample, list):
        if not isinstance(answer, list):
            return [f"{path}: not a list"]
        if sample and answer:
            return shape_gaps(sample[0], answer[0], f"{path}[0]", stringified=stringified, rules=rules)
        return []
    if isinstance(sample, (int, float)) and isinstance(answer, (int, float)):
        return []
    if isinstance(sample, str) and isinstance(answer, str):
        return []
    return [f"{path}: {type(answer).__name__}, the sample has {type(sample).__name__}"]
