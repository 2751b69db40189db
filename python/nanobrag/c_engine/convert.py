"""Config -> ``nb_config``: one table row per C field group.

:data:`CONFIG_TO_C` lists, for every field of the C struct ``nb_config``
(csrc/nanobrag.h), the Config fields it is made from and how.  The fields the
Config never sets (callbacks, the noise seed passed per call) are listed in
:data:`C_FIELDS_NOT_FROM_CONFIG`, the Config fields the C library never sees in
:data:`CONFIG_FIELDS_NOT_IN_C`; a test checks that the three together cover
both structures exactly, so a field added on one side only fails it.

The Config holds the user's numbers in the units of the legacy flags; the C
library converts them exactly as the legacy parser did, so nothing is
converted here.  ``None`` becomes the library's "unset" marker (NaN for reals,
-1 for counts).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..config import Config
from ..seeds import misset_seed
from ._ffi import ffi, lib
from .errors import CEngineConfigError

__all__ = [
    "CONFIG_TO_C",
    "C_FIELDS_NOT_FROM_CONFIG",
    "CONFIG_FIELDS_NOT_IN_C",
    "CONVENTIONS",
    "PIVOTS",
    "to_nb_config",
]

CONVENTIONS = {
    "CUSTOM": lib.NB_CONVENTION_CUSTOM,
    "ADXV": lib.NB_CONVENTION_ADXV,
    "MOSFLM": lib.NB_CONVENTION_MOSFLM,
    "XDS": lib.NB_CONVENTION_XDS,
    "DIALS": lib.NB_CONVENTION_DIALS,
    "DENZO": lib.NB_CONVENTION_DENZO,
}
PIVOTS = {"sample": lib.NB_PIVOT_SAMPLE, "beam": lib.NB_PIVOT_BEAM}
SHAPES = {
    "square": lib.NB_SHAPE_SQUARE,
    "round": lib.NB_SHAPE_ROUND,
    "gauss": lib.NB_SHAPE_GAUSS,
    "tophat": lib.NB_SHAPE_TOPHAT,
}
PHI_MODES = {"spec": lib.NB_PHI_MODE_SPEC, "c-parity": lib.NB_PHI_MODE_C_PARITY}


# ---------------------------------------------------------------- value conversions


def _num(x: Any) -> float:
    """Float value of a number or 0-d tensor (autograd detached); None -> NaN."""
    if x is None:
        return math.nan
    if hasattr(x, "detach"):
        return float(x.detach().cpu())
    return float(x)


def _count(x: Optional[Any]) -> int:
    return -1 if x is None else int(x)


def _numbers(name: str, v: Any, n: int) -> List[float]:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    values = [_num(x) for x in np.asarray(v, dtype=object).reshape(-1)]
    if len(values) != n:
        raise CEngineConfigError(f"{name} must hold {n} numbers, got {len(values)}")
    return values


def _choice(name: str, table: Dict[str, int]) -> Callable[[Any], int]:
    """The enum value of a name; the names were checked by nanobrag.validation (the one home of the rules)."""
    return table.__getitem__


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Rule:
    """``c_fields`` of nb_config are set from the Config fields ``config_paths`` by ``apply``.

    ``apply(cfg, keep, notes, *values)`` receives the values at ``config_paths``;
    it appends numpy buffers the struct points into to ``keep``.
    """

    c_fields: Tuple[str, ...]
    config_paths: Tuple[str, ...]
    apply: Callable[..., None]


def _scalar(c_field: str, path: str, convert: Callable[[Any], Any]) -> Rule:
    def apply(cfg, keep, notes, value):
        setattr(cfg, c_field, convert(value))

    return Rule((c_field,), (path,), apply)


def _real(c_field: str, path: str) -> Rule:
    return _scalar(c_field, path, _num)


def _counter(c_field: str, path: str) -> Rule:
    return _scalar(c_field, path, _count)


def _flag(c_field: str, path: str) -> Rule:
    return _scalar(c_field, path, lambda v: int(bool(v)))


def _array(c_field: str, path: str, n: int) -> Rule:
    def apply(cfg, keep, notes, value):
        getattr(cfg, c_field)[0:n] = _numbers(path, value, n)

    return Rule((c_field,), (path,), apply)


def _optional_vector(c_field: str, path: str) -> Rule:
    """``has_<field>`` and ``<field>[3]``: a vector that may be absent."""

    def apply(cfg, keep, notes, value):
        setattr(cfg, "has_" + c_field, 0 if value is None else 1)
        if value is not None:
            getattr(cfg, c_field)[0:3] = _numbers(path, value, 3)

    return Rule(("has_" + c_field, c_field), (path,), apply)


def _cell(cfg, keep, notes, cell):
    if cell is not None:
        cfg.has_cell = 1
        cfg.cell[0:6] = _numbers("crystal.cell", cell, 6)


def _mosflm_matrix(cfg, keep, notes, m):
    if m is None:
        return
    if hasattr(m, "detach"):
        m = m.detach().cpu().numpy()
    m = np.asarray(m, dtype=np.float64)
    if m.shape != (3, 3):
        raise CEngineConfigError(f"crystal.mosflm_matrix must be 3x3, got shape {m.shape}")
    cfg.has_mosflm_matrix = 1
    cfg.mosflm_matrix[0:9] = [float(v) for v in m.reshape(-1)]


def _misset(cfg, keep, notes, random, angles, seed):
    if random:
        cfg.misset_mode = lib.NB_MISSET_RANDOM
        cfg.misset_seed = misset_seed(seed, notes)
    elif angles is not None:
        cfg.misset_mode = lib.NB_MISSET_ANGLES
        cfg.misset_deg[0:3] = _numbers("crystal.misset_deg", angles, 3)


def _structure_factor_table(cfg, keep, notes, table):
    if table is None:
        return
    grid = table.as_numpy()
    keep.append(grid)
    cfg.fhkl = ffi.cast("const double *", ffi.from_buffer(grid))
    cfg.hkl_min[0:3] = list(table.hkl_min)
    cfg.hkl_count[0:3] = list(grid.shape)


def _source_table(cfg, keep, notes, sources):
    if sources is None:
        return
    rows = np.ascontiguousarray(sources.rows, dtype=np.float64)
    keep.append(rows)
    cfg.source_table = ffi.cast("const double *", ffi.from_buffer(rows))
    cfg.source_count = int(rows.shape[0])


def _detpixels(cfg, keep, notes, detpixels):
    if detpixels is not None:
        cfg.detpixels[0:2] = [int(v) for v in detpixels]


def _pairs(c_field: str, *paths: str) -> Rule:
    def apply(cfg, keep, notes, *values):
        getattr(cfg, c_field)[0:len(values)] = [_num(v) for v in values]

    return Rule((c_field,), paths, apply)


def _mask(cfg, keep, notes, mask):
    if mask is None:
        return
    mask = mask.detach().cpu().numpy() if hasattr(mask, "detach") else np.asarray(mask)
    if mask.ndim != 2:
        raise CEngineConfigError(f"detector.mask must be a 2-D (slow, fast) array, got {mask.ndim} dimensions")
    # only zero / non-zero matters to the legacy program
    mask = np.ascontiguousarray(mask != 0, dtype=np.uint16)
    keep.append(mask)
    cfg.mask = ffi.cast("const uint16_t *", ffi.from_buffer(mask))
    cfg.mask_pixels[0:2] = [int(mask.shape[1]), int(mask.shape[0])]


def _amorphous(cfg, keep, notes, sample):
    """The amorphous sample (the legacy nonBragg background); none leaves amorphous_points 0."""
    if sample is None:
        return
    stol = np.ascontiguousarray(sample.table.stol_per_m(), dtype=np.float64)
    F = np.ascontiguousarray(sample.table.F_or_nan(), dtype=np.float64)
    keep.extend((stol, F))
    cfg.amorphous_stol_per_m = ffi.cast("const double *", ffi.from_buffer(stol))
    cfg.amorphous_F = ffi.cast("const double *", ffi.from_buffer(F))
    cfg.amorphous_points = int(stol.size)
    cfg.amorphous_size_mm[0:3] = [_num(sample.thickness_mm), _num(sample.width_mm), _num(sample.height_mm)]
    cfg.amorphous_density_g_cm3 = _num(sample.density_g_cm3)
    cfg.amorphous_molecular_weight = _num(sample.molecular_weight_g_mol)
    cfg.amorphous_molecules = 0.0 if sample.molecules is None else _num(sample.molecules)
    cfg.amorphous_fmap = int(bool(sample.fmap))


def _roi(cfg, keep, notes, roi):
    if roi is not None:
        cfg.roi[0:4] = [int(v) for v in roi]


#: every nb_config field and the Config fields it comes from, in the struct's order
CONFIG_TO_C: Tuple[Rule, ...] = (
    # crystal
    Rule(("has_cell", "cell"), ("crystal.cell",), _cell),
    Rule(("has_mosflm_matrix", "mosflm_matrix"), ("crystal.mosflm_matrix",), _mosflm_matrix),
    Rule(("misset_mode", "misset_deg", "misset_seed"),
         ("crystal.misset_random", "crystal.misset_deg", "crystal.misset_seed"), _misset),
    _array("n_cells", "crystal.n_cells", 3),
    _array("crystal_size_mm", "crystal.size_mm", 3),
    _scalar("xtal_shape", "crystal.shape", _choice("crystal.shape", SHAPES)),
    _real("fudge", "crystal.fudge"),
    _real("mosaic_spread_deg", "crystal.mosaic_spread_deg"),
    _counter("mosaic_domains", "crystal.mosaic_domains"),
    _scalar("mosaic_seed", "crystal.mosaic_seed", int),
    # structure factors
    Rule(("fhkl", "hkl_min", "hkl_count"), ("structure_factors.table",), _structure_factor_table),
    _real("default_F", "structure_factors.default_F"),
    _scalar("interpolate", "structure_factors.interpolate", lambda v: -1 if v is None else int(bool(v))),
    # beam and sources
    _real("wavelength_A", "beam.wavelength_A"),
    _real("dispersion_percent", "beam.dispersion_percent"),
    _counter("dispersion_steps", "beam.dispersion_steps"),
    _real("hdiv_range_mrad", "beam.hdiv_range_mrad"),
    _real("hdiv_step_mrad", "beam.hdiv_step_mrad"),
    _counter("hdiv_steps", "beam.hdiv_steps"),
    _real("vdiv_range_mrad", "beam.vdiv_range_mrad"),
    _real("vdiv_step_mrad", "beam.vdiv_step_mrad"),
    _counter("vdiv_steps", "beam.vdiv_steps"),
    _flag("round_div", "beam.round_div"),
    Rule(("source_table", "source_count"), ("beam.sources",), _source_table),
    _real("fluence_photons_per_m2", "beam.fluence_photons_per_m2"),
    _real("flux_photons_per_s", "beam.flux_photons_per_s"),
    _real("exposure_s", "beam.exposure_s"),
    _real("beamsize_mm", "beam.beamsize_mm"),
    _real("kahn_factor", "beam.kahn_factor"),
    _flag("nopolar", "beam.nopolar"),
    _optional_vector("beam_vector", "beam.beam_vector"),
    _optional_vector("polar_vector", "beam.polar_vector"),
    # detector
    _scalar("convention", "detector.convention", _choice("detector.convention", CONVENTIONS)),
    _scalar("pivot", "detector.pivot", _choice("detector.pivot", PIVOTS)),
    _real("distance_mm", "detector.distance_mm"),
    _real("close_distance_mm", "detector.close_distance_mm"),
    _real("pixel_size_mm", "detector.pixel_size_mm"),
    _array("detsize_mm", "detector.detsize_mm", 2),
    Rule(("detpixels",), ("detector.detpixels",), _detpixels),
    _pairs("beam_center_mm", "detector.xbeam_mm", "detector.ybeam_mm"),
    _pairs("close_center_mm", "detector.xclose_mm", "detector.yclose_mm"),
    _pairs("org_px", "detector.orgx_px", "detector.orgy_px"),
    _optional_vector("fdet_vector", "detector.fdet_vector"),
    _optional_vector("sdet_vector", "detector.sdet_vector"),
    _optional_vector("odet_vector", "detector.odet_vector"),
    _optional_vector("twotheta_axis", "detector.twotheta_axis"),
    _optional_vector("spindle_axis", "sampling.spindle_axis"),
    _array("detector_rot_deg", "detector.rot_deg", 3),
    _real("twotheta_deg", "detector.twotheta_deg"),
    _flag("curved_detector", "detector.curved"),
    _flag("point_pixel", "detector.point_pixel"),
    _real("detector_thick_um", "detector.thickness_um"),
    _real("detector_abs_um", "detector.attenuation_depth_um"),
    _counter("detector_thicksteps", "detector.thicksteps"),
    Rule(("mask", "mask_pixels"), ("detector.mask",), _mask),
    Rule(("roi",), ("detector.roi",), _roi),
    # sampling
    _real("phi_start_deg", "sampling.phi_start_deg"),
    _real("osc_deg", "sampling.osc_deg"),
    _real("phi_step_deg", "sampling.phi_step_deg"),
    _counter("phi_steps", "sampling.phi_steps"),
    _counter("oversample", "sampling.oversample"),
    _flag("oversample_thick", "sampling.oversample_thick"),
    _flag("oversample_polar", "sampling.oversample_polar"),
    _flag("oversample_omega", "sampling.oversample_omega"),
    _real("dmin_A", "sampling.dmin_A"),
    _scalar("phi_mode", "phi_mode", _choice("phi_mode", PHI_MODES)),
    # background
    _real("water_um", "background.water_um"),
    Rule(("amorphous_stol_per_m", "amorphous_F", "amorphous_points", "amorphous_size_mm",
          "amorphous_density_g_cm3", "amorphous_molecular_weight", "amorphous_molecules", "amorphous_fmap"),
         ("amorphous",), _amorphous),
)

#: nb_config fields that do not come from the Config, and why
C_FIELDS_NOT_FROM_CONFIG = {
    "noise_seed": "the noise calls take the seed as an argument (nanobrag.seeds.noise_seed resolves it)",
    "log": "set by the binding to collect warnings",
    "progress": "set by the binding from simulate(progress=...)",
    "callback_user": "unused by the binding (its callbacks are bound methods)",
}

#: Config fields the C library never sees, and why
CONFIG_FIELDS_NOT_IN_C = {
    "detector.pix0_vector_m": "the legacy program only switches to CUSTOM on -pix0_vector; the parser handles that",
    "background.amorphous": "nonBragg's amorphous table is not part of the nanoBragg C engine",
    "output": "output settings are applied to the rendered image (nanobrag.outputs), not by the engine",
    "response": "the detector response is applied to the rendered image (nanobrag.detector_response)",
    "engine": "chooses the engine",
    "device": "torch engine only",
    "dtype": "torch engine only",
}


def _value_at(config: Config, path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        value = getattr(value, part)
    return value


def to_nb_config(config: Config, notes: Optional[List[str]] = None) -> Tuple[Any, List[Any]]:
    """Translate a Config into a freshly allocated ``nb_config``.

    Parameters
    ----------
    config : Config
        The user-level inputs.
    notes : list of str, optional
        Receives a note when a missing misset seed (``misset_random`` without
        ``misset_seed``) is taken from the clock, as the legacy program does.

    Returns
    -------
    cdata : cffi ``nb_config *``
        The struct, initialised by ``nb_config_init`` then filled row by row
        from :data:`CONFIG_TO_C`.
    keepalive : list
        The numpy buffers the struct points into; keep them alive as long as
        the struct is used.
    """
    cfg = ffi.new("nb_config *")
    lib.nb_config_init(cfg)
    keep: List[Any] = []
    for rule in CONFIG_TO_C:
        rule.apply(cfg, keep, notes, *(_value_at(config, p) for p in rule.config_paths))
    return cfg, keep
