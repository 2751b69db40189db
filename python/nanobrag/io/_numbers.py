"""The number grammar shared by the text readers (finite decimals, as C strtod reads them)."""
from __future__ import annotations

import math
import re
from typing import Optional

from .errors import FormatError

#: a finite decimal number (no inf/nan, hex floats or digit-group underscores)
DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
INTEGER = re.compile(r"[+-]?[0-9]+")


def parse_float(path, token: str, what: str, line: Optional[int] = None) -> float:
    """float(token), or a FormatError naming the file, line and the quantity expected."""
    if not DECIMAL.fullmatch(token):
        raise FormatError(path, f"{what} must be a finite number, got {token[:40]!r}", line)
    value = float(token)
    if not math.isfinite(value):  # e.g. 1e400, or a mantissa of thousands of digits
        raise FormatError(path, f"{what} must be a finite number, got {token[:40]!r} (overflows a double)", line)
    return value


def parse_int(path, token: str, what: str, line: Optional[int] = None) -> int:
    """int(token), or a FormatError naming the file, line and the quantity expected."""
    if not INTEGER.fullmatch(token):
        raise FormatError(path, f"{what} must be an integer, got {token[:40]!r}", line)
    return int(token)


#: what C atof() accepts at the start of a string (after leading whitespace)
_ATOF_PREFIX = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.IGNORECASE
)


def c_atof(text: str) -> float:
    """C ``atof``: the longest number at the start of ``text`` (after whitespace), 0.0 if none."""
    m = _ATOF_PREFIX.match(text.lstrip(" \t\n\v\f\r"))
    return float(m.group(0)) if m else 0.0
