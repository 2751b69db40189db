"""Point-spread function speed on a 2048 x 2048 image: legacy noisify, the C library, the torch FFT.

    LEGACY_NOISIFY=/path/to/noisify python benchmarks/bench_noisify.py [--size 2048] [--repeat N] [--json FILE]

The image is a noise-image-like float image (Poisson background of ~5
photons plus a few hundred bright spots, fixed seed).  For each PSF case the
legacy program (built by hand outside the repository) runs twice in a
scratch directory, with and without the PSF (``-nonoise``: the PSF then goes
on the noiseless image), and the difference of the wall times is its PSF
cost (reading, the other loops and writing cancel).  The C library
(``nb_apply_psf``, the legacy kernel, bit-compatible) and the torch FFT PSF
(float64 and float32) are timed in-process.  Before a time counts, the C
result is compared with the legacy intimage.img (exact) and the torch result
with the C result (within 1e-5 of the image maximum for float64, 1e-4 for
float32).  Wall-clock, best of ``--repeat``, after one untimed warm-up call of
the torch PSF on a corner of the image.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

from nanobrag.c_engine import response as c_response  # noqa: E402
from nanobrag import detector_response_torch as tdr  # noqa: E402

# (label, psf type, fwhm in um at 0.1 mm pixels, radius in pixels or 0 = automatic)
CASES = (
    ("gauss 1.2 px, automatic radius", "gauss", 120.0, 0),
    ("fiber 1 px, radius 10", "fiber", 100.0, 10),
)


def make_image(size: int) -> np.ndarray:
    rng = np.random.default_rng(2048)
    image = rng.poisson(5.0, size=(size, size)).astype(np.float32)
    spots = rng.integers(0, size, size=(400, 2))
    image[spots[:, 0], spots[:, 1]] += rng.uniform(100, 5000, size=400).astype(np.float32)
    return image


def best(fn, repeat: int):
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def legacy_psf_seconds(binary: str, image: np.ndarray, kind: str, fwhm_um: float, radius: int, repeat: int):
    """(PSF seconds = with - without, the legacy noiseless photons with PSF)."""
    size = image.shape[0]
    with tempfile.TemporaryDirectory() as tmp:
        image.tofile(os.path.join(tmp, "in.bin"))
        base = [binary, "-floatfile", "in.bin", "-detpixels", str(size), "-nonoise", "-nopgm", "-adc", "0",
                "-seed", "1"]
        psf = ["-psf", kind, "-psf_fwhm", str(fwhm_um)] + (["-psf_radius", str(radius)] if radius else [])

        def run(extra):
            subprocess.run(base + extra, cwd=tmp, check=True, stdout=subprocess.DEVNULL)

        with_psf, _ = best(lambda: run(psf), repeat)
        without, _ = best(lambda: run([]), repeat)
        raw = open(os.path.join(tmp, "intimage.img"), "rb").read()
        run(psf)
        raw = open(os.path.join(tmp, "intimage.img"), "rb").read()
    ints = np.frombuffer(raw[512:], "<u2").reshape(size, size)
    return max(with_psf - without, 1e-9), with_psf, without, ints


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    legacy = os.environ.get("LEGACY_NOISIFY") or shutil.which("noisify")
    image = make_image(args.size)
    timage64 = torch.from_numpy(image).double()
    timage32 = torch.from_numpy(image.copy())
    report = {"size": args.size, "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
              "load_average": os.getloadavg(), "cases": []}
    print(f"{args.size} x {args.size} pixels, torch threads {torch.get_num_threads()}, load {os.getloadavg()}")
    for label, kind, fwhm_um, radius in CASES:
        fwhm_px = float(np.float32(fwhm_um / 1e6)) / (0.1 / 1000.0)
        # one untimed call each: torch's first call pays one-time set-up (thread pool, FFT plans)
        tdr.apply_psf(timage64[:64, :64], kind, fwhm_px, radius)
        tdr.apply_psf(timage32[:64, :64], kind, fwhm_px, radius)
        t_c, (c_out, _, used) = best(lambda: c_response.apply_psf(image, kind, fwhm_px, radius), args.repeat)
        t_64, (t_out, _, _) = best(lambda: tdr.apply_psf(timage64, kind, fwhm_px, radius), args.repeat)
        t_32, (t_out32, _, _) = best(lambda: tdr.apply_psf(timage32, kind, fwhm_px, radius), args.repeat)
        peak = float(c_out.max())
        err64 = float(np.abs(t_out.numpy() - c_out).max()) / peak
        err32 = float(np.abs(t_out32.numpy() - c_out).max()) / peak
        assert err64 < 1e-5 and err32 < 1e-4, (err64, err32)
        row = {"case": label, "radius": used, "c_s": t_c, "torch64_s": t_64, "torch32_s": t_32,
               "torch64_rel_err": err64, "torch32_rel_err": err32}
        line = f"{label:32s} radius {used:3d}: C {t_c:6.2f} s  torch f64 {t_64:6.2f} s  torch f32 {t_32:6.2f} s"
        if legacy:
            t_leg, t_with, t_without, leg_ints = legacy_psf_seconds(legacy, image, kind, fwhm_um, radius, args.repeat)
            ours = np.trunc(np.minimum(c_out.astype(np.float64), 65535)).astype(np.uint16)
            assert np.array_equal(ours, leg_ints), "C PSF differs from the legacy program"
            row.update(legacy_psf_s=t_leg, legacy_with_s=t_with, legacy_without_s=t_without,
                       legacy_over_c=t_leg / t_c, legacy_over_torch64=t_leg / t_64, legacy_over_torch32=t_leg / t_32)
            line += (f"  legacy PSF {t_leg:6.2f} s ({t_with:.2f} - {t_without:.2f})  "
                     f"legacy/C {t_leg / t_c:5.2f}x  legacy/torch64 {t_leg / t_64:5.2f}x  "
                     f"legacy/torch32 {t_leg / t_32:5.2f}x")
        print(line)
        report["cases"].append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
