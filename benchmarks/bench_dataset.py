"""Dataset mode speed: shots per second serial and on LocalCluster with 1 and 2 workers.

    python benchmarks/bench_dataset.py [--sizes 512 1024] [--shots 8] [--engine torch|c]
                                       [--repeat N] [--overhead-shots 64] [--json FILE]

For each detector size (square stills, random orientations, -N 10, 1 engine
thread per worker) the script measures, side by side in one sitting:

* ``simulate`` warm: ``nanobrag.simulate(shot_config(spec, i))`` in a loop in
  this (warmed-up) process -- the reference a hand-written loop would get;
* ``serial``: :func:`nanobrag.dataset.run` with ``workers=0`` (in-process);
* ``1 worker`` / ``2 workers``: a LocalCluster of worker processes, started and
  warmed up (torch imported, one tiny shot rendered) before the clock starts.

It also measures the scheduler overhead per shot (a 4 x 4 detector whose render
time is negligible, one shot per chunk, one worker: wall time per chunk minus
the in-process time of the same shot) and reports the largest peak resident
memory of a worker process (``ru_maxrss`` as the chunk tasks report it) and
the CPU seconds per shot the chunk tasks used (``time.process_time`` of the
rendering process: less sensitive than wall time to other load on the
machine; equal CPU per shot in one and two workers means the wall-time
speedup is limited only by free cores).
Every dataset's frames are compared bit for bit with the serial run before
its speed is reported.  The machine may be shared: compare ratios from one
sitting, not absolute figures across sittings.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import nanobrag  # noqa: E402
from nanobrag import dataset as D  # noqa: E402


def spec_for(size: int, shots: int, engine: str, per_chunk: int, n_cells: int = 10) -> D.DatasetSpec:
    return D.spec_from_dict({
        "base": {"args": f"-cell 79 79 38 90 90 90 -default_F 100 -N {n_cells} -lambda 1.0 -distance 100 "
                         f"-detpixels {size} -pixel 0.1 -engine {engine}"},
        "dataset": {"kind": "stills", "shots": shots, "seed": 7, "shots_per_chunk": per_chunk},
        "vary": {"orientation": "random"},
    })


def frames(out: Path) -> np.ndarray:
    with h5py.File(out / "master.h5", "r") as f:
        return f["entry/data/data"][()]


def warm_cluster(n_workers: int):
    from distributed import Client, LocalCluster

    import dask
    from nanobrag.dataset.execute import WORKER_CONFIG

    with dask.config.set(WORKER_CONFIG):  # the settings of the clusters nanobrag.dataset starts
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               env={"OMP_NUM_THREADS": "1"}, silence_logs=logging.ERROR)
    client = Client(cluster)
    tiny = spec_for(8, 1, "torch", 1, n_cells=1)

    def warm(_):
        torch.set_num_threads(1)
        return float(nanobrag.simulate(D.shot_config(tiny, 0)).float_image.sum())

    client.gather(client.map(warm, range(4 * n_workers), pure=False))
    return cluster, client


def timed_run(spec, out: Path, **kw) -> tuple:
    start = time.perf_counter()
    report = D.run(spec, out, progress=False, threads_per_worker=1, **kw)
    return time.perf_counter() - start, report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--shots", type=int, default=8, help="shots per measurement (default 8)")
    ap.add_argument("--engine", choices=("torch", "c"), default="torch")
    ap.add_argument("--overhead-shots", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=1, help="rounds of all modes, interleaved; best of them counts")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    results = {"machine": platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__,
               "load_average_start": os.getloadavg(), "engine": args.engine, "sizes": {}}
    clusters = {n: warm_cluster(n) for n in (1, 2)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for size in args.sizes:
                per_chunk = max(1, args.shots // 2)  # two chunks: one for each worker of the 2-worker cluster
                spec = spec_for(size, args.shots, args.engine, per_chunk)
                options = {"compile": False} if args.engine == "torch" else {}  # the kernel dataset tasks use
                nanobrag.simulate(D.shot_config(spec, 0), nthreads=1, **options)  # warm this process
                best = {}
                row = {"shots": spec.shots, "shots_per_chunk": per_chunk}
                # the modes interleaved, best of --repeat rounds: load from other jobs drifts over minutes
                for r in range(args.repeat):
                    start = time.perf_counter()
                    for i in range(spec.shots):
                        nanobrag.simulate(D.shot_config(spec, i), nthreads=1, **options)
                    times = {"simulate_warm": time.perf_counter() - start}
                    times["serial"], r_serial = timed_run(spec, tmp / f"serial{size}_{r}", workers=0)
                    cpu = {"serial": r_serial.cpu_seconds}
                    reference = frames(tmp / f"serial{size}_{r}")
                    row["serial_peak_rss_mb"] = r_serial.peak_rss_mb
                    for n, (cluster, client) in clusters.items():
                        times[f"workers{n}"], report = timed_run(spec, tmp / f"w{n}_{size}_{r}", client=client)
                        if not np.array_equal(frames(tmp / f"w{n}_{size}_{r}"), reference):
                            raise SystemExit(f"{size}: the {n}-worker run differs from the serial run")
                        row[f"workers{n}_peak_rss_mb"] = report.peak_rss_mb
                        row[f"workers{n}_processes_used"] = len(report.chunks_by_pid)
                        cpu[f"workers{n}"] = report.cpu_seconds
                    for mode, t in times.items():
                        best[mode] = min(best.get(mode, t), t)
                    for mode, t in cpu.items():
                        best[f"cpu:{mode}"] = min(best.get(f"cpu:{mode}", t), t)
                for mode, t in best.items():
                    if mode.startswith("cpu:"):
                        row[f"{mode[4:]}_task_cpu_s_per_shot"] = t / spec.shots
                    else:
                        row[f"{mode}_shots_per_s"] = spec.shots / t
                row["speedup_2_over_1_worker"] = row["workers2_shots_per_s"] / row["workers1_shots_per_s"]
                row["serial_over_simulate"] = row["serial_shots_per_s"] / row["simulate_warm_shots_per_s"]
                results["sizes"][str(size)] = row
                print(f"{size}^2: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()), flush=True)

            # scheduler overhead: shots too small to cost anything, one per task
            tiny = spec_for(4, args.overhead_shots, "torch", 1, n_cells=1)
            nanobrag.simulate(D.shot_config(tiny, 0))
            start = time.perf_counter()
            for i in range(tiny.shots):
                nanobrag.simulate(D.shot_config(tiny, i))
            t_tiny = (time.perf_counter() - start) / tiny.shots
            t_serial, _ = timed_run(tiny, tmp / "tiny_serial", workers=0)
            t_one, _ = timed_run(tiny, tmp / "tiny_w1", client=clusters[1][1])
            results["overhead"] = {
                "shots": tiny.shots,
                "simulate_s_per_shot": t_tiny,
                "serial_s_per_chunk_of_1": t_serial / tiny.shots,
                "one_worker_s_per_chunk_of_1": t_one / tiny.shots,
                "scheduler_overhead_s_per_chunk": t_one / tiny.shots - t_serial / tiny.shots,
                "bookkeeping_overhead_s_per_chunk": t_serial / tiny.shots - t_tiny,
            }
            print("overhead: " + ", ".join(f"{k} {v:.3g}" for k, v in results["overhead"].items()), flush=True)
    finally:
        for cluster, client in clusters.values():
            client.close()
            cluster.close()
    results["load_average_end"] = os.getloadavg()
    print(f"load average at start {results['load_average_start']}, at end {results['load_average_end']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
