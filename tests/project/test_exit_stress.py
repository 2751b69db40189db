"""Many short commands, several at a time, must never die by a signal (issue 12: SIGSEGV at exit).

The crash: at interpreter exit cffi dlclosed libnanobrag, which unmapped
libgomp while its pool threads still spun after the last parallel region.
``OMP_WAIT_POLICY=active`` keeps those threads spinning, which turned the
rare crash (about 1 run in 100 under load) into a certain one; half of the
C-engine runs use it, so a regression fails here at once.

Runs the golden command lines shrunk to 12 x 12 pixels, one sub-pixel:
``NANOBRAG_STRESS_RUNS`` C-engine runs (CI: 100) and a twentieth as many
torch-engine runs, 4 at a time.  Marked ``stress``; about 60 s on 2 cores.
"""
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from golden_cases import all_cases

REPO = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("NANOBRAG_STRESS_RUNS", "100"))
SKIP = ("-mask", "-img", "-printout", "-printout_pixel", "-roi")


def _cases():
    return [c for c in all_cases() if not any(a in SKIP for a in c.args) and c.name != "timing_1024"]


@pytest.mark.stress
def test_hundreds_of_commands_several_at_a_time_see_no_signal(tmp_path):
    cases = _cases()
    assert len(cases) >= 30
    jobs = [(cases[i % len(cases)], "c", i % 2 == 0) for i in range(RUNS)]
    jobs += [(cases[(7 * i) % len(cases)], "torch", False) for i in range(max(1, RUNS // 20))]

    def run(item):
        i, (case, engine, spin) = item
        work = case.materialize_inputs(tmp_path / f"r{i}")
        env = dict(os.environ, PYTHONPATH=str(REPO / "python"), OMP_NUM_THREADS="2")
        if spin:
            env["OMP_WAIT_POLICY"] = "active"
        argv = case.args + ["-detpixels", "12", "-oversample", "1", "-noprogress", "-engine", engine]
        proc = subprocess.run([sys.executable, "-m", "nanobrag.cli", *argv], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)
        return case.name, engine, spin, proc

    failures = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, engine, spin, proc in pool.map(run, enumerate(jobs)):
            if proc.returncode < 0 or proc.returncode >= 128 or proc.returncode == 1:
                failures.append(f"{name} ({engine}, spin={spin}): exit {proc.returncode}: {proc.stderr[-300:]}")
    assert not failures, f"{len(failures)} of {len(jobs)} runs failed:\n" + "\n".join(failures[:10])
