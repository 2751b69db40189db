"""One rule for turning photons per pixel into integer counts (int32 NXmx and miniCBF).

counts = floor(photons + 0.5) (round half up, as the legacy integer images
round), clipped to [``underload_value`` + 1, ``saturation_value``]; with the
defaults that is [0, 2**31 - 1].  No scale and no ADC offset are applied (the
legacy SMV images keep theirs); inf and NaN are refused.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["INT32_MAX", "photons_to_counts"]

INT32_MAX = 2**31 - 1


def photons_to_counts(
    photons, saturation_value: Optional[int] = None, underload_value: Optional[int] = None
) -> np.ndarray:
    """int32 counts from a float (or integer) image of photons; see the module docstring."""
    arr = np.asarray(photons)
    low = 0 if underload_value is None else int(underload_value) + 1
    high = INT32_MAX if saturation_value is None else int(saturation_value)
    if not -(2**31) <= low <= high <= INT32_MAX:
        raise ValueError(
            f"the trusted range must satisfy -2**31 <= underload + 1 <= saturation <= 2**31 - 1, got {low - 1}, {high}"
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError("the image holds inf or NaN values; refusing to convert it to counts")
        values = np.floor(arr.astype(np.float64) + 0.5)
    elif arr.dtype.kind in "iub":
        values = arr.astype(np.int64)
    else:
        raise ValueError(f"the image must be numeric, got dtype {arr.dtype}")
    return np.ascontiguousarray(np.clip(values, low, high), dtype=np.int32)
