"""Per-shot parameters: a pure function of (description, shot index).

Each varied quantity has its own random stream,
``numpy.random.Generator(PCG64(SeedSequence(seed, spawn_key=(shot, stream))))``,
so a shot's draws depend on nothing but the dataset seed, the shot index and
the quantity -- not on the worker, the order of execution, retries, or which
other quantities vary.  The values become legacy options appended to the base
arguments (:func:`shot_args`); floats are written with ``repr`` so that
parsing them gives back the very same doubles, which is what makes one
``nanobrag`` command line reproduce a stored frame bit for bit.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..config import Config
from .spec import DatasetSpec

__all__ = ["ShotParameters", "shot_parameters", "shot_args", "shot_config", "shot_command", "source_rows",
           "source_file_text",
           "random_misset_deg", "misset_rotation", "STREAMS"]

#: stream numbers of the varied quantities (part of the file format: never renumber)
STREAMS = {
    "orientation": 0,
    "n_cells": 1,
    "mosaic": 2,
    "fluence": 3,
    "wavelength": 4,
    "distance": 5,
    "beam_center": 6,
    "noise": 7,
    "spectrum": 8,
}
#: the legacy source distance (m): a source sits there against the beam; only the direction matters
SOURCE_DISTANCE_M = 10.0
#: Gaussian FWHM / sigma
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_SEED_MAX = 2**31 - 1  # legacy seeds are C ints


@dataclass(frozen=True)
class ShotParameters:
    """What one shot sets on top of the base arguments (None: the base's value)."""

    shot: int
    #: misset rotation about x, then y, then z (degrees)
    misset_deg: Optional[Tuple[float, float, float]] = None
    n_cells: Optional[int] = None
    mosaic_spread_deg: Optional[float] = None
    mosaic_seed: Optional[int] = None
    fluence_photons_per_m2: Optional[float] = None
    wavelength_A: Optional[float] = None
    distance_mm: Optional[float] = None
    xbeam_mm: Optional[float] = None
    ybeam_mm: Optional[float] = None
    phi_deg: Optional[float] = None
    osc_deg: Optional[float] = None
    #: Poisson-noise seed (``-seed``): drawn for every shot, used when the stored image is "noise"
    noise_seed: int = 0
    #: wavelengths of the spectrum's lines (Angstrom), one source each
    spectrum_A: Optional[Tuple[float, ...]] = None

    def as_row(self) -> Dict[str, Any]:
        """Flat dict for the ground-truth table."""
        row = asdict(self)
        m = row.pop("misset_deg")
        row["misset_x_deg"], row["misset_y_deg"], row["misset_z_deg"] = m if m is not None else (None,) * 3
        row["spectrum_A"] = None if self.spectrum_A is None else " ".join(repr(x) for x in self.spectrum_A)
        return row


def _stream(spec: DatasetSpec, shot: int, name: str) -> np.random.Generator:
    ss = np.random.SeedSequence(spec.seed, spawn_key=(shot, STREAMS[name]))
    return np.random.Generator(np.random.PCG64(ss))


def random_misset_deg(rng: np.random.Generator) -> Tuple[float, float, float]:
    """Misset angles (degrees) of a rotation uniform on SO(3).

    The legacy misset is R = Rz(gamma) Ry(beta) Rx(alpha).  In these angles the
    Haar measure is cos(beta) d(alpha) d(beta) d(gamma), so alpha and gamma are
    uniform on [-180, 180) and sin(beta) is uniform on [-1, 1].
    """
    alpha, gamma = rng.uniform(-math.pi, math.pi, size=2)
    beta = math.asin(rng.uniform(-1.0, 1.0))
    return (math.degrees(alpha), math.degrees(beta), math.degrees(gamma))


def misset_rotation(misset_deg) -> np.ndarray:
    """The 3x3 rotation the engines apply for misset angles (x, then y, then z; degrees)."""
    ax, ay, az = (math.radians(float(a)) for a in misset_deg)
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def shot_parameters(spec: DatasetSpec, shot: int, base: Optional[Config] = None) -> ShotParameters:
    """The drawn parameters of shot ``shot`` (0-based).

    ``base`` is ``spec.base_config()``; pass it to avoid parsing the base
    arguments again when it is needed (fluence, wavelength, distance, beam centre).
    """
    shot = int(shot)
    if not 0 <= shot < spec.shots:
        raise IndexError(f"shot index {shot} outside 0..{spec.shots - 1}")
    v = spec.vary
    needs_base = v.fluence_rel_sigma > 0 or v.wavelength_rel_sigma > 0 or v.distance_sigma_mm > 0 \
        or v.beam_center_sigma_mm > 0 or v.spectrum != "none"
    if needs_base and base is None:
        base = spec.base_config()
    p: Dict[str, Any] = {"shot": shot}
    if v.orientation == "random":
        # a rotation series turns one crystal: its orientation is drawn once (shot 0's stream)
        p["misset_deg"] = random_misset_deg(_stream(spec, 0 if spec.kind == "rotation" else shot, "orientation"))
    if v.n_cells is not None:
        lo, hi = v.n_cells
        p["n_cells"] = int(_stream(spec, shot, "n_cells").integers(lo, hi, endpoint=True))
    if v.mosaic_spread_deg is not None:
        rng = _stream(spec, shot, "mosaic")
        lo, hi = v.mosaic_spread_deg
        p["mosaic_spread_deg"] = float(rng.uniform(lo, hi)) if hi > lo else lo
        p["mosaic_seed"] = int(rng.integers(1, _SEED_MAX, endpoint=True))
    if v.fluence_rel_sigma > 0:
        s = v.fluence_rel_sigma
        z = _stream(spec, shot, "fluence").standard_normal()
        p["fluence_photons_per_m2"] = float(base.beam.fluence_photons_per_m2) * math.exp(s * z - 0.5 * s * s)
    if v.wavelength_rel_sigma > 0:
        z = _stream(spec, shot, "wavelength").standard_normal()
        p["wavelength_A"] = float(base.beam.wavelength_A) * (1.0 + v.wavelength_rel_sigma * z)
    if v.distance_sigma_mm > 0:
        z = _stream(spec, shot, "distance").standard_normal()
        p["distance_mm"] = float(base.detector.distance_mm) + v.distance_sigma_mm * z
    if v.beam_center_sigma_mm > 0:
        zx, zy = _stream(spec, shot, "beam_center").standard_normal(2)
        p["xbeam_mm"] = float(base.detector.xbeam_mm) + v.beam_center_sigma_mm * float(zx)
        p["ybeam_mm"] = float(base.detector.ybeam_mm) + v.beam_center_sigma_mm * float(zy)
    if v.spectrum == "sase":
        centre = p.get("wavelength_A", float(base.beam.wavelength_A))
        sigma = centre * v.spectrum_bandwidth_percent / 100.0 / _FWHM_PER_SIGMA
        z = _stream(spec, shot, "spectrum").standard_normal(v.spectrum_spikes)
        p["spectrum_A"] = tuple(sorted(centre + sigma * float(x) for x in z))
    if spec.kind == "rotation":
        p["phi_deg"] = spec.phi0_deg + shot * spec.osc_deg
        p["osc_deg"] = spec.osc_deg
    p["noise_seed"] = int(_stream(spec, shot, "noise").integers(1, _SEED_MAX, endpoint=True))
    return ShotParameters(**p)


def _num(x: float) -> str:
    text = repr(float(x))
    if not math.isfinite(float(x)):
        raise ValueError(f"non-finite shot parameter {x!r}")
    return text


def shot_args(spec: DatasetSpec, shot: int, params: Optional[ShotParameters] = None) -> List[str]:
    """Legacy options shot ``shot`` appends to ``[base] args`` (later options win)."""
    p = params if params is not None else shot_parameters(spec, shot)
    out: List[str] = []
    if p.misset_deg is not None:
        out += ["-misset", *(_num(a) for a in p.misset_deg)]
    if p.n_cells is not None:
        out += ["-N", str(p.n_cells)]
    if p.mosaic_spread_deg is not None:
        out += ["-mosaic", _num(p.mosaic_spread_deg), "-mosaic_seed", str(p.mosaic_seed)]
    if p.fluence_photons_per_m2 is not None:
        out += ["-fluence", _num(p.fluence_photons_per_m2)]
    if p.wavelength_A is not None:
        out += ["-lambda", _num(p.wavelength_A)]
    if p.distance_mm is not None:
        out += ["-distance", _num(p.distance_mm)]
    if p.xbeam_mm is not None:
        out += ["-Xbeam", _num(p.xbeam_mm), "-Ybeam", _num(p.ybeam_mm)]
    if p.phi_deg is not None:
        out += ["-phi", _num(p.phi_deg), "-osc", _num(p.osc_deg)]
    if spec.image == "noise":
        out += ["-seed", str(p.noise_seed)]
    return out


def source_rows(spec: DatasetSpec, params: ShotParameters) -> Optional[np.ndarray]:
    """The shot's ``-sourcefile`` table (X, Y, Z in m, weight, wavelength in m), or None without a spectrum.

    Every line sits ``SOURCE_DISTANCE_M`` against the base's beam direction
    (the legacy default position) with weight 1 (the engines ignore weights).
    """
    if params.spectrum_A is None:
        return None
    from ..c_engine.engine import geometry

    beam = np.asarray(geometry(spec.base_config()).beam_vector, dtype=np.float64)
    rows = np.empty((len(params.spectrum_A), 5))
    rows[:, :3] = -SOURCE_DISTANCE_M * beam
    rows[:, 3] = 1.0
    rows[:, 4] = np.asarray(params.spectrum_A) * 1e-10
    return rows


def source_file_text(rows: np.ndarray) -> str:
    """A source table as ``-sourcefile`` text whose numbers parse back to the same doubles."""
    return "".join(" ".join(repr(float(x)) for x in row) + "\n" for row in rows)


def shot_config(spec: DatasetSpec, shot: int, params: Optional[ShotParameters] = None) -> Config:
    """The Config of shot ``shot``: ``Config.from_args(base args + shot_args)``.

    With a per-shot spectrum its source table is set as ``-sourcefile`` would
    set it (:func:`source_rows`).  ``nanobrag.simulate(shot_config(spec, i))``
    renders exactly the stored frame ``i`` (the noise image, when the dataset
    stores one, is ``result.noise_image()``: the shot's ``-seed`` is in the Config).
    """
    from ..tables import SourceTable

    p = params if params is not None else shot_parameters(spec, shot)
    config = Config.from_args(list(spec.base_args) + shot_args(spec, shot, p), cwd=spec.base_dir)
    rows = source_rows(spec, p)
    if rows is not None:
        config.beam.sources = SourceTable(rows=rows, source=f"spectrum of shot {shot}")
    return config


def shot_command(spec: DatasetSpec, shot: int, sources_file: Optional[str] = None) -> List[str]:
    """The ``nanobrag`` command line (argv, program name first) that renders shot ``shot``.

    Run it in ``spec.base_dir`` (input file names are relative to the description).
    Its ``-floatfile`` (or, for "noise" datasets, ``-noisefile``) holds the stored frame.
    A dataset with a per-shot spectrum needs the shot's source list: ``sources_file``
    names the file (write it with :func:`source_file_text` of :func:`source_rows`).
    """
    p = shot_parameters(spec, shot)
    argv = ["nanobrag", *spec.base_args, *shot_args(spec, shot, p)]
    if p.spectrum_A is not None:
        if sources_file is None:
            raise ValueError(f"shot {shot} has its own spectrum: give sources_file, the -sourcefile it needs")
        argv += ["-sourcefile", sources_file]
    return argv
