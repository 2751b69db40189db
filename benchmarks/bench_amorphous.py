"""Amorphous background (nonBragg) speed: the C and torch engines, and the legacy program when given.

    python benchmarks/bench_amorphous.py [--pixels N] [--repeat N] [--threads N]
    LEGACY_NONBRAGG=/tmp/legacy/nonBragg python benchmarks/bench_amorphous.py

Renders a water-like F(stol) table (the golden case nb_basic_flux_noise's)
on an N x N detector (default 1024) with each contender in turn, in one
sitting, best of --repeat; the C image is checked against the torch float64
image (1e-6 relative) before times are reported.  The legacy binary (built by
hand outside the repository, never committed) runs in a scratch directory.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

import nanobrag  # noqa: E402
from nanobrag.nonbragg import parse_nonbragg_args  # noqa: E402

STOL = REPO / "tests" / "golden_suite" / "nb_basic_flux_noise" / "a.stol"


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixels", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    argv = shlex.split(f"-stol {STOL} -lambda 1.0 -distance 100 -detpixels {args.pixels} -pixel 0.1 -fluence 1e20 "
                       "-nonoise -nopgm -seed 1")
    config = parse_nonbragg_args(argv).config
    c_img = nanobrag.simulate(config, engine="c").float_image
    t_img = nanobrag.simulate(config, engine="torch").float_image
    rel = float(np.max(np.abs(t_img.astype(np.float64) - c_img) / np.abs(c_img)))
    assert rel <= 1e-6, f"engines disagree: {rel}"
    rows = []
    legacy = os.environ.get("LEGACY_NONBRAGG")
    if legacy:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(STOL, Path(tmp) / "a.stol")
            cmd = [legacy] + ["a.stol" if a == str(STOL) else a for a in argv]
            rows.append(("legacy nonBragg (1 thread)", best(lambda: subprocess.run(cmd, cwd=tmp, check=True,
                                                                                    capture_output=True), args.repeat)))
    rows.append(("C engine, 1 thread", best(lambda: nanobrag.simulate(config, engine="c", nthreads=1), args.repeat)))
    rows.append((f"C engine, {args.threads} threads",
                 best(lambda: nanobrag.simulate(config, engine="c", nthreads=args.threads), args.repeat)))
    rows.append(("torch float64", best(lambda: nanobrag.simulate(config, engine="torch"), args.repeat)))
    rows.append(("torch float32", best(lambda: nanobrag.simulate(config, engine="torch", dtype="float32"), args.repeat)))
    print(f"{args.pixels} x {args.pixels} pixels, 1 source, oversample 1 (best of {args.repeat})")
    for name, seconds in rows:
        print(f"  {name:32s} {seconds:7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
