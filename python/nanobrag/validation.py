"""The one check of a :class:`~nanobrag.Config`, run by both engines before any work.

Every refusal is a :class:`~nanobrag.ConfigError` naming the Config field and
the command-line flag that sets it, and saying what was expected.  The rules
cover types (a number where a number is due), finiteness, domains
(wavelength > 0, a cell with volume, distance not 0, ...) and resource limits
estimated before anything is allocated (pixel counts, sub-pixels, loop steps,
threads, the structure-factor grid).  The C library keeps its own guards (it
must never compute undefined behaviour whoever calls it), but the rules of
the Python package live here.

:func:`check_image_finite` is the other half of "no silent non-finite image":
a rendered image holding inf or NaN is refused with the inputs that overflow.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .config import (CONVENTIONS, CRYSTAL_SHAPES, DTYPES, ENGINES, PHI_MODES, PIVOTS, PSF_TYPES, Config, ConfigError,
                     set_validators)

__all__ = [
    "validate_config",
    "check_nthreads",
    "check_image_finite",
    "check_statistics_finite",
    "check_grid_size",
    "missing_inputs",
    "pixel_counts",
    "NonFiniteImageError",
    "FLAGS_OF",
    "MAX_PIXELS",
    "MAX_PIXELS_PER_AXIS",
    "MAX_OVERSAMPLE",
    "MAX_STEPS",
    "MAX_GRID_POINTS",
    "MAX_ABS_F",
    "MAX_THREADS",
]

#: pixels per detector axis and per image (a float32 image of MAX_PIXELS is 1 GiB)
MAX_PIXELS_PER_AXIS = 1_000_000
MAX_PIXELS = 2**28
#: sub-pixels per pixel edge (given or auto-selected), as the C library's limit
MAX_OVERSAMPLE = 1000
#: phi steps, mosaic domains and per-axis divergence/dispersion/layer steps
MAX_STEPS = 1_000_000
MAX_AXIS_STEPS = 100_000
#: points of the dense structure-factor grid (float64: 2 GiB)
MAX_GRID_POINTS = 2**28
#: the largest |F| a structure-factor file may hold (electrons): F^2 beyond 1e38 overflows the float32 image
MAX_ABS_F = 1e19
#: wavelengths (Angstrom) outside this range are absurd for X-rays and break the arithmetic
MIN_WAVELENGTH_A, MAX_WAVELENGTH_A = 1e-6, 1e6
#: OpenMP / torch threads
MAX_THREADS = 256


class NonFiniteImageError(ConfigError):
    """The rendered image would hold inf or NaN: the inputs overflow the arithmetic (a ConfigError)."""


#: Config field -> the flag(s) that set it, for messages
FLAGS_OF = {
    "crystal.cell": "-cell",
    "crystal.mosflm_matrix": "-mat",
    "crystal.misset_deg": "-misset",
    "crystal.misset_seed": "-misset_seed",
    "crystal.n_cells": "-N/-Na/-Nb/-Nc",
    "crystal.size_mm": "-xtal_size/-xtal_width/-xtal_height/-xtal_thick",
    "crystal.shape": "-square_xtal/-round_xtal/-gauss_xtal/-tophat_spots",
    "crystal.fudge": "-fudge",
    "crystal.mosaic_spread_deg": "-mosaic",
    "crystal.mosaic_domains": "-mosaic_domains",
    "crystal.mosaic_seed": "-mosaic_seed",
    "structure_factors.table": "-hkl or the Fdump cache",
    "structure_factors.default_F": "-default_F",
    "beam.wavelength_A": "-lambda/-energy or the -img header WAVELENGTH",
    "beam.dispersion_percent": "-dispersion",
    "beam.dispersion_steps": "-dispsteps",
    "beam.hdiv_range_mrad": "-hdivrange/-divergence",
    "beam.hdiv_step_mrad": "-hdivstep",
    "beam.hdiv_steps": "-hdivsteps/-divsteps",
    "beam.vdiv_range_mrad": "-vdivrange/-divergence",
    "beam.vdiv_step_mrad": "-vdivstep",
    "beam.vdiv_steps": "-vdivsteps/-divsteps",
    "beam.sources": "-sourcefile",
    "beam.fluence_photons_per_m2": "-fluence",
    "beam.flux_photons_per_s": "-flux",
    "beam.exposure_s": "-exposure",
    "beam.beamsize_mm": "-beamsize",
    "beam.kahn_factor": "-polar",
    "beam.beam_vector": "-beam_vector",
    "beam.polar_vector": "-polar_vector",
    "detector.distance_mm": "-distance or the -img header DISTANCE",
    "detector.close_distance_mm": "-close_distance or the -img header CLOSE_DISTANCE",
    "detector.pixel_size_mm": "-pixel or the -img/-mask header PIXEL_SIZE",
    "detector.detsize_mm": "-detsize/-detsize_f/-detsize_s",
    "detector.detpixels": "-detpixels/-detpixels_f/-detpixels_s or the -img/-mask size",
    "detector.xbeam_mm": "-Xbeam or the -img header BEAM_CENTER_X",
    "detector.ybeam_mm": "-Ybeam or the -img header BEAM_CENTER_Y",
    "detector.xclose_mm": "-Xclose",
    "detector.yclose_mm": "-Yclose",
    "detector.orgx_px": "-ORGX or the -img header ORGX",
    "detector.orgy_px": "-ORGY or the -img header ORGY",
    "detector.fdet_vector": "-fdet_vector",
    "detector.sdet_vector": "-sdet_vector",
    "detector.odet_vector": "-odet_vector",
    "detector.twotheta_axis": "-twotheta_axis",
    "detector.pix0_vector_m": "-pix0_vector",
    "detector.rot_deg": "-detector_rotx/-detector_roty/-detector_rotz",
    "detector.twotheta_deg": "-twotheta",
    "detector.thickness_um": "-detector_thick",
    "detector.attenuation_depth_um": "-detector_abs",
    "detector.thicksteps": "-detector_thicksteps",
    "detector.mask": "-mask",
    "detector.roi": "-roi",
    "sampling.spindle_axis": "-spindle_axis",
    "sampling.phi_start_deg": "-phi or the -img header PHI",
    "sampling.osc_deg": "-osc or the -img header OSC_RANGE",
    "sampling.phi_step_deg": "-phistep",
    "sampling.phi_steps": "-phisteps",
    "sampling.oversample": "-oversample",
    "sampling.dmin_A": "-dmin",
    "amorphous.table": "-amorphous_stol/-amorphous_4stol/-amorphous_Q",
    "amorphous.thickness_mm": "-amorphous_thick",
    "amorphous.width_mm": "-amorphous_width",
    "amorphous.height_mm": "-amorphous_height",
    "amorphous.density_g_cm3": "-amorphous_density",
    "amorphous.molecular_weight_g_mol": "-amorphous_MW",
    "amorphous.molecules": "-amorphous_molecules",
    "response.psf_type": "-psf",
    "response.psf_fwhm_um": "-psf_fwhm",
    "response.psf_radius_px": "-psf_radius",
    "response.readout_noise_adu": "-readout_noise",
    "response.flicker_noise": "-flicker",
    "response.calibration_noise": "-calibration",
    "response.gain_adu_per_photon": "-gain",
    "output.nxmx_data": "-nxmx_data",
    "output.nxmx_compression": "-nxmx_compression",
    "output.saturation": "-saturation",
    "output.png_scale": "-png_scale",
    "background.water_um": "-water",
    "output.noise_seed": "-seed",
    "output.adc_offset": "-adc",
    "output.int_scale": "-scale",
    "output.pgm_scale": "-pgmscale",
    "output.printout_pixel": "-printout_pixel",
    "phi_mode": "-phi_mode",
    "engine": "-engine",
    "device": "-device",
    "dtype": "-dtype",
}


def _name(field: str) -> str:
    flag = FLAGS_OF.get(field)
    return f"{field} ({flag})" if flag else field


def _fail(field: str, text: str) -> ConfigError:
    return ConfigError(f"{_name(field)} {text}")


def _float(field: str, value: Any) -> float:
    """The float value of a number or a 0-d tensor; a ConfigError for anything else."""
    if hasattr(value, "detach"):
        if value.numel() != 1:
            raise _fail(field, f"must be one number, got a tensor of shape {tuple(value.shape)}")
        return float(value.detach().cpu())
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise _fail(field, f"must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise _fail(field, f"must be a number, got {value!r}") from None


def _number(field: str, value: Any, *, low: Optional[float] = None, low_open: bool = False,
            nonzero: bool = False, unit: str = "", optional: bool = False, allow_inf: bool = False) -> Optional[float]:
    if value is None and optional:
        return None
    x = _float(field, value)
    what = "a finite number" if not allow_inf else "a number"
    if low is not None:
        what += f" {'>' if low_open else '>='} {low:g}"
    if nonzero:
        what += " other than 0"
    if unit:
        what += f" ({unit})"
    bad = math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0))
    if low is not None and not bad:
        bad = x < low or (low_open and x == low)
    if nonzero and x == 0.0:
        bad = True
    if bad:
        raise _fail(field, f"must be {what}, got {x:g}")
    return x


def _integer(field: str, value: Any, *, low: Optional[int] = None, high: Optional[int] = None,
             optional: bool = False, what: str = "") -> Optional[int]:
    if value is None and optional:
        return None
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise _fail(field, f"must be an integer, got {value!r}")
    try:
        x = float(value) if not isinstance(value, (int, np.integer)) else value
    except (TypeError, ValueError):
        raise _fail(field, f"must be an integer, got {value!r}") from None
    if isinstance(x, float) and (not math.isfinite(x) or x != int(x)):
        raise _fail(field, f"must be an integer, got {value!r}")
    n = int(x)
    if (low is not None and n < low) or (high is not None and n > high):
        lo = "" if low is None else f" >= {low}"
        hi = "" if high is None else f" <= {high}"
        raise _fail(field, f"must be an integer{lo}{' and' if lo and hi else ''}{hi}{what}, got {n}")
    return n


def _numbers(field: str, value: Any, n: int, *, optional: bool = False, nonzero_vector: bool = False,
             **rules) -> Optional[Tuple[float, ...]]:
    if value is None and optional:
        return None
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes)) or value is None:
        raise _fail(field, f"must hold {n} numbers, got {value!r}")
    try:
        if isinstance(value, (list, tuple)):  # keeps tensors (perhaps requiring grad) as they are
            items = list(value)
        else:
            items = list(np.asarray(value, dtype=object).reshape(-1))
    except (TypeError, ValueError):
        raise _fail(field, f"must hold {n} numbers, got {value!r}") from None
    if len(items) != n:
        raise _fail(field, f"must hold {n} numbers, got {len(items)}")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(_number(field, item, **rules))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (value {i + 1} of {n})") from None
    if nonzero_vector:
        length_sqr = sum(x * x for x in out)  # as the engines normalize it: must neither vanish nor overflow
        if not (0.0 < length_sqr < math.inf):
            raise _fail(field, f"must have a finite, non-zero length (its direction is used), got "
                        f"{' '.join(f'{x:g}' for x in out)}")
    return tuple(out)


def _choice(field: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise _fail(field, f"must be one of {', '.join(choices)}; got {value!r}")


# ---------------------------------------------------------------- the check


def validate_config(config: Config, resources: bool = False) -> Config:
    """Check every field of ``config``; raise :class:`ConfigError` naming the field and flag.

    resources: also refuse work the engines would not do (the auto-selected
    oversampling beyond MAX_OVERSAMPLE); both engines check with True before
    rendering, a parse of the command line with False.
    Returns the config unchanged.
    """
    if not isinstance(config, Config):
        raise ConfigError(f"expected a nanobrag.Config, got {type(config).__name__}")
    _choice("phi_mode", config.phi_mode, PHI_MODES)
    _choice("engine", config.engine, ENGINES)
    _choice("dtype", config.dtype, DTYPES)
    if not isinstance(config.device, str):
        raise _fail("device", f"must be a device name such as 'cpu' or 'cuda:0', got {config.device!r}")
    _crystal(config)
    _structure_factors(config)
    _beam(config)
    pixels = _detector(config)
    _sampling(config, pixels, resources)
    _number("background.water_um", config.background.water_um, low=0.0, unit="um")
    o = config.output
    _integer("output.noise_seed", o.noise_seed, optional=True)
    _number("output.adc_offset", o.adc_offset, unit="ADU")
    _number("output.int_scale", o.int_scale, optional=True)
    _number("output.pgm_scale", o.pgm_scale, optional=True)
    if o.printout_pixel is not None:
        _numbers("output.printout_pixel", o.printout_pixel, 2)
    _choice("output.nxmx_data", o.nxmx_data, ("float32", "int32"))
    _choice("output.nxmx_compression", o.nxmx_compression, ("gzip", "bitshuffle-lz4", "none"))
    _choice("output.png_scale", o.png_scale, ("legacy", "log"))
    _integer("output.saturation", o.saturation, low=1, high=2**31 - 1, optional=True)
    if config.amorphous is not None:
        _amorphous(config.amorphous)
    validate_response(config.response)
    return config


def _amorphous(a) -> None:
    from .tables import AmorphousTable

    if not isinstance(a.table, AmorphousTable):
        raise _fail("amorphous.table", f"must be an AmorphousTable (nanobrag.io.read_stol_table), got "
                    f"{type(a.table).__name__}")
    stol = a.table.stol_per_m()
    if not np.all(np.isfinite(stol)) or np.any(np.diff(stol) <= 0):
        raise _fail("amorphous.table", f"({a.table.source or 'in memory'}): sin(theta)/lambda must be finite and "
                    "increase strictly down the table")
    for name in ("thickness_mm", "width_mm", "height_mm"):
        _number(f"amorphous.{name}", getattr(a, name), low=0.0, unit="mm")
    _number("amorphous.molecular_weight_g_mol", a.molecular_weight_g_mol, low=0.0, low_open=True, unit="g/mol")
    _number("amorphous.density_g_cm3", a.density_g_cm3, low=0.0, unit="g/cm^3")
    _number("amorphous.molecules", a.molecules, optional=True)


def validate_response(r) -> None:
    """Check a :class:`~nanobrag.config.DetectorResponseConfig` (the detector response section)."""
    _choice("response.psf_type", r.psf_type, PSF_TYPES)
    for name in ("psf_fwhm_um", "readout_noise_adu", "flicker_noise", "calibration_noise"):
        _number(f"response.{name}", getattr(r, name), low=0.0)
    for name in ("gain_adu_per_photon", "photon_scale"):
        _number(f"response.{name}", getattr(r, name))
    _integer("response.psf_radius_px", r.psf_radius_px, low=0, what=" (0 = automatic)")
    _integer("response.bits", r.bits)


def missing_inputs(config: Config) -> Tuple[str, ...]:
    """What a run lacks to scatter from, the legacy rule: ``"structure_factors"`` and/or ``"crystal"``.

    A crystal (cell or matrix) and structure factors (a table or a nonzero
    default_F) are needed, except by an amorphous sample alone (no crystal).
    The command line and :func:`validate_config` word the refusal their own way.
    """
    c, sf = config.crystal, config.structure_factors
    crystal = c.cell is not None or c.mosflm_matrix is not None
    if not crystal and config.amorphous is not None:
        return ()
    missing = []
    if sf.table is None and _is_zero(sf.default_F):
        missing.append("structure_factors")
    if not crystal:
        missing.append("crystal")
    return tuple(missing)


def _is_zero(value: Any) -> bool:
    try:
        return float(value.detach().cpu() if hasattr(value, "detach") else value) == 0.0
    except (TypeError, ValueError):
        return False  # not a number: the field's own check names it


def _crystal(config: Config) -> None:
    c = config.crystal
    _choice("crystal.shape", c.shape, CRYSTAL_SHAPES)
    if "crystal" in missing_inputs(config):
        raise ConfigError("crystal: give a unit cell (crystal.cell, -cell) or an orientation matrix "
                          "(crystal.mosflm_matrix, -mat)")
    if c.cell is not None:
        cell = _numbers("crystal.cell", c.cell, 6)
        for i, x in enumerate(cell[:3]):
            if not x > 0:
                raise _fail("crystal.cell", f"edge {'abc'[i]} must be > 0 Angstrom, got {x:g}")
        for i, x in enumerate(cell[3:]):
            if not 0 < x < 180:
                raise _fail("crystal.cell", f"angle {('alpha', 'beta', 'gamma')[i]} must lie between 0 and 180 "
                            f"degrees, got {x:g}")
        ca, cb, cg = (math.cos(math.radians(x)) for x in cell[3:])
        shape = 1.0 - ca * ca - cb * cb - cg * cg + 2.0 * ca * cb * cg
        volume = cell[0] * cell[1] * cell[2] * math.sqrt(shape) if shape > 0 else 0.0
        if not (math.isfinite(volume) and volume > 0):
            raise _fail("crystal.cell", f"{' '.join(f'{x:g}' for x in cell)} has no finite volume (the angles "
                        "cannot close a cell, or the edges overflow)")
    if c.mosflm_matrix is not None:
        m = c.mosflm_matrix
        if hasattr(m, "detach"):
            m = m.detach().cpu().numpy()
        try:
            m = np.asarray(m, dtype=np.float64)
        except (TypeError, ValueError):
            raise _fail("crystal.mosflm_matrix", f"must be a 3x3 array of numbers, got {c.mosflm_matrix!r}") from None
        if m.shape != (3, 3):
            raise _fail("crystal.mosflm_matrix", f"must be 3x3, got shape {m.shape}")
        if not np.isfinite(m).all():
            raise _fail("crystal.mosflm_matrix", "must hold finite numbers")
        det = float(np.linalg.det(m))
        if not (math.isfinite(det) and det != 0.0):
            raise _fail("crystal.mosflm_matrix", "is singular: its reciprocal cell has no volume")
    _numbers("crystal.misset_deg", c.misset_deg, 3, optional=True, unit="degrees")
    _integer("crystal.misset_seed", c.misset_seed, optional=True)
    _numbers("crystal.n_cells", c.n_cells, 3, low=0.0, unit="unit cells")
    _numbers("crystal.size_mm", c.size_mm, 3, low=0.0, unit="mm")
    _number("crystal.fudge", c.fudge, low=0.0, low_open=True, unit="reciprocal-radius factor")
    spread = _number("crystal.mosaic_spread_deg", c.mosaic_spread_deg, low=0.0, unit="degrees", optional=True)
    if spread is not None and spread > 180.0:
        raise _fail("crystal.mosaic_spread_deg", f"must be at most 180 degrees (a rotation spread), got {spread:g}")
    _integer("crystal.mosaic_domains", c.mosaic_domains, low=0, high=MAX_STEPS, optional=True)
    _integer("crystal.mosaic_seed", c.mosaic_seed)


def _structure_factors(config: Config) -> None:
    sf = config.structure_factors
    _number("structure_factors.default_F", sf.default_F, unit="electrons")
    if "structure_factors" in missing_inputs(config):  # after _crystal: a crystal is given here
        raise ConfigError(
            "structure factors: no HKL table (structure_factors.table: -hkl FILE or the Fdump cache) and "
            "structure_factors.default_F (-default_F) is 0, so every pixel would be 0; give -hkl FILE or -default_F F"
        )
    if sf.table is not None:
        where = f" (read from {sf.table.source})" if getattr(sf.table, "source", None) else ""
        check_grid_size(sf.table.shape, f"structure_factors.table{where}")
        grid = sf.table.as_numpy()
        bad = ~np.isfinite(grid)
        if bad.any():
            i = tuple(int(v) for v in np.argwhere(bad)[0])
            hkl = tuple(lo + k for lo, k in zip(sf.table.hkl_min, i))
            raise _fail("structure_factors.table", f"holds a non-finite F ({grid[i]}) at h k l = {hkl[0]} {hkl[1]} "
                        f"{hkl[2]}{where}")


def check_grid_size(shape: Iterable[int], what: str) -> None:
    """Refuse a structure-factor grid of more than MAX_GRID_POINTS points, before it is allocated."""
    shape = [int(n) for n in shape]
    points = math.prod(shape)
    if points > MAX_GRID_POINTS:
        raise ConfigError(
            f"{what}: the Miller-index ranges span a {' x '.join(map(str, shape))} grid = {points:.3g} points "
            f"({points * 8 / 2**30:.3g} GiB of float64); the limit is {MAX_GRID_POINTS:.3g} points. "
            "Check the file for an absurd index"
        )


def _beam(config: Config) -> None:
    b = config.beam
    lam = _number("beam.wavelength_A", b.wavelength_A, low=0.0, low_open=True, unit="Angstrom")
    if not MIN_WAVELENGTH_A <= lam <= MAX_WAVELENGTH_A:
        raise _fail("beam.wavelength_A", f"must lie between {MIN_WAVELENGTH_A:g} and {MAX_WAVELENGTH_A:g} Angstrom, "
                    f"got {lam:g}")
    dispersion = _number("beam.dispersion_percent", b.dispersion_percent, low=0.0, unit="percent")
    if dispersion >= 200.0:  # the spread runs from lambda * (1 - dispersion/2): it must stay > 0
        raise _fail("beam.dispersion_percent", f"must be below 200 percent (the shortest wavelength of the spread "
                    f"would be <= 0), got {dispersion:g}")
    for name in ("dispersion_steps", "hdiv_steps", "vdiv_steps"):
        _integer(f"beam.{name}", getattr(b, name), optional=True, high=MAX_AXIS_STEPS)
    for name in ("hdiv_range_mrad", "hdiv_step_mrad", "vdiv_range_mrad", "vdiv_step_mrad"):
        _number(f"beam.{name}", getattr(b, name), low=0.0, unit="mrad", optional=True)
    if b.sources is not None:
        rows = np.asarray(b.sources.rows, dtype=np.float64)
        where = f" ({b.sources.source})" if getattr(b.sources, "source", None) else ""
        if rows.ndim != 2 or rows.shape[1] != 5 or rows.shape[0] < 1:
            raise _fail("beam.sources", f"must hold rows of X Y Z weight lambda, got shape {rows.shape}{where}")
        if rows.shape[0] > MAX_STEPS:
            raise _fail("beam.sources", f"holds {rows.shape[0]} sources; the limit is {MAX_STEPS}{where}")
        if np.isinf(rows).any():
            r = int(np.argwhere(np.isinf(rows))[0][0])
            raise _fail("beam.sources", f"source {r + 1} holds an infinite value{where}")
        lam = rows[:, 4]
        given = ~np.isnan(lam)
        outside = given & ~((lam >= MIN_WAVELENGTH_A * 1e-10) & (lam <= MAX_WAVELENGTH_A * 1e-10))
        if outside.any():
            r = int(np.flatnonzero(outside)[0])
            raise _fail("beam.sources", f"source {r + 1} has wavelength {lam[r]:g} m; must lie between "
                        f"{MIN_WAVELENGTH_A * 1e-10:g} and {MAX_WAVELENGTH_A * 1e-10:g} m{where}")
        pos = np.nan_to_num(rows[:, :3], nan=1.0)
        zero = ~pos.any(axis=1)
        if zero.any():
            r = int(np.flatnonzero(zero)[0])
            raise _fail("beam.sources", f"source {r + 1} sits at the sample (X Y Z = 0 0 0): no beam direction{where}")
    fluence = _number("beam.fluence_photons_per_m2", b.fluence_photons_per_m2, low=0.0, unit="photons/m^2")
    flux = _number("beam.flux_photons_per_s", b.flux_photons_per_s, low=0.0, unit="photons/s")
    exposure = _number("beam.exposure_s", b.exposure_s, unit="s")
    beamsize = _number("beam.beamsize_mm", b.beamsize_mm, low=0.0, unit="mm")
    if flux != 0.0 and exposure > 0.0:
        if beamsize == 0.0:
            raise _fail("beam.beamsize_mm", "must be > 0 mm when a flux is given (fluence = flux*exposure/beamsize^2)")
        fluence = flux * exposure / (beamsize / 1000.0) / (beamsize / 1000.0)
        if not math.isfinite(fluence):
            raise _fail("beam.flux_photons_per_s", f"times -exposure over -beamsize^2 overflows the fluence "
                        f"({flux:g} x {exposure:g} s / ({beamsize:g} mm)^2)")
    _number("beam.kahn_factor", b.kahn_factor, unit="polarization factor")
    _numbers("beam.beam_vector", b.beam_vector, 3, optional=True, nonzero_vector=True)
    _numbers("beam.polar_vector", b.polar_vector, 3, optional=True, nonzero_vector=True)


def _detector(config: Config) -> Tuple[int, int]:
    d = config.detector
    _choice("detector.convention", d.convention, CONVENTIONS)
    _choice("detector.pivot", d.pivot, PIVOTS)
    _number("detector.distance_mm", d.distance_mm, nonzero=True, unit="mm")
    _number("detector.close_distance_mm", d.close_distance_mm, nonzero=True, unit="mm", optional=True)
    pixel = _number("detector.pixel_size_mm", d.pixel_size_mm, low=0.0, low_open=True, unit="mm")
    size = _numbers("detector.detsize_mm", d.detsize_mm, 2, low=0.0, unit="mm")
    if d.detpixels is not None:
        if isinstance(d.detpixels, (str, bytes)) or not hasattr(d.detpixels, "__len__") or len(d.detpixels) != 2:
            raise _fail("detector.detpixels", f"must hold 2 integers (fast, slow), got {d.detpixels!r}")
        for v in d.detpixels:
            _integer("detector.detpixels", v, low=0, high=MAX_PIXELS_PER_AXIS, what=" pixels per axis")
    counts = list(pixel_counts(config))
    for axis in (0, 1):
        if not 1 <= counts[axis] <= MAX_PIXELS_PER_AXIS:
            n = counts[axis] or size[axis] / pixel
            raise _fail("detector.detsize_mm", f"{size[axis]:g} mm with {pixel:g} mm pixels gives {n:.3g} "
                        f"pixels on the {'fast' if axis == 0 else 'slow'} axis; expected 1 to {MAX_PIXELS_PER_AXIS}")
    if counts[0] * counts[1] > MAX_PIXELS:
        raise _fail("detector.detpixels", f"{counts[0]} x {counts[1]} = {counts[0] * counts[1]:.3g} pixels "
                    f"({counts[0] * counts[1] * 4 / 2**30:.3g} GiB as float32) is more than the limit of "
                    f"{MAX_PIXELS:.3g} pixels")
    for name in ("xbeam_mm", "ybeam_mm", "xclose_mm", "yclose_mm"):
        _number(f"detector.{name}", getattr(d, name), unit="mm", optional=True)
    for name in ("orgx_px", "orgy_px"):
        _number(f"detector.{name}", getattr(d, name), unit="pixels", optional=True)
    for name in ("fdet_vector", "sdet_vector", "odet_vector", "twotheta_axis"):
        _numbers(f"detector.{name}", getattr(d, name), 3, optional=True, nonzero_vector=True)
    _numbers("detector.pix0_vector_m", d.pix0_vector_m, 3, optional=True)
    _numbers("detector.rot_deg", d.rot_deg, 3, unit="degrees")
    _number("detector.twotheta_deg", d.twotheta_deg, unit="degrees")
    _number("detector.thickness_um", d.thickness_um, low=0.0, unit="um")
    _number("detector.attenuation_depth_um", d.attenuation_depth_um, low=0.0, unit="um", optional=True,
            allow_inf=True)
    _integer("detector.thicksteps", d.thicksteps, optional=True, high=MAX_AXIS_STEPS)
    if d.mask is not None:
        ndim = np.ndim(d.mask) if not isinstance(d.mask, (str, bytes)) else 0
        if ndim != 2:
            raise _fail("detector.mask", f"must be a 2-D (slow, fast) array, got {ndim} dimensions")
        if tuple(np.shape(d.mask)) != (counts[1], counts[0]):
            raise _fail("detector.mask", f"is {np.shape(d.mask)[1]} x {np.shape(d.mask)[0]} pixels (fast x slow) "
                        f"but the detector is {counts[0]} x {counts[1]}; drop the options that resize the "
                        "detector or use a matching mask")
    if d.roi is not None:
        roi = _numbers("detector.roi", d.roi, 4)
        if any(v != int(v) for v in roi):
            raise _fail("detector.roi", f"must hold 4 integers (fast_min fast_max slow_min slow_max), got {d.roi!r}")
    return counts[0], counts[1]


def pixel_counts(config: Config) -> Tuple[int, int]:
    """(fast, slow) pixel counts with the legacy rule: a count wins, else round(size / pixel).

    Assumes finite sizes (call after the field checks, or on a parsed Config).
    """
    det = config.detector
    pixel_m = _float("detector.pixel_size_mm", det.pixel_size_mm) / 1000.0
    counts = [int(v) for v in (det.detpixels or (0, 0))]
    for axis in (0, 1):
        if not counts[axis]:
            n = _float("detector.detsize_mm", det.detsize_mm[axis]) / 1000.0 / pixel_m - 0.5
            # beyond any limit (or not a number): reported as 0 pixels, which the check refuses
            counts[axis] = int(math.ceil(n)) if math.isfinite(n) and abs(n) < 2**62 else 0
    return counts[0], counts[1]


def _cell_edges_A(config: Config) -> Optional[Tuple[float, float, float]]:
    """Real-space edge lengths (Angstrom) as the engines derive them (None when unknown)."""
    c = config.crystal
    if c.cell is not None:
        return tuple(_float("crystal.cell", v) for v in list(c.cell)[:3])
    m = c.mosflm_matrix
    if m is None:  # an amorphous sample alone: no crystal
        return None
    if hasattr(m, "detach"):
        m = m.detach().cpu().numpy()
    lam = _float("beam.wavelength_A", config.beam.wavelength_A)
    reciprocal = np.asarray(m, dtype=np.float64) / lam  # columns a*, b*, c* (1/Angstrom)
    real = np.linalg.inv(reciprocal)  # rows a, b, c
    return tuple(float(np.linalg.norm(real[i])) for i in range(3))


def _sampling(config: Config, pixels: Tuple[int, int], resources: bool) -> None:
    s, d, c = config.sampling, config.detector, config.crystal
    _numbers("sampling.spindle_axis", s.spindle_axis, 3, optional=True, nonzero_vector=True)
    _number("sampling.phi_start_deg", s.phi_start_deg, unit="degrees")
    osc = _number("sampling.osc_deg", s.osc_deg, unit="degrees", optional=True)
    step = _number("sampling.phi_step_deg", s.phi_step_deg, unit="degrees", optional=True)
    _integer("sampling.phi_steps", s.phi_steps, optional=True, high=MAX_STEPS)
    if osc is not None and step is not None and step != 0.0 and abs(osc / step) > MAX_STEPS:
        raise _fail("sampling.phi_step_deg", f"{step:g} deg over {osc:g} deg gives {abs(osc / step):.3g} phi steps; "
                    f"the limit is {MAX_STEPS}")
    oversample = _integer("sampling.oversample", s.oversample, optional=True, high=MAX_OVERSAMPLE,
                          what=" sub-pixels per pixel edge")
    edges = _cell_edges_A(config)
    for i, size in enumerate(c.size_mm if edges is not None else ()):
        size = _float("crystal.size_mm", size)
        if size > 0 and not math.isfinite(size * 1e7 / edges[i]):
            raise _fail("crystal.size_mm", f"{size:g} mm along {'abc'[i]} is an infinite number of "
                        f"{edges[i]:g}-Angstrom unit cells")
    _number("sampling.dmin_A", s.dmin_A, low=0.0, unit="Angstrom")
    if resources:
        _check_work(config, pixels, oversample if oversample and oversample > 0 else 1)
    if resources and edges is not None and (oversample is None or oversample <= 0):
        # the auto-selected oversampling (3 x crystal size / reciprocal pixel size), before it is used
        n = [max(1.0, _float("crystal.n_cells", v)) for v in c.n_cells]
        size_mm = [_float("crystal.size_mm", v) for v in c.size_mm]
        extent = [size_mm[i] * 1e-3 if size_mm[i] > 0 else edges[i] * 1e-10 * n[i] for i in range(3)]
        reciprocal_pixel = (_float("beam.wavelength_A", config.beam.wavelength_A) * 1e-10
                            * abs(_float("detector.distance_mm", d.distance_mm)) / _float("detector.pixel_size_mm",
                                                                                         d.pixel_size_mm))
        auto = math.ceil(3.0 * max(extent) / reciprocal_pixel) if reciprocal_pixel > 0 else math.inf
        if auto > MAX_OVERSAMPLE:
            raise _fail("sampling.oversample", f"is not given and the auto-selected value would be {auto:.3g} "
                        f"sub-pixels per pixel edge (3 x crystal size {max(extent) * 1e3:.3g} mm / reciprocal pixel "
                        f"size); the limit is {MAX_OVERSAMPLE}: give -oversample, or a smaller crystal "
                        "(-N, -xtal_size), or check -distance and -pixel")


#: sub-steps per pixel (sources x mosaic domains x phi steps x sub-pixels x layers) times pixels
MAX_WORK = 1e12
MAX_SOURCES = 100_000


def _axis_steps(steps: Any, range_: Any, step: Any) -> int:
    """Grid points on one divergence/dispersion axis, as far as the user's numbers tell (1 if unknown)."""
    if steps is not None and int(steps) > 0:
        return int(steps)
    r = float(range_) if range_ is not None else 0.0
    st = float(step) if step is not None else 0.0
    if r > 0 and st > 0:
        return int(r / st) + 1
    return 1


