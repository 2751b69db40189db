"""Fuzz campaign: bad command lines, corrupt files and bad Configs against both engines; counts per defect class.

Usage (from the repository root, with PYTHONPATH=python and the C library built)::

    python benchmarks/fuzz_campaign.py --cases 400 --subprocess 100 --seed 1 --json out.json

Runs ``--cases`` generated cases per engine through ``nanobrag.cli.main`` in
this process, ``--subprocess`` of them per engine as child processes two at a
time (signals, crashes at exit), and every bad Config of
``tests/fuzz_cases.bad_configs`` through ``nanobrag.simulate``.  Prints the
table of the issue (defect class x engine).  The address space is capped
(``--memory-gb``) so a case that tries to allocate absurd memory fails
instead of swapping a shared machine.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "python"))

import fuzz_cases  # noqa: E402

CLASSES = ["left_behind", "nonfinite", "traceback", "signal", "timeout"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=400, help="in-process cases per engine")
    ap.add_argument("--subprocess", type=int, default=100, help="child-process cases per engine")
    ap.add_argument("--engines", default="c,torch")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--memory-gb", type=float, default=8.0)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    ap.add_argument("--json", help="write every defect found here")
    args = ap.parse_args()
    limit = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    engines = args.engines.split(",")
    counts = {e: collections.Counter() for e in engines}
    found = []
    root = Path(tempfile.mkdtemp(prefix="nanobrag_fuzz_"))
    t0 = time.time()
    for engine in engines:
        rng = random.Random(args.seed)
        for i in range(args.cases):
            case = fuzz_cases.random_case(rng)
            outcome = fuzz_cases.run_in_process(case, engine, root / f"{engine}_ip_{i}", timeout_s=args.timeout)
            for d in fuzz_cases.defects(outcome):
                counts[engine][d] += 1
                found.append(dict(engine=engine, mode="in-process", defect=d, what=case.what, argv=case.argv,
                                  status=outcome.status, new_files=outcome.new_files,
                                  detail=(outcome.escaped or outcome.stderr[-300:])))
        counts[engine]["cases"] += args.cases

        rng = random.Random(args.seed + 1)
        sub_cases = [fuzz_cases.random_case(rng) for _ in range(args.subprocess)]
        env = dict(os.environ, PYTHONPATH=str(REPO / "python"))

        def run_one(item):
            i, case = item
            return case, fuzz_cases.run_subprocess(case, engine, root / f"{engine}_sp_{i}", env=env)

        with ThreadPoolExecutor(max_workers=2) as pool:
            for case, outcome in pool.map(run_one, enumerate(sub_cases)):
                for d in fuzz_cases.defects(outcome):
                    counts[engine][d + "_sp"] += 1
                    found.append(dict(engine=engine, mode="subprocess", defect=d, what=case.what, argv=case.argv,
                                      status=outcome.status, new_files=outcome.new_files, detail=outcome.stderr[-300:]))
        counts[engine]["subprocess_cases"] += args.subprocess

        configs = fuzz_cases.bad_configs()
        for what, cfg in configs:
            try:
                kind, detail = fuzz_cases.simulate_outcome(cfg, engine)
            except MemoryError as exc:  # raised outside simulate: still a defect of the API
                kind, detail = "other", f"MemoryError: {exc}"
            if kind in ("other", "nonfinite"):
                counts[engine]["api_" + kind] += 1
                found.append(dict(engine=engine, mode="api", defect="api_" + kind, what=what, detail=detail))
        counts[engine]["api_cases"] += len(configs)

    print(f"fuzz campaign, seed {args.seed}, {time.time() - t0:.0f} s")
    print("| class | " + " | ".join(f"{e} engine" for e in engines) + " |")
    print("|---|" + "---|" * len(engines))
    rows = [("files left behind after a failed run", ["left_behind", "left_behind_sp"]),
            ("exit 0 with inf/NaN in the image", ["nonfinite", "nonfinite_sp"]),
            ("Python traceback", ["traceback", "traceback_sp"]),
            ("died by a signal (child processes)", ["signal_sp"]),
            ("ran past the per-case time limit", ["timeout", "timeout_sp"]),
            ("simulate() exceptions that are not a ConfigError", ["api_other"]),
            ("simulate() returned a non-finite image", ["api_nonfinite"])]
    for title, keys in rows:
        cells = []
        for e in engines:
            n = sum(counts[e][k] for k in keys)
            total = counts[e]["api_cases"] if keys[0].startswith("api") else (
                counts[e]["subprocess_cases"] if keys == ["signal_sp"] else counts[e]["cases"] + counts[e]["subprocess_cases"])
            cells.append(f"{n} of {total}")
        print(f"| {title} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(counts={e: dict(c) for e, c in counts.items()}, found=found), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
