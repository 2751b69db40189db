"""Tabulated inputs of a simulation: structure factors, sources, amorphous F(stol).

These are plain data holders.  The readers in :mod:`nanobrag.io` build them from
files; users may also build them directly from arrays.  Engines never read
files themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

__all__ = ["StructureFactorTable", "SourceTable", "AmorphousTable"]


@dataclass
class StructureFactorTable:
    """Structure-factor amplitudes on a dense (h, k, l) grid, space group P1.

    ``amplitudes[i, j, k]`` is F (electrons) of reflection
    ``(hkl_min[0] + i, hkl_min[1] + j, hkl_min[2] + k)``.  Reflections missing
    from the source file hold the fill value they were read with (the legacy
    program fills with ``-default_F``; an Fdump cache stores whatever was
    filled).  ``amplitudes`` may be a numpy array or a torch tensor (set
    ``requires_grad`` on a float64 tensor to differentiate with respect to F).
    """

    hkl_min: Tuple[int, int, int]
    amplitudes: Any
    source: Optional[str] = None  # file it was read from, for messages

    def __post_init__(self) -> None:
        self.hkl_min = tuple(int(v) for v in self.hkl_min)
        if len(self.hkl_min) != 3:
            raise ValueError("StructureFactorTable.hkl_min must hold three integers (h, k, l)")
        shape = tuple(self.amplitudes.shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(
                f"StructureFactorTable.amplitudes must be a non-empty 3-D (h, k, l) grid, got shape {shape}"
            )

    @property
    def shape(self) -> Tuple[int, int, int]:
        return tuple(int(v) for v in self.amplitudes.shape)

    @property
    def hkl_max(self) -> Tuple[int, int, int]:
        return tuple(lo + n - 1 for lo, n in zip(self.hkl_min, self.shape))

    def as_numpy(self) -> np.ndarray:
        """The grid as a C-contiguous float64 numpy array (detached from autograd)."""
        amps = self.amplitudes
        if hasattr(amps, "detach"):
            amps = amps.detach().cpu().numpy()
        return np.ascontiguousarray(amps, dtype=np.float64)


@dataclass
class SourceTable:
    """Explicit X-ray sources, one row each: X, Y, Z (m), weight, wavelength (m).

    Positions are where the source sits relative to the sample (the beam runs
    from the source to the origin; only the direction matters).  NaN marks a
    column missing from the file; engines fill it with the legacy defaults
    (position -10 m along the beam, weight 1, the central wavelength).  As in
    the legacy program the weight column is read but does not weight anything.
    """

    rows: np.ndarray
    source: Optional[str] = None

    def __post_init__(self) -> None:
        rows = np.asarray(self.rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != 5 or rows.shape[0] < 1:
            raise ValueError(f"SourceTable.rows must have shape (n >= 1, 5), got {rows.shape}")
        self.rows = np.ascontiguousarray(rows)

    def __len__(self) -> int:
        return int(self.rows.shape[0])


@dataclass
class AmorphousTable:
    """Amorphous-scatterer structure factor against sin(theta)/lambda.

    ``stol_per_A`` holds sin(theta)/lambda in 1/Angstrom after the unit
    conversion of the flag that named the file (``-stol``, ``-4stol``, ``-Q``).
    nanoBragg reads such a table but never uses it; the amorphous background
    (:class:`nanobrag.config.AmorphousSample`, the legacy nonBragg) renders it.
    ``F_missing`` marks rows whose F was missing (F is 0 there).  A reader
    also keeps the file's first column and the legacy factor that turns it
    into 1/m (``file_column``, ``file_multiplier_per_m``), so that the
    engines get the very doubles the legacy program computed.
    """

    stol_per_A: np.ndarray
    F: np.ndarray
    source: Optional[str] = None
    column_kind: str = "stol"  # "stol", "4stol" or "Q": what the file's first column held
    F_missing: Optional[np.ndarray] = None
    file_column: Optional[np.ndarray] = None
    file_multiplier_per_m: Optional[float] = None

    def __post_init__(self) -> None:
        self.stol_per_A = np.asarray(self.stol_per_A, dtype=np.float64)
        self.F = np.asarray(self.F, dtype=np.float64)
        if self.stol_per_A.shape != self.F.shape or self.F.ndim != 1 or self.F.size < 1:
            raise ValueError("AmorphousTable needs two 1-D columns of equal, non-zero length")
        if self.F_missing is not None:
            self.F_missing = np.asarray(self.F_missing, dtype=bool).reshape(self.F.shape)
        if self.file_column is not None:
            self.file_column = np.asarray(self.file_column, dtype=np.float64).reshape(self.F.shape)

    def stol_per_m(self) -> np.ndarray:
        """sin(theta)/lambda (1/m): the file column times the legacy factor when known, else stol_per_A * 1e10."""
        if self.file_column is not None and self.file_multiplier_per_m is not None:
            return self.file_column * float(self.file_multiplier_per_m)
        return self.stol_per_A * 1e10

    def F_or_nan(self) -> np.ndarray:
        """F with NaN where it was missing (engines use 0 there and skip it for the end values)."""
        if self.F_missing is None:
            return self.F.copy()
        return np.where(self.F_missing, np.nan, self.F)
