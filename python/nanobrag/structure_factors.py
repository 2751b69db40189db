"""The one home of structure-factor arithmetic: reflections, symmetry expansion, direct sums.

nanoBragg imposes no symmetry (not even Friedel's law) and looks F up on a
dense P1 (h, k, l) grid.  This module turns crystallographic inputs into
that grid:

- :func:`reflections_within` lists every (h, k, l) with d >= d_min of a cell;
- :func:`expand_to_p1` applies a space group's operators (and Friedel's
  law, or keeps F(+)/F(-) apart) to amplitudes given for some reflections
  (an MTZ's asymmetric unit);
- :func:`direct_sum` computes F(h) = sum_j occ_j (f0_j(s) + f'_j + i f''_j)
  exp(-B_j s^2) exp(2 pi i h.x_j) (s = sin(theta)/lambda = 1/(2d)) over atoms
  in fractional coordinates; the built-in example and ``-pdb`` both use it;
- :func:`dense_table` puts (hkl, F) on the grid as a
  :class:`~nanobrag.tables.StructureFactorTable`.

Cells are (a, b, c in Angstrom, alpha, beta, gamma in degrees).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Optional, Sequence, Tuple

import numpy as np

from .tables import StructureFactorTable

__all__ = [
    "reciprocal_metric",
    "inverse_d_squared",
    "reflections_within",
    "symmetry_operators",
    "expand_to_p1",
    "direct_sum",
    "dense_table",
]


def _cell(cell: Sequence[float]) -> Tuple[float, ...]:
    cell = tuple(float(v) for v in cell)
    if len(cell) != 6 or min(cell[:3]) <= 0 or not all(0 < v < 180 for v in cell[3:]):
        raise ValueError(f"a cell is a, b, c > 0 (Angstrom) and three angles in (0, 180) degrees, got {cell}")
    return cell


def reciprocal_metric(cell: Sequence[float]) -> np.ndarray:
    """G* (3x3, 1/Angstrom^2): 1/d^2 = h^T G* h."""
    a, b, c, al, be, ga = _cell(cell)
    ca, cb, cg = (math.cos(math.radians(x)) for x in (al, be, ga))
    G = np.array([[a * a, a * b * cg, a * c * cb], [a * b * cg, b * b, b * c * ca], [a * c * cb, b * c * ca, c * c]])
    return np.linalg.inv(G)


def inverse_d_squared(cell: Sequence[float], hkl) -> np.ndarray:
    """1/d^2 (1/Angstrom^2) of each row of ``hkl``."""
    hkl = np.asarray(hkl, dtype=np.float64).reshape(-1, 3)
    return np.einsum("ni,ij,nj->n", hkl, reciprocal_metric(cell), hkl)


def reflections_within(cell: Sequence[float], d_min_A: float) -> np.ndarray:
    """(n, 3) int64: every (h, k, l) with 1/d^2 <= 1/d_min^2, (0, 0, 0) included, in lexicographic order."""
    if not d_min_A > 0 or not math.isfinite(d_min_A):
        raise ValueError(f"d_min must be a finite resolution > 0 (Angstrom), got {d_min_A}")
    Gs = reciprocal_metric(cell)
    # |h| <= |a*-row bound|: h_max = sqrt(G*^-1_hh) / d_min = a_perp... use the direct metric diagonal
    G = np.linalg.inv(Gs)
    limits = [int(math.floor(math.sqrt(G[i, i]) / d_min_A)) for i in range(3)]
    axes = [np.arange(-m, m + 1) for m in limits]
    H, K, L = np.meshgrid(*axes, indexing="ij")
    hkl = np.stack([H.ravel(), K.ravel(), L.ravel()], axis=1)
    keep = inverse_d_squared(cell, hkl) <= 1.0 / d_min_A**2 * (1 + 1e-12)
    return hkl[keep].astype(np.int64)


def symmetry_operators(space_group) -> Tuple[np.ndarray, np.ndarray]:
    """(rotations (n, 3, 3) as applied to row vectors hkl: h' = h R, translations (n, 3) fractional) of every
    operator of a gemmi space group (or a name such as "P 41 21 2"), centring included."""
    import gemmi

    sg = space_group if isinstance(space_group, gemmi.SpaceGroup) else gemmi.SpaceGroup(str(space_group))
    rots, trans = [], []
    for op in sg.operations():
        rots.append(np.array(op.rot, dtype=np.int64) // op.DEN)
        trans.append(np.array(op.tran, dtype=np.float64) / op.DEN)
    return np.array(rots), np.array(trans)


def expand_to_p1(hkl, F_plus, F_minus=None, space_group="P 1") -> Tuple[np.ndarray, np.ndarray]:
    """Amplitudes of every symmetry mate and Friedel mate of the given reflections.

    ``F_plus[i]`` is |F(h_i)|; ``F_minus[i]`` is |F(-h_i)| (None: Friedel's law,
    F(-h) = F(h)).  Each operator R gives |F(h R)| = |F(h)| and
    |F(-h R)| = |F(-h)| (the amplitude does not see the translation).  NaN
    values are skipped.  Where two inputs land on the same (h, k, l) the one
    listed first wins.  Returns (hkl (n, 3) int64, F (n,)).
    """
    hkl = np.asarray(hkl, dtype=np.int64).reshape(-1, 3)
    Fp = np.asarray(F_plus, dtype=np.float64).reshape(-1)
    Fm = Fp if F_minus is None else np.asarray(F_minus, dtype=np.float64).reshape(-1)
    if Fp.shape[0] != hkl.shape[0] or Fm.shape[0] != hkl.shape[0]:
        raise ValueError("expand_to_p1: hkl, F_plus (and F_minus) must have one row per reflection")
    rots, _ = symmetry_operators(space_group)
    out_hkl, out_F = [], []
    for R in rots:
        mates = hkl @ R
        out_hkl.append(mates)
        out_F.append(Fp)
    for R in rots:
        out_hkl.append(-(hkl @ R))
        out_F.append(Fm)
    all_hkl = np.concatenate(out_hkl)
    all_F = np.concatenate(out_F)
    ok = np.isfinite(all_F)
    all_hkl, all_F = all_hkl[ok], all_F[ok]
    # the first occurrence of each triple wins (np.unique returns first indices)
    _, first = np.unique(all_hkl, axis=0, return_index=True)
    first.sort()
    return all_hkl[first], all_F[first]


def direct_sum(
    hkl,
    cell: Sequence[float],
    frac_xyz,
    occupancy,
    b_iso_A2,
    atom_type,
    f0_of_stol2: Callable[[np.ndarray], np.ndarray],
    f_prime: Optional[Sequence[float]] = None,
    f_double_prime: Optional[Sequence[float]] = None,
    *,
    operators: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    both_hands: bool = False,
    chunk_elements: int = 2_000_000,
):
    """Complex F(hkl) (electrons) of atoms in fractional coordinates, summed directly.

    F(h) = sum_ops sum_j occ_j (f0_j(s) + f'_j + i f''_j) exp(-B_j s^2) exp(2 pi i h.(R x_j + t))

    ``atom_type[j]`` indexes the scattering types; ``f0_of_stol2(stol2)``
    returns f0 of every type, shape (n, ntypes), at s^2 = (sin(theta)/lambda)^2
    = 1/(4 d^2); ``f_prime``/``f_double_prime`` (per type, electrons) are the
    anomalous terms.  ``operators``: (rotations, translations) of
    :func:`symmetry_operators` placing the mates of the given atoms (None:
    the atoms as given).  ``both_hands``: return (F(h), F(-h)), computed in
    the same pass (with f'' the two differ in amplitude).
    """
    hkl = np.asarray(hkl, dtype=np.float64).reshape(-1, 3)
    xyz = np.asarray(frac_xyz, dtype=np.float64).reshape(-1, 3)
    occ = np.asarray(occupancy, dtype=np.float64).reshape(-1)
    B = np.asarray(b_iso_A2, dtype=np.float64).reshape(-1)
    types = np.asarray(atom_type, dtype=np.int64).reshape(-1)
    if not (xyz.shape[0] == occ.size == B.size == types.size):
        raise ValueError("direct_sum: one row per atom in frac_xyz, occupancy, b_iso_A2 and atom_type")
    if operators is None:
        operators = (np.eye(3)[None], np.zeros((1, 3)))
    rots, trans = (np.asarray(a, dtype=np.float64) for a in operators)
    fpp = None if f_double_prime is None else np.asarray(f_double_prime, dtype=np.float64)
    S1 = np.zeros(hkl.shape[0], dtype=np.complex128)  # the real part of the scattering factors
    S2 = np.zeros(hkl.shape[0], dtype=np.complex128)  # the f'' part (times i below)
    # reflections per block, so that a block's (reflections x atoms) arrays stay ~16 MB each
    chunk = max(1, int(chunk_elements) // max(1, xyz.shape[0]))
    two_pi = 2.0 * np.pi
    for start in range(0, hkl.shape[0], chunk):
        h = hkl[start:start + chunk]
        stol2 = inverse_d_squared(cell, h) / 4.0
        f = np.asarray(f0_of_stol2(stol2), dtype=np.float64)  # (n, ntypes)
        if f_prime is not None:
            f = f + np.asarray(f_prime, dtype=np.float64)[None, :]
        dw = occ[None, :] * np.exp(-np.outer(stol2, B))  # (n, atoms)
        w0 = f[:, types] * dw
        w2 = None if fpp is None else fpp[types][None, :] * dw
        for R, t in zip(rots, trans):
            # h.(R x + t) = (h R).x + h.t: the mate's phase from the given atom's position
            theta = two_pi * ((h @ R) @ xyz.T)
            cos, sin = np.cos(theta), np.sin(theta)
            shift = np.exp(1j * two_pi * (h @ t))
            S1[start:start + chunk] += shift * (np.einsum("nm,nm->n", w0, cos) + 1j * np.einsum("nm,nm->n", w0, sin))
            if w2 is not None:
                S2[start:start + chunk] += shift * (
                    np.einsum("nm,nm->n", w2, cos) + 1j * np.einsum("nm,nm->n", w2, sin))
    F = S1 + 1j * S2
    if both_hands:
        # F(-h): every phase factor conjugates, the factors (f0 + f', f'') stay
        return F, np.conj(S1) + 1j * np.conj(S2)
    return F


def dense_table(hkl, F, default_F: float = 0.0, source: Optional[str] = None) -> StructureFactorTable:
    """A dense P1 grid spanning the given reflections; unlisted grid points hold ``default_F``.

    A triple listed twice keeps its last value.
    """
    hkl = np.asarray(hkl, dtype=np.int64).reshape(-1, 3)
    F = np.asarray(F, dtype=np.float64).reshape(-1)
    if hkl.shape[0] == 0 or F.shape[0] != hkl.shape[0]:
        raise ValueError("dense_table needs one F per reflection and at least one reflection")
    hkl_min = hkl.min(axis=0)
    shape = tuple(int(n) for n in hkl.max(axis=0) - hkl_min + 1)
    # zero-filled unless default_F != 0 (so -0.0 gives +0.0, as the legacy grid)
    grid = np.full(shape, float(default_F)) if default_F != 0.0 else np.zeros(shape)
    flat = np.ravel_multi_index(tuple((hkl - hkl_min).T), shape)
    unique_flat, first_in_reversed = np.unique(flat[::-1], return_index=True)
    grid.reshape(-1)[unique_flat] = F[::-1][first_in_reversed]
    return StructureFactorTable(hkl_min=tuple(int(v) for v in hkl_min), amplitudes=grid, source=source)


# ----------------------------------------------------------------------------
# from an atomic model
# ----------------------------------------------------------------------------

#: lambda (Angstrom) = this / E (eV)
_HC_EV_A = 12398.42


def _it92_f0(elements: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """f0(s^2) of each element from the International Tables (1992) 4-Gaussian fit, through gemmi."""
    import gemmi

    a, b, c = [], [], []
    for name in elements:
        coef = gemmi.Element(name).it92
        if coef is None or not any(coef.a):
            raise ValueError(f"no X-ray form factor for element {name!r}")
        a.append(list(coef.a))
        b.append(list(coef.b))
        c.append(float(coef.c))
    a_arr, b_arr, c_arr = np.array(a), np.array(b), np.array(c)

    def f0(stol2: np.ndarray) -> np.ndarray:
        s2 = np.asarray(stol2, dtype=np.float64)[:, None, None]
        return np.sum(a_arr[None] * np.exp(-b_arr[None] * s2), axis=2) + c_arr[None, :]

    return f0


def anomalous_terms(elements: Sequence[str], wavelength_A: float) -> Tuple[np.ndarray, np.ndarray]:
    """(f', f'') per element (electrons) at ``wavelength_A`` (Cromer-Liberman, through gemmi)."""
    import gemmi

    energy = _HC_EV_A / float(wavelength_A)
    fp, fpp = [], []
    for name in elements:
        p, pp = gemmi.cromer_liberman(z=gemmi.Element(name).atomic_number, energy=energy)
        fp.append(p)
        fpp.append(pp)
    return np.array(fp), np.array(fpp)


def _unique_under(hkl: np.ndarray, rots: np.ndarray, friedel: bool) -> Tuple[np.ndarray, np.ndarray]:
    """(representatives (m, 3), index of each input row's representative) under the rotations (and -1)."""
    span = int(np.abs(hkl).max()) + 1 if hkl.size else 1
    base = 2 * span + 1

    def code(x):
        return ((x[:, 0] + span) * base + (x[:, 1] + span)) * base + (x[:, 2] + span)

    keys = np.full(hkl.shape[0], -1, dtype=np.int64)
    for R in rots:
        mates = hkl @ R
        keys = np.maximum(keys, code(mates))
        if friedel:
            keys = np.maximum(keys, code(-mates))
    uniq, inverse = np.unique(keys, return_inverse=True)
    l = uniq % base - span
    k = (uniq // base) % base - span
    h = uniq // (base * base) - span
    return np.stack([h, k, l], axis=1), inverse


def model_amplitudes(
    cell: Sequence[float],
    space_group,
    frac_xyz,
    elements: Sequence[str],
    occupancy,
    b_iso_A2,
    d_min_A: float,
    *,
    wavelength_A: Optional[float] = None,
    anomalous: bool = False,
    bulk_solvent: Optional[Tuple[float, float]] = None,
    keep_F000: bool = False,
) -> Tuple[np.ndarray, np.ndarray]:
    """|F(hkl)| of every reflection with d >= ``d_min_A`` of an atomic model, in P1 with both Friedel mates.

    Atoms are given for the asymmetric unit; every operator of
    ``space_group`` places its mates.  F is :func:`direct_sum` with IT92 form
    factors, computed for one reflection of each symmetry-equivalent set
    (including the Friedel mate unless ``anomalous``) and copied to the rest.
    ``anomalous``: add f' and f'' at ``wavelength_A`` (F(h) and F(-h) then
    differ).  ``bulk_solvent = (k_sol, B_sol)``: a flat solvent by Babinet's
    principle, F = F_model (1 - k_sol exp(-B_sol s^2)) (typical k_sol 0.75,
    B_sol 200 Angstrom^2).  F(000) is set to 0 unless ``keep_F000`` (the
    direct beam is not simulated and would outshine every spot).
    Returns (hkl (n, 3) int64, F (n,)).
    """
    xyz = np.asarray(frac_xyz, dtype=np.float64).reshape(-1, 3)
    if xyz.shape[0] == 0:
        raise ValueError("the model has no atoms")
    kinds = sorted(set(elements))
    atom_type = np.array([kinds.index(e) for e in elements])
    rots, trans = symmetry_operators(space_group)
    occ = np.asarray(occupancy, dtype=np.float64)
    B = np.asarray(b_iso_A2, dtype=np.float64)
    f_prime = f_double_prime = None
    if anomalous:
        if wavelength_A is None:
            raise ValueError("anomalous scattering needs the wavelength")
        f_prime, f_double_prime = anomalous_terms(kinds, wavelength_A)
    f0 = _it92_f0(kinds)

    hkl = reflections_within(cell, d_min_A)
    unique, _ = _unique_under(hkl, rots, friedel=not anomalous)
    F_pair = direct_sum(unique, cell, xyz, occ, B, atom_type, f0, f_prime, f_double_prime,
                        operators=(rots, trans), both_hands=True)
    F_plus, F_minus = (np.abs(F) for F in F_pair)
    if bulk_solvent is not None:
        k_sol, b_sol = (float(v) for v in bulk_solvent)
        solvent = np.abs(1.0 - k_sol * np.exp(-b_sol * inverse_d_squared(cell, unique) / 4.0))
        F_plus, F_minus = F_plus * solvent, F_minus * solvent
    if not anomalous:
        F_minus = None
    out_hkl, out_F = expand_to_p1(unique, F_plus, F_minus, space_group)
    inside = inverse_d_squared(cell, out_hkl) <= 1.0 / d_min_A**2 * (1 + 1e-12)
    out_hkl, out_F = out_hkl[inside], out_F[inside]
    if not keep_F000:
        out_F = np.where(np.all(out_hkl == 0, axis=1), 0.0, out_F)
    return out_hkl, out_F
