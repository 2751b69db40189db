"""The C library's detector response (legacy noisify pipeline) and PSF, through cffi.

Thin wrappers: arguments are checked and converted here, the arithmetic and
the random stream are the library's (csrc/nb_detector_response.c).
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np

from ._ffi import ffi, lib

__all__ = ["PSF_CODES", "apply_psf", "detector_response"]

#: Config psf_type -> nb_psf_type
PSF_CODES = {"none": 0, "gauss": 1, "fiber": 2}


class ResponseError(RuntimeError):
    """The C library refused the arguments (a bug in the caller: the Python side validates first)."""


def _check(status: int, what: str) -> None:
    if status != 0:
        raise ResponseError(f"{what}: {ffi.string(lib.nb_status_message(status)).decode()}")


def _image(image: np.ndarray) -> np.ndarray:
    img = np.ascontiguousarray(image, dtype=np.float32)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"the image must be a non-empty 2-D (slow, fast) array, got shape {img.shape}")
    return img


def apply_psf(image: np.ndarray, psf_type: str, fwhm_px: float, radius_px: int = 0) -> Tuple[np.ndarray, float, int]:
    """The legacy PSF of a float32 (slow, fast) image: ``(blurred, lost photons, radius used)``."""
    img = _image(image)
    out = np.empty_like(img)
    lost = ffi.new("double *")
    radius = ffi.new("int *")
    status = lib.nb_apply_psf(
        PSF_CODES[psf_type], float(fwhm_px), int(radius_px), img.shape[1], img.shape[0],
        ffi.cast("const float *", ffi.from_buffer(img)), ffi.cast("float *", ffi.from_buffer(out)),
        img.size, lost, radius,
    )
    _check(status, "nb_apply_psf")
    return out, float(lost[0]), int(radius[0])


def detector_response(
    image: np.ndarray,
    *,
    photon_scale: float,
    psf_type: str,
    psf_fwhm_px: float,
    psf_radius_px: int,
    noise: bool,
    flicker_noise: float,
    calibration_noise: float,
    readout_noise_adu: float,
    gain_adu_per_photon: float,
    adc_offset_adu: float,
    seed_state: int,
    calib_seed_state: int,
    bits: int,
) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Dict[str, float]]:
    """Run nb_detector_response: ``(photons float32, int image uint32, noise image uint32 or None, stats)``.

    ``stats`` holds the fields of nb_response_stats by name.

    ``seed_state``/``calib_seed_state`` are the generator states as the legacy
    stores them (``-seed N`` gives -N).
    """
    img = _image(image)
    cfg = ffi.new("nb_response_config *")
    lib.nb_response_config_init(cfg)
    cfg.photon_scale = float(photon_scale)
    cfg.psf_type = PSF_CODES[psf_type]
    cfg.psf_fwhm_px = float(psf_fwhm_px)
    cfg.psf_radius_px = int(psf_radius_px)
    cfg.noise = 1 if noise else 0
    cfg.flicker_noise = float(flicker_noise)
    cfg.calibration_noise = float(calibration_noise)
    cfg.readout_noise_adu = float(readout_noise_adu)
    cfg.gain_adu_per_photon = float(gain_adu_per_photon)
    cfg.adc_offset_adu = float(adc_offset_adu)
    cfg.seed_state = int(seed_state)
    cfg.calib_seed_state = int(calib_seed_state)
    cfg.bits = int(bits)
    photons = np.empty_like(img)
    int_image = np.empty(img.shape, dtype=np.uint32)
    noise_image = np.empty(img.shape, dtype=np.uint32) if noise else None
    stats = ffi.new("nb_response_stats *")
    status = lib.nb_detector_response(
        cfg, img.shape[1], img.shape[0], ffi.cast("const float *", ffi.from_buffer(img)), img.size,
        ffi.cast("float *", ffi.from_buffer(photons)), ffi.cast("uint32_t *", ffi.from_buffer(int_image)),
        ffi.cast("uint32_t *", ffi.from_buffer(noise_image)) if noise else ffi.NULL, img.size, stats,
    )
    _check(status, "nb_detector_response")
    s = stats[0]
    return photons, int_image, noise_image, dict(
        max_input=s.max_input, photons_before_psf=s.photons_before_psf, photons=s.photons,
        overloads=int(s.overloads), psf_radius_px=int(s.psf_radius_px), lost_photons=s.lost_photons,
    )
