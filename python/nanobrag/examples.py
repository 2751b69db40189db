"""A built-in example: a small protein-like crystal, no input files needed.

The structure factors come from a fixed set of pseudo-random atoms in a
tetragonal cell the size of hen egg-white lysozyme (P1, no symmetry), so the
image has realistic spot-to-spot intensity variation.  Everything is
deterministic (fixed seed).
"""
from __future__ import annotations

import functools

from typing import Sequence, Tuple

import numpy as np

from .config import Config
from .structure_factors import direct_sum
from .tables import StructureFactorTable

__all__ = ["EXAMPLE_CELL", "example_structure_factors", "example_config"]

#: a, b, c (Angstrom), alpha, beta, gamma (degrees)
EXAMPLE_CELL: Tuple[float, ...] = (79.1, 79.1, 37.9, 90.0, 90.0, 90.0)

def example_structure_factors(*args, **kwargs) -> StructureFactorTable:
    """|F(hkl)| of pseudo-random light atoms in an orthogonal cell (see :func:`_computed_table`)."""
    hkl_min, grid = _computed_table(*args, **kwargs)
    return StructureFactorTable(hkl_min=hkl_min, amplitudes=grid.copy(), source="built-in example")


@functools.lru_cache(maxsize=4)
def _computed_table(
    cell: Tuple[float, ...] = EXAMPLE_CELL,
    d_min_A: float = 3.0,
    n_atoms: int = 300,
    b_factor_A2: float = 20.0,
    seed: int = 20251122,
):
    """|F(hkl)| of ``n_atoms`` pseudo-random light atoms in an orthogonal cell, to ``d_min_A``.

    f(s) = Z * exp(-B s^2) with s = sin(theta)/lambda = 1/(2d), Z in 6-8 (C, N, O).
    Reflections beyond d_min, and F(000), are 0.  Deterministic for a given seed.
    """
    a, b, c = (float(v) for v in cell[:3])
    rng = np.random.default_rng(seed)
    xyz = rng.random((n_atoms, 3))
    z = rng.choice([6.0, 7.0, 8.0], size=n_atoms, p=[0.62, 0.17, 0.21])
    hmax, kmax, lmax = (int(np.floor(edge / d_min_A)) for edge in (a, b, c))
    h = np.arange(-hmax, hmax + 1)
    k = np.arange(-kmax, kmax + 1)
    l = np.arange(-lmax, lmax + 1)
    H, K, L = np.meshgrid(h, k, l, indexing="ij")
    inv_d2 = (H / a) ** 2 + (K / b) ** 2 + (L / c) ** 2
    keep = inv_d2 <= 1.0 / d_min_A**2
    hkl = np.stack([H[keep], K[keep], L[keep]], axis=1)
    # f(s) = Z: one scattering type per atom, its Z constant in s; exp(-B s^2) comes from direct_sum
    F = np.abs(direct_sum(hkl, (a, b, c, 90.0, 90.0, 90.0), xyz, np.ones(n_atoms), np.full(n_atoms, b_factor_A2),
                          np.arange(n_atoms), lambda stol2: np.broadcast_to(z, (stol2.size, n_atoms))))
    grid = np.zeros(H.shape, dtype=np.float64)
    grid[keep] = F
    # F(000) would put the brightest "spot" on the direct beam, where a beamstop hides it
    grid[hmax, kmax, lmax] = 0.0
    grid.flags.writeable = False
    return (-hmax, -kmax, -lmax), grid


def example_config() -> Config:
    """The example: a lysozyme-sized crystal, 8 cells per edge, small mosaicity and a 0.2 degree sweep."""
    config = Config()
    config.crystal.cell = EXAMPLE_CELL
    config.crystal.misset_deg = (10.0, -25.0, 33.0)
    config.crystal.n_cells = (8.0, 8.0, 8.0)
    config.crystal.mosaic_spread_deg = 0.2
    config.crystal.mosaic_domains = 4
    config.structure_factors.table = example_structure_factors()
    config.detector.distance_mm = 100.0
    config.detector.pixel_size_mm = 0.1
    config.detector.detpixels = (512, 512)
    config.sampling.phi_start_deg = 10.0
    config.sampling.osc_deg = 0.2
    config.sampling.phi_steps = 2
    config.sampling.oversample = 2
    config.output.noise_seed = 1
    return config
