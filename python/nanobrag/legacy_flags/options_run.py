"""nanoBragg options of the run: output files and noise, detector response, diagnostics, engine."""
from __future__ import annotations

from typing import Tuple

from ..flag_parsing import FILE, Flag, Value, count, integer, nonneg, num
from .apply import (
    apply_device,
    apply_nthreads,
    apply_output_file,
    apply_printout_pixel,
    apply_scale,
    constant,
    setter,
)

O, DR, DG, E = (
    "Output files and noise",
    "Detector response (noisify)",
    "Diagnostics",
    "Engine (nanobrag options, not in the legacy program)",
)

OUTPUTS: Tuple[Flag, ...] = (
    Flag("-floatfile", O, "raw float32 image, photons per pixel", apply_output_file("float_image_path"),
         (FILE,), "FILE", ("-floatimage",), "floatimage.bin"),
    Flag("-intfile", O, "noiseless SMV image", apply_output_file("int_image_path"), (FILE,), "FILE",
         ("-intimage",), "intimage.img"),
    Flag("-pgmfile", O, "8-bit PGM image (undoes an earlier -nopgm)",
         apply_output_file("pgm_path", "write_pgm"), (FILE,), "FILE", ("-pgmimage",), "image.pgm"),
    Flag("-noisefile", O, "SMV image with Poisson noise (undoes an earlier -nonoise)",
         apply_output_file("noise_image_path", "write_noise"), (FILE,), "FILE", ("-noiseimage",),
         "noiseimage.img"),
    Flag("-nonoise", O, "no noise image", constant("output.write_noise", False)),
    Flag("-nopgm", O, "no PGM image", constant("output.write_pgm", False)),
    Flag("-scale", O, "photons to ADU of the noiseless SMV image (<= 0: automatic)", apply_scale("int_scale"),
         (num(),), "S", default="55000 / brightest pixel"),
    Flag("-pgmscale", O, "photons to grey levels of the PGM image (<= 0: automatic); undoes an "
         "earlier -nopgm", apply_scale("pgm_scale", turns_on_pgm=True), (num(),), "S",
         default="250 / (5 * rms deviation)"),
    Flag("-adc", O, "offset added to the SMV images (ADU)", setter("output.adc_offset"), (num("ADU"),), "ADU",
         ("-adcoffset", "-adc_offset"), "40"),
    Flag("-seed", O, "seed of the Poisson noise", setter("output.noise_seed"), (integer(),), "N",
         default="the start-up time"),
    Flag("-nxmx", O, "NeXus/HDF5 (NXmx) image with the run's geometry, for DIALS and XDS",
         setter("output.nxmx_path"), (FILE,), "FILE.h5", default="none"),
    Flag("-nxmx_data", O, "NXmx pixel type: float32 photons, or int32 counts (rounded, clipped to -saturation)",
         setter("output.nxmx_data"), (Value("word", choices=("float32", "int32")),), "float32|int32",
         default="float32"),
    Flag("-nxmx_compression", O, "NXmx compression (bitshuffle-lz4 needs hdf5plugin)",
         setter("output.nxmx_compression"), (Value("word", choices=("gzip", "bitshuffle-lz4", "none")),),
         "gzip|bitshuffle-lz4|none", default="gzip"),
    Flag("-saturation", O, "saturation of int32 NXmx counts and the CBF Count_cutoff (counts)",
         setter("output.saturation"), (Value("integer", "counts", low=1),), "COUNTS", default="2147483647"),
    Flag("-cbf", O, "miniCBF image of int32 counts (photons rounded, clipped to -saturation)",
         setter("output.cbf_path"), (FILE,), "FILE.cbf", default="none"),
    Flag("-png", O, "8-bit greyscale PNG preview (adxv orientation)", setter("output.png_path"), (FILE,),
         "FILE.png", default="none"),
    Flag("-png_scale", O, "PNG grey levels: legacy (as the PGM) or log", setter("output.png_scale"),
         (Value("word", choices=("legacy", "log")),), "legacy|log", default="legacy"),
)

RESPONSE: Tuple[Flag, ...] = (
    # the legacy noisify's options; they shape the noise image
    Flag("-psf", DR, "point-spread function of the noise image: gauss, fiber or none",
         setter("response.psf_type"), (Value("word", choices=("gauss", "fiber", "none")),), "gauss|fiber|none",
         default="none"),
    Flag("-psf_fwhm", DR, "PSF full width at half maximum (um; 0: no PSF)", setter("response.psf_fwhm_um"),
         (nonneg("um"),), "UM", default="46"),
    Flag("-psf_radius", DR, "PSF rendering radius (pixels; 0: automatic from each pixel's photons)",
         setter("response.psf_radius_px"), (count("pixels"),), "PX", default="0"),
    Flag("-readout_noise", DR, "Gaussian read-out noise of the noise image (ADU rms)",
         setter("response.readout_noise_adu"), (nonneg("ADU"),), "ADU", ("-readout",), "0"),
    Flag("-flicker", DR, "fractional source fluctuation drawn per pixel of the noise image",
         setter("response.flicker_noise"), (nonneg("fraction"),), "F", default="0"),
    Flag("-calibration", DR, "fractional per-pixel calibration (gain) error of the noise image",
         setter("response.calibration_noise"), (nonneg("fraction"),), "F", default="0"),
    Flag("-calib_seed", DR, "seed of the calibration error", setter("response.calibration_seed"), (integer(),), "N",
         default="the legacy noisify's (generator state +123456789)"),
    Flag("-gain", DR, "ADU per photon of the noise image", setter("response.gain_adu_per_photon"),
         (num("ADU/photon"),), "G", default="1"),
)

DIAGNOSTICS: Tuple[Flag, ...] = (
    Flag("-printout", DG, "print intermediate values of every pixel", constant("output.printout", True)),
    Flag("-printout_pixel", DG, "print intermediate values of one pixel (turns -printout on)",
         apply_printout_pixel, (count("pixel index"),) * 2, "FAST SLOW",
         expects_text="2 integers >= 0 (FAST SLOW pixel indices)"),
    Flag("-progress", DG, "show progress", constant("output.progress", True), default="on"),
    Flag("-noprogress", DG, "hide progress", constant("output.progress", False)),
)

ENGINE: Tuple[Flag, ...] = (
    Flag("-engine", E, "which engine renders the image (auto: the fastest for the run, see nanobrag.engine_choice)",
         setter("engine"), (Value("word", choices=("auto", "torch", "c")),), "auto|torch|c", default="auto"),
    Flag("-phi_mode", E, "spec: every spindle step rotates the crystal; c-parity: as the legacy "
         "program, a step at exactly phi = 0 reuses the previous rotation", setter("phi_mode"),
         (Value("word", choices=("spec", "c-parity")),), "spec|c-parity", default="spec"),
    Flag("-device", E, "torch device", apply_device, (FILE,), "cpu|cuda|cuda:N", default="cpu",
         expects_text="a device (cpu, cuda or cuda:N)"),
    Flag("-dtype", E, "torch floating-point type", setter("dtype"),
         (Value("word", choices=("float64", "float32")),), "float64|float32", default="float64"),
    Flag("-nthreads", E, "threads of the C engine and of torch", apply_nthreads,
         (Value("integer", "threads", low=1),), "N", default="all cores"),
    Flag("-example", E, "start from the built-in example crystal (a lysozyme-sized cell with computed "
         "structure factors, 512x512 detector); later options override it", lambda st, typed, values: None),
)
