"""Hypothesis strategies: random valid nanobrag configurations with small detectors.

Every draw is a complete Config that both engines can render in well under a
second: at most 16x16 pixels and a few hundred sub-steps per pixel.  The draws
cover conventions (with custom vectors), detector rotations and two-theta,
pivots, cells and misset, phi sweeps (including exact zeros), mosaicity,
divergence, dispersion and source tables, oversampling and its flags, crystal
shapes, HKL tables with and without interpolation, polarization, solid-angle
options, sensor layers, water background, dmin, ROI and masks.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from nanobrag import Config, SourceTable, StructureFactorTable

CONVENTIONS = ("MOSFLM", "XDS", "ADXV", "DENZO", "DIALS", "CUSTOM")


def _unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


@st.composite
def rotation_matrices(draw):
    """A random proper rotation (from three Euler angles)."""
    a, b, c = (math.radians(draw(st.floats(-180, 180))) for _ in range(3))
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rx = np.array([[1, 0, 0], [0, math.cos(c), -math.sin(c)], [0, math.sin(c), math.cos(c)]])
    return rz @ ry @ rx


@st.composite
def cells(draw):
    """a, b, c in 30-120 A and angles that make a real triclinic cell."""
    lengths = [draw(st.floats(30.0, 120.0)) for _ in range(3)]
    while True:
        angles = [draw(st.sampled_from([90.0])) if draw(st.booleans()) else draw(st.floats(70.0, 115.0))
                  for _ in range(3)]
        al, be, ga = (math.radians(x) for x in angles)
        s = (al + be + ga) / 2
        if s > max(al, be, ga) + 0.05 and all(x > 0.2 for x in (s - al, s - be, s - ga)):
            return tuple(lengths + angles)


@st.composite
def hkl_tables(draw, n_cells):
    """A small random P1 table around the origin (big enough that some pixels fall outside it)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    extent = [draw(st.integers(2, 6)) for _ in range(3)]
    amps = rng.exponential(100.0, size=[2 * e + 1 for e in extent])
    return StructureFactorTable(hkl_min=tuple(-e for e in extent), amplitudes=amps)


