"""The fused C++ kernel (nanobrag._fused): whole runs against the legacy program, gradients,
and a profile of the kernel itself.

    LEGACY_NANOBRAG=/path/to/nanoBragg python benchmarks/bench_fused.py [--cases ...] [--skip-grad]

Cases (besides ``timing_1024`` and ``big_2048`` of bench_torch_engine.py):

* ``triclinic_mosaic``: triclinic cell, N = 8, 512 x 512 pixels, 3 phi steps x 4 mosaic
  domains x 3 wavelengths x 2x2 sub-pixels (144 sub-steps per pixel);
* ``hkl_table``: the same with the structure factors of an hkl file (a gather per step).

For each case, in one sitting: the legacy program (single-threaded, run first and again
last, so that a drifting machine shows), then the torch engine in-process, warm, with the
fused kernel in float64 and float32 (best of ``--repeat``), each image checked against the
legacy image (float64: relative 1e-6 per pixel above 1e-30 of the maximum; float32: Pearson
r >= 0.99999), so a fast-but-wrong run cannot report a speed.

Gradients: a 256 x 256 version of timing_1024 with the cell, misset, distance, beam centre
and N as tensors; the time of a forward without gradients and of forward + backward of
``image.sum()``, fused kernel and torch kernel, each in a fresh process (peak resident
growth reported).

Kernel profile: the kernel alone on random paths (steps x paths elements per second) by
thread count, forward and backward, and the share of a whole fused run spent in it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from golden_cases import case  # noqa: E402

TRICLINIC = [
    "-cell", "70", "80", "90", "85", "95", "105", "-misset", "12", "-25", "33", "-N", "8",
    "-lambda", "1.0", "-distance", "120", "-detpixels", "512", "-pixel", "0.2",
    "-phi", "0", "-osc", "0.3", "-phisteps", "3", "-mosaic", "0.5", "-mosaic_domains", "4", "-mosaic_seed", "7",
    "-dispersion", "0.3", "-dispsteps", "3", "-oversample", "2", "-noprogress", "-nonoise",
]


def case_args(name: str, work: Path):
    if name == "triclinic_mosaic":
        return TRICLINIC + ["-default_F", "100"]
    if name == "hkl_table":
        (work / "P1_tri.hkl").write_bytes(case("mat_triclinic_hkl").read("P1_tri.hkl"))
        return TRICLINIC + ["-hkl", str(work / "P1_tri.hkl"), "-default_F", "0"]
    from bench_torch_engine import case_args as timing_args

    return timing_args(name)


def legacy_run(legacy: str, args, work: Path):
    out = work / "legacy"
    out.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run([legacy, *args, "-floatfile", "img.bin"], cwd=out, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, out / "img.bin"


def check(dtype: str, img: np.ndarray, ref: np.ndarray) -> str:
    img, ref = img.astype(np.float64), ref.astype(np.float64)
    if dtype == "float64":
        sel = np.abs(ref) > 1e-30 * np.abs(ref).max()
        rel = float(np.max(np.abs(img[sel] - ref[sel]) / np.abs(ref[sel])))
        if rel > 1e-6:
            raise SystemExit(f"float64 image differs from the legacy image by {rel:.3g}: not timing a wrong result")
        return f"max rel {rel:.1e}"
    a, b = img - img.mean(), ref - ref.mean()
    r = float((a * b).sum() / math.sqrt(float((a * a).sum()) * float((b * b).sum())))
    if r < 0.99999:
        raise SystemExit(f"float32 image correlates {r:.7f} with the legacy image: not timing a wrong result")
    return f"pearson 1-{1 - r:.1e}"


def whole_runs(name: str, legacy: str, repeat: int) -> dict:
    import nanobrag
    from nanobrag import Config
    from bench_torch_engine import pixel_steps

    row = {"case": name}
    with tempfile.TemporaryDirectory(prefix="nb_fused_") as d:
        work = Path(d)
        args = case_args(name, work)
        cfg = Config.from_args([a for a in args])
        cfg.phi_mode = "c-parity"
        row["pixel_steps"] = pixel_steps(cfg)
        if legacy:
            row["legacy_s"], img = legacy_run(legacy, args, work)
            ref = np.fromfile(img, dtype=np.float32)
        for dtype in ("float64", "float32"):
            nanobrag.simulate(cfg, engine="torch", dtype=dtype, kernel="fused")  # warm
            best = math.inf
            for _ in range(repeat):
                t0 = time.perf_counter()
                res = nanobrag.simulate(cfg, engine="torch", dtype=dtype, kernel="fused")
                best = min(best, time.perf_counter() - t0)
            row[f"fused_{dtype}_s"] = best
            if legacy:
                row[f"fused_{dtype}_check"] = check(dtype, res.float_image.reshape(-1), ref)
        t0 = time.perf_counter()
        nanobrag.simulate(cfg, engine="c")
        row["c_all_threads_s"] = time.perf_counter() - t0
        if legacy:
            row["legacy_again_s"], _ = legacy_run(legacy, args, work)
    return row


# ------------------------------------------------------------------ gradients (own process)

GRAD_WORKER = r"""
import json, sys, time, torch, nanobrag
sys.path.insert(0, {bench!r})
from bench_torch_engine import case_args
kernel, grad = sys.argv[1], sys.argv[2] == "1"
args = case_args("timing_1024")
args[args.index("-detpixels") + 1] = "256"
args[args.index("-pixel") + 1] = "0.4"
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
cfg = nanobrag.Config.from_args(args)
T = lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=grad)
cell, mis, dist, beam, N = T(list(cfg.crystal.cell)), T([12.0, -25.0, 33.0]), T(150.0), T([51.2, 51.2]), T([5.0, 5.0, 5.0])
cfg.crystal.cell, cfg.crystal.misset_deg, cfg.detector.distance_mm = cell, mis, dist
cfg.detector.xbeam_mm, cfg.detector.ybeam_mm, cfg.crystal.n_cells = beam[0], beam[1], N
def run():
    img = nanobrag.simulate(cfg, engine="torch", dtype="float64", kernel=kernel).image
    if grad:
        img.sum().backward()
