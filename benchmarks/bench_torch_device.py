"""Torch engine throughput on one device: wall time and pixel-steps per second.

    python benchmarks/bench_torch_device.py [--device cuda] [--cases timing_1024,big_2048]
                                            [--dtypes float64,float32] [--compile auto|off|on] [--repeat N]

A pixel-step is one (pixel, sub-pixel, thickness layer, source, phi step,
mosaic domain) term of the sum: ``pixels x steps`` where ``steps`` is the
engine's own count (``result.geometry.steps``, the legacy "steps" figure times
the thickness layers).  Each configuration renders once (compiling when asked
and warming caches), then the best of ``--repeat`` warm runs is reported, with
the device synchronised around every timed run.  Every image is checked
against the C engine before its time counts (``bench_torch_engine.check_image``),
so a wrong run reports no speed.
Peak device memory is ``torch.cuda.max_memory_allocated`` on CUDA and the
growth of the process's peak resident memory on the CPU.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_torch_engine import case_config, check_image, peak_mb  # noqa: E402


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(name: str, device: str, dtype: str, compile_mode: str, repeat: int, reference: np.ndarray) -> dict:
    import nanobrag

    dev = torch.device(device)
    cfg = case_config(name)
    compile_arg = {"auto": "auto", "off": False, "on": True}[compile_mode]
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    base = peak_mb()
    synchronize(dev)
    t0 = time.perf_counter()
    result = nanobrag.simulate(cfg, engine="torch", device=device, dtype=dtype, compile=compile_arg)
    synchronize(dev)
    first = time.perf_counter() - t0
    best = math.inf
    for _ in range(repeat):
        synchronize(dev)
        t0 = time.perf_counter()
        result = nanobrag.simulate(cfg, engine="torch", device=device, dtype=dtype, compile=compile_arg)
        synchronize(dev)
        best = min(best, time.perf_counter() - t0)
    pixels = result.float_image.size
    steps = int(result.geometry.steps) * int(result.geometry.detector_thicksteps)
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev) / 2**20
    else:
        peak = peak_mb() - base
    return {
        "case": name,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "dtype": dtype,
        "compile": compile_mode,
        "first_s": first,
        "warm_s": best,
        "pixel_steps": pixels * steps,
        "pixel_steps_per_s": pixels * steps / best,
        "peak_MB": peak,
        "check": check_image(name, dtype, result.float_image, reference),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--cases", default="timing_1024,big_2048")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--compile", default="off", choices=("auto", "off", "on"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)

    from nanobrag.c_engine import engine as c_engine

    rows = []
    for name in args.cases.split(","):
        reference = c_engine.simulate(case_config(name)).float_image
        for dtype in args.dtypes.split(","):
            row = run(name, args.device, dtype, args.compile, args.repeat, reference)
            rows.append(row)
            print(
                f"{row['case']:12s} {row['device']:7s} {row['dtype']:8s} compile={row['compile']:4s} "
                f"first {row['first_s']:7.3f} s  warm {row['warm_s']:7.3f} s  "
                f"{row['pixel_steps_per_s'] / 1e9:7.3f} G pixel-steps/s  peak {row['peak_MB']:7.0f} MB  ({row['check']})",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
