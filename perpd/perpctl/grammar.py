"""The one grammar of perpctl and the %perp magics: words -> a verb and its arguments.

A verb's syntax is data: ordered positional slots, keyword options that take a value
(`@ PRICE`, `on ACCOUNT`), and flag words (`ioc`, `reduce`). The same declaration parses
a line, completes one (`candidates`), and prints usage, so the REPL, the one-shot
commands and the magics cannot disagree about what a line means.

    buy 0.1 BTC @ 60000 on paper post reduce
    ^verb ^size ^symbol ^option ^option ^flag ^flag
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from perpd.errors import InvalidRequest
from perpd.model import normalize_symbol


class UsageError(InvalidRequest):
    """A line that does not parse: nothing was sent to the daemon."""

    type_name = "usage"


class Kind(enum.Enum):
    """What a slot holds: checks the word, and says what to complete it with."""

    DECIMAL = "number"
    INT = "integer"
    SYMBOL = "symbol"
    ACCOUNT = "account"
    TARGET = "account-or-route"
    VENUE = "venue"
    ORDER_ID = "order-id"
    SCOPE = "scope"
    WORD = "word"
    TEXT = "text"  # the rest of the line
    FILE = "file"
    VERB = "verb"


@dataclass(frozen=True)
class Slot:
    name: str
    kind: Kind
    optional: bool = False
    choices: tuple[str, ...] = ()  # a fixed set of words (also what completes it)
    metavar: str = ""  # what usage calls it (default: the name in capitals)

    @property
    def label(self) -> str:
        text = "|".join(self.choices) if self.choices else (self.metavar or self.name.upper())
        return f"[{text}]" if self.optional else text


@dataclass(frozen=True)
class Syntax:
    positional: tuple[Slot, ...] = ()
    options: Mapping[str, Slot] = field(default_factory=dict)  # keyword -> its value
    flags: Mapping[str, tuple[str, Any]] = field(default_factory=dict)  # word -> (argument, value)

    def usage(self, verb: str) -> str:
        parts = [verb, *(s.label for s in self.positional)]
        parts += [f"[{key} {slot.metavar or slot.name.upper()}]" for key, slot in self.options.items()]
        groups: dict[str, list[str]] = {}
        for word, (name, _) in self.flags.items():
            groups.setdefault(name, []).append(word)
        parts += [f"[{'|'.join(words)}]" for words in groups.values()]
        return " ".join(parts)


class Catalog(Protocol):
    """Names known to the daemon, for completion (cached; never raises)."""

    def names(self, kind: Kind) -> list[str]: ...


# --------------------------------------------------------------------------- words


def split(line: str) -> list[str]:
    """Shell-like words; `@60000` is `@ 60000`; `#` starts a comment. UsageError on bad quotes."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        raise UsageError(f"cannot read that line: {exc}") from None
    out: list[str] = []
    for word in words:
        if word.startswith("@") and len(word) > 1:
            out += ["@", word[1:]]
        else:
            out.append(word)
    return out


def _lenient_split(line: str) -> list[str]:
    try:
        return split(line)
    except UsageError:
        return line.split()


def check(slot: Slot, word: str) -> Any:
    """The value of `word` in `slot`, or UsageError naming what was expected."""
    if slot.choices and word.lower() not in slot.choices:
        raise UsageError(f"{slot.name}: expected one of {', '.join(slot.choices)} (got {word!r})")
    if slot.choices:
        return word.lower()
    if slot.kind is Kind.DECIMAL:
        try:
            value = Decimal(word.replace("_", "").replace(",", ""))
        except InvalidOperation:
            raise UsageError(f"{slot.name}: expected a number (got {word!r})") from None
        if not value.is_finite():
            raise UsageError(f"{slot.name}: expected a finite number (got {word!r})")
        return value
    if slot.kind is Kind.INT:
        try:
            return int(word)
        except ValueError:
            raise UsageError(f"{slot.name}: expected a whole number (got {word!r})") from None
    if slot.kind is Kind.SYMBOL:
        try:
            normalize_symbol(word)
        except ValueError as exc:
            raise UsageError(f"{slot.name}: {exc}") from None
        return word.upper()
    return word


