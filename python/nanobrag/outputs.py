"""Legacy output conversions of a rendered float image, shared by both engines.

From a :class:`~nanobrag.results.SimulationResult` this module computes what
the legacy program prints and writes after rendering, with its exact
arithmetic: the statistics (max, mean, rms, rmsd), the noiseless integer SMV
image, the 8-bit PGM image and the Poisson-noise SMV image, and
:func:`write_legacy_outputs` writes those files.

Rendered pixels are those inside the inclusive ROI and not masked (mask value
0).  Pixels outside the ROI are 0 in every output; masked pixels are 0 in the
float image and therefore ``round(adc)`` in the integer image.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .io.atomic import OutputTransaction
from .io.float_image import float_image_bytes
from .io.pgm import pgm_bytes
from .io.smv import SMVHeader, smv_bytes

__all__ = [
    "ImageStatistics",
    "image_statistics",
    "int_image_scale",
    "int_image",
    "pgm_image_scale",
    "pgm_image",
    "noise_image",
    "noise_image_with_counts",
    "write_legacy_outputs",
    "legacy_output_paths",
]

#: the legacy integer image maps the brightest pixel to this many ADU
INT_IMAGE_FULL_SCALE = 55000.0
UINT16_MAX = 65535.0


@dataclass
class ImageStatistics:
    """The statistics the legacy program prints after rendering (photons per pixel).

    max_I_x_m/max_I_y_m: fast/slow detector coordinates (m) of the last
    sub-pixel of the brightest pixel (0 when no pixel is > 0).  n: number of
    rendered pixels (inside the ROI and unmasked).
    """

    max_I: float
    max_I_x_m: float
    max_I_y_m: float
    mean: float
    rms: float
    rmsd: float
    sum: float
    sumsqr: float
    n: int


def _float_image(result) -> np.ndarray:
    image = np.asarray(result.float_image)
    if image.dtype != np.float32 or image.ndim != 2:
        raise ValueError(f"SimulationResult.float_image must be a 2-D float32 array, got {image.dtype} {image.shape}")
    return image


def _roi_mask(result) -> np.ndarray:
    """Boolean (slow, fast): pixels inside the inclusive ROI (``geometry.roi`` = fast_min, fast_max, slow_min, slow_max)."""
    slow, fast = _float_image(result).shape
    roi = result.geometry.roi
    if roi is None:
        roi = result.config.detector.roi
    inside = np.ones((slow, fast), dtype=bool)
    if roi is not None:
        fmin, fmax, smin, smax = (int(v) for v in roi)
        f = np.arange(fast)
        s = np.arange(slow)
        inside = ((s >= smin) & (s <= smax))[:, None] & ((f >= fmin) & (f <= fmax))[None, :]
    return inside


def _rendered_mask(result) -> np.ndarray:
    """Boolean (slow, fast): pixels the legacy loop renders (inside the ROI, mask value not 0)."""
    rendered = _roi_mask(result)
    mask = result.config.detector.mask
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != rendered.shape:
            raise ValueError(
                f"detector.mask has shape {mask.shape} but the image is {rendered.shape} (slow, fast)"
            )
        rendered = rendered & (mask != 0)
    return rendered


def _sequential_sum(values: np.ndarray) -> float:
    """Sum in order, one double addition at a time, as the legacy loop does (np.sum is pairwise)."""
    if values.size == 0:
        return 0.0
    return float(np.cumsum(values, dtype=np.float64)[-1])


def image_statistics(result) -> ImageStatistics:
    """max_I (and where), mean, rms, rmsd, sum, sum of squares, count: the legacy statistics, in its arithmetic."""
    image = _float_image(result)
    rendered = _rendered_mask(result)
    values = image[rendered]  # raster order
    n = int(values.size)
    with np.errstate(over="ignore", invalid="ignore"):
        total = _sequential_sum(values.astype(np.float64))
        # the legacy squares in float (float * float) and adds in double
        sumsqr = _sequential_sum((values * values).astype(np.float64))

    max_I, max_x, max_y = 0.0, 0.0, 0.0
    if n:
        # first strict maximum above 0 in raster order (NaN never compares greater)
        with np.errstate(invalid="ignore"):
            above = np.where(values > 0.0, values, -np.inf)
        k = int(np.argmax(above))  # argmax returns the first of equal maxima
        if above[k] > 0.0:
            max_I = float(values[k])
            slow_index, fast_index = divmod(int(np.flatnonzero(rendered)[k]), image.shape[1])
            max_x, max_y = _last_subpixel_position(result.geometry, fast_index, slow_index)

    count = n if n > 0 else 1
    mean = total / count
    count = count if count > 1 else 2
    rms = math.sqrt(sumsqr / (count - 1))

    roi_values = image[_roi_mask(result)].astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        deviation = roi_values - mean
        sum_dev = _sequential_sum(deviation * deviation)
    n_roi = int(roi_values.size)
    n_roi = n_roi if n_roi > 1 else 2
    rmsd = math.sqrt(sum_dev / (n_roi - 1))
    return ImageStatistics(
        max_I=max_I, max_I_x_m=max_x, max_I_y_m=max_y, mean=mean, rms=rms, rmsd=rmsd,
        sum=total, sumsqr=sumsqr, n=n,
    )


def _last_subpixel_position(geometry, fast_index: int, slow_index: int) -> Tuple[float, float]:
    """Fdet, Sdet (m) of the last sub-pixel the legacy loop visits in a pixel."""
    oversample = int(geometry.oversample)
    subpixel = float(geometry.pixel_size_m) / oversample
    fdet = subpixel * (fast_index * oversample + oversample - 1) + subpixel / 2.0
    sdet = subpixel * (slow_index * oversample + oversample - 1) + subpixel / 2.0
    return fdet, sdet


def _stats(result) -> ImageStatistics:
    cache = getattr(result, "_cache", None)
    if cache is None:
        return image_statistics(result)
    if "stats" not in cache:
        cache["stats"] = image_statistics(result)
    return cache["stats"]


def int_image_scale(result) -> float:
    """``output.int_scale`` when > 0, else 55000 / max_I (1.0 when max_I <= 0)."""
    given = result.config.output.int_scale
    if given is not None and float(given) > 0.0:
        return float(given)
    max_I = _stats(result).max_I
    return INT_IMAGE_FULL_SCALE / max_I if max_I > 0.0 else 1.0


def _c_cast_to_unsigned(values: np.ndarray, bits: int) -> np.ndarray:
    """C cast of floating values to an unsigned type on x86-64: truncate to int32, keep the low bits.

    NaN and values outside int32 give INT_MIN (cvttsd2si), whose low bits are 0.
    """
    with np.errstate(invalid="ignore"):
        truncated = np.trunc(values)
        valid = np.isfinite(truncated) & (truncated >= -2.0**31) & (truncated < 2.0**31)
        as_int = np.where(valid, truncated, -(2.0**31)).astype(np.int64)
    return (as_int & ((1 << bits) - 1)).astype(np.uint16 if bits == 16 else np.uint8)


def int_image(result) -> np.ndarray:
    """The noiseless uint16 image of ``-intfile``: floorf(clip(f*scale + adc, 0, 65535) + 0.5); 0 outside the ROI."""
    image = _float_image(result)
    scale = int_image_scale(result)
    adc = float(result.config.output.adc_offset)
    with np.errstate(over="ignore", invalid="ignore"):
        value = image.astype(np.float64) * scale + adc
        value = np.where(value > UINT16_MAX, UINT16_MAX, value)
        value = np.where(value < 0.0, 0.0, value)
        # floorf takes a float: the double is rounded to float32 first
        rounded = np.floor((value + 0.5).astype(np.float32))
    out = _c_cast_to_unsigned(rounded.astype(np.float64), 16)
    out[~_roi_mask(result)] = 0
    return out


def pgm_image_scale(result) -> float:
    """``output.pgm_scale`` when > 0, else 250 / (5 rmsd) (the int-image scale when rmsd <= 0)."""
    given = result.config.output.pgm_scale
    if given is not None and float(given) > 0.0:
        return float(given)
    rmsd = _stats(result).rmsd
    return 250.0 / (5.0 * rmsd) if rmsd > 0.0 else int_image_scale(result)


def pgm_image(result) -> np.ndarray:
    """The uint8 image of ``-pgmfile``: min(255, f*scale) truncated; 0 outside the ROI."""
    image = _float_image(result)
    scale = pgm_image_scale(result)
    with np.errstate(over="ignore", invalid="ignore"):
        value = image.astype(np.float64) * scale
        value = np.where(value > 255.0, 255.0, value)
    out = _c_cast_to_unsigned(value, 8)
    out[~_roi_mask(result)] = 0
    return out


def _resolve_noise_seed(result, seed: Optional[int]) -> int:
    if seed is None:
        seed = result.config.output.noise_seed
    if seed is None:
        seed = int(time.time())  # the legacy default: the start-up time
    return int(seed)


def noise_image_with_counts(result, seed: Optional[int] = None) -> Tuple[np.ndarray, int, float]:
    """(uint16 noise image, overloads, photons) from the C engine's legacy Poisson generator.

    seed: the user-level ``-seed`` value; None = ``config.output.noise_seed``,
    then the current time.
    """
    from .c_engine import engine as c_engine

    image, overloads, photons = c_engine.noise_image(
        result.config, _float_image(result), _resolve_noise_seed(result, seed)
    )
    return image, overloads, photons


def noise_image(result, seed: Optional[int] = None) -> np.ndarray:
    """The uint16 ``-noisefile`` image (see :func:`noise_image_with_counts`)."""
    return noise_image_with_counts(result, seed=seed)[0]


def legacy_output_paths(config, directory: str = ".") -> List[str]:
    """The image files :func:`write_legacy_outputs` would write for ``config``, in order."""
    out = config.output
    names = [out.float_image_path, out.int_image_path, out.pgm_path if out.write_pgm else None,
             out.noise_image_path if out.write_noise else None]
    return [os.path.join(directory, os.fspath(n)) for n in names if n is not None]


def write_legacy_outputs(
    result, *, directory: str = ".", noise_seed: Optional[int] = None, transaction: Optional[OutputTransaction] = None
) -> List[str]:
    """Write the image files the legacy program writes, named by ``result.config.output``.

    Float image, noiseless SMV, PGM (if ``write_pgm``) and noise SMV (if
    ``write_noise``), in that order; a name set to None is skipped.  Relative
    names are taken in ``directory``.  Every image is computed before any file
    is written, and all files are staged before any is renamed into place.
    Returns the paths written.  With ``transaction`` the files are only
    staged there (the caller commits them with its other outputs).
    """
    out = result.config.output
    header = SMVHeader.from_geometry(result.geometry)
    files = {}

    def target(name: Optional[str]) -> Optional[str]:
        return None if name is None else os.path.join(directory, os.fspath(name))

    if target(out.float_image_path):
        files[target(out.float_image_path)] = float_image_bytes(_float_image(result))
    if target(out.int_image_path):
        files[target(out.int_image_path)] = smv_bytes(int_image(result), header)
    if out.write_pgm and target(out.pgm_path):
        files[target(out.pgm_path)] = pgm_bytes(pgm_image(result), pgm_image_scale(result))
    if out.write_noise and target(out.noise_image_path):
        files[target(out.noise_image_path)] = smv_bytes(noise_image(result, seed=noise_seed), header)
    if transaction is not None:
        for path, payload in files.items():
            transaction.write(path, payload)
        return list(files)
    with OutputTransaction() as tx:
        for path, payload in files.items():
            tx.write(path, payload)
    return tx.final_paths
