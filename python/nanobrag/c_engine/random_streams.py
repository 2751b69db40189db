"""The legacy random streams, in one place.

The legacy program draws every random number from one generator (ran1, with a
shuffle table shared by all its streams) in a fixed order: the random misset
(seeded with ``-misset_seed``), the mosaic domains (``-mosaic_seed``), then
the Poisson noise (``-seed``).  A seed not given is taken from the clock.
The draws are made by the C library (csrc/nb_random.c, through the public
entry points ``nb_legacy_draws``, ``nb_noise_image`` and ``nb_ran1_stream``),
so both engines and the output writers get the legacy values without building
a plan.  Seeds not given come from the clock by the one rule of :mod:`nanobrag.seeds`.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..config import Config
from ..seeds import noise_seed
from ._ffi import ffi, lib
from .convert import to_nb_config
from .errors import CEngineError, error_for

__all__ = [
    "legacy_draws",
    "random_misset_rad",
    "mosaic_draws",
    "noise_image",
    "ran1_stream",
]


def _check(status: int, what: str) -> None:
    if status != lib.NB_OK:
        raise error_for(f"{what}: {ffi.string(lib.nb_status_message(status)).decode()}", status)


def legacy_draws(config: Config, domains: Optional[int] = None) -> Tuple[Tuple[float, float, float], np.ndarray]:
    """The random misset and the mosaic-domain draws the legacy program makes for ``config``.

    Parameters
    ----------
    config : Config
        Only ``crystal.misset_random``, ``misset_seed``, ``mosaic_seed`` and
        (when ``domains`` is None) the mosaic settings are used.
    domains : int, optional
        How many domains' draws to return; default the count the legacy rules give.

    Returns
    -------
    misset_rad : tuple of 3 float
        Rotations about x, y, z (radians) of ``-misset random``; zeros otherwise.
    draws : numpy.ndarray, shape (domains, 3)
        Per domain r1, r2 in [-1, 1] and the single-precision cap factor
        ``powf(1 - r3^2, 1/3)``; domain 0 is the unrotated crystal whatever its draws.
    """
    cfg, keep = to_nb_config(config)
    count = ffi.new("int *")
    if domains is None:
        _check(lib.nb_legacy_draws(cfg, ffi.NULL, ffi.NULL, 0, count), "nb_legacy_draws")
        domains = int(count[0])
    draws = np.zeros((max(int(domains), 0), 3), dtype=np.float64)
    misset = ffi.new("double[3]")
    draws_ptr = ffi.cast("double *", ffi.from_buffer(draws)) if draws.size else ffi.NULL
    _check(lib.nb_legacy_draws(cfg, misset, draws_ptr, draws.size, ffi.NULL), "nb_legacy_draws")
    return (float(misset[0]), float(misset[1]), float(misset[2])), draws


def random_misset_rad(config: Config) -> Tuple[float, float, float]:
    """The misset angles (rad) of ``-misset random`` for ``config`` (see :func:`legacy_draws`)."""
    return legacy_draws(config, 0)[0]


def mosaic_draws(config: Config, domains: Optional[int] = None) -> np.ndarray:
    """The (domains, 3) mosaic draws of ``config`` (see :func:`legacy_draws`)."""
    return legacy_draws(config, domains)[1]


def noise_image(config: Config, float_image: Any, seed: Optional[int] = None) -> Tuple[np.ndarray, int, float]:
    """Legacy Poisson noise image of a rendered float image.

    Parameters
    ----------
    config : Config
        ``output.adc_offset``, ``output.noise_seed``, the detector ROI and the
        random misset / mosaic settings (whose draws precede the noise in the
        legacy generator) are used; the detector is the image's shape.
    float_image : array_like, shape (slow, fast)
        The rendered image (photons per pixel); converted to float32.
    seed : int, optional
        The ``-seed`` value; default ``config.output.noise_seed``, then the clock.

    Returns
    -------
    image : numpy.ndarray of uint16, shape (slow, fast)
        Poisson(float pixel) + adc offset, clipped at 65535; 0 outside the ROI.
    overloads : int
        Pixels clipped at 65535.
    photons : float
        Sum of the Poisson deviates.
    """
    img = np.ascontiguousarray(float_image, dtype=np.float32)
    if img.ndim != 2:
        raise CEngineError(f"float image must be 2-D (slow, fast), got {img.ndim} dimensions")
    cfg, keep = to_nb_config(config)
    out = np.zeros(img.shape, dtype=np.uint16)
    overloads = ffi.new("long *")
    photons = ffi.new("double *")
    status = lib.nb_noise_image(
        cfg,
        int(img.shape[1]),
        int(img.shape[0]),
        ffi.cast("const float *", ffi.from_buffer(img)),
        float(config.output.adc_offset),
        noise_seed(config.output, seed),
        ffi.cast("uint16_t *", ffi.from_buffer(out)),
        overloads,
        photons,
    )
    _check(status, "nb_noise_image")
    return out, int(overloads[0]), float(photons[0])


def ran1_stream(seed: int, n: int) -> np.ndarray:
    """``n`` deviates (float32) of the legacy ran1 generator seeded with ``-seed`` (fresh shuffle table)."""
    out = np.empty(int(n), dtype=np.float32)
    _check(lib.nb_ran1_stream(int(seed), ffi.cast("float *", ffi.from_buffer(out)), out.size), "nb_ran1_stream")
    return out
