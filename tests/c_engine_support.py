"""Shared helpers of the C-engine tests (tests/c_engine/test_c_*.py); holds no tests itself.

* golden comparisons with the tolerance the project requires,
* the values the legacy program prints on stdout, for derived-geometry checks,
* a few golden cases written as hand-built Configs (independent of
  ``Config.from_args``), so the engine is checked against the legacy program
  even without the command-line layer.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

from golden_cases import case
from nanobrag import (
    BackgroundConfig,
    BeamConfig,
    Config,
    CrystalConfig,
    DetectorConfig,
    OutputConfig,
    SamplingConfig,
    StructureFactorConfig,
)

#: float images must agree to this relative difference on every pixel ...
REL_TOL = 1e-6
#: ... except where the golden value is below this, compared absolutely
ABS_FLOOR = 1e-30


def float_image_mismatches(ours: np.ndarray, golden: np.ndarray) -> np.ndarray:
    """Boolean (slow, fast): pixels outside the parity tolerance.

    Relative 1e-6 is far above float32 rounding (6e-8) yet far below any real
    physics change, so it separates "same computation" from "different one";
    a NaN or inf golden pixel must be matched exactly (same class and sign).
    """
    assert ours.shape == golden.shape, f"shape {ours.shape} != golden {golden.shape}"
    assert ours.dtype == np.float32
    o = ours.astype(np.float64)
    g = golden.astype(np.float64)
    finite = np.isfinite(g)
    small = finite & (np.abs(g) < ABS_FLOOR)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.abs(o - g)
        rel = diff / np.abs(g)
    bad = np.zeros(g.shape, dtype=bool)
    bad |= small & ~(diff <= ABS_FLOOR)
    bad |= finite & ~small & ~(rel <= REL_TOL)
    same_special = (np.isnan(g) & np.isnan(o)) | (np.isinf(g) & (o == g))
    bad |= ~finite & ~same_special
    return bad


def assert_float_image_matches(ours: np.ndarray, golden: np.ndarray, name: str = "") -> None:
    bad = float_image_mismatches(ours, golden)
    if bad.any():
        s, f = np.argwhere(bad)[0]
        raise AssertionError(
            f"{name}: {int(bad.sum())} of {bad.size} pixels differ beyond rel {REL_TOL}; first at (slow={s}, fast={f}): "
            f"ours {ours[s, f]!r} golden {golden[s, f]!r}"
        )


#: float32 engine images against the legacy (float64-computed) image: the issue's numbers
PEARSON_MIN = 0.99999
TOTAL_REL = 1e-4


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum()) / den if den > 0 else (1.0 if np.array_equal(a, b) else 0.0)


def assert_float32_image_correlates(ours: np.ndarray, golden: np.ndarray, name: str = "") -> None:
    """Pearson r >= PEARSON_MIN and total within TOTAL_REL, over the pixels where the golden
    value is finite and representable in float32 (a corrupt Fdump, quirk_fdump_whitespace_read,
    holds F values beyond the float32 range)."""
    o = ours.astype(np.float64)
    g = golden.astype(np.float64)
    sel = np.isfinite(g) & (np.abs(g) < np.finfo(np.float32).max / 1e3)
    assert sel.sum() > 0.5 * g.size
    r = pearson(o[sel], g[sel])
    assert r >= PEARSON_MIN, f"{name}: Pearson r = {r:.8f}"
    total, gold_total = o[sel].sum(), g[sel].sum()
    assert abs(total - gold_total) <= TOTAL_REL * abs(gold_total), f"{name}: total {total!r} vs legacy {gold_total!r}"


# ---------------------------------------------------------------- stdout


def stdout_fields(text: str) -> Dict[str, List[str]]:
    """The geometry lines the legacy program prints, as lists of number strings."""
    out: Dict[str, List[str]] = {}
    patterns = {
        "Xbeam": r"^  Xbeam=(\S+) Ybeam=(\S+)$",
        "Fbeam": r"^  Fbeam=(\S+) Sbeam=(\S+)$",
        "Xclose": r"^  Xclose=(\S+) Yclose=(\S+)$",
        "Fclose": r"^  Fclose=(\S+) Sclose=(\S+)$",
        "dials": r"^  dials origin= (\S+) (\S+) (\S+)$",
        "distance": r"^  distance=(\S+) detsize=(\S+)x(\S+)  pixel=(\S+) meters \((\d+)x(\d+) pixels\)$",
        "fdet": r"^  DIRECTION_OF_DETECTOR_X-AXIS= (\S+) (\S+) (\S+)$",
        "sdet": r"^  DIRECTION_OF_DETECTOR_Y-AXIS= (\S+) (\S+) (\S+)$",
        "odet": r"^  DIRECTION_OF_DETECTOR_Z-AXIS= (\S+) (\S+) (\S+)$",
        "beam": r"^  INCIDENT_BEAM_DIRECTION= (\S+) (\S+) (\S+)$",
        "spindle": r"^  spindle ROTATION_AXIS= (\S+) (\S+) (\S+)$",
        "sensor": r"^  sensor is (\S+) m thick in (\d+) layers with mu= (\S+)$",
        "sources": r"^  (\d+) sources$",
        "domains": r"^  (\d+) mosaic domains over mosaic spread of (\S+) degrees$",
        "phisteps": r"^  (\d+) phi steps from (\S+) to (\S+) degrees$",
        "oversample": r"^  (\d+)x\d+ pixel oversample steps",
        "fluence": r"^  incident fluence: (\S+) photons/m\^2$",
        "xtal": r"^  \S+ xtal: (\d+)x(\d+)x(\d+) cells$",
        "misset": r"^random orientation misset angles: (\S+) (\S+) (\S+) deg$",
        "volume": r"^volume = (\S+) A\^3$",
        "divsteps": r"^  (-?\d+) divergence steps$",
    }
    for line in text.splitlines():
        for key, pat in patterns.items():
            m = re.match(pat, line)
            if m:
                out[key] = list(m.groups())
    # real and reciprocal cell vectors: rows X, Y, Z of (a, b, c)
    lines = text.splitlines()
    for title, key in (("real-space cell vectors (Angstrom):", "real"), ("reciprocal-space cell vectors (Angstrom^-1):", "recip")):
        if title in lines:
            i = lines.index(title)
            rows = [lines[i + 2 + r].split()[1:4] for r in range(3)]
            out[key] = [rows[r][c] for c in range(3) for r in range(3)]  # a_x a_y a_z b_x ...
    return out


def g(x: float) -> str:
    """C printf %g."""
    return "%g" % x


def geometry_against_stdout(geo, text: str) -> List[str]:
    """Differences between a Geometry and what the legacy run printed (empty = agree)."""
    f = stdout_fields(text)
    problems = []

    def check(key, values):
        if key not in f:
            problems.append(f"stdout has no {key} line")
            return
        if list(values) != f[key]:
            problems.append(f"{key}: ours {list(values)} legacy {f[key]}")

    check("Xbeam", [g(geo.xbeam_m), g(geo.ybeam_m)])
    check("Fbeam", [g(geo.fbeam_m), g(geo.sbeam_m)])
    check("Xclose", [g(geo.xclose_m), g(geo.yclose_m)])
    check("Fclose", [g(geo.fclose_m), g(geo.sclose_m)])
    check("dials", [g(v) for v in geo.dials_origin_mm])
    check("distance", [g(geo.distance_m), g(geo.detsize_f_m), g(geo.detsize_s_m), g(geo.pixel_size_m),
                       str(geo.fpixels), str(geo.spixels)])
    check("fdet", [g(v) for v in geo.fdet_vector])
    check("sdet", [g(v) for v in geo.sdet_vector])
    check("odet", [g(v) for v in geo.odet_vector])
    check("beam", [g(v) for v in geo.beam_vector])
    check("spindle", [g(v) for v in geo.spindle_axis])
    check("sources", [str(geo.sources)])
    check("oversample", [str(geo.oversample)])
    check("fluence", [g(geo.fluence_photons_per_m2)])
    check("xtal", ["%.0f" % v for v in geo.n_cells])
    check("volume", [g(geo.cell_volume_A3)])
    rtd = 180.0 * 0.318309886183790671538
    check("domains", [str(geo.mosaic_domains), g(geo.mosaic_spread_rad * rtd)])
    check("phisteps", [str(geo.phisteps), g(geo.phi0_rad * rtd), g((geo.phi0_rad + geo.osc_rad) * rtd)])
    check("sensor", [g(geo.detector_thick_m), str(geo.detector_thicksteps), g(geo.detector_mu_per_m)])
    check("recip", [("%11.8f" % v).strip() for v in geo.a_star_per_A + geo.b_star_per_A + geo.c_star_per_A])
    # the printed real-space cell is in Angstrom, ours in metres: compare to the printed 8 decimals
    if "real" in f:
        ours = np.array(geo.a_m + geo.b_m + geo.c_m) * 1e10
        legacy = np.array([float(v) for v in f["real"]])
        if not np.all(np.abs(ours - legacy) <= 0.5e-8 + 1e-14 * np.abs(legacy)):
            problems.append(f"real-space cell: ours {ours} legacy {legacy}")
    if "misset" in f:
        check("misset", ["%f" % (v * rtd) for v in geo.misset_rad])
    return problems


# ---------------------------------------------------------------- hand-built cases


def _base(**kw) -> Config:
    """Config of the common golden setup: 60x70x80 cell, misset 10 20 30, F=100, N=5, 128x128 at 100 mm."""
    cfg = Config(
        crystal=CrystalConfig(cell=(60, 70, 80, 90, 90, 90), misset_deg=(10, 20, 30), n_cells=(5, 5, 5)),
        structure_factors=StructureFactorConfig(default_F=100.0),
        beam=BeamConfig(wavelength_A=1.0),
        detector=DetectorConfig(distance_mm=100.0, detpixels=(128, 128), pixel_size_mm=0.1),
        phi_mode="c-parity",
        engine="c",
    )
    return cfg


def cubic_default_F(workdir: Path) -> Config:
    cfg = _base()
    cfg.crystal.cell = (100, 100, 100, 90, 90, 90)
    cfg.crystal.misset_deg = None
    return cfg


def phi_start0_quirk(workdir: Path) -> Config:
    cfg = cubic_default_F(workdir)
    cfg.crystal.misset_deg = (5, 12, -7)
    cfg.crystal.n_cells = (15, 15, 15)
    cfg.sampling = SamplingConfig(oversample=1, phi_start_deg=0.0, osc_deg=0.1, phi_steps=10)
    return cfg


def conv_custom_vectors_pivot_sample(workdir: Path) -> Config:
    cfg = _base()
    d = cfg.detector
    d.convention = "CUSTOM"
    d.pivot = "sample"
    d.fdet_vector, d.sdet_vector, d.odet_vector = (-1, 0, 0), (0, 1, 0), (0, 0, 1)
    cfg.beam.beam_vector, cfg.beam.polar_vector = (0, 0, 1), (0, 1, 0)
    d.xclose_mm, d.yclose_mm, d.close_distance_mm = 6.2, 5.7, 95.0
    cfg.sampling = SamplingConfig(spindle_axis=(0, 1, 0), phi_start_deg=10, osc_deg=1, phi_steps=4)
    return cfg


def quirk_interpolate_switchoff(workdir: Path) -> Config:
    from nanobrag.io.hkl import read_hkl

    cfg = _base()
    cfg.crystal.n_cells = (2, 2, 2)
    cfg.structure_factors = StructureFactorConfig(
        table=read_hkl(workdir / "P1_box7.hkl", default_F=0.0), default_F=0.0, interpolate=True
    )
    cfg.detector.xbeam_mm, cfg.detector.ybeam_mm = 0.5, 6.4
    return cfg


def detector_thick_abs(workdir: Path) -> Config:
    cfg = _base()
    cfg.sampling = SamplingConfig(oversample=2)
    cfg.detector.thickness_um, cfg.detector.attenuation_depth_um, cfg.detector.thicksteps = 450, 350, 3
    return cfg


def water_stol_dmin(workdir: Path) -> Config:
    cfg = _base()
    cfg.background = BackgroundConfig(water_um=0.05)
    cfg.sampling = SamplingConfig(dmin_A=14)
    return cfg


def noise_seed_adc_scale(workdir: Path) -> Config:
    cfg = _base()
    cfg.beam.fluence_photons_per_m2 = 5e30
    cfg.background = BackgroundConfig(water_um=0.01)
    cfg.output = OutputConfig(noise_seed=12345, adc_offset=10, int_scale=5, write_noise=True)
    return cfg


def mosaic_domains_seed(workdir: Path) -> Config:
    cfg = _base()
    c = cfg.crystal
    c.cell, c.misset_deg, c.n_cells = (80, 90, 100, 90, 90, 90), (3, -14, 27), (10, 10, 10)
    c.mosaic_spread_deg, c.mosaic_domains, c.mosaic_seed = 0.8, 12, 777
    cfg.detector.distance_mm, cfg.detector.detpixels = 120, (256, 256)
    return cfg


def misset_random_seed(workdir: Path) -> Config:
    cfg = _base()
    cfg.crystal.cell = (50, 60, 70, 90, 90, 90)
    cfg.crystal.misset_deg = None
    cfg.crystal.misset_random, cfg.crystal.misset_seed = True, 42
    return cfg


HAND_BUILT: Dict[str, Callable[[Path], Config]] = {
    f.__name__: f
    for f in (
        cubic_default_F,
        phi_start0_quirk,
        conv_custom_vectors_pivot_sample,
        quirk_interpolate_switchoff,
        detector_thick_abs,
        water_stol_dmin,
        noise_seed_adc_scale,
        mosaic_domains_seed,
        misset_random_seed,
    )
}


def hand_built(name: str, workdir: Path) -> Config:
    case(name).materialize_inputs(workdir)
    return HAND_BUILT[name](Path(workdir))


def rodrigues(axis, angle, v):
    """Independent rotation of v about a unit axis (for cross-checks, not bit-exact)."""
    axis = np.asarray(axis, dtype=float)
    v = np.asarray(v, dtype=float)
    return v * math.cos(angle) + np.cross(axis, v) * math.sin(angle) + axis * np.dot(axis, v) * (1 - math.cos(angle))