@st.composite
def configs(draw):
    c = Config()
    c.phi_mode = draw(st.sampled_from(("spec", "c-parity")))
    # ---- detector
    d = c.detector
    d.convention = draw(st.sampled_from(CONVENTIONS))
    fast, slow = draw(st.integers(3, 16)), draw(st.integers(3, 16))
    d.detpixels = (fast, slow)
    d.pixel_size_mm = draw(st.floats(0.05, 0.4))
    d.distance_mm = draw(st.floats(40.0, 200.0))
    if draw(st.booleans()):
        d.xbeam_mm = draw(st.floats(-0.5, 1.5)) * fast * d.pixel_size_mm
        d.ybeam_mm = draw(st.floats(-0.5, 1.5)) * slow * d.pixel_size_mm
    if draw(st.integers(0, 3)) == 0:
        d.close_distance_mm = draw(st.floats(40.0, 200.0))
    if draw(st.booleans()):
        d.orgx_px = draw(st.floats(-5.0, fast + 5.0))
        d.orgy_px = draw(st.floats(-5.0, slow + 5.0))
    if draw(st.booleans()):
        d.rot_deg = tuple(draw(st.floats(-12.0, 12.0)) for _ in range(3))
    if draw(st.booleans()):
        d.twotheta_deg = draw(st.floats(-25.0, 25.0))
    d.pivot = draw(st.sampled_from(("beam", "sample")))
    if d.convention == "CUSTOM":
        rot = draw(rotation_matrices())
        d.fdet_vector, d.sdet_vector = tuple(rot[:, 0]), tuple(rot[:, 1])
        d.odet_vector = tuple(rot[:, 2]) if draw(st.booleans()) else None
        beam = _unit(rot[:, 2] + np.array([draw(st.floats(-0.2, 0.2)) for _ in range(3)]))
        c.beam.beam_vector = tuple(beam)
        if draw(st.booleans()):
            c.beam.polar_vector = tuple(_unit(np.cross(beam, rot[:, 0]) + 1e-3))
        if draw(st.booleans()):
            c.sampling.spindle_axis = tuple(_unit(rot[:, 0] + rot[:, 1]))
        if draw(st.booleans()):
            d.twotheta_axis = tuple(rot[:, 1])
    d.curved = draw(st.integers(0, 7)) == 0
    d.point_pixel = draw(st.integers(0, 7)) == 0
    if draw(st.integers(0, 4)) == 0:
        d.thickness_um = draw(st.floats(50.0, 500.0))
        d.attenuation_depth_um = draw(st.one_of(st.none(), st.floats(50.0, 1000.0)))
        d.thicksteps = draw(st.one_of(st.none(), st.integers(1, 3)))
    if draw(st.integers(0, 4)) == 0:
        f0 = draw(st.integers(0, fast - 1))
        s0 = draw(st.integers(0, slow - 1))
        d.roi = (f0, draw(st.integers(f0, fast - 1)), s0, draw(st.integers(s0, slow - 1)))
    if draw(st.integers(0, 4)) == 0:
        rng = np.random.default_rng(draw(st.integers(0, 1000)))
        d.mask = (rng.random((slow, fast)) > 0.3).astype(np.uint16)
    # ---- crystal
    x = c.crystal
    x.cell = draw(cells())
    if draw(st.booleans()):
        x.misset_deg = tuple(draw(st.floats(-180.0, 180.0)) for _ in range(3))
    x.n_cells = tuple(float(draw(st.integers(1, 8))) for _ in range(3))
    x.shape = draw(st.sampled_from(("square", "square", "round", "gauss", "tophat")))
    if x.shape != "square" and draw(st.booleans()):
        x.fudge = draw(st.floats(0.3, 2.0))
    if draw(st.integers(0, 2)) == 0:
        x.mosaic_spread_deg = draw(st.floats(0.0, 2.0))
        x.mosaic_domains = draw(st.one_of(st.none(), st.integers(1, 4)))
        x.mosaic_seed = draw(st.integers(1, 10**6))
    # ---- structure factors
    sf = c.structure_factors
    if draw(st.booleans()):
        sf.table = draw(hkl_tables(x.n_cells))
        sf.default_F = draw(st.sampled_from((0.0, 10.0)))
        sf.interpolate = draw(st.sampled_from((None, True, False)))
    else:
        sf.default_F = draw(st.floats(1.0, 200.0))
    # ---- beam
    b = c.beam
    b.wavelength_A = draw(st.floats(0.6, 2.0))
    kind = draw(st.integers(0, 5))
    if kind == 1:
        b.dispersion_percent = draw(st.floats(0.0, 3.0))
        b.dispersion_steps = draw(st.one_of(st.none(), st.integers(1, 3)))
    elif kind == 2:
        b.hdiv_range_mrad = draw(st.floats(0.0, 2.0))
        b.vdiv_range_mrad = draw(st.floats(0.0, 2.0))
        b.hdiv_steps = draw(st.one_of(st.none(), st.integers(1, 3)))
        b.vdiv_steps = draw(st.one_of(st.none(), st.integers(1, 3)))
        b.round_div = draw(st.booleans())
    elif kind == 3:
        b.hdiv_range_mrad = draw(st.floats(0.05, 1.0))
        b.hdiv_step_mrad = draw(st.floats(0.05, 0.5))
    elif kind == 4:
        rng = np.random.default_rng(draw(st.integers(0, 1000)))
        n = draw(st.integers(1, 3))
        rows = np.column_stack([np.full(n, -10.0), rng.normal(0, 0.003, n), rng.normal(0, 0.003, n),
                                np.ones(n), 1e-10 * b.wavelength_A * (1 + rng.normal(0, 0.005, n))])
        if draw(st.booleans()):
            rows[:, 4] = np.nan  # the central wavelength
        b.sources = SourceTable(rows)
    b.kahn_factor = draw(st.sampled_from((0.0, 0.0, 0.5, 1.0)))
    b.nopolar = draw(st.integers(0, 5)) == 0
    if draw(st.integers(0, 5)) == 0:
        b.fluence_photons_per_m2 = draw(st.floats(1e20, 1e30))
    # ---- sampling
    s = c.sampling
    sweep = draw(st.integers(0, 4))
    if sweep == 1:
        s.phi_start_deg = 0.0
        s.osc_deg = draw(st.floats(0.1, 2.0))
        s.phi_steps = draw(st.integers(2, 3))
    elif sweep == 2:
        s.phi_start_deg, s.osc_deg, s.phi_steps = -0.5, 1.0, 2  # a step lands exactly on phi = 0
    elif sweep == 3:
        s.phi_start_deg = draw(st.floats(-30.0, 30.0))
        s.osc_deg = draw(st.floats(0.05, 3.0))  # osc 0 with a step size gives 0 steps: an error in both engines
        s.phi_step_deg = draw(st.one_of(st.none(), st.floats(0.2, 1.5)))
    s.oversample = draw(st.integers(1, 3))
    s.oversample_thick = draw(st.integers(0, 9)) == 0
    s.oversample_polar = draw(st.integers(0, 9)) == 0
    s.oversample_omega = draw(st.integers(0, 9)) == 0
    if draw(st.integers(0, 5)) == 0:
        s.dmin_A = draw(st.floats(1.0, 20.0))
    if draw(st.integers(0, 5)) == 0:
        c.background.water_um = draw(st.floats(0.0, 100.0))
    return c
