"""Reader of amorphous-scatterer tables (``-stol``, ``-4stol``, ``-Q``): F against scattering vector.

Two columns: the scattering variable and F.  The first column holds
sin(theta)/lambda ("stol", 1/Angstrom), 4*sin(theta)/lambda ("4stol") or
Q = 4*pi*sin(theta)/lambda ("Q"); it is stored as stol in 1/Angstrom.
A missing F becomes 0, as in the legacy program.  Separators, blank and
comment lines as in :mod:`nanobrag.io.text_columns`.
"""
from __future__ import annotations

import math
import os

import numpy as np

from ..tables import AmorphousTable
from .text_columns import read_columns

__all__ = ["read_stol_table", "STOL_COLUMN_KINDS"]

#: what the first column holds -> divisor that turns it into sin(theta)/lambda
STOL_COLUMN_KINDS = {"stol": 1.0, "4stol": 4.0, "Q": 4.0 * math.pi}
#: the factor the legacy nonBragg multiplies the column by to get sin(theta)/lambda in 1/m
_LEGACY_MULTIPLIER_PER_M = {"stol": 1e10, "4stol": 1e10 / 4, "Q": 1e10 / math.pi / 4}


def read_stol_table(path, column_kind: str = "stol") -> AmorphousTable:
    """Read a two-column F(stol) table.

    Parameters
    ----------
    path : str or os.PathLike
        Text file of ``x F`` pairs.
    column_kind : {"stol", "4stol", "Q"}, default "stol"
        What the first column holds: sin(theta)/lambda, 4 sin(theta)/lambda, or
        Q = 4 pi sin(theta)/lambda (1/Angstrom).

    Returns
    -------
    AmorphousTable
        ``stol_per_A`` (the first column converted to sin(theta)/lambda) and F
        (a missing F is 0).
    """
    if column_kind not in STOL_COLUMN_KINDS:
        raise ValueError(f"column_kind must be one of {', '.join(STOL_COLUMN_KINDS)}; got {column_kind!r}")
    columns = read_columns(path, (column_kind, "F"))
    stol = columns[:, 0] / STOL_COLUMN_KINDS[column_kind]
    missing = np.isnan(columns[:, 1])
    F = np.where(missing, 0.0, columns[:, 1])
    return AmorphousTable(
        stol_per_A=stol, F=F, source=os.fspath(path), column_kind=column_kind, F_missing=missing,
        file_column=columns[:, 0].copy(), file_multiplier_per_m=_LEGACY_MULTIPLIER_PER_M[column_kind],
    )
