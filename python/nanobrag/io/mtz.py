"""Structure factors from an MTZ file (gemmi), expanded to the dense P1 table both engines use.

Column choice (``column``, the ``-mtz_column`` label):

- an amplitude column (MTZ type F), e.g. ``FP``, ``F-obs``, ``FC``: used as is;
- an intensity column (type J), e.g. ``IMEAN``, ``I-obs``: converted by
  F = sqrt(max(I, 0)) (negative intensities give 0, the French-Wilson
  treatment is left to the user);
- one label of an anomalous pair (type G, amplitudes, or K, intensities),
  e.g. ``F(+)``: both ``F(+)`` and ``F(-)`` are read and kept apart:
  F(h) from the (+) column, F(-h) from the (-) column;
- no label: the first amplitude column, else the first anomalous amplitude
  pair, else the first intensity column, else the first anomalous intensity
  pair.

Reflections whose value is missing (NaN) are skipped.  The file's space
group operators give every symmetry mate and Friedel's law (or the anomalous
pair) the Friedel mates (:func:`nanobrag.structure_factors.expand_to_p1`);
systematically absent reflections inside the grid are set to 0; other grid
points (beyond the file's resolution, F(000)) hold ``default_F``.  The cell
is the one of the chosen column's dataset (the file's global cell if that is
unset).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ..structure_factors import dense_table, expand_to_p1, symmetry_operators
from ..tables import StructureFactorTable
from .errors import FormatError

__all__ = ["MtzStructureFactors", "read_mtz", "INTENSITY_RULE"]

INTENSITY_RULE = "F = sqrt(max(I, 0))"
_AMPLITUDE, _INTENSITY, _ANOM_AMPLITUDE, _ANOM_INTENSITY = "F", "J", "G", "K"
_USABLE = (_AMPLITUDE, _ANOM_AMPLITUDE, _INTENSITY, _ANOM_INTENSITY)


@dataclass
class MtzStructureFactors:
    """What :func:`read_mtz` found: the P1 table, the cell, and where the numbers came from."""

    table: StructureFactorTable
    cell: Tuple[float, float, float, float, float, float]
    space_group: str
    columns: Tuple[str, ...]
    rule: str  # "amplitudes" or INTENSITY_RULE
    reflections_read: int


def _describe(mtz) -> str:
    cols = [f"{c.label} ({c.type})" for c in mtz.columns if c.type in _USABLE]
    return ", ".join(cols) if cols else "none"


def _partner(mtz, column):
    """The other column of an anomalous pair: F(+) <-> F(-), also FP+/FP- style labels."""
    label = column.label
    for plus, minus in (("(+)", "(-)"), ("+", "-"), ("_plus", "_minus"), ("PLUS", "MINUS")):
        if label.endswith(plus):
            other = label[: -len(plus)] + minus
            return column, mtz.column_with_label(other), other
        if label.endswith(minus):
            other = label[: -len(minus)] + plus
            return mtz.column_with_label(other), column, other
    return None, None, None


def _choose(mtz, path: str, label: Optional[str]):
    if label is not None:
        col = mtz.column_with_label(label)
        if col is None:
            raise FormatError(path, f"no column labelled {label!r}; amplitude/intensity columns: {_describe(mtz)}")
        if col.type not in _USABLE:
            raise FormatError(
                path,
                f"column {label!r} has MTZ type {col.type!r}, not an amplitude (F, G) or intensity (J, K); "
                f"amplitude/intensity columns: {_describe(mtz)}",
            )
        return col
    for kind in _USABLE:
        for col in mtz.columns:
            if col.type == kind:
                return col
    raise FormatError(path, "no amplitude (type F, G) or intensity (type J, K) column; give an MTZ with one")


def read_mtz(path, column: Optional[str] = None, default_F: float = 0.0) -> MtzStructureFactors:
    """Read amplitudes (or intensities, see :data:`INTENSITY_RULE`) from an MTZ and expand them to P1.

    Raises :class:`FormatError` naming the file for an unreadable file, a
    missing label, a column that holds neither amplitudes nor intensities, or
    a column without any value.
    """
    import gemmi

    path = os.fspath(path)
    try:
        mtz = gemmi.read_mtz_file(path)
    except (RuntimeError, ValueError, OSError) as exc:
        raise FormatError(path, f"not a readable MTZ file: {exc}") from None
    if mtz.spacegroup is None:
        raise FormatError(path, "the MTZ has no space group")
    col = _choose(mtz, path, column)
    hkl = np.asarray(mtz.make_miller_array(), dtype=np.int64)
    if col.type in (_ANOM_AMPLITUDE, _ANOM_INTENSITY):
        plus, minus, other = _partner(mtz, col)
        if plus is None or minus is None:
            raise FormatError(path, f"column {col.label!r} is half of an anomalous pair but its partner "
                                    f"{other or '(+)/(-)'} is missing; amplitude/intensity columns: {_describe(mtz)}")
        F_plus = np.asarray(plus, dtype=np.float64).copy()
        F_minus = np.asarray(minus, dtype=np.float64).copy()
        labels = (plus.label, minus.label)
    else:
        F_plus = np.asarray(col, dtype=np.float64).copy()
        F_minus = None
        labels = (col.label,)
    intensities = col.type in (_INTENSITY, _ANOM_INTENSITY)
    values = [F_plus] + ([F_minus] if F_minus is not None else [])
    for v in values:
        finite = np.isfinite(v)
        if intensities:
            v[finite] = np.sqrt(np.maximum(v[finite], 0.0))
        elif np.any(v[finite] < 0):
            raise FormatError(path, f"column {col.label!r} holds negative amplitudes; expected F >= 0")
    if not any(np.any(np.isfinite(v)) for v in values):
        raise FormatError(path, f"column {col.label!r} holds no values")
    sg = mtz.spacegroup
    p1_hkl, p1_F = expand_to_p1(hkl, F_plus, F_minus, sg)
    if p1_hkl.shape[0] == 0:
        raise FormatError(path, f"column {col.label!r} holds no values")
    table = dense_table(p1_hkl, p1_F, default_F, source=path)
    _zero_absences(table, sg)
    cell = mtz.get_cell(col.dataset_id) if hasattr(mtz, "get_cell") else mtz.cell
    if not cell.is_crystal():
        cell = mtz.cell
    return MtzStructureFactors(
        table=table,
        cell=(cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma),
        space_group=sg.hm,
        columns=labels,
        rule=INTENSITY_RULE if intensities else "amplitudes",
        reflections_read=int(hkl.shape[0]),
    )


def _zero_absences(table: StructureFactorTable, space_group) -> None:
    """Systematically absent reflections are 0 (they are not missing, they are extinct)."""
    rots, trans = symmetry_operators(space_group)
    if len(rots) == 1:
        return
    grid = table.amplitudes
    lo = np.array(table.hkl_min)
    idx = np.indices(grid.shape).reshape(3, -1).T + lo
    absent = np.zeros(idx.shape[0], dtype=bool)
    for R, t in zip(rots, trans):
        # h is absent when some operator maps it onto itself with a phase shift that is not a whole turn
        fixed = np.all(idx @ R == idx, axis=1)
        shift = (idx @ t) % 1.0
        absent |= fixed & (np.abs(shift) > 1e-9) & (np.abs(shift - 1.0) > 1e-9)
    if np.any(absent):
        grid.reshape(-1)[absent] = 0.0
