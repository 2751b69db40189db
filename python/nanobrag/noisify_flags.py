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

from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

from .config import ConfigError
from .flag_parsing import FILE, TEXT, Flag, FlagTable, count, integer, nonneg, num, render_usage

__all__ = ["NoisifyJob", "NOISIFY_FLAGS", "parse_noisify_args", "noisify_usage"]


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
# apply functions: (job, typed spelling, converted values)


def _set(attr: str):
    def apply(job: NoisifyJob, typed: str, values: Tuple[Any, ...]) -> None:
        setattr(job, attr, values[0])

    return apply


def _mm_to_m(*attrs: str):
    def apply(job: NoisifyJob, typed: str, values: Tuple[float, ...]) -> None:
        for attr in attrs:
            setattr(job, attr, values[0] / 1000.0)

    return apply


def _both(*attrs: str):
    def apply(job: NoisifyJob, typed: str, values: Tuple[Any, ...]) -> None:
        for attr in attrs:
            setattr(job, attr, values[0])

    return apply


def _constant(attr: str, value: Any):
    def apply(job: NoisifyJob, typed: str, values: Tuple[Any, ...]) -> None:
        setattr(job, attr, value)

    return apply


def _apply_psf(job: NoisifyJob, typed: str, values: Tuple[str, ...]) -> None:
    # the legacy matches substrings of the word, fiber last
    token = values[0]
    kind = "none"
    if "gauss" in token:
        kind = "gauss"
    if "fiber" in token:
        kind = "fiber"
    if kind == "none" and token != "none":
        job.warnings.append(f"WARNING: unknown psf type: {token}")
    job.psf_type = kind


def _apply_psf_radius(job: NoisifyJob, typed: str, values: Tuple[float, ...]) -> None:
    if values[0] >= 2**31:
        raise ConfigError(f"{typed} expects a radius below 2^31 pixels, got {values[0]:g}")
    job.psf_radius_px = int(values[0])  # the legacy truncates atof() to an int


def _unused(job: NoisifyJob, typed: str, values: Tuple[int, ...]) -> None:
    job.notes.append(f"{typed} has no effect: the legacy noisify reads it but has no bad or hot pixels")


# ---------------------------------------------------------------------------
# option table

I, O, R, H = "Input", "Output files", "Detector response", "Header values (those of -header win)"
_MM = (num("mm"),)

