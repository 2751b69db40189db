"""Whitespace/punctuation-separated numeric columns, as the legacy ``read_text_file`` reads them.

Used by the source-file and stol-table readers.  Tokens are separated by any
run of the delimiters `` \\t,;:!``; blank lines are skipped; a line may hold
fewer columns than asked for (the missing trailing ones are NaN) or more
(the extra ones are ignored).

Deliberate difference: the legacy reader turns a comment line into a row of
zeros (atof of a word is 0); here a line whose first token starts with ``#``
is skipped, and any other non-numeric token is an error naming file and line.
"""
from __future__ import annotations

import re

import numpy as np

from ._numbers import parse_float
from .errors import FormatError

__all__ = ["read_columns"]

_DELIMITERS = re.compile(r"[ \t,;:!\r\n]+")


def read_columns(path, column_names) -> np.ndarray:
    """Rows of ``len(column_names)`` floats (NaN where a line stops early); shape (n >= 1, ncols)."""
    ncols = len(column_names)
    rows = []
    with open(path, "r", encoding="latin-1") as handle:
        for lineno, line in enumerate(handle, start=1):
            tokens = [t for t in _DELIMITERS.split(line) if t]
            if not tokens or tokens[0].startswith("#"):
                continue
            row = [np.nan] * ncols
            for i, (name, token) in enumerate(zip(column_names, tokens)):
                row[i] = parse_float(path, token, f"column {i + 1} ({name})", lineno)
            rows.append(row)
    if not rows:
        raise FormatError(path, f"no data: expected lines of columns {' '.join(column_names)}")
    return np.array(rows, dtype=np.float64)