# --------------------------------------------------------------------------- parsing


def parse_words(syntax: Syntax, verb: str, words: list[str]) -> dict[str, Any]:
    """The arguments of one verb from its words (the verb itself already removed)."""
    args: dict[str, Any] = {}
    positional = list(syntax.positional)
    i = 0
    while i < len(words):
        word = words[i]
        key = word.lower()
        if key in syntax.options:
            slot = syntax.options[key]
            if slot.name in args:
                raise UsageError(f"{verb}: {key!r} given twice")
            if slot.kind is Kind.TEXT:
                args[slot.name] = " ".join(words[i + 1:])
                if not args[slot.name]:
                    raise UsageError(f"{verb}: {key!r} needs a {slot.name}")
                break
            if i + 1 >= len(words):
                raise UsageError(f"{verb}: {key!r} needs a {slot.name} after it")
            args[slot.name] = check(slot, words[i + 1])
            i += 2
            continue
        if key in syntax.flags:
            name, value = syntax.flags[key]
            if name in args and args[name] != value:
                raise UsageError(f"{verb}: {key!r} conflicts with an earlier word")
            args[name] = value
            i += 1
            continue
        if not positional:
            raise UsageError(f"{verb}: unexpected {word!r} (usage: {syntax.usage(verb)})")
        slot = positional.pop(0)
        if slot.kind is Kind.TEXT:
            args[slot.name] = " ".join(words[i:])
            break
        args[slot.name] = check(slot, word)
        i += 1
    missing = [s for s in positional if not s.optional]
    if missing:
        raise UsageError(f"{verb}: missing {missing[0].name.upper()} (usage: {syntax.usage(verb)})")
    return args


# --------------------------------------------------------------------------- completion


def candidates(syntaxes: Mapping[str, Syntax], line: str, catalog: Catalog) -> list[str]:
    """The words that may come next after `line` (the text before the cursor)."""
    words = _lenient_split(line)
    ends_word = not line or line[-1].isspace()
    prefix = "" if ends_word else (words.pop() if words else "")
    if not words:
        return sorted(v for v in syntaxes if v.startswith(prefix.lower()))
    syntax = syntaxes.get(words[0].lower())
    if syntax is None:
        return []
    return _filter(_next_words(syntax, words[1:], catalog, sorted(syntaxes)), prefix)


def _next_words(syntax: Syntax, words: list[str], catalog: Catalog, verbs: list[str]) -> list[str]:
    positional = list(syntax.positional)
    used: set[str] = set()
    i = 0
    while i < len(words):
        key = words[i].lower()
        if key in syntax.options:
            slot = syntax.options[key]
            if slot.kind is Kind.TEXT:
                return []
            if i + 1 >= len(words):
                return _slot_words(slot, catalog, verbs)
            used.add(slot.name)
            i += 2
            continue
        if key in syntax.flags:
            used.add(syntax.flags[key][0])
        elif positional and positional.pop(0).kind is Kind.TEXT:
            return []
        i += 1
    out: list[str] = []
    if positional:
        out += _slot_words(positional[0], catalog, verbs)
    out += [k for k, s in syntax.options.items() if s.name not in used and k != "@"]
    out += [w for w, (name, _) in syntax.flags.items() if name not in used]
    return out


def _slot_words(slot: Slot, catalog: Catalog, verbs: list[str]) -> list[str]:
    if slot.choices:
        return list(slot.choices)
    if slot.kind is Kind.VERB:
        return verbs
    try:
        return catalog.names(slot.kind)
    except Exception:  # noqa: BLE001 - completion must never break typing
        return []


def _filter(words: Iterable[str], prefix: str) -> list[str]:
    low = prefix.lower()
    seen: dict[str, None] = {}
    for word in words:
        if word.lower().startswith(low):
            seen.setdefault(word, None)
    return list(seen)
