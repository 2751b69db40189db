"""nonBragg's options -> a CUSTOM-convention, background-only :class:`~nanobrag.Config` (reading the input files)."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Sequence, Tuple

import numpy as np

from ..config import AmorphousSample, Config, ConfigError
from ..flag_parsing import mm_for_m
from .options import NonBraggOptions

__all__ = ["NonBraggParse", "build"]


def _unit(v: Sequence[float]) -> Tuple[float, float, float]:
    mag = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if mag == 0.0:
        return (0.0, 0.0, 0.0)
    return (v[0] / mag, v[1] / mag, v[2] / mag)


def _cross(x: Sequence[float], y: Sequence[float]) -> Tuple[float, float, float]:
    return (x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0])


@dataclass
class NonBraggParse:
    """A parsed nonBragg command line: the options, the Config and the header-only values."""

    options: NonBraggOptions
    config: Config
    #: detector edges (m) as the legacy keeps them (BEAM_CENTER_Y = detsize_y - Ybeam)
    detsize_m: Tuple[float, float]
    files_read: Dict[str, str] = field(default_factory=dict)


def _read(cwd: str, typed: str, name: str, reader: str, *args: Any):
    from .. import io as nb_io

    path = os.path.normpath(os.path.join(cwd, name))
    if not os.path.isfile(path):
        raise ConfigError(f"{typed}: file not found: {path}")
    try:
        return getattr(nb_io, reader)(path, *args), path
    except OSError as exc:
        raise ConfigError(f"{typed}: cannot read {name}: {exc.strerror or exc}") from None
    except ValueError as exc:  # nanobrag.io.FormatError
        raise ConfigError(f"{typed}: {exc}") from None


def build(parse: NonBraggParse, cwd: str) -> None:
    """Fill ``parse.config`` and ``parse.detsize_m`` from ``parse.options`` (reading the input files)."""
    o = parse.options
    cfg = Config()
    stol_flag = {"stol": "-stol", "4stol": "-4stol", "Q": "-Q"}[o.stol_kind]
    table, path = _read(cwd, stol_flag, o.stol_file, "read_stol_table", o.stol_kind)
    parse.files_read[stol_flag] = path
    stol = table.stol_per_m()
    if np.any(np.diff(stol) <= 0):
        raise ConfigError(f"{stol_flag}: {o.stol_file}: the first column must increase strictly down the file "
                          "(the legacy interpolation needs an ascending table)")
    if o.source_file is not None:
        cfg.beam.sources, parse.files_read["-sourcefile"] = _read(cwd, "-sourcefile", o.source_file, "read_source_file")

    # detector size: the legacy rule is ceil(edge / pixel), the edge replaced by pixel * count when given
    pixel = o.pixel_mm / 1000.0
    detsize_x = o.detsize_x_mm / 1000.0 if o.detsize_x_mm is not None else 102.4e-3
    detsize_y = o.detsize_y_mm / 1000.0 if o.detsize_y_mm is not None else 102.4e-3
    if o.fpixels:
        detsize_x = pixel * o.fpixels
    if o.spixels:
        detsize_y = pixel * o.spixels
    fpixels, spixels = math.ceil(detsize_x / pixel), math.ceil(detsize_y / pixel)
    if not (1 <= fpixels <= 1000000 and 1 <= spixels <= 1000000):
        raise ConfigError(f"detector: {detsize_x * 1000:g} x {detsize_y * 1000:g} mm with {o.pixel_mm:g} mm pixels "
                          f"gives {fpixels} x {spixels} pixels (need 1 to 1e6 per axis)")
    parse.detsize_m = (detsize_x, detsize_y)
    det = cfg.detector
    det.convention = "CUSTOM"
    det.pixel_size_mm = o.pixel_mm
    det.detpixels = (fpixels, spixels)
    det.detsize_mm = (detsize_x * 1000.0, detsize_y * 1000.0)

    # beam centre defaults (legacy nonBragg): near point at ((W - px)/2, (H + px)/2), ORGX/ORGY in whole pixels
    xclose = o.xclose_mm / 1000.0 if o.xclose_mm is not None else math.nan
    yclose = o.yclose_mm / 1000.0 if o.yclose_mm is not None else math.nan
    if o.orgx_px is not None:
        xclose = o.orgx_px * pixel
    if o.orgy_px is not None:
        yclose = o.orgy_px * pixel
    if math.isnan(xclose):
        xclose = (detsize_x - pixel) / 2.0
    if math.isnan(yclose):
        yclose = (detsize_y + pixel) / 2.0
    det.pivot = o.pivot
    if o.pivot == "sample":
        # the CUSTOM convention takes its near point from the beam-centre values
        det.xbeam_mm, det.ybeam_mm = mm_for_m(xclose), mm_for_m(yclose)
    else:
        det.xbeam_mm = o.xbeam_mm if o.xbeam_mm is not None else mm_for_m(xclose)
        det.ybeam_mm = o.ybeam_mm if o.ybeam_mm is not None else mm_for_m(yclose)
    det.distance_mm = o.distance_mm
    det.close_distance_mm = o.close_distance_mm
    det.twotheta_deg = o.twotheta_deg
    det.rot_deg = tuple(o.rot_deg)
    fdet = o.vectors.get("fdet_vector", (0.0, 0.0, 1.0))
    sdet = o.vectors.get("sdet_vector", (0.0, -1.0, 0.0))
    det.fdet_vector, det.sdet_vector = fdet, sdet
    det.odet_vector = _unit(_cross(_unit(fdet), _unit(sdet)))  # the legacy normal: always fast x slow
    det.twotheta_axis = o.vectors.get("twotheta_axis", (0.0, 1.0, 0.0))
    det.curved, det.point_pixel = o.curved, o.point_pixel
    det.roi = o.roi
    cfg.sampling.spindle_axis = o.vectors.get("spindle_axis", (0.0, 0.0, 1.0))
    cfg.sampling.oversample = o.oversample
    cfg.sampling.phi_start_deg = o.phi_deg
    cfg.sampling.osc_deg = o.osc_deg
    cfg.sampling.phi_step_deg = o.phistep_deg
    cfg.sampling.phi_steps = o.phisteps

    b = cfg.beam
    b.beam_vector = o.vectors.get("beam_vector", (1.0, 0.0, 0.0))
    b.polar_vector = o.vectors.get("polar_vector", (0.0, 0.0, 1.0))
    b.wavelength_A = o.wavelength_A
    if o.fluence is not None:
        b.fluence_photons_per_m2 = o.fluence
    b.flux_photons_per_s, b.exposure_s, b.beamsize_mm = o.flux, o.exposure, o.beamsize_mm
    b.dispersion_percent, b.dispersion_steps = o.dispersion_percent, o.dispsteps
    b.hdiv_range_mrad, b.vdiv_range_mrad = o.hdivrange, o.vdivrange
    b.hdiv_step_mrad, b.vdiv_step_mrad = o.hdivstep, o.vdivstep
    b.hdiv_steps, b.vdiv_steps = o.hdivsteps, o.vdivsteps
    b.round_div = o.round_div
    b.kahn_factor, b.nopolar = o.kahn, o.nopolar

    cfg.amorphous = AmorphousSample(
        table=table, thickness_mm=o.thick_mm, width_mm=o.width_mm, height_mm=o.height_mm,
        density_g_cm3=o.density_g_cm3, molecular_weight_g_mol=o.molecular_weight,
        molecules=o.molecules if o.molecules != 0 else None, fmap=o.fmap,
    )

    out = cfg.output
    out.noise_seed, out.adc_offset = o.seed, o.adc
    out.int_scale, out.pgm_scale = o.int_scale, o.pgm_scale
    out.float_image_path, out.int_image_path = o.floatfile, o.intfile
    out.pgm_path, out.noise_image_path = o.pgmfile, o.noisefile
    out.write_pgm, out.write_noise = o.pgm, o.noise
    out.fdump_path = None
    out.printout, out.printout_pixel, out.progress = o.printout, o.printout_pixel, o.progress
    cfg.engine, cfg.device, cfg.dtype = o.engine, o.device, o.dtype
    parse.config = cfg.validate()