def _check_work(config: Config, pixels: Tuple[int, int], oversample: int) -> None:
    b, s, c, d = config.beam, config.sampling, config.crystal, config.detector
    if b.sources is not None:
        sources = len(b.sources.rows)
    else:
        sources = (_axis_steps(b.hdiv_steps, b.hdiv_range_mrad, b.hdiv_step_mrad)
                   * _axis_steps(b.vdiv_steps, b.vdiv_range_mrad, b.vdiv_step_mrad)
                   * _axis_steps(b.dispersion_steps, None, None))
    if sources > MAX_SOURCES:
        raise _fail("beam.hdiv_steps", f"divergence and dispersion give about {sources:.3g} source directions; "
                    f"the limit is {MAX_SOURCES} (-divsteps/-hdivsteps/-vdivsteps/-dispsteps)")
    phi = int(s.phi_steps) if s.phi_steps else 1
    domains = int(c.mosaic_domains) if c.mosaic_domains else 1
    layers = int(d.thicksteps) if d.thicksteps else 1
    work = float(pixels[0]) * pixels[1] * oversample ** 2 * sources * phi * domains * layers
    if work > MAX_WORK:
        raise ConfigError(
            f"the run would take {work:.3g} pixel sub-steps ({pixels[0]} x {pixels[1]} pixels x {oversample}^2 "
            f"sub-pixels x {sources} sources x {phi} phi steps x {domains} mosaic domains x {layers} layers); "
            f"the limit is {MAX_WORK:.0e}: reduce -detpixels, -oversample, -divsteps, -phisteps, -mosaic_domains "
            "or -detector_thicksteps"
        )


