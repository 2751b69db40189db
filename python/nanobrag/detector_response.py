"""Detector response: turn a float image (photons per pixel) into detector counts.

One pipeline for any float image from either engine, configured by
:class:`~nanobrag.config.DetectorResponseConfig` (``config.response``), the
ADC offset and the noise seed, in the legacy noisify order:

1. photons = float(photon_scale * value);
2. noiseless ADU = photons * gain + adc (clipped at 65535, truncated);
3. per pixel: flicker ``*= 1 + flicker * N(0,1)``, calibration
   ``*= 1 + calibration * N(0,1)``, then a Poisson deviate;
4. the point-spread function (on the noise image; on the noiseless image when
   there is no noise image);
5. noise ADU = photons * gain + adc + readout * N(0,1), clipped at the bit
   depth's maximum, truncated, negative values wrapping as the legacy C casts.

``engine="c"`` (default) runs the C library (csrc/nb_detector_response.c):
the legacy arithmetic and random stream, so images equal legacy noisify's.
``engine="torch"`` computes the PSF with FFTs in torch (differentiable in the
image and ``psf_fwhm_um``); its noise uses the legacy stream through the C
library (``generator="legacy"``) or torch generators (``generator="torch"``).
See specs/detector_response.md.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .config import ConfigError, DetectorResponseConfig

__all__ = [
    "R_E_SQR_M2",
    "LEGACY_CALIB_SEED_STATE",
    "ResponseImages",
    "ResponseStats",
    "apply_detector_response",
    "detector_response_of",
    "psf_fwhm_pixels",
    "legacy_adu_to_unsigned",
]

#: Thomson cross-section r_e^2 (m^2) as the legacy noisify writes it.
R_E_SQR_M2 = 7.94079248018965e-30
#: generator state of the calibration stream when no seed is given (legacy default, positive).
LEGACY_CALIB_SEED_STATE = 123456789
GENERATORS = ("legacy", "torch")


@dataclass
class ResponseStats:
    """What the pipeline counted.

    max_input: largest input value; photons_before_psf / photons: photons on
    the noise image before / after the PSF (0 without noise); overloads:
    noise pixels clipped at the bit depth's maximum; psf_radius_px: global
    PSF radius used (0: no PSF applied); lost_photons: photons beyond the
    rendering radii, added back evenly.
    """

    max_input: float
    photons_before_psf: float
    photons: float
    overloads: int
    psf_radius_px: int
    lost_photons: float


@dataclass
class ResponseImages:
    """The images of one detector response.

    photons: float32 photon image behind the last integer image (after the
    PSF where it applied); a torch tensor for ``engine="torch"``.
    int_image: noiseless ADU (uint16, or uint32 for 32 bits).
    noise_image: ADU with noise (same dtype), None without noise.
    stats: :class:`ResponseStats`.
    """

    photons: Any
    int_image: np.ndarray
    noise_image: Optional[np.ndarray]
    stats: ResponseStats


def psf_fwhm_pixels(psf_fwhm_um: float, pixel_size_mm: float) -> float:
    """PSF width in pixels as the legacy computes it: float32(fwhm in metres) / pixel in metres."""
    return float(np.float32(float(psf_fwhm_um) / 1e6)) / (float(pixel_size_mm) / 1000.0)


def legacy_adu_to_unsigned(adu: np.ndarray, bits: int) -> np.ndarray:
    """x86-64 C casts of float64 ADU: 32 bits via int64, otherwise uint16 via int32 (negatives wrap)."""
    adu = np.asarray(adu, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        t = np.trunc(adu)
        if bits == 32:
            ok = np.isfinite(t) & (t > -(2.0**63)) & (t < 2.0**63)
            return (np.where(ok, t, 0).astype(np.int64) & 0xFFFFFFFF).astype(np.uint32)
        ok = np.isfinite(t) & (t > -(2.0**31) - 1) & (t < 2.0**31)
        return (np.where(ok, t, 0).astype(np.int64) & 0xFFFF).astype(np.uint16)


def _seed_value(seed: Optional[int]) -> int:
    return int(time.time()) if seed is None else int(seed)


def apply_detector_response(
    image,
    response: DetectorResponseConfig,
    *,
    pixel_size_mm: float,
    adc_offset_adu: float = 40.0,
    seed: Optional[int] = None,
    noise: bool = True,
    engine: str = "c",
    generator: str = "legacy",
) -> ResponseImages:
    """Apply ``response`` to a (slow, fast) float image (numpy array or tensor, photons per pixel).

    Parameters
    ----------
    image : array or torch.Tensor
        Float image, photons per pixel before ``response.photon_scale``.
    response : DetectorResponseConfig
        PSF, noise amplitudes, gain, bit depth, calibration seed.
    pixel_size_mm : float
        Pixel edge (mm), converts ``psf_fwhm_um`` to pixels.
    adc_offset_adu : float
        Offset added to every ADU value.
    seed : int, optional
        ``-seed`` of the noise stream (None: the clock, as the legacy).
    noise : bool
        False: no noise image; the PSF then blurs the noiseless image (legacy ``-nonoise``).
    engine : {"c", "torch"}
    generator : {"legacy", "torch"}
        Random numbers of the noise: the legacy stream (C library) or torch generators.

    Returns
    -------
    ResponseImages
    """
    response.validate()
    if engine not in ("c", "torch"):
        raise ConfigError(f"engine must be 'c' or 'torch', got {engine!r}")
    if generator not in GENERATORS:
        raise ConfigError(f"generator must be one of {', '.join(GENERATORS)}, got {generator!r}")
    if engine == "c" and generator != "legacy":
        raise ConfigError("generator='torch' needs engine='torch'")
    if not (math.isfinite(float(pixel_size_mm)) and float(pixel_size_mm) > 0):
        raise ConfigError(f"pixel_size_mm must be > 0, got {pixel_size_mm}")
    values = _values(image)
    if not np.all(np.isfinite(values)):
        raise ConfigError("the float image holds inf or NaN pixels; the detector response needs finite photons")
    fwhm_px = psf_fwhm_pixels(_float(response.psf_fwhm_um), pixel_size_mm)
    if engine == "torch" and (generator == "torch" or not noise):
        return _torch_response(image, response, fwhm_px, float(adc_offset_adu), seed, noise)
    return _c_response(values, response, fwhm_px, float(adc_offset_adu), seed, noise, as_torch=engine == "torch")


def detector_response_of(result, *, noise: bool = True, generator: str = "legacy",
                         seed: Optional[int] = None) -> ResponseImages:
    """:func:`apply_detector_response` of a :class:`~nanobrag.results.SimulationResult` with its own config.

    Uses ``result.config.response``, ``detector.pixel_size_mm``, ``output.adc_offset``
    and ``output.noise_seed`` (or ``seed``).  A torch-engine result keeps its
    image tensor (and its graph) for the torch PSF; a C-engine result runs
    the C library.  Pixels outside the ROI stay as the pipeline makes them
    (the ``nanobrag`` command zeroes them in the files).
    """
    config = result.config
    image = getattr(result, "image", None)
    engine = "torch" if result.engine == "torch" and image is not None else "c"
    if engine == "c":
        image = result.float_image
    return apply_detector_response(
        image, config.response, pixel_size_mm=_float(config.detector.pixel_size_mm),
        adc_offset_adu=_float(config.output.adc_offset),
        seed=config.output.noise_seed if seed is None else seed, noise=noise, engine=engine, generator=generator,
    )


def _float(x) -> float:
    return float(x.detach()) if hasattr(x, "detach") else float(x)


def _values(image) -> np.ndarray:
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    arr = np.asarray(image)
    if arr.ndim != 2 or arr.size == 0:
        raise ConfigError(f"the float image must be a non-empty 2-D (slow, fast) array, got shape {arr.shape}")
    return arr.astype(np.float32, copy=False)


def _narrow(ints: np.ndarray, bits: int) -> np.ndarray:
    return ints if bits == 32 else ints.astype(np.uint16)


def _c_response(values, r: DetectorResponseConfig, fwhm_px, adc, seed, noise, as_torch) -> ResponseImages:
    from .c_engine import response as c_response

    seed_value = _seed_value(seed)
    calib_state = LEGACY_CALIB_SEED_STATE if r.calibration_seed is None else -int(r.calibration_seed)
    photons, ints, noisy, stats = c_response.detector_response(
        values,
        photon_scale=_float(r.photon_scale),
        psf_type=r.psf_type,
        psf_fwhm_px=fwhm_px,
        psf_radius_px=int(r.psf_radius_px),
        noise=noise,
        flicker_noise=_float(r.flicker_noise),
        calibration_noise=_float(r.calibration_noise),
        readout_noise_adu=_float(r.readout_noise_adu),
        gain_adu_per_photon=_float(r.gain_adu_per_photon),
        adc_offset_adu=adc,
        seed_state=-seed_value,
        calib_seed_state=calib_state,
        bits=int(r.bits),
    )
    stats = ResponseStats(**stats)
    if as_torch:
        import torch

        photons = torch.from_numpy(photons)
    bits = int(r.bits)
    return ResponseImages(photons, _narrow(ints, bits), None if noisy is None else _narrow(noisy, bits), stats)


def _torch_response(image, r: DetectorResponseConfig, fwhm_px, adc, seed, noise) -> ResponseImages:
    import torch

    from . import detector_response_torch as tdr

    t = image if isinstance(image, torch.Tensor) else torch.as_tensor(np.asarray(image, dtype=np.float64))
    if not t.is_floating_point():
        t = t.to(torch.float64)
    use_psf = r.psf_type != "none" and _float(r.psf_fwhm_um) > 0
    fwhm_arg = _fwhm_pixels_tensor(r.psf_fwhm_um, fwhm_px, t)
    photons = t * _float(r.photon_scale) if not isinstance(r.photon_scale, torch.Tensor) else t * r.photon_scale
    max_input = float(t.detach().max().clamp(min=0))
    gain, bits = _float(r.gain_adu_per_photon), int(r.bits)
    radius_used, lost = 0, 0.0

    noiseless = photons
    if not noise and use_psf:
        noiseless, lost_t, radius_used = tdr.apply_psf(photons, r.psf_type, fwhm_arg, int(r.psf_radius_px))
        lost = float(lost_t.detach())
    adu = np.minimum(noiseless.detach().to(torch.float64).cpu().numpy() * gain + adc, 65535.0)
    ints = legacy_adu_to_unsigned(adu, 32 if bits == 32 else 16)
    if not noise:
        stats = ResponseStats(max_input, 0.0, 0.0, 0, radius_used, lost)
        return ResponseImages(noiseless, ints, None, stats)

    seed_value = _seed_value(seed)
    counts = tdr.response_noise(
        photons, flicker_noise=_float(r.flicker_noise), calibration_noise=_float(r.calibration_noise),
        seed=seed_value, calibration_seed=r.calibration_seed,
    ).to(t.dtype)
    before = float(counts.sum())
    signal = counts
    if use_psf:
        signal, lost_t, radius_used = tdr.apply_psf(counts, r.psf_type, fwhm_arg, int(r.psf_radius_px))
        lost = float(lost_t.detach())
    adu_t = tdr.readout_noise(signal.detach().to(torch.float64) * gain + adc, _float(r.readout_noise_adu), seed_value)
    adu = adu_t.cpu().numpy()
    over32 = adu > 2147483647.0
    adu = np.where(over32, 2147483647.0, adu)
    over16 = adu > 65535.0
    overloads = int(np.count_nonzero(over32 if bits == 32 else over16)) if bits in (16, 32) else 0
    noisy = legacy_adu_to_unsigned(adu if bits == 32 else np.where(over16, 65535.0, adu), bits)
    stats = ResponseStats(max_input, before, float(signal.detach().sum()), overloads, radius_used, lost)
    return ResponseImages(signal, ints, noisy, stats)


def _fwhm_pixels_tensor(fwhm_um, fwhm_px: float, like):
    """The PSF width in pixels, keeping a tensor ``fwhm_um`` in the autograd graph."""
    import torch

    if isinstance(fwhm_um, torch.Tensor):
        # d(fwhm_px)/d(fwhm_um) = fwhm_px / fwhm_um; the value is the legacy-rounded one
        value = float(fwhm_um.detach())
        scale = fwhm_px / value if value != 0 else 0.0
        return (fwhm_um.to(like.dtype) * scale).to(like.device)
    return fwhm_px
