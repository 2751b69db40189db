"""The files the legacy nonBragg program writes, from a rendered background image.

Float image, noiseless SMV and Poisson-noise SMV follow the nanoBragg rules
(:mod:`nanobrag.outputs`); what nonBragg does differently lives here:

* the SMV header keys (PIXEL_SIZE, DISTANCE, WAVELENGTH, BEAM_CENTER_X/Y,
  ORGX, ORGY, CLOSE_DISTANCE, PHI, OSC_START, OSC_RANGE, TWOTHETA,
  DETECTOR_SN, BEAMLINE) with BEAM_CENTER_Y = detsize_y - Ybeam and
  ORGX/ORGY = near point / pixel (no half pixel);
* the automatic PGM scale 250 / (5 rmsd) from the legacy's shifted deviation
  loop: the pixel after each ROI pixel is compared with the mean (the last
  pixel with 0);
* the PGM holds exactly fast*slow pixel bytes.  The legacy program writes
  twice as many, the second half heap garbage; that tail is not reproduced.
"""
from __future__ import annotations

import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import outputs
from ..io.atomic import atomic_write_many
from ..masks import roi_mask
from ..io.float_image import float_image_bytes
from ..io.pgm import pgm_bytes
from ..io.smv import RTD, SMVHeader, smv_bytes

__all__ = ["nonbragg_header", "nonbragg_rmsd", "nonbragg_pgm_scale", "write_nonbragg_outputs"]


def nonbragg_header(geometry, detsize_y_m: float) -> SMVHeader:
    """The legacy nonBragg SMV header of a rendered geometry (values printed with %g, in its order)."""
    px = float(geometry.pixel_size_m)
    phi_deg = float(geometry.phi0_rad) * RTD
    values: List[Tuple[str, float]] = [
        ("PIXEL_SIZE", px * 1000.0),
        ("DISTANCE", float(geometry.distance_m) * 1000.0),
        ("WAVELENGTH", float(geometry.wavelength_m) * 1e10),
        ("BEAM_CENTER_X", float(geometry.fbeam_m) * 1000.0),
        ("BEAM_CENTER_Y", (float(detsize_y_m) - float(geometry.sbeam_m)) * 1000),
        ("ORGX", float(geometry.fclose_m) / px),
        ("ORGY", float(geometry.sclose_m) / px),
        ("CLOSE_DISTANCE", float(geometry.close_distance_m) * 1000.0),
        ("PHI", phi_deg),
        ("OSC_START", phi_deg),
        ("OSC_RANGE", float(geometry.osc_rad) * RTD),
        ("TWOTHETA", float(geometry.twotheta_rad) * RTD),
    ]
    extra: Dict[str, str] = {key: "%g" % value for key, value in values}
    extra["DETECTOR_SN"] = "000"
    extra["BEAMLINE"] = "fake"
    return SMVHeader(extra=extra)


def nonbragg_rmsd(result) -> float:
    """The legacy nonBragg rms deviation: for each ROI pixel in raster order the NEXT pixel's value minus the mean."""
    image = result.float_image
    inside = roi_mask(image.shape, result.geometry.roi).reshape(-1)
    flat = image.reshape(-1).astype(np.float64)
    shifted = np.append(flat[1:], 0.0)  # the legacy buffer is zero past its end
    mean = result.stats.mean
    with np.errstate(over="ignore", invalid="ignore"):
        deviation = shifted[inside] - mean
        total = outputs._sequential_sum(deviation * deviation)
    n = int(np.count_nonzero(inside))
    n = n if n > 1 else 2
    return math.sqrt(total / (n - 1))


def nonbragg_pgm_scale(result) -> float:
    """``-pgmscale`` when > 0, else 250 / (5 rmsd) with the legacy rmsd (the integer scale when it is 0)."""
    given = result.config.output.pgm_scale
    if given is not None and float(given) > 0.0:
        return float(given)
    rmsd = nonbragg_rmsd(result)
    return 250.0 / (5.0 * rmsd) if rmsd > 0.0 else result.int_scale


def write_nonbragg_outputs(result, detsize_y_m: float, *, directory: str = ".",
                           noise_seed: Optional[int] = None) -> List[str]:
    """Write the legacy nonBragg files named by ``result.config.output``; returns the paths written.

    Every image is computed before any file is written, and all files are
    staged before any is renamed into place.
    """
    out = result.config.output
    header = nonbragg_header(result.geometry, detsize_y_m)
    files = {}

    def target(name: Optional[str]) -> Optional[str]:
        return None if name is None else os.path.join(directory, os.fspath(name))

    if target(out.float_image_path):
        files[target(out.float_image_path)] = float_image_bytes(result.float_image)
    if target(out.int_image_path):
        files[target(out.int_image_path)] = smv_bytes(result.int_image, header)
    if out.write_pgm and target(out.pgm_path):
        scale = nonbragg_pgm_scale(result)
        files[target(out.pgm_path)] = pgm_bytes(outputs.pgm_image(result.float_image, result.geometry, out, result.config.detector.mask,
                                                                stats=result.stats, scale=scale), scale)
    if out.write_noise and target(out.noise_image_path):
        files[target(out.noise_image_path)] = smv_bytes(result.noise_image(seed=noise_seed), header)
    return atomic_write_many(files)