def check_nthreads(nthreads: Optional[int]) -> Optional[int]:
    """Refuse a thread count outside 0..MAX_THREADS (None or 0: all cores)."""
    if nthreads is None:
        return None
    return _integer("nthreads", nthreads, low=0, high=MAX_THREADS, what=" threads (-nthreads)")


# ---------------------------------------------------------------- non-finite images


def _overflow_suspects(config: Config) -> List[str]:
    """Inputs whose size can overflow the image arithmetic, largest first, with their values."""
    sf, b, bg = config.structure_factors, config.beam, config.background
    terms = []  # (log10 of the factor's contribution to a pixel, text)

    def add(log10: float, text: str) -> None:
        terms.append((log10, text))

    def lg(x: float) -> float:
        x = abs(float(x))
        return math.log10(x) if x > 0 and math.isfinite(x) else (math.inf if x else -math.inf)

    add(2 * lg(sf.default_F), f"-default_F {float(sf.default_F):g} (intensity goes as F^2)")
    if sf.table is not None:
        grid = np.abs(sf.table.as_numpy())
        i = np.unravel_index(int(np.argmax(grid)), grid.shape)
        hkl = " ".join(str(lo + int(k)) for lo, k in zip(sf.table.hkl_min, i))
        add(2 * lg(grid[i]), f"the largest F in {getattr(sf.table, 'source', None) or 'the structure-factor table'}: "
                             f"{grid[i]:g} at h k l = {hkl}")
    r_e_sqr = 7.94079248018965e-30
    if float(b.flux_photons_per_s) != 0.0 and float(b.exposure_s) > 0.0 and float(b.beamsize_mm) > 0:
        fluence = float(b.flux_photons_per_s) * float(b.exposure_s) / (float(b.beamsize_mm) / 1000.0) / (float(b.beamsize_mm) / 1000.0)
        add(lg(fluence * r_e_sqr), f"-flux {float(b.flux_photons_per_s):g} (fluence {fluence:g} photons/m^2)")
    else:
        add(lg(float(b.fluence_photons_per_m2) * r_e_sqr), f"-fluence {float(b.fluence_photons_per_m2):g}")
    n = [max(1.0, float(v)) for v in config.crystal.n_cells]
    add(2 * lg(n[0] * n[1] * n[2]), f"-N {' '.join(f'{v:g}' for v in n)} (peak intensity goes as (Na Nb Nc)^2)")
    if float(bg.water_um) > 0:
        add(3 * lg(float(bg.water_um)) + 8, f"-water {float(bg.water_um):g} um (background goes as the cube)")
    add(2 * lg(float(b.kahn_factor)), f"-polar {float(b.kahn_factor):g}")
    terms.sort(key=lambda t: -t[0])
    return [text for log10, text in terms if log10 > 15] or [terms[0][1]]


