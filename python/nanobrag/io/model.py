"""Atomic models (PDB or mmCIF, through gemmi) and the structure factors they give.

:func:`read_model` returns the first model's atoms in fractional coordinates
with the file's cell and space group; :func:`model_structure_factors` turns
them into the dense P1 table both engines use
(:func:`nanobrag.structure_factors.model_amplitudes`: IT92 form factors,
isotropic B, occupancies, optional f'/f'' at the run's wavelength and a flat
Babinet bulk solvent; F(000) = 0).  Hydrogens and waters are kept as the
file gives them; alternative conformations count with their occupancies.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from ..structure_factors import dense_table, model_amplitudes
from ..tables import StructureFactorTable
from .errors import FormatError

__all__ = ["AtomicModel", "ModelStructureFactors", "read_model", "model_structure_factors"]


@dataclass
class AtomicModel:
    """Atoms of one model: fractional coordinates, element symbols, occupancies, B (Angstrom^2)."""

    cell: Tuple[float, float, float, float, float, float]
    space_group: str
    frac_xyz: np.ndarray
    elements: Tuple[str, ...]
    occupancy: np.ndarray
    b_iso_A2: np.ndarray
    source: Optional[str] = None


@dataclass
class ModelStructureFactors:
    """The P1 table of a model, with the cell and the resolution it was computed to."""

    table: StructureFactorTable
    cell: Tuple[float, float, float, float, float, float]
    space_group: str
    d_min_A: float
    atoms: int
    anomalous: bool


def read_model(path) -> AtomicModel:
    """Read a PDB or mmCIF file's first model; :class:`FormatError` for an unreadable file, no atoms or no cell."""
    import gemmi

    path = os.fspath(path)
    try:
        st = gemmi.read_structure(path)
    except (RuntimeError, ValueError, OSError) as exc:
        raise FormatError(path, f"not a readable PDB or mmCIF model: {exc}") from None
    if len(st) == 0:
        raise FormatError(path, "the file holds no model")
    if not st.cell.is_crystal():
        raise FormatError(path, "the model has no unit cell (CRYST1 / _cell); a crystal needs one")
    sg = st.find_spacegroup()
    if sg is None:
        raise FormatError(path, f"unknown space group {st.spacegroup_hm!r}")
    xyz, elements, occ, b = [], [], [], []
    for chain in st[0]:
        for residue in chain:
            for atom in residue:
                f = st.cell.fractionalize(atom.pos)
                xyz.append((f.x, f.y, f.z))
                elements.append(atom.element.name)
                occ.append(atom.occ)
                b.append(atom.b_iso)
    if not xyz:
        raise FormatError(path, "the model has no atoms")
    unknown = sorted({e for e in elements if gemmi.Element(e).atomic_number == 0})
    if unknown:
        raise FormatError(path, f"atoms of unknown element {', '.join(unknown)}; give element symbols")
    c = st.cell
    return AtomicModel(
        cell=(c.a, c.b, c.c, c.alpha, c.beta, c.gamma),
        space_group=sg.hm,
        frac_xyz=np.array(xyz, dtype=np.float64),
        elements=tuple(elements),
        occupancy=np.array(occ, dtype=np.float64),
        b_iso_A2=np.array(b, dtype=np.float64),
        source=path,
    )


def model_structure_factors(
    path,
    d_min_A: float,
    *,
    wavelength_A: Optional[float] = None,
    anomalous: bool = False,
    bulk_solvent: Optional[Sequence[float]] = None,
    default_F: float = 0.0,
) -> ModelStructureFactors:
    """|F(hkl)| of a model (a file, or an :class:`AtomicModel`) to ``d_min_A`` on a dense P1 grid.

    Grid points without a reflection (beyond d_min) hold ``default_F``.
    """
    model = path if isinstance(path, AtomicModel) else read_model(path)
    hkl, F = model_amplitudes(
        model.cell, model.space_group, model.frac_xyz, model.elements, model.occupancy, model.b_iso_A2,
        d_min_A, wavelength_A=wavelength_A, anomalous=anomalous,
        bulk_solvent=None if bulk_solvent is None else tuple(bulk_solvent),
    )
    return ModelStructureFactors(
        table=dense_table(hkl, F, default_F, source=model.source),
        cell=model.cell,
        space_group=model.space_group,
        d_min_A=float(d_min_A),
        atoms=len(model.elements),
        anomalous=bool(anomalous),
    )
