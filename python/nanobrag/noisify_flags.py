"""The legacy noisify command line, turned into a :class:`NoisifyJob`.

Options keep their legacy names, units and defaults (listed in
:data:`NOISIFY_FLAGS`); the spellings the legacy substring matcher accepted
by accident are an explicit alias table.  Reproduced quirks: any bare argument
containing ``floatimage.bin`` is the input image; ``-seed N`` and
``-calib_seed N`` store -N; the default calibration seed is the positive state
+123456789 (so giving ``-calib_seed 123456789`` changes the noise); the image
size is guessed from the file length when no size is given (largest divisor
<= sqrt(N) along fast, so non-square images come out transposed); the values
of ``-header`` win over the command line; ``-psf`` with a word containing
neither ``gauss`` nor ``fiber`` warns and renders no PSF; ``-badpix_seed``
and ``-hotpix_seed`` are read and unused.  Deliberate differences are listed
in specs/detector_response.md (exact option names, errors for unknown
options, bad values, missing or short files).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .config import ConfigError

__all__ = ["NoisifyJob", "NOISIFY_FLAGS", "parse_noisify_args", "noisify_usage"]

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


@dataclass
class NoisifyJob:
    """Everything one noisify run needs, in the legacy units (metres internally, as the legacy)."""

    input_path: Optional[str] = None
    header_path: Optional[str] = None
    int_path: str = "intimage.img"
    pgm_path: str = "image.pgm"
    noise_path: str = "noiseimage.img"
    write_pgm: bool = True
    noise: bool = True
    bits: int = 16
    # detector (header values)
    fpixels: int = 0
    spixels: int = 0
    detsize_x_m: float = 102.4e-3
    detsize_y_m: float = 102.4e-3
    #: pixel edge as typed (mm); the legacy keeps pixel_mm / 1000.0 (m)
    pixel_mm: float = 0.1
    distance_m: float = 100.0e-3
    wavelength_A: float = 1.0
    xbeam_m: Optional[float] = None
    ybeam_m: Optional[float] = None
    phi_deg: float = 0.0
    osc_deg: float = 1.0
    # response
    psf_type: str = "none"
    psf_fwhm_um: float = 46.0
    psf_radius_px: int = 0
    fluence_photons_per_m2: float = 125932015286227086360700780544.0
    scale: float = 1.0
    gain_adu_per_photon: float = 1.0
    adc_offset_adu: float = 40.0
    readout_noise_adu: float = 0.0
    flicker_noise: float = 0.0
    calibration_noise: float = 0.03
    seed: Optional[int] = None
    calibration_seed: Optional[int] = None
    #: remarks for stderr (unused options, legacy warnings)
    notes: List[str] = field(default_factory=list)
    #: legacy WARNING lines for stdout
    warnings: List[str] = field(default_factory=list)

    @property
    def pixel_m(self) -> float:
        return self.pixel_mm / 1000.0


# ---------------------------------------------------------------------------
# values


def _number(typed: str, token: str, unit: str = "", low: Optional[float] = None) -> float:
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or token.strip().lower() in ("nan", "inf", "infinity", "+inf", "-inf"):
        raise ConfigError(f"{typed} expects a number{f' ({unit})' if unit else ''}, got {token!r}")
    if low is not None and value < low:
        raise ConfigError(f"{typed} expects a number >= {low:g}{f' ({unit})' if unit else ''}, got {token!r}")
    return value


def _integer(typed: str, token: str, low: Optional[int] = None) -> int:
    try:
        value = int(token, 10)
    except ValueError:
        raise ConfigError(f"{typed} expects an integer, got {token!r}") from None
    if not _INT_MIN <= value <= _INT_MAX:
        raise ConfigError(f"{typed} expects an integer that fits in 32 bits, got {token!r}")
    if low is not None and value < low:
        raise ConfigError(f"{typed} expects an integer >= {low}, got {token!r}")
    return value


def _file(typed: str, token: str) -> str:
    if token == "":
        raise ConfigError(f"{typed} expects a file name, got ''")
    return token


# ---------------------------------------------------------------------------
# option table: name -> (aliases, takes a value, help, apply(job, typed, token))

Apply = Callable[[NoisifyJob, str, Optional[str]], None]


def _set(attr: str, conv: Callable[[str, str], object]) -> Apply:
    def apply(job: NoisifyJob, typed: str, token: Optional[str]) -> None:
        setattr(job, attr, conv(typed, token))

    return apply


def _mm_to_m(attr: str) -> Apply:
    def apply(job: NoisifyJob, typed: str, token: Optional[str]) -> None:
        setattr(job, attr, _number(typed, token, "mm") / 1000.0)

    return apply


def _apply_detsize(job: NoisifyJob, typed: str, token: Optional[str]) -> None:
    job.detsize_x_m = job.detsize_y_m = _number(typed, token, "mm", low=0) / 1000.0


def _apply_detpixels(job: NoisifyJob, typed: str, token: Optional[str]) -> None:
    job.fpixels = job.spixels = _integer(typed, token, low=0)


def _apply_psf(job: NoisifyJob, typed: str, token: Optional[str]) -> None:
    # the legacy matches substrings of the word, fiber last
    kind = "none"
    if "gauss" in token:
        kind = "gauss"
    if "fiber" in token:
        kind = "fiber"
    if kind == "none" and token != "none":
        job.warnings.append(f"WARNING: unknown psf type: {token}")
    job.psf_type = kind


def _apply_psf_radius(job: NoisifyJob, typed: str, token: Optional[str]) -> None:
    value = _number(typed, token, "pixels", low=0)
    if value >= 2**31:
        raise ConfigError(f"{typed} expects a radius below 2^31 pixels, got {token!r}")
    job.psf_radius_px = int(value)  # the legacy truncates atof() to an int


def _apply_seed(attr: str) -> Apply:
    def apply(job: NoisifyJob, typed: str, token: Optional[str]) -> None:
        setattr(job, attr, _integer(typed, token))

    return apply


def _unused(job: NoisifyJob, typed: str, token: Optional[str]) -> None:
    _integer(typed, token)
    job.notes.append(f"{typed} has no effect: the legacy noisify reads it but has no bad or hot pixels")


def _constant(attr: str, value) -> Apply:
    def apply(job: NoisifyJob, typed: str, token: Optional[str]) -> None:
        setattr(job, attr, value)

    return apply


def _num(attr: str, unit: str = "", low: Optional[float] = None) -> Apply:
    return _set(attr, lambda typed, token: _number(typed, token, unit, low))


#: (name, aliases, takes_value, help)
NOISIFY_FLAGS: Tuple[Tuple[str, Tuple[str, ...], bool, str, Apply], ...] = (
    ("-floatfile", ("-floatimage", "-bin"), True, "input raw float32 image (photons/pixel before -scale); "
     "a bare argument containing 'floatimage.bin' also names it", _set("input_path", _file)),
    ("-header", (), True, "SMV file whose header (first HEADER_BYTES) is copied into the outputs; its SIZE1, "
     "SIZE2, PIXEL_SIZE, DISTANCE, BEAM_CENTER_X/Y win over the command line", _set("header_path", _file)),
    ("-intfile", ("-intimage",), True, "noiseless SMV output (default intimage.img)", _set("int_path", _file)),
    ("-pgmfile", ("-pgmimage",), True, "8-bit PGM output (default image.pgm)", _set("pgm_path", _file)),
    ("-noisefile", ("-noiseimage",), True, "SMV output with noise (default noiseimage.img)",
     _set("noise_path", _file)),
    ("-nonoise", (), False, "no noise image; calibration, flicker and read-out noise off; the PSF blurs "
     "the noiseless image", _constant("noise", False)),
    ("-nopgm", (), False, "no PGM image", _constant("write_pgm", False)),
    ("-bits", (), True, "integer depth: 16 (unsigned short) or 32 (long_integer); other values write "
     "header-only files (legacy)", _set("bits", lambda t, v: _integer(t, v))),
    ("-scale", (), True, "factor putting the input on the photon scale (default 1)", _num("scale")),
    ("-fluence", (), True, "photons/m^2: input * fluence * r_e^2 = photons (default makes the factor 1)",
     _num("fluence_photons_per_m2", "photons/m^2")),
    ("-gain", (), True, "ADU per photon (default 1)", _num("gain_adu_per_photon", "ADU/photon")),
    ("-adc", ("-adc_offset",), True, "offset added to every pixel (ADU, default 40)", _num("adc_offset_adu", "ADU")),
    ("-readout", ("-readout_noise", "-readnoise"), True, "Gaussian read-out noise (ADU rms, default 0)",
     _num("readout_noise_adu", "ADU", low=0)),
    ("-flicker", ("-flicker_noise",), True, "fractional source fluctuation per pixel (default 0)",
     _num("flicker_noise", "fraction", low=0)),
    ("-calibration", ("-calibration_noise",), True, "fractional per-pixel calibration error (default 0.03)",
     _num("calibration_noise", "fraction", low=0)),
    ("-seed", (), True, "seed of the noise (default: the clock)", _apply_seed("seed")),
    ("-calib_seed", (), True, "seed of the calibration error (default: the legacy state +123456789)",
     _apply_seed("calibration_seed")),
    ("-badpix_seed", (), True, "accepted, no effect (legacy)", _unused),
    ("-hotpix_seed", (), True, "accepted, no effect (legacy)", _unused),
    ("-psf", (), True, "point-spread function: gauss, fiber or none", _apply_psf),
    ("-psf_fwhm", ("-psf_sigma", "-psf_size", "-psf_width", "-psf_fw", "-psf_si", "-psf_wi"), True,
     "PSF full width at half maximum (um, default 46; 0: no PSF)", _num("psf_fwhm_um", "um", low=0)),
    ("-psf_radius", ("-psf_rad",), True, "PSF rendering radius (pixels, truncated; default 0 = automatic)",
     _apply_psf_radius),
    ("-distance", (), True, "header DISTANCE (mm, default 100)", _mm_to_m("distance_m")),
    ("-detsize", (), True, "detector edge (mm, default 102.4; only used without a pixel count)", _apply_detsize),
    ("-detsize_x", (), True, "detector edge along fast (mm)", _mm_to_m("detsize_x_m")),
    ("-detsize_y", (), True, "detector edge along slow (mm)", _mm_to_m("detsize_y_m")),
    ("-detpixels", (), True, "pixels along fast and slow (default: guessed from the file length)",
     _apply_detpixels),
    ("-detpixels_x", (), True, "pixels along fast", _set("fpixels", lambda t, v: _integer(t, v, low=0))),
    ("-detpixels_y", (), True, "pixels along slow", _set("spixels", lambda t, v: _integer(t, v, low=0))),
    ("-pixel", ("-pixel_size",), True, "pixel edge (mm, default 0.1): header PIXEL_SIZE and the PSF width "
     "in pixels", _num("pixel_mm", "mm")),
    ("-lambda", ("-wavelength",), True, "header WAVELENGTH (Angstrom, default 1)", _num("wavelength_A", "Angstrom")),
    ("-Xbeam", (), True, "header BEAM_CENTER_X (mm, default the detector centre)", _mm_to_m("xbeam_m")),
    ("-Ybeam", (), True, "header BEAM_CENTER_Y = detector height - Ybeam (mm, default the centre)",
     _mm_to_m("ybeam_m")),
    ("-phi", (), True, "header PHI and OSC_START (degrees, default 0)", _num("phi_deg", "degrees")),
    ("-osc", ("-oscillation",), True, "header OSC_RANGE (degrees, default 1)", _num("osc_deg", "degrees")),
)

_BY_SPELLING: Dict[str, Tuple[str, bool, Apply]] = {}
for _name, _aliases, _takes, _help, _apply in NOISIFY_FLAGS:
    for _s in (_name,) + _aliases:
        assert _s not in _BY_SPELLING, _s
        _BY_SPELLING[_s] = (_name, _takes, _apply)


def noisify_usage() -> str:
    """The option list printed by ``nanobrag-noisify -help``."""
    lines = ["usage: nanobrag-noisify -floatfile FILE [options]", "", "options:"]
    for name, aliases, takes, text, _ in NOISIFY_FLAGS:
        spell = name + (" VALUE" if takes else "")
        alias = f" (also {', '.join(aliases)})" if aliases else ""
        lines.append(f"  {spell:<22} {text}{alias}")
    lines.append("")
    lines.append("Writes intimage.img, image.pgm and noiseimage.img (legacy noisify files); see "
                 "specs/detector_response.md.")
    return "\n".join(lines) + "\n"


def parse_noisify_args(argv: Sequence[str]) -> NoisifyJob:
    """Parse legacy noisify arguments (without the program name); raises ConfigError naming the option."""
    job = NoisifyJob()
    argv = [os.fspath(a) for a in argv]
    i = 0
    while i < len(argv):
        token = argv[i]
        if "floatimage.bin" in token and not token.startswith("-"):
            job.input_path = token  # legacy: a bare file name containing floatimage.bin is the input
            i += 1
            continue
        entry = _BY_SPELLING.get(token)
        if entry is None:
            if token.startswith("-"):
                raise ConfigError(f"unknown option {token} (nanobrag-noisify -help lists the options)")
            raise ConfigError(f"unexpected argument {token!r}: options start with '-' (the input is -floatfile FILE)")
        name, takes, apply = entry
        if takes:
            if i + 1 >= len(argv):
                raise ConfigError(f"{token} expects a value, but the command line ends there")
            apply(job, token, argv[i + 1])
            i += 2
        else:
            apply(job, token, None)
            i += 1
    if job.bits not in (16, 32):
        job.notes.append(f"-bits {job.bits}: as the legacy noisify, the SMV files get a header and no pixel data")
    return job
