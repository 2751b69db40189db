"""The command-line grammar shared by the legacy parsers (nanoBragg, noisify, nonBragg).

Each program is a :class:`FlagTable` of :class:`Flag` rows.  The rules live
here once: exact spellings (names and explicit aliases), what a value must
look like (:class:`Value`), how values are consumed (a token starting with
'-' is a value where one is expected), the error texts for bad values,
unknown options and stray arguments, and the layout of the usage text.
What an option does is each table's ``apply`` functions.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .config import ConfigError

__all__ = [
    "Flag",
    "FlagTable",
    "HELP_FLAGS",
    "INFINITY",
    "NUMBER",
    "Value",
    "count",
    "fixed_values",
    "integer",
    "mm_for_m",
    "nonneg",
    "num",
    "pos",
    "render_usage",
    "FILE",
    "TEXT",
    "XYZ",
]

#: Spellings that ask a command for its usage text.
HELP_FLAGS = ("-h", "-help", "--help")

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # the legacy programs read integers with atoi() into C ints
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z", re.ASCII)
INTEGER = re.compile(r"[+-]?\d+\Z", re.ASCII)
INFINITY = re.compile(r"\+?inf(?:inity)?\Z", re.IGNORECASE)


class _BadValue(Exception):
    """A token that does not satisfy a value specification."""


@dataclass(frozen=True)
class Value:
    """What one value of an option must look like."""

    kind: str  # "number", "integer", "file", "word" (one of choices), "text" (any token)
    unit: str = ""
    #: lower bound and whether it is excluded (numbers and integers)
    low: Optional[float] = None
    low_open: bool = False
    #: "inf"/"infinity" accepted (numbers)
    allow_inf: bool = False
    #: allowed words (kind "word")
    choices: Tuple[str, ...] = ()

    def describe(self) -> str:
        """For messages: "a number > 0 (mm)", "an integer >= 0 (pixels)", "one of beam, sample"."""
        if self.kind == "word":
            return "one of " + ", ".join(self.choices)
        if self.kind == "file":
            return "a file name"
        if self.kind == "text":
            return "a word"
        text = "an integer" if self.kind == "integer" else "a number"
        if self.low is not None:
            bound = int(self.low) if float(self.low).is_integer() else self.low
            text += f" {'>' if self.low_open else '>='} {bound}"
        if self.allow_inf:
            text += " or inf"
        if self.unit:
            text += f" ({self.unit})"
        return text

    def convert(self, token: str) -> Any:
        if self.kind == "text":
            return token
        if self.kind == "file":
            if token == "":
                raise _BadValue
            return token
        if self.kind == "word":
            if token not in self.choices:
                raise _BadValue
            return token
        if self.kind == "integer":
            if not INTEGER.match(token):
                raise _BadValue
            value = int(token)
            if not _INT_MIN <= value <= _INT_MAX:
                raise _BadValue
        else:
            if NUMBER.match(token):
                value = float(token)
                if math.isinf(value):  # overflow such as 1e999
                    raise _BadValue
            elif self.allow_inf and INFINITY.match(token):
                value = math.inf
            else:
                raise _BadValue
        if self.low is not None and value != math.inf:
            if value < self.low or (self.low_open and value == self.low):
                raise _BadValue
        return value


def num(unit: str = "", **kw) -> Value:
    """Any finite number."""
    return Value("number", unit, **kw)


def pos(unit: str = "") -> Value:
    """A number > 0."""
    return Value("number", unit, low=0.0, low_open=True)


def nonneg(unit: str = "", **kw) -> Value:
    """A number >= 0."""
    return Value("number", unit, low=0.0, **kw)


def integer(unit: str = "") -> Value:
    """A 32-bit integer."""
    return Value("integer", unit)


def count(unit: str = "") -> Value:
    """A 32-bit integer >= 0."""
    return Value("integer", unit, low=0)


FILE = Value("file")
TEXT = Value("text")
XYZ = (num(), num(), num())


def mm_for_m(target_m: float) -> float:
    """A value in mm whose ``mm / 1000.0`` is exactly ``target_m`` (the engines' conversion), if one exists nearby.

    For lengths the legacy programs derive in metres (a mask's flipped Ybeam,
    nonBragg's default beam centre), so the engines see the legacy bits.
    """
    guess = target_m * 1000.0
    candidates = [guess]
    for direction in (math.inf, -math.inf):
        x = guess
        for _ in range(4):
            x = math.nextafter(x, direction)
            candidates.append(x)
    for x in candidates:
        if x / 1000.0 == target_m:
            return x
    return guess

# ----------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------

#: apply(state, typed spelling, converted values): the option's effect on a program's parse state
Apply = Callable[[Any, str, Tuple[Any, ...]], None]
Consume = Callable[["Flag", str, Sequence[str], int], Tuple[Tuple[Any, ...], int]]


@dataclass(frozen=True)
class Flag:
    """One legacy option: its names, values, meaning and effect."""

    name: str
    section: str
    help: str
    apply: Apply
    values: Tuple[Value, ...] = ()
    metavar: str = ""
    aliases: Tuple[str, ...] = ()
    default: str = ""
    #: custom value reader for options whose number of values varies (-cell, -misset)
    consume: Optional[Consume] = None
    #: text used in messages when ``values`` alone does not say it well
    expects_text: str = ""

    @property
    def spellings(self) -> Tuple[str, ...]:
        return (self.name,) + self.aliases

    def expects(self) -> str:
        """What the option's values must be, for messages ("a number (mm)", "3 numbers (X Y Z)")."""
        if self.expects_text:
            return self.expects_text
        if len(self.values) == 1:
            return self.values[0].describe()
        return f"{len(self.values)} {self.values[0].kind}s ({self.metavar})"


def fixed_values(flag: Flag, typed: str, argv: Sequence[str], i: int) -> Tuple[Tuple[Any, ...], int]:
    """Read ``len(flag.values)`` tokens after position i (a token starting with '-' is a value)."""
    n = len(flag.values)
    available = len(argv) - (i + 1)
    if available < n:
        if available == 0:
            raise ConfigError(f"{typed} expects {flag.expects()}, but the command line ends there")
        raise ConfigError(f"{typed} expects {flag.expects()}, but the command line ends after {available}")
    out = []
    for k, spec in enumerate(flag.values):
        token = argv[i + 1 + k]
        try:
            out.append(spec.convert(token))
        except _BadValue:
            raise ConfigError(f"{typed} expects {flag.expects()}, got {token!r}") from None
    return tuple(out), i + 1 + n


@dataclass
class FlagTable:
    """A program's options and the tokenizer over them."""

    flags: Tuple[Flag, ...]
    #: spellings that are not options, with advice: "unknown option X: advice"
    not_options: Mapping[str, str] = field(default_factory=dict)
    #: spellings answered elsewhere, with the whole message
    refused: Mapping[str, str] = field(default_factory=dict)
    #: appended to "unknown option X" when no spelling is close
    unknown_hint: str = ""
    #: appended to "unexpected argument 'x': options start with '-'"
    bare_hint: str = ""
    #: the option a bare (non-option) argument stands for, or None (noisify's floatimage.bin rule)
    bare_option: Optional[Callable[[str], Optional[str]]] = None
    by_spelling: Dict[str, Flag] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_spelling = {}
        for flag in self.flags:
            for spelling in flag.spellings:
                assert spelling not in self.by_spelling, f"duplicate option spelling {spelling}"
                self.by_spelling[spelling] = flag

    def lookup(self, spelling: str) -> Optional[Flag]:
        """The option a spelling names (exact match), or None."""
        return self.by_spelling.get(spelling)

    def unknown(self, token: str) -> ConfigError:
        """The error for a token that starts with '-' and names no option."""
        import difflib

        if token in self.refused:
            return ConfigError(self.refused[token])
        if token in self.not_options:
            return ConfigError(f"unknown option {token}: {self.not_options[token]}")
        if token.startswith("--") and token[1:] in self.by_spelling:
            return ConfigError(f"unknown option {token}: options take a single dash ({token[1:]})")
        close = difflib.get_close_matches(token, list(self.by_spelling), n=3, cutoff=0.75)
        hint = f" (did you mean {' or '.join(close)}?)" if close else self.unknown_hint
        return ConfigError(f"unknown option {token}{hint}")

    def tokenize(self, argv: Sequence[Any]) -> List[Tuple[Flag, str, Tuple[Any, ...]]]:
        """(option, spelling typed, converted values) for each option of ``argv``, in order."""
        argv = [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in argv]
        entries = []
        i = 0
        while i < len(argv):
            token = argv[i]
            stands_for = self.bare_option(token) if self.bare_option and not token.startswith("-") else None
            if stands_for is not None:
                entries.append((self.by_spelling[stands_for], token, (token,)))
                i += 1
                continue
            if NUMBER.match(token) or INFINITY.match(token):
                raise ConfigError(f"unexpected value {token!r}: no option before it takes another value")
            if not token.startswith("-") or len(token) < 2:
                raise ConfigError(f"unexpected argument {token!r}: options start with '-'{self.bare_hint}")
            flag = self.by_spelling.get(token)
            if flag is None:
                raise self.unknown(token)
            if flag.values or flag.consume:
                values, i = (flag.consume or fixed_values)(flag, token, argv, i)
            else:
                values, i = (), i + 1
            entries.append((flag, token, values))
        return entries


def render_usage(head: Sequence[str], flags: Sequence[Flag], width: int = 100, tail: Sequence[str] = ()) -> str:
    """A usage text: ``head``, the help spellings, every option by section (with default and aliases), ``tail``."""
    import textwrap

    lines = list(head) + ["", f"  {', '.join(HELP_FLAGS):<25} print this text"]
    sections: Dict[str, List[Flag]] = {}
    for flag in flags:
        sections.setdefault(flag.section, []).append(flag)
    indent = " " * 8
    for section, members in sections.items():
        lines += ["", section + ":"]
        for flag in members:
            text = flag.help
            if flag.default:
                text += f" [default: {flag.default}]"
            if flag.aliases:
                text += f" (also {', '.join(flag.aliases)})"
            lines.append(f"  {flag.name} {flag.metavar}".rstrip())
            lines += textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent)
    if tail:
        lines += [""] + list(tail)
    return "\n".join(lines) + "\n"
