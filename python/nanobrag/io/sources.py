"""Reader of the ``-sourcefile`` table: one X-ray source per line.

Columns: X Y Z (m, where the source sits relative to the sample), weight,
wavelength (m).  Missing trailing columns are NaN; the engines fill the legacy
defaults.  Separators, blank lines and the handling of comment lines (skipped
here, zero rows in the legacy program) are described in
:mod:`nanobrag.io.text_columns`.
"""
from __future__ import annotations

import os

from ..tables import SourceTable
from .text_columns import read_columns

__all__ = ["read_source_file", "SOURCE_COLUMNS"]

SOURCE_COLUMNS = ("X_m", "Y_m", "Z_m", "weight", "wavelength_m")


def read_source_file(path) -> SourceTable:
    """Read a source list into a :class:`SourceTable`.

    Parameters
    ----------
    path : str or os.PathLike
        Text file, one source per line: X Y Z (position, m), weight, lambda (m);
        trailing columns may be missing.

    Returns
    -------
    SourceTable
        Rows X, Y, Z, weight, lambda; NaN where a column is missing.
    """
    return SourceTable(rows=read_columns(path, SOURCE_COLUMNS), source=os.fspath(path))
