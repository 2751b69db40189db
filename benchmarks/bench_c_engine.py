"""C engine speed on the golden case ``timing_1024``: 1 thread and all threads side by side.

    python benchmarks/bench_c_engine.py [--repeat N] [--threads N] [--json FILE]

1024 x 1024 pixels, 2 sources x 5 phi steps x 5 mosaic domains x 2x2
sub-pixels = 200 sub-steps per pixel.  With ``LEGACY_NANOBRAG=/path/to/nanoBragg``
(the legacy program, built by hand outside the repository) the legacy program
runs the same case in a scratch directory and the ratios legacy / C are
reported.  Every C image is checked bit for bit against the golden image, so a
fast-but-wrong build cannot report a speed.  Timings are wall-clock, best of
``--repeat`` runs.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from golden_cases import case  # noqa: E402
from nanobrag import BeamConfig, Config, CrystalConfig, DetectorConfig, SamplingConfig, StructureFactorConfig  # noqa: E402
from nanobrag.c_engine import engine  # noqa: E402

CASE = "timing_1024"


def timing_config() -> Config:
    """The Config of timing_1024's command line (see tests/golden/timing_1024/cmd.txt)."""
    return Config(
        crystal=CrystalConfig(
            cell=(80, 90, 100, 90, 90, 90), misset_deg=(12, -25, 33), n_cells=(5, 5, 5),
            mosaic_spread_deg=0.3, mosaic_domains=5, mosaic_seed=99,
        ),
        structure_factors=StructureFactorConfig(default_F=100.0),
        beam=BeamConfig(wavelength_A=1.0, dispersion_percent=0.2, dispersion_steps=2),
        detector=DetectorConfig(distance_mm=150.0, detpixels=(1024, 1024), pixel_size_mm=0.1),
        sampling=SamplingConfig(phi_start_deg=10.0, osc_deg=0.5, phi_steps=5, oversample=2),
        phi_mode="c-parity",
        engine="c",
    )


def time_c(cfg: Config, nthreads: int, repeat: int, golden: np.ndarray) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = engine.simulate(cfg, nthreads=nthreads)
        best = min(best, time.perf_counter() - t0)
        if not np.array_equal(result.float_image.view(np.uint32), golden.view(np.uint32)):
            raise SystemExit(f"C engine image ({nthreads} threads) differs from the golden image: not timing a wrong result")
    return best


def time_legacy(binary: str, repeat: int) -> float:
    best = float("inf")
    args = case(CASE).args
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="nb_bench_") as work:
            t0 = time.perf_counter()
            subprocess.run([binary, *args], cwd=work, check=True, stdout=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration; the best is reported")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="thread count of the 'all threads' run")
    ap.add_argument("--json", help="also write the results to this JSON file")
    opts = ap.parse_args(argv)

    golden = case(CASE).float_image()
    cfg = timing_config()
    rows = {"c_1_thread_s": time_c(cfg, 1, opts.repeat, golden)}
    rows[f"c_{opts.threads}_threads_s"] = time_c(cfg, opts.threads, opts.repeat, golden)
    legacy = os.environ.get("LEGACY_NANOBRAG")
    if legacy:
        if not shutil.which(legacy) and not Path(legacy).is_file():
            raise SystemExit(f"LEGACY_NANOBRAG={legacy} is not an executable")
        rows["legacy_1_thread_s"] = time_legacy(legacy, opts.repeat)

    c1, cn = rows["c_1_thread_s"], rows[f"c_{opts.threads}_threads_s"]
    print(f"{CASE}: 1024x1024 pixels, 200 sub-steps per pixel ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, best of {opts.repeat})")
    print(f"  C engine, 1 thread        {c1:8.2f} s")
    print(f"  C engine, {opts.threads} threads{' ' * (6 - len(str(opts.threads)))}   {cn:8.2f} s   speed-up {c1 / cn:5.2f}x")
    ratios = {"c_speedup_threads": c1 / cn}
    if "legacy_1_thread_s" in rows:
        lg = rows["legacy_1_thread_s"]
        ratios["legacy_over_c_1_thread"] = lg / c1
        ratios["legacy_over_c_threads"] = lg / cn
        print(f"  legacy program (1 thread) {lg:8.2f} s   legacy/C(1 thread) {lg / c1:5.2f}x   "
              f"legacy/C({opts.threads} threads) {lg / cn:5.2f}x")
    if opts.json:
        Path(opts.json).write_text(json.dumps({"case": CASE, "times": rows, "ratios": ratios}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
