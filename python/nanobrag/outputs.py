"""Legacy output conversions of a rendered float image, shared by both engines.

Pure functions of the float image, the engine's derived geometry (its ROI,
pixel size and oversampling), the detector mask and the output settings
(``config.output``): what the legacy program prints and writes after
rendering, with its exact arithmetic -- the statistics (max, mean, rms,
rmsd), the noiseless integer SMV image, the 8-bit PGM image and the
Poisson-noise SMV image.  :func:`write_legacy_outputs` writes those files for
a :class:`~nanobrag.results.SimulationResult`, which also offers each of them
as a property.

Rendered pixels are those inside the inclusive ROI and not masked
(:mod:`nanobrag.masks`).  Pixels outside the ROI are 0 in every output; masked
pixels are 0 in the float image and therefore ``round(adc)`` in the integer
image.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np

from . import seeds
from .c_engine import random_streams
from .io.atomic import OutputTransaction
from .io.float_image import float_image_bytes
from .io.pgm import pgm_bytes
from .io.smv import SMVHeader, smv_bytes
from .masks import rendered_mask, roi_mask

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


def _checked(float_image: Any) -> np.ndarray:
    image = np.asarray(float_image)
    if image.dtype != np.float32 or image.ndim != 2:
        raise ValueError(f"the float image must be a 2-D float32 array, got {image.dtype} {image.shape}")
    return image


def _sequential_sum(values: np.ndarray) -> float:
    """Sum in order, one double addition at a time, as the legacy loop does (np.sum is pairwise)."""
    if values.size == 0:
        return 0.0
    return float(np.cumsum(values, dtype=np.float64)[-1])


def image_statistics(float_image: Any, geometry, mask: Any = None) -> ImageStatistics:
    """The legacy statistics of the rendered pixels, in its arithmetic.

    Parameters
    ----------
    float_image : numpy.ndarray of float32, shape (slow, fast)
        The rendered image (photons per pixel).
    geometry : Geometry
        The engine's derived geometry (``roi``, ``pixel_size_m``, ``oversample`` are used).
    mask : array_like, optional
        The detector mask (``config.detector.mask``; 0 = pixel not rendered).

    Returns
    -------
    ImageStatistics
        max_I (and where), mean, rms, rmsd, sum, sum of squares, count.
    """
    image = _checked(float_image)
    rendered = rendered_mask(image.shape, geometry.roi, mask)
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
            max_x, max_y = _last_subpixel_position(geometry, fast_index, slow_index)

    count = n if n > 0 else 1
    mean = total / count
    count = count if count > 1 else 2
    rms = math.sqrt(sumsqr / (count - 1))

    roi_values = image[roi_mask(image.shape, geometry.roi)].astype(np.float64)
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


def _stats_of(float_image, geometry, mask, stats) -> ImageStatistics:
    return stats if stats is not None else image_statistics(float_image, geometry, mask)


def int_image_scale(float_image: Any, geometry, output, mask: Any = None, *, stats: Optional[ImageStatistics] = None) -> float:
    """``output.int_scale`` when > 0, else 55000 / max_I (1.0 when max_I <= 0).

    Parameters
    ----------
    float_image : numpy.ndarray of float32, shape (slow, fast)
        The rendered image (photons per pixel).
    geometry : Geometry
        The engine's derived geometry (its ``roi``; see :func:`image_statistics`).
    output : OutputConfig
        The output settings (``config.output``).
    mask : array_like, optional
        The detector mask (``config.detector.mask``).
    stats : ImageStatistics, optional
        :func:`image_statistics` of the same image, when already computed.

    Returns
    -------
    float
        Integer-image ADU per photon.
    """
    given = output.int_scale
    if given is not None and float(given) > 0.0:
        return float(given)
    max_I = _stats_of(float_image, geometry, mask, stats).max_I
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


def int_image(float_image: Any, geometry, output, mask: Any = None, *, stats: Optional[ImageStatistics] = None) -> np.ndarray:
    """The noiseless image of ``-intfile``: floorf(clip(f*scale + adc, 0, 65535) + 0.5); 0 outside the ROI.

    Parameters
    ----------
    float_image : numpy.ndarray of float32, shape (slow, fast)
        The rendered image (photons per pixel).
    geometry : Geometry
        The engine's derived geometry (its ``roi``; see :func:`image_statistics`).
    output : OutputConfig
        The output settings (``config.output``).
    mask : array_like, optional
        The detector mask (``config.detector.mask``).
    stats : ImageStatistics, optional
        :func:`image_statistics` of the same image, when already computed.

    Returns
    -------
    numpy.ndarray of uint16, shape (slow, fast)
    """
    image = _checked(float_image)
    scale = int_image_scale(image, geometry, output, mask, stats=stats)
    adc = float(output.adc_offset)
    with np.errstate(over="ignore", invalid="ignore"):
        value = image.astype(np.float64) * scale + adc
        value = np.where(value > UINT16_MAX, UINT16_MAX, value)
        value = np.where(value < 0.0, 0.0, value)
        # floorf takes a float: the double is rounded to float32 first
        rounded = np.floor((value + 0.5).astype(np.float32))
    out = _c_cast_to_unsigned(rounded.astype(np.float64), 16)
    out[~roi_mask(image.shape, geometry.roi)] = 0
    return out


def pgm_image_scale(float_image: Any, geometry, output, mask: Any = None, *, stats: Optional[ImageStatistics] = None) -> float:
    """``output.pgm_scale`` when > 0, else 250 / (5 rmsd) (the int-image scale when rmsd <= 0).

    Parameters
    ----------
    float_image : numpy.ndarray of float32, shape (slow, fast)
        The rendered image (photons per pixel).
    geometry : Geometry
        The engine's derived geometry (its ``roi``; see :func:`image_statistics`).
    output : OutputConfig
        The output settings (``config.output``).
    mask : array_like, optional
        The detector mask (``config.detector.mask``).
    stats : ImageStatistics, optional
        :func:`image_statistics` of the same image, when already computed.

    Returns
    -------
    float
        PGM grey levels per photon.
    """
    given = output.pgm_scale
    if given is not None and float(given) > 0.0:
        return float(given)
    stats = _stats_of(float_image, geometry, mask, stats)
    rmsd = stats.rmsd
    return 250.0 / (5.0 * rmsd) if rmsd > 0.0 else int_image_scale(float_image, geometry, output, mask, stats=stats)


def pgm_image(float_image: Any, geometry, output, mask: Any = None, *, stats: Optional[ImageStatistics] = None,
              scale: Optional[float] = None) -> np.ndarray:
    """The image of ``-pgmfile``: min(255, f*scale) truncated; 0 outside the ROI.

    Parameters
    ----------
    float_image : numpy.ndarray of float32, shape (slow, fast)
        The rendered image (photons per pixel).
    geometry : Geometry
        The engine's derived geometry (its ``roi``; see :func:`image_statistics`).
    output : OutputConfig
        The output settings (``config.output``).
    mask : array_like, optional
        The detector mask (``config.detector.mask``).
    stats : ImageStatistics, optional
        :func:`image_statistics` of the same image, when already computed.
    scale : float, optional
        Grey levels per photon; default :func:`pgm_image_scale` (a front end with its own rule passes it).

    Returns
    -------
    numpy.ndarray of uint8, shape (slow, fast)
    """
    image = _checked(float_image)
    if scale is None:
        scale = pgm_image_scale(image, geometry, output, mask, stats=stats)
    with np.errstate(over="ignore", invalid="ignore"):
        value = image.astype(np.float64) * scale
        value = np.where(value > 255.0, 255.0, value)
    out = _c_cast_to_unsigned(value, 8)
    out[~roi_mask(image.shape, geometry.roi)] = 0
    return out


def noise_image_with_counts(float_image: Any, config, seed: Optional[int] = None) -> Tuple[np.ndarray, int, float]:
    """(uint16 noise image, overloads, photons) from the legacy Poisson generator.

    See :func:`nanobrag.c_engine.random_streams.noise_image`: the ROI, the adc
    offset and the random draws that precede the noise come from ``config``;
    seed None = ``config.output.noise_seed``, then the clock.  With a detector
    response (``config.response.active()``) the image is noisify's pipeline
    instead (:mod:`nanobrag.detector_response`).
    """
    seed = seeds.noise_seed(config.output, seed)
    response = getattr(config, "response", None)
    if response is not None and response.active():
        return _response_noise_image(float_image, config, seed)
    return random_streams.noise_image(config, _checked(float_image), seed)


def _response_noise_image(float_image: Any, config, seed: int) -> Tuple[np.ndarray, int, float]:
    """The noise image through the detector response (``config.response``): noisify's pipeline, 0 outside the ROI."""
    from .config import ConfigError
    from .detector_response import apply_detector_response

    if int(config.response.bits) != 16:
        raise ConfigError("response.bits: nanobrag writes 16-bit SMV noise images; use nanobrag-noisify for 32 bits")
    images = apply_detector_response(
        _checked(float_image), config.response, pixel_size_mm=float(config.detector.pixel_size_mm),
        adc_offset_adu=float(config.output.adc_offset), seed=seed, noise=True, engine="c",
    )
    image = images.noise_image
    image[~roi_mask(image.shape, config.detector.roi)] = 0
    return image, int(images.stats.overloads), float(images.stats.photons)