base = peak()
run()
best = 1e9
for _ in range(5):  # best of 5: the runs are short (tens of ms), noise is large
    t0 = time.perf_counter(); run(); best = min(best, time.perf_counter() - t0)
print(json.dumps({{"s": best, "peak_growth_mb": peak() - base}}))
"""


def grad_runs() -> dict:
    out = {}
    code = GRAD_WORKER.format(bench=str(REPO / "benchmarks"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")]))
    for kernel in ("fused", "torch"):
        for grad in ("0", "1"):
            r = subprocess.run([sys.executable, "-c", code, kernel, grad], capture_output=True, text=True, env=env)
            if r.returncode != 0:
                raise SystemExit(r.stderr[-3000:])
            out[f"{kernel}_{'fwd_bwd' if grad == '1' else 'fwd'}"] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


# ------------------------------------------------------------------ kernel profile


def kernel_profile() -> dict:
    import torch
    from nanobrag.torch_impl import fused

    mod = fused.module()
    g = torch.Generator().manual_seed(0)
    steps, paths = 50, 100_000
    cells = (torch.randn(steps, 3, 3, dtype=torch.float64, generator=g) * 30e-10).numpy()
    q = (torch.randn(3, paths, dtype=torch.float64, generator=g) * 1.5e9).numpy()
    table = (torch.rand(61, 61, 61, dtype=torch.float64, generator=g) * 100).numpy()
    gout = np.ones(paths)
    out = {"isa": mod.isa(), "vector_bytes": mod.vector_bytes()}

    def rate(fn):
        fn()
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return steps * paths / best

    for threads in (1, 2):
        for dt in ("f64", "f32"):
            fwd = getattr(mod, f"forward_{dt}")
            bwd = getattr(mod, f"backward_{dt}")
            tab = table if dt == "f64" else table.astype(np.float32)
            go = gout if dt == "f64" else gout.astype(np.float32)
            a = (cells, q, (5.0, 7.0, 3.0), 3.0)
            out[f"{dt}_fwd_{threads}t"] = rate(lambda: fwd(*a, None, (-30,) * 3, (30,) * 3, threads))
            out[f"{dt}_fwd_table_{threads}t"] = rate(lambda: fwd(*a, tab, (-30,) * 3, (30,) * 3, threads))
            out[f"{dt}_bwd_{threads}t"] = rate(lambda: bwd(*a, None, (-30,) * 3, (30,) * 3, go, False, threads))
    # share of a whole fused run (timing_1024, float64, warm) spent inside the kernel calls
    import nanobrag
    import nanobrag.torch_impl.render as render
    from bench_torch_engine import case_config

    cfg = case_config("timing_1024")
    spent = [0.0]
    inner = {name: getattr(render, name) for name in ("fused_path_intensity", "fused_pixel_sums")}

    def timer(fn):
        def timed(*a, **k):
            t0 = time.perf_counter()
            r = fn(*a, **k)
            spent[0] += time.perf_counter() - t0
            return r
        return timed

    nanobrag.simulate(cfg, engine="torch", dtype="float64", kernel="fused")
    for name, fn in inner.items():  # both routes: the pixel route (default) and the path route
        setattr(render, name, timer(fn))
    try:
        t0 = time.perf_counter()
        nanobrag.simulate(cfg, engine="torch", dtype="float64", kernel="fused")
        total = time.perf_counter() - t0
    finally:
        for name, fn in inner.items():
            setattr(render, name, fn)
    out["timing_1024_f64_total_s"] = total
    out["timing_1024_f64_kernel_s"] = spent[0]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="triclinic_mosaic,hkl_table")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-grad", action="store_true")
    ap.add_argument("--skip-profile", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    legacy = os.environ.get("LEGACY_NANOBRAG", "")
    results = {"cpus": os.cpu_count(), "load_average_start": os.getloadavg()}
    for name in [c for c in args.cases.split(",") if c]:
        row = whole_runs(name, legacy, args.repeat)
        results[name] = row
        w = row["pixel_steps"]
        print(f"\n{name}: {w / 1e6:.1f} M pixel-steps")
        for key in ("legacy_s", "legacy_again_s", "c_all_threads_s", "fused_float64_s", "fused_float32_s"):
            if key in row:
                ratio = f"  x legacy {row['legacy_s'] / row[key]:6.1f}" if "legacy_s" in row else ""
                print(f"  {key:18s} {row[key]:8.2f} s  {w / row[key] / 1e6:8.1f} M/s{ratio}  {row.get(key[:-2] + '_check', '')}")
    if not args.skip_grad:
        g = grad_runs()
        results["gradients"] = g
        print("\ngradients (256 x 256, timing_1024 crystal; cell, misset, distance, beam centre, N):")
        for k, v in g.items():
            print(f"  {k:16s} {v['s']:7.2f} s  peak +{v['peak_growth_mb']:.0f} MB")
        print(f"  fused: forward+backward / forward = {g['fused_fwd_bwd']['s'] / g['fused_fwd']['s']:.2f}")
    if not args.skip_profile:
        p = kernel_profile()
        results["kernel"] = p
        print(f"\nkernel alone ({p['isa']}), M (step, path) elements per second:")
        for k, v in p.items():
            if isinstance(v, float) and not k.endswith("_s"):
                print(f"  {k:20s} {v / 1e6:8.1f}")
        print(f"  timing_1024 float64 run {p['timing_1024_f64_total_s']:.2f} s, of which in the kernel "
              f"{p['timing_1024_f64_kernel_s']:.2f} s (the rest: plan, per-pixel factors and batching in torch)")
    results["load_average_end"] = os.getloadavg()
    print(f"\nload average at start {results['load_average_start']}, at end {results['load_average_end']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
