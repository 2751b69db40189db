"""The ``nanobrag-noisify`` command: the legacy noisify program as a thin front end.

Flow: parse the legacy options (:mod:`nanobrag.noisify_flags`) -> read the
float image (and the ``-header`` SMV header) -> settle the image size as the
legacy does -> :func:`nanobrag.detector_response.apply_detector_response`
(C library, legacy random stream) -> write intimage.img, image.pgm and
noiseimage.img (all staged first: nothing is left half-written).

Exit status: 0 success; 2 bad command line or input (one line
``nanobrag-noisify: error: ...`` on stderr); 1 an output could not be written.
"""
from __future__ import annotations

import math
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .config import ConfigError, DetectorResponseConfig
from .detector_response import R_E_SQR_M2, apply_detector_response
from .flag_parsing import HELP_FLAGS
from .io.atomic import atomic_write_many
from .io.pgm import pgm_bytes
from .io.smv import smv_header_value
from .noisify_flags import NoisifyJob, noisify_usage, parse_noisify_args

__all__ = ["main", "run_noisify", "noisify_header", "read_header_block"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROGRAM = "nanobrag-noisify"


def _error(message: str, status: int) -> int:
    sys.stderr.write(f"{PROGRAM}: error: {' '.join(str(message).split())}\n")
    return status


def read_header_block(path: str) -> Tuple[bytes, str]:
    """First HEADER_BYTES of an SMV file (raw bytes, and the text up to the first NUL) as legacy GetFrame."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(f"-header: cannot read {path}: {exc.strerror or exc}") from None
    # the legacy only compares the first 12 characters
    if len(raw) < 512 or not raw.startswith(b"{\nHEADER_BYT"):
        raise ConfigError(f"-header: {path} does not look like an SMV file (expected a 512-byte header "
                          "starting with '{' and HEADER_BYTES=)")
    text512 = raw[:512].decode("latin-1")
    size = smv_header_value(text512, "HEADER_BYTES")
    if not (math.isfinite(size) and size >= 1 and int(size) <= len(raw)):
        raise ConfigError(f"-header: {path} has HEADER_BYTES={size:g} but holds {len(raw)} bytes")
    size = int(size)
    block = raw[:size]
    return block, block.decode("latin-1").split("\0", 1)[0]


def noisify_header(job: NoisifyJob, fpixels: int, spixels: int, detsize_y_m: float, xbeam_m: float,
                   ybeam_m: float) -> bytes:
    """The 512-byte SMV header the legacy noisify writes (the layout lines only for 16 and 32 bits)."""
    head = ""
    if job.bits in (16, 32):
        kind = "unsigned_short" if job.bits == 16 else "long_integer"
        head = f"{{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE={kind};\n"
    g = lambda v: "%g" % v  # noqa: E731 - C printf %g
    head += (
        f"SIZE1={fpixels};\nSIZE2={spixels};\nPIXEL_SIZE={g(job.pixel_m * 1000.0)};\n"
        f"DISTANCE={g(job.distance_m * 1000.0)};\n"
        f"WAVELENGTH={g(job.wavelength_A)};\nBEAM_CENTER_X={g(xbeam_m * 1000.0)};\n"
        f"BEAM_CENTER_Y={g((detsize_y_m - ybeam_m) * 1000)};\n"
        f"PHI={g(job.phi_deg)};\nOSC_START={g(job.phi_deg)};\nOSC_RANGE={g(job.osc_deg)};\n"
        "DETECTOR_SN=000;\nBEAMLINE=fake;\n}\f"
    )
    return head.ljust(512, " ").encode("latin-1")


def _guess_size(pixels: int) -> Tuple[int, int]:
    """Largest divisor of pixels <= sqrt(pixels) along fast (legacy guess; transposes non-square images)."""
    x = int(math.sqrt(pixels))
    y = pixels // x
    while pixels != x * y and x > 0:
        x -= 1
        y = pixels // x
    if pixels != x * y:
        x, y = pixels, 1
    return x, y


def _settle(job: NoisifyJob, file_pixels: int, header_text: Optional[str], lines: List[str]):
    """Image size, detector size and beam centre as the legacy settles them; returns a dict."""
    fpix, spix = job.fpixels, job.spixels
    pixel_mm = job.pixel_mm
    distance_m, wavelength_A = job.distance_m, job.wavelength_A
    detsize_x, detsize_y = job.detsize_x_m, job.detsize_y_m
    xbeam, ybeam = job.xbeam_m, job.ybeam_m
    pixels = file_pixels
    if header_text is not None:
        width = smv_header_value(header_text, "SIZE1")
        height = smv_header_value(header_text, "SIZE2")
        if width == 0:
            width = height = smv_header_value(header_text, "DETECTOR_DIMENSIONS")
        if not (math.isfinite(width) and math.isfinite(height) and width >= 1 and height >= 1):
            raise ConfigError(f"-header: {job.header_path} has no usable SIZE1/SIZE2")
        fpix, spix = int(width), int(height)
        pixels = fpix * spix
        value = smv_header_value(header_text, "PIXEL_SIZE")
        if not math.isnan(value):
            pixel_mm = value
        detsize_x, detsize_y = pixel_mm / 1000.0 * fpix, pixel_mm / 1000.0 * spix
        value = smv_header_value(header_text, "DISTANCE")  # the LAST match: CLOSE_DISTANCE if present
        if not math.isnan(value):
            distance_m = value / 1000.0
        value = smv_header_value(header_text, "WAVELENGTH")
        if not math.isnan(value):
            wavelength_A = value  # printed only: the header is copied verbatim
        value = smv_header_value(header_text, "BEAM_CENTER_X")
        if not math.isnan(value):
            xbeam = value / 1000.0
        value = smv_header_value(header_text, "BEAM_CENTER_Y")
        if not math.isnan(value):
            ybeam = detsize_y - value / 1000.0
    if not fpix and not spix:
        lines.append("WARNING: guessing xy pixel dimensions.")
        if pixels < 1:
            raise ConfigError(f"{job.input_path}: the float image is empty, so its size cannot be guessed")
        fpix, spix = _guess_size(pixels)
    if fpix and not spix:
        spix = pixels // fpix
    if not fpix and spix:
        fpix = pixels // spix
    pixel_m = pixel_mm / 1000.0
    if fpix:
        detsize_x = pixel_m * fpix
    else:
        fpix = math.ceil(detsize_x / pixel_m - 0.5)
    if spix:
        detsize_y = pixel_m * spix
    else:
        spix = math.ceil(detsize_y / pixel_m - 0.5)
    if fpix < 1 or spix < 1:
        raise ConfigError(f"image size {fpix} x {spix} pixels (fast x slow) is empty; give -detpixels_x/_y")
    if xbeam is None:
        xbeam = detsize_x / 2.0
    if ybeam is None:
        ybeam = detsize_y / 2.0
    return dict(fpix=fpix, spix=spix, pixel_mm=pixel_mm, distance_m=distance_m, wavelength_A=wavelength_A,
                detsize_x=detsize_x, detsize_y=detsize_y, xbeam=xbeam, ybeam=ybeam)


def run_noisify(job: NoisifyJob, out=None) -> List[str]:
    """Run one parsed job: read, respond, write (summary on ``out``, default stdout); returns the paths written."""
    out = sys.stdout if out is None else out
    if job.input_path is None:
        raise ConfigError("no input image: give -floatfile FILE (or a file name containing floatimage.bin)")
    try:
        with open(job.input_path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(f"-floatfile: cannot read {job.input_path}: {exc.strerror or exc}") from None
    header_block, header_text = (None, None)
    lines: List[str] = ["noisify - add noise to pixels (nanobrag-noisify)"]
    if job.header_path is not None:
        header_block, header_text = read_header_block(job.header_path)
        lines.append(f"taking header from {job.header_path}")
    geo = _settle(job, len(raw) // 4, header_text, lines)
    fpix, spix = geo["fpix"], geo["spix"]
    pixels = fpix * spix
    if len(raw) < 4 * pixels:
        raise ConfigError(
            f"{job.input_path}: {fpix} x {spix} pixels (fast x slow) need {4 * pixels} bytes of float32, "
            f"the file holds {len(raw)}"
        )
    image = np.frombuffer(raw[: 4 * pixels], dtype="<f4").astype(np.float32).reshape(spix, fpix)
    if not np.all(np.isfinite(image)):
        raise ConfigError(f"{job.input_path}: the float image holds inf or NaN pixels")
    negative = int(np.count_nonzero(image < 0))
    if negative:
        lines.append(f"WARNING: {negative} negative intensities in {job.input_path}")

    noise = job.noise
    response = DetectorResponseConfig(
        psf_type=job.psf_type,
        psf_fwhm_um=job.psf_fwhm_um,
        psf_radius_px=job.psf_radius_px,
        readout_noise_adu=job.readout_noise_adu if noise else 0.0,
        flicker_noise=job.flicker_noise if noise else 0.0,
        calibration_noise=job.calibration_noise if noise else 0.0,
        calibration_seed=job.calibration_seed,
        gain_adu_per_photon=job.gain_adu_per_photon,
        photon_scale=(job.fluence_photons_per_m2 * R_E_SQR_M2) * job.scale,
        bits=job.bits,
    )
    seed = job.seed
    lines += job.warnings
    lines += [
        f"importing {pixels} pixel intensities: {job.input_path}",
        f"  distance={geo['distance_m']:g} detsize={geo['detsize_x']:g}x{geo['detsize_y']:g}  "
        f"pixel={geo['pixel_mm'] / 1000.0:g} meters ({fpix}x{spix} pixels)",
        f"  Xbeam={geo['xbeam']:g} Ybeam={geo['ybeam']:g}",
    ]
    if job.psf_type != "none":
        radius = "automatic" if job.psf_radius_px == 0 else f"{job.psf_radius_px} pixels"
        lines.append(f"  {job.psf_type} PSF fwhm = {job.psf_fwhm_um:g} um, rendering radius {radius}")
    lines += [
        f"  seed: {seed if seed is not None else '(from the clock)'}",
        f"  calibration noise seed: {job.calibration_seed if job.calibration_seed is not None else 'default'}",
        f"  calibration_noise = {response.calibration_noise * 100:g} %",
        f"  input file scale = {job.scale:g}",
        f"  readout_noise = {response.readout_noise_adu:g} ADU",
        f"  flicker_noise = {response.flicker_noise * 100:g} %",
        f"  quantum_gain = {job.gain_adu_per_photon:g} ADU/photon",
        f"  adc_offset = {job.adc_offset_adu:g} ADU",
    ]
    result = apply_detector_response(
        image, response, pixel_size_mm=geo["pixel_mm"], adc_offset_adu=job.adc_offset_adu, seed=seed, noise=noise,
        engine="c",
    )
    st = result.stats
    lines.append(f"maximum value in input file: {st.max_input:g} "
                 f"( {st.max_input * response.photon_scale:g} on photon scale)")
    if st.psf_radius_px:
        lines.append(f"  PSF rendering radius {st.psf_radius_px} pixels; adding back {st.lost_photons:g} lost photons")

    header = header_block
    if header is None:
        header = noisify_header(job, fpix, spix, geo["detsize_y"], geo["xbeam"], geo["ybeam"])

    def smv(data: np.ndarray) -> List[bytes]:
        if job.bits == 16:
            return [header, np.ascontiguousarray(data.astype("<u2")).tobytes()]
        if job.bits == 32:
            return [header, np.ascontiguousarray(data.astype("<u4")).tobytes()]
        return [header]  # legacy: no pixel data for other depths

    files: Dict[str, List[bytes]] = {job.int_path: smv(result.int_image)}
    if job.write_pgm:
        sixteen = (result.int_image.astype(np.uint32) & 0xFFFF)
        files[job.pgm_path] = pgm_bytes(np.minimum(sixteen, 255).astype(np.uint8), 1.0)
    if noise:
        files[job.noise_path] = smv(result.noise_image)
        lines.append(f"{st.photons_before_psf:.0f} photons on noise image before PSF" if st.psf_radius_px else
                     f"{st.photons:.0f} photons on noise image")
        lines.append(f"{st.photons:.0f} photons on noise image ({st.overloads} overloads)")
    if len(files) < (1 + job.write_pgm + noise):
        raise ConfigError("two outputs have the same file name; give distinct -intfile, -pgmfile, -noisefile")
    written = atomic_write_many(files)
    lines.append("wrote " + ", ".join(written))
    out.write("\n".join(lines) + "\n")
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``nanobrag-noisify`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or any(a in HELP_FLAGS for a in argv):
        sys.stdout.write(noisify_usage())
        return EXIT_OK if argv else EXIT_USAGE
    try:
        job = parse_noisify_args(argv)
        for note in job.notes:
            sys.stderr.write(f"{PROGRAM}: note: {note}\n")
        run_noisify(job)
    except ConfigError as exc:
        return _error(exc, EXIT_USAGE)
    except OSError as exc:
        return _error(f"cannot write {exc.filename or 'an output file'}: {exc.strerror or exc}", EXIT_FAILED)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
