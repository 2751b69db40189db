"""Torch engine speed and memory, side by side with the C engine and the legacy program.

    python benchmarks/bench_torch_engine.py [--cases timing_1024,big_2048] [--repeat N] [--json FILE]

Cases: ``timing_1024`` (the golden case: 1024 x 1024 pixels, 2 sources x 5 phi
steps x 5 mosaic domains x 2x2 sub-pixels = 200 sub-steps per pixel) and
``big_2048`` (the same crystal and beam on 2048 x 2048 pixels of half the
size: 4x the work).  Configurations:

* the legacy program (``LEGACY_NANOBRAG=/path/to/nanoBragg``, built by hand
  outside the repository, single-threaded), as a command in a scratch directory;
* the C engine in-process, 1 thread and all threads;
* the torch engine in-process, float64 and float32, with the fused C++ kernel
  (``kernel="fused"``) and the torch kernel eager and compiled: each in
  a fresh process that renders once (compiling when asked), then times warm
  runs; it reports the warm wall time, the compile time and the growth of the
  peak resident memory (VmHWM) over the process's start;
* cold commands: ``import nanobrag``, ``nanobrag -h`` and the ``nanobrag``
  command on the case (torch engine, float64 defaults, compiling only if it
  pays), each as a fresh process.

Every torch image is checked (timing_1024: against the golden image, float64
within relative 1e-6, float32 Pearson r >= 0.99999; big_2048: against the C
engine), so a fast-but-wrong run cannot report a speed.  Timings are wall
clock, best of ``--repeat``.  On a shared machine run it when idle: the
figures scale with the CPU time other processes leave.
"""
from __future__ import annotations

import argparse
import json
import math
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

CASES = ("timing_1024", "big_2048")
#: (dtype, hot kernel): "fused" the C++ kernel (nanobrag._fused), "eager"/"compiled" the torch kernel
TORCH_CONFIGS = (
    ("float64", "fused"), ("float32", "fused"),
    ("float64", "eager"), ("float32", "eager"), ("float64", "compiled"), ("float32", "compiled"),
)


def kernel_options(mode: str) -> dict:
    if mode == "fused":
        return {"kernel": "fused", "compile": False}
    return {"kernel": "torch", "compile": mode == "compiled"}


def case_args(name: str):
    args = case("timing_1024").args
    if name == "timing_1024":
        return list(args)
    if name == "big_2048":
        out = list(args)
        out[out.index("-detpixels") + 1] = "2048"
        out[out.index("-pixel") + 1] = "0.05"
        return out
    raise SystemExit(f"unknown case {name}")


def case_config(name: str):
    from nanobrag import Config

    cfg = Config.from_args(case_args(name))
    cfg.phi_mode = "c-parity"
    return cfg


def peak_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pearson(a, b) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / math.sqrt(float((a * a).sum()) * float((b * b).sum())))


def check_image(name: str, dtype: str, image: np.ndarray, reference: np.ndarray) -> str:
    ref = reference.astype(np.float64)
    img = image.astype(np.float64)
    if dtype == "float64":
        rel = float(np.max(np.abs(img - ref) / np.maximum(np.abs(ref), 1e-30)))
        if rel > 1e-6:
            raise SystemExit(f"{name} float64 image differs from the reference by {rel:.3g}: not timing a wrong result")
        return f"max rel {rel:.1e}"
    r = pearson(img, ref)
    if r < 0.99999:
        raise SystemExit(f"{name} float32 image correlates {r:.7f} with the reference: not timing a wrong result")
    return f"pearson 1-{1 - r:.1e}"


def reference_image(name: str) -> np.ndarray:
    if name == "timing_1024":
        return case("timing_1024").float_image()
    from nanobrag.c_engine import engine

    return engine.simulate(case_config(name)).float_image


# ------------------------------------------------------------------ torch worker (own process)


def worker(name: str, dtype: str, mode: str, repeat: int) -> dict:
    base = peak_mb()
    t0 = time.perf_counter()
    import nanobrag

    cfg = case_config(name)
    t_import = time.perf_counter() - t0
    opts = kernel_options(mode)
    compiled = mode == "compiled"
    t0 = time.perf_counter()
    nanobrag.simulate(cfg, engine="torch", dtype=dtype, **opts)
    t_first = time.perf_counter() - t0
    best = t_first
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = nanobrag.simulate(cfg, engine="torch", dtype=dtype, **opts)
        best = min(best, time.perf_counter() - t0)
    check = check_image(name, dtype, res.float_image, reference_image(name))
    return {
        "warm_s": best,
        "first_s": t_first,
        "compile_s": max(0.0, t_first - best) if compiled else 0.0,
        "import_s": t_import,
        "peak_growth_mb": peak_mb() - base,
        "check": check,
        "threads": __import__("torch").get_num_threads(),
        "pixel_steps": pixel_steps(cfg),
    }


