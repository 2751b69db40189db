"""What a run derives without rendering: its geometry, its spectrum, the finest resolution it records.

:func:`detector_d_min_A`: d_min = lambda_min / (2 sin theta_max): theta_max is half the largest
scattering angle over the detector's four outer corners (the angle to the
beam is quasi-convex on a plane, so a rectangle's largest angle sits at a
corner), lambda_min the shortest wavelength of the run (the dispersion's
lower edge, or the shortest explicit source).  Crystal rotations (phi,
mosaic) do not change it.  ``-pdb`` computes structure factors to this
resolution.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .config import Config

__all__ = ["run_geometry", "run_spectrum_A", "detector_d_min_A", "shortest_wavelength_A"]


def run_geometry(config: Config):
    """The :class:`~nanobrag.results.Geometry` an engine derives from ``config``, without rendering.

    Structure factors play no part in it, so a run still without a table is
    given default_F = 1 for the derivation.  The C engine is used when built,
    else the torch engine.
    """
    sf = config.structure_factors
    if sf.table is None and not sf.default_F:
        config = dataclasses.replace(config, structure_factors=dataclasses.replace(sf, default_F=1.0))
    try:
        from .c_engine import engine as c_engine

        return c_engine.geometry(config)
    except (ImportError, OSError):
        from .torch_impl.context import resolve_context
        from .torch_impl.plan import build_plan

        return build_plan(resolve_context("cpu", "float64"), config).geometry()


def shortest_wavelength_A(config: Config, geometry) -> float:
    """The run's shortest wavelength (Angstrom): explicit sources, else the central one less half the dispersion."""
    central = float(geometry.wavelength_m) * 1e10
    sources = config.beam.sources
    if sources is not None:
        wl = np.asarray(sources.rows)[:, 4]
        wl = np.where(np.isfinite(wl) & (wl > 0), wl * 1e10, central)
        return float(wl.min())
    return central * (1.0 - float(config.beam.dispersion_percent) / 200.0)


def detector_d_min_A(config: Config) -> float:
    """The finest d-spacing (Angstrom) any pixel of the detector records (see the module docstring)."""
    g = run_geometry(config)
    pix0 = np.asarray(g.pix0_vector_m, dtype=np.float64)
    f = np.asarray(g.fdet_vector, dtype=np.float64)
    s = np.asarray(g.sdet_vector, dtype=np.float64)
    beam = np.asarray(g.beam_vector, dtype=np.float64)
    beam = beam / np.linalg.norm(beam)
    wf = g.fpixels * g.pixel_size_m
    ws = g.spixels * g.pixel_size_m
    two_theta = 0.0
    for df in (0.0, wf):
        for ds in (0.0, ws):
            p = pix0 + df * f + ds * s
            cos = float(np.dot(p, beam) / np.linalg.norm(p))
            two_theta = max(two_theta, math.acos(max(-1.0, min(1.0, cos))))
    sin_theta = math.sin(two_theta / 2.0)
    if sin_theta <= 0.0:
        raise ValueError("the detector records no scattering angle > 0; cannot choose a resolution")
    return shortest_wavelength_A(config, g) / (2.0 * sin_theta)


def run_spectrum_A(config: Config):
    """(wavelengths (n,), weights (n,)) of the run's distinct wavelengths (Angstrom), or None for one wavelength.

    The weight of a wavelength is the number of sources that carry it (the
    engines weight every source equally).  Dispersion is sampled as the
    torch engine's plan samples it; explicit sources give their own column.
    """
    b = config.beam
    if b.sources is None and not float(b.dispersion_percent) > 0:
        return None
    from .torch_impl.context import resolve_context
    from .torch_impl.plan import build_plan

    sf = config.structure_factors
    if sf.table is None and not sf.default_F:
        config = dataclasses.replace(config, structure_factors=dataclasses.replace(sf, default_F=1.0))
    plan = build_plan(resolve_context("cpu", "float64"), config)
    wl = plan.sources.wavelength.detach().cpu().numpy() * 1e10
    values, counts = np.unique(wl, return_counts=True)
    if values.size < 2:
        return None
    return values, counts.astype(np.float64)