def check_image_finite(config: Config, image: Any) -> None:
    """Raise :class:`NonFiniteImageError` naming the overflowing inputs when ``image`` holds inf or NaN."""
    values = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    count = int(bad.sum())
    suspects = "; ".join(_overflow_suspects(config))
    raise NonFiniteImageError(
        f"the image would hold {count} non-finite pixel(s) (inf or NaN) of {values.size}: the inputs overflow "
        f"the arithmetic (float32 image, max 3.4e38 photons). Reduce: {suspects}. Nothing was written"
    )


def check_statistics_finite(config: Config, stats: Any) -> None:
    """Raise :class:`NonFiniteImageError` when a legacy image statistic (max, mean, rms, rmsd) is inf or NaN.

    The legacy statistics square pixel values in single precision, so a finite
    image brighter than about 1.8e19 photons gives an infinite rms.
    """
    names = ("max_I", "mean", "rms", "rmsd", "sum", "sumsqr")
    bad = [n for n in names if hasattr(stats, n) and not math.isfinite(float(getattr(stats, n)))]
    if bad:
        suspects = "; ".join(_overflow_suspects(config))
        raise NonFiniteImageError(
            f"the image statistics {', '.join(bad)} would be inf or NaN (pixel values squared overflow single "
            f"precision): the inputs are too large. Reduce: {suspects}. Nothing was written"
        )


set_validators(validate_config, validate_response)
