"""Reader of text structure-factor files (``-hkl``): one ``h k l F`` record per line.

Space group P1: no symmetry or Friedel mates are generated.  The grid spans
the smallest and largest index present on each axis; reflections the file
does not list hold ``default_F``.  When an index triple appears twice the
later line wins.

Differences from the legacy reader, which parses the file as a stream of
numbers: blank lines and comment lines (first non-blank character ``#`` or
``!``) are skipped, columns after the fourth are ignored (so ``h k l F SIGF``
works), and a line with fewer than four columns, a non-integer Miller index or
a non-numeric / non-finite F is an error naming the file and line (the legacy
program silently misreads such files).
"""
from __future__ import annotations

import os

import numpy as np

from ..structure_factors import dense_table
from ..tables import StructureFactorTable
from ._numbers import parse_float, parse_int
from .errors import FormatError

__all__ = ["read_hkl"]

_COMMENT_STARTS = ("#", "!")
_AXES = ("h", "k", "l")


def read_hkl(path, default_F: float = 0.0) -> StructureFactorTable:
    """Read an ``h k l F`` text file into a dense P1 :class:`StructureFactorTable`.

    default_F: F (electrons) of every grid point the file does not list.
    Raises :class:`FormatError` naming the file and line for a malformed record,
    and for a file without any reflection.
    """
    indices = []
    amplitudes = []
    with open(path, "r", encoding="latin-1") as handle:
        for lineno, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields or fields[0].startswith(_COMMENT_STARTS):
                continue
            if len(fields) < 4:
                raise FormatError(
                    path, f"expected 4 columns 'h k l F', found {len(fields)}: {line.strip()!r}", lineno
                )
            indices.append(
                tuple(parse_int(path, tok, f"Miller index {axis}", lineno) for axis, tok in zip(_AXES, fields[:3]))
            )
            amplitudes.append(parse_float(path, fields[3], "structure factor F", lineno))
    if not indices:
        raise FormatError(path, "no reflections found (expected lines of 'h k l F')")

    return dense_table(np.array(indices, dtype=np.int64), amplitudes, default_F, source=os.fspath(path))