NOISIFY_FLAGS: Tuple[Flag, ...] = (
    Flag("-floatfile", I, "input raw float32 image (photons/pixel before -scale); a bare argument containing "
         "'floatimage.bin' also names it", _set("input_path"), (FILE,), "FILE", ("-floatimage", "-bin")),
    Flag("-header", I, "SMV file whose header (first HEADER_BYTES) is copied into the outputs; its SIZE1, SIZE2, "
         "PIXEL_SIZE, DISTANCE, BEAM_CENTER_X/Y win over the command line", _set("header_path"), (FILE,), "FILE"),
    Flag("-intfile", O, "noiseless SMV output", _set("int_path"), (FILE,), "FILE", ("-intimage",), "intimage.img"),
    Flag("-pgmfile", O, "8-bit PGM output", _set("pgm_path"), (FILE,), "FILE", ("-pgmimage",), "image.pgm"),
    Flag("-noisefile", O, "SMV output with noise", _set("noise_path"), (FILE,), "FILE", ("-noiseimage",),
         "noiseimage.img"),
    Flag("-nonoise", O, "no noise image; calibration, flicker and read-out noise off; the PSF blurs the "
         "noiseless image", _constant("noise", False)),
    Flag("-nopgm", O, "no PGM image", _constant("write_pgm", False)),
    Flag("-bits", O, "integer depth: 16 (unsigned short) or 32 (long_integer); other values write header-only "
         "files (legacy)", _set("bits"), (integer(),), "N", default="16"),
    Flag("-scale", R, "factor putting the input on the photon scale", _set("scale"), (num(),), "S", default="1"),
    Flag("-fluence", R, "photons/m^2: input * fluence * r_e^2 = photons", _set("fluence_photons_per_m2"),
         (num("photons/m^2"),), "N", default="the value that makes the factor 1"),
    Flag("-gain", R, "ADU per photon", _set("gain_adu_per_photon"), (num("ADU/photon"),), "G", default="1"),
    Flag("-adc", R, "offset added to every pixel (ADU)", _set("adc_offset_adu"), (num("ADU"),), "ADU",
         ("-adc_offset",), "40"),
    Flag("-readout", R, "Gaussian read-out noise (ADU rms)", _set("readout_noise_adu"), (nonneg("ADU"),), "ADU",
         ("-readout_noise", "-readnoise"), "0"),
    Flag("-flicker", R, "fractional source fluctuation per pixel", _set("flicker_noise"), (nonneg("fraction"),),
         "F", ("-flicker_noise",), "0"),
    Flag("-calibration", R, "fractional per-pixel calibration error", _set("calibration_noise"),
         (nonneg("fraction"),), "F", ("-calibration_noise",), "0.03"),
    Flag("-seed", R, "seed of the noise", _set("seed"), (integer(),), "N", default="the clock"),
    Flag("-calib_seed", R, "seed of the calibration error", _set("calibration_seed"), (integer(),), "N",
         default="the legacy state +123456789"),
    Flag("-badpix_seed", R, "accepted, no effect (legacy)", _unused, (integer(),), "N"),
    Flag("-hotpix_seed", R, "accepted, no effect (legacy)", _unused, (integer(),), "N"),
    Flag("-psf", R, "point-spread function: gauss, fiber or none", _apply_psf, (TEXT,), "gauss|fiber|none",
         default="none"),
    Flag("-psf_fwhm", R, "PSF full width at half maximum (um; 0: no PSF)", _set("psf_fwhm_um"), (nonneg("um"),),
         "UM", ("-psf_sigma", "-psf_size", "-psf_width", "-psf_fw", "-psf_si", "-psf_wi"), "46"),
    Flag("-psf_radius", R, "PSF rendering radius (pixels, truncated; 0: automatic)", _apply_psf_radius,
         (nonneg("pixels"),), "PX", ("-psf_rad",), "0"),
    Flag("-distance", H, "header DISTANCE (mm)", _mm_to_m("distance_m"), _MM, "MM", default="100"),
    Flag("-detsize", H, "detector edge (mm; only used without a pixel count)",
         _mm_to_m("detsize_x_m", "detsize_y_m"), (nonneg("mm"),), "MM", default="102.4"),
    Flag("-detsize_x", H, "detector edge along fast (mm)", _mm_to_m("detsize_x_m"), _MM, "MM"),
    Flag("-detsize_y", H, "detector edge along slow (mm)", _mm_to_m("detsize_y_m"), _MM, "MM"),
    Flag("-detpixels", H, "pixels along fast and slow", _both("fpixels", "spixels"), (count(),), "N",
         default="guessed from the file length"),
    Flag("-detpixels_x", H, "pixels along fast", _set("fpixels"), (count(),), "N"),
    Flag("-detpixels_y", H, "pixels along slow", _set("spixels"), (count(),), "N"),
    Flag("-pixel", H, "pixel edge (mm): header PIXEL_SIZE and the PSF width in pixels", _set("pixel_mm"),
         _MM, "MM", ("-pixel_size",), "0.1"),
    Flag("-lambda", H, "header WAVELENGTH (Angstrom)", _set("wavelength_A"), (num("Angstrom"),), "A",
         ("-wavelength",), "1"),
    Flag("-Xbeam", H, "header BEAM_CENTER_X (mm)", _mm_to_m("xbeam_m"), _MM, "MM", default="the detector centre"),
    Flag("-Ybeam", H, "header BEAM_CENTER_Y = detector height - Ybeam (mm)", _mm_to_m("ybeam_m"), _MM, "MM",
         default="the centre"),
    Flag("-phi", H, "header PHI and OSC_START (degrees)", _set("phi_deg"), (num("degrees"),), "DEG", default="0"),
    Flag("-osc", H, "header OSC_RANGE (degrees)", _set("osc_deg"), (num("degrees"),), "DEG", ("-oscillation",),
         "1"),
)

TABLE = FlagTable(
    NOISIFY_FLAGS,
    unknown_hint=" (nanobrag-noisify -help lists the options)",
    bare_hint=" (the input is -floatfile FILE)",
    # legacy: a bare file name containing floatimage.bin is the input
    bare_option=lambda token: "-floatfile" if "floatimage.bin" in token else None,
)


def noisify_usage() -> str:
    """The option list printed by ``nanobrag-noisify -help``."""
    head = ("usage: nanobrag-noisify -floatfile FILE [options]", "",
            "Apply the detector response of the legacy noisify program to a float image.")
    tail = ("Writes intimage.img, image.pgm and noiseimage.img (legacy noisify files); see "
            "specs/detector_response.md.",)
    return render_usage(head, NOISIFY_FLAGS, tail=tail)


def parse_noisify_args(argv: Sequence[str]) -> NoisifyJob:
    """Parse legacy noisify arguments (without the program name); raises ConfigError naming the option."""
    job = NoisifyJob()
    for flag, typed, values in TABLE.tokenize(argv):
        flag.apply(job, typed, values)
    if job.bits not in (16, 32):
        job.notes.append(f"-bits {job.bits}: as the legacy noisify, the SMV files get a header and no pixel data")
    return job
