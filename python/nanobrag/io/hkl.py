"""Reader of text structure-factor files (``-hkl``): one ``h k l F`` record per line.

Space group P1: no symmetry or Friedel mates are generated.  The grid spans
the smallest and largest index present on each axis; reflections the file
does not list hold ``default_F``.  When an index triple appears twice the
later line wins.

Differences from the legacy reader, which parses the file as a stream of
numbers: blank lines and comment lines (first non-blank character ``#`` or
``!``) are skipped, columns after the fourth are ignored (so ``h k l F SIGF``
works), and a line with fewer than four columns, a non-integer Miller index or
a non-numeric / non-finite / absurd (|F| > 1e19) F is an error naming the file and line (the legacy
program silently misreads such files).
"""
from __future__ import annotations

import os

import numpy as np

from ..structure_factors import dense_table
from ..tables import StructureFactorTable
from ..validation import MAX_ABS_F, MAX_GRID_POINTS
from ._numbers import parse_float, parse_int
from .errors import FormatError

__all__ = ["read_hkl"]

_COMMENT_STARTS = ("#", "!")
_AXES = ("h", "k", "l")
_INDEX_LIMIT = 2**31 - 1  # C int, as the legacy reader


def read_hkl(path, default_F: float = 0.0) -> StructureFactorTable:
    """Read an ``h k l F`` text file into a dense P1 :class:`StructureFactorTable`.

    Parameters
    ----------
    path : str or os.PathLike
        The text file: one reflection per line, integer h, k, l then F.
    default_F : float, default 0.0
        F (electrons) of every grid point the file does not list.

    Returns
    -------
    StructureFactorTable
        The dense grid spanning the smallest to the largest h, k, l listed.

    Raises
    ------
    FormatError
        Naming the file and line for a malformed record, and for a file
        without any reflection.
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
            triple = tuple(parse_int(path, tok, f"Miller index {axis}", lineno) for axis, tok in zip(_AXES, fields[:3]))
            if max(abs(i) for i in triple) > _INDEX_LIMIT:
                raise FormatError(path, f"Miller index out of range (|index| <= {_INDEX_LIMIT}): {line.strip()[:60]!r}",
                                  lineno)
            indices.append(triple)
            F = parse_float(path, fields[3], "structure factor F", lineno)
            if abs(F) > MAX_ABS_F:
                raise FormatError(path, f"structure factor F {F:g} is absurd (|F| <= {MAX_ABS_F:g} electrons: its "
                                  "square would overflow the image)", lineno)
            amplitudes.append(F)
    if not indices:
        raise FormatError(path, "no reflections found (expected lines of 'h k l F')")

    hkl = np.array(indices, dtype=np.int64)
    hkl_min = hkl.min(axis=0)
    shape = tuple(int(n) for n in hkl.max(axis=0) - hkl_min + 1)
    points = shape[0] * shape[1] * shape[2]
    if points > MAX_GRID_POINTS:  # refuse before allocating the dense grid
        lo, hi = hkl_min.tolist(), hkl.max(axis=0).tolist()
        raise FormatError(
            path,
            f"the Miller indices span h {lo[0]}..{hi[0]}, k {lo[1]}..{hi[1]}, l {lo[2]}..{hi[2]}: a dense grid of "
            f"{points:.3g} points ({points * 8 / 2**30:.3g} GiB), more than the limit of {MAX_GRID_POINTS:.3g}; "
            "check the file for an absurd index",
        )
    return dense_table(hkl, amplitudes, default_F, source=os.fspath(path))