def noise_image(float_image: Any, config, seed: Optional[int] = None) -> np.ndarray:
    """The uint16 ``-noisefile`` image (see :func:`noise_image_with_counts`)."""
    return noise_image_with_counts(float_image, config, seed=seed)[0]


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
    config, geometry = result.config, result.geometry
    out, mask = config.output, config.detector.mask
    image = _checked(result.float_image)
    stats = image_statistics(image, geometry, mask)
    header = SMVHeader.from_geometry(geometry)
    files = {}

    def target(name: Optional[str]) -> Optional[str]:
        return None if name is None else os.path.join(directory, os.fspath(name))

    if target(out.float_image_path):
        files[target(out.float_image_path)] = float_image_bytes(image)
    if target(out.int_image_path):
        files[target(out.int_image_path)] = smv_bytes(int_image(image, geometry, out, mask, stats=stats), header)
    if out.write_pgm and target(out.pgm_path):
        scale = pgm_image_scale(image, geometry, out, mask, stats=stats)
        files[target(out.pgm_path)] = pgm_bytes(pgm_image(image, geometry, out, mask, stats=stats), scale)
    if out.write_noise and target(out.noise_image_path):
        files[target(out.noise_image_path)] = smv_bytes(noise_image(image, config, seed=noise_seed), header)
    if transaction is not None:
        for path, payload in files.items():
            transaction.write(path, payload)
        return list(files)
    with OutputTransaction() as tx:
        for path, payload in files.items():
            tx.write(path, payload)
    return tx.final_paths