def pixel_steps(cfg) -> int:
    """(pixel, sub-step) pairs of a run: rendered pixels x paths per pixel x phi/mosaic steps."""
    from nanobrag.torch_impl.context import resolve_context
    from nanobrag.torch_impl.plan import build_plan

    plan = build_plan(resolve_context("cpu", "float64"), cfg)
    return int(plan.active_count) * plan.paths_per_pixel * plan.cells_per_path


def run_worker(name: str, dtype: str, mode: str, repeat: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", name, dtype, mode, "--repeat", str(repeat)],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"torch worker {name} {dtype} {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ others


def time_c(name: str, nthreads: int, repeat: int) -> float:
    from nanobrag.c_engine import engine

    cfg = case_config(name)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        engine.simulate(cfg, nthreads=nthreads)
        best = min(best, time.perf_counter() - t0)
    return best


def time_command(cmd, repeat: int, cwd=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="nb_bench_") as work:
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=cwd or work, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - t0)
    return best


def nanobrag_command() -> list:
    exe = shutil.which("nanobrag", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "nanobrag.cli"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--repeat", type=int, default=2, help="warm runs per configuration; the best is reported")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--skip-legacy", action="store_true")
    ap.add_argument("--worker", nargs=3, metavar=("CASE", "DTYPE", "MODE"), help=argparse.SUPPRESS)
    ap.add_argument("--modes", default="fused,eager,compiled", help="torch hot kernels to time (fused, eager, compiled)")
    args = ap.parse_args(argv)
    if args.worker:
        name, dtype, mode = args.worker
        print(json.dumps(worker(name, dtype, mode, args.repeat)))
        return 0

    legacy = os.environ.get("LEGACY_NANOBRAG")
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}}
    results["startup"] = {
        "import_nanobrag_s": time_command([sys.executable, "-c", "import nanobrag"], 3),
        "nanobrag_help_s": time_command(nanobrag_command() + ["-h"], 3),
        "import_torch_s": time_command([sys.executable, "-c", "import torch"], 3),
    }
    for name in args.cases.split(","):
        row = {}
        if legacy and not args.skip_legacy:
            row["legacy_s"] = time_command([legacy, *case_args(name)], 1)
        row["c_1thread_s"] = time_c(name, 1, 1)
        row["c_all_threads_s"] = time_c(name, os.cpu_count() or 1, args.repeat)
        for dtype, mode in TORCH_CONFIGS:
            if mode in args.modes.split(","):
                row[f"torch_{dtype}_{mode}"] = run_worker(name, dtype, mode, args.repeat)
        if name == "timing_1024":
            row["cold_command_s"] = time_command(nanobrag_command() + case_args(name) + ["-noprogress"], 1)
        results[name] = row
        report(name, row)
    print("startup: " + ", ".join(f"{k} {v:.2f} s" for k, v in results["startup"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def report(name: str, row: dict) -> None:
    legacy = row.get("legacy_s")
    print(f"\n{name}")
    print(f"  {'configuration':32s} {'wall s':>8s} {'x legacy':>9s} {'M px-steps/s':>12s} {'compile s':>9s} {'peak MB':>8s}  check")
    work = next((r["pixel_steps"] for k, r in row.items() if k.startswith("torch_")), None)

    def line(label, seconds, compile_s=None, peak=None, check=""):
        ratio = f"{legacy / seconds:9.1f}" if legacy else f"{'-':>9s}"
        rate = f"{work / seconds / 1e6:12.1f}" if work else f"{'':>12s}"
        cs = f"{compile_s:9.1f}" if compile_s else f"{'':>9s}"
        pk = f"{peak:8.0f}" if peak is not None else f"{'':>8s}"
        print(f"  {label:32s} {seconds:8.2f} {ratio} {rate} {cs} {pk}  {check}")

    if legacy:
        line("legacy program (1 thread)", legacy)
    line("C engine, 1 thread", row["c_1thread_s"])
    line("C engine, all threads", row["c_all_threads_s"])
    for dtype, mode in TORCH_CONFIGS:
        r = row.get(f"torch_{dtype}_{mode}")
        if r is None:
            continue
        label = f"torch {dtype} {mode} (warm)"
        line(label, r["warm_s"], r["compile_s"], r["peak_growth_mb"], r["check"])
    if "cold_command_s" in row:
        line("nanobrag command (cold, torch)", row["cold_command_s"])


if __name__ == "__main__":
    sys.exit(main())
