"""Reader of MOSFLM orientation matrices (``-mat``).

Only the first nine numbers are read, as the legacy program does: three rows
(x, y, z) of three columns (a*, b*, c*), reciprocal-cell vectors in
1/Angstrom multiplied by the wavelength.  The rest of a MOSFLM ``.mat`` file
(U matrix, cell, missets) is ignored.
"""
from __future__ import annotations

import numpy as np

from ._numbers import parse_float
from .errors import FormatError

__all__ = ["read_mosflm_matrix"]


def read_mosflm_matrix(path) -> np.ndarray:
    """Read a MOSFLM orientation matrix: the first nine numbers of the file.

    Parameters
    ----------
    path : str or os.PathLike
        The matrix file.

    Returns
    -------
    numpy.ndarray, shape (3, 3)
        Rows x, y, z; columns a*, b*, c* (1/Angstrom times lambda in Angstrom).

    Raises
    ------
    FormatError
        Fewer than nine numbers, or a value that is not a number.
    """
    numbers = []
    with open(path, "r", encoding="latin-1") as handle:
        for lineno, line in enumerate(handle, start=1):
            for token in line.split():
                numbers.append(parse_float(path, token, f"matrix element {len(numbers) + 1} of 9", lineno))
                if len(numbers) == 9:
                    return np.array(numbers, dtype=np.float64).reshape(3, 3)
    raise FormatError(path, f"expected 9 numbers (3 rows x, y, z of a* b* c*), found {len(numbers)}")
