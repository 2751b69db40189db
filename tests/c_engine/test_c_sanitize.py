"""The C library under AddressSanitizer and UndefinedBehaviorSanitizer.

Builds the library with ``-DNANOBRAG_SANITIZE=ON`` into build/sanitize/asan (outside
the wheel), then runs the C-engine tests that exercise every code path of the
library (golden cases, traces, noise, threads, cancellation, errors) in a
child Python with that library (NANOBRAG_LIBRARY) and the ASan runtime
preloaded.  Any sanitizer report fails the child, hence this test.

Run on its own: ``python -m pytest -q tests/c_engine/test_c_sanitize.py``.
Needs gcc (or clang) with the sanitizer runtimes, cmake and ninja or make.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
# two levels down: the library loader looks for development builds in build/*/csrc and must not find this one
BUILD = REPO / "build" / "sanitize" / "asan"
#: the child runs these modules (not this one) against the sanitized library; every golden
#: case but the 1024x1024 timing case, which adds run time and no code path
CHILD_TESTS = ["tests/c_engine/test_c_engine.py", "tests/c_engine/test_c_threads.py", "tests/c_engine/test_c_binding.py", "tests/c_engine/test_c_golden.py",
               "tests/suite/test_noisify_golden.py",
               "tests/c_engine/test_random_streams.py", "-k", "not timing_1024 and not torch"]


def _runtime(name: str) -> str:
    cc = os.environ.get("CC", "gcc")
    path = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True, check=True).stdout.strip()
    if not os.path.isabs(path) or not os.path.exists(path):
        raise AssertionError(f"{cc} has no {name}; install the compiler's sanitizer runtime (libasan)")
    return path


def _build() -> Path:
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run(
        ["cmake", "-S", str(REPO), "-B", str(BUILD), *generator, "-DNANOBRAG_SANITIZE=ON", "-DCMAKE_BUILD_TYPE=Release",
         "-DNANOBRAG_BUILD_CHECKS=ON"],
        check=True, capture_output=True, text=True,
    )
    subprocess.run(["cmake", "--build", str(BUILD)], check=True, capture_output=True, text=True)
    lib = BUILD / "csrc" / "libnanobrag.so"
    assert lib.is_file(), f"sanitizer build did not produce {lib}"
    return lib


def test_c_engine_tests_pass_under_asan_and_ubsan():
    lib = _build()
    env = dict(os.environ)
    env.update(
        NANOBRAG_LIBRARY=str(lib),
        LD_PRELOAD=_runtime("libasan.so"),
        # Python itself is not instrumented and keeps memory until exit: no leak report
        ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0",
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1",
    )
    probe = subprocess.run(
        [sys.executable, "-c", "from nanobrag.c_engine import library_path; print(library_path)"],
        env=env, capture_output=True, text=True, cwd=REPO,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == str(lib), "the child did not load the sanitized library"

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CHILD_TESTS],
        env=env, capture_output=True, text=True, cwd=REPO,
    )
    report = run.stdout[-4000:] + run.stderr[-8000:]
    assert "AddressSanitizer" not in run.stderr, report
    assert "runtime error" not in run.stderr, report
    assert run.returncode == 0, report
    summary = run.stdout.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed >= 150, f"the sanitized child ran too few tests: {summary}"


def test_the_c_checks_pass_under_asan_and_ubsan():
    """csrc/tests (a C program using the public header) against the sanitized library."""
    _build()
    check = BUILD / "csrc" / "tests" / "nb_check_public_api"
    env = dict(os.environ, LD_PRELOAD=_runtime("libasan.so"), ASAN_OPTIONS="halt_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    run = subprocess.run([str(check)], env=env, capture_output=True, text=True, timeout=300)
    assert "AddressSanitizer" not in run.stderr and "runtime error" not in run.stderr, run.stderr[-8000:]
    assert run.returncode == 0 and "public API checks passed" in run.stdout, run.stdout + run.stderr
