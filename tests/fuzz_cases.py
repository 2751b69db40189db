"""Bad and odd command lines and input files for the ``nanobrag`` command, and how a run is judged.

One generator serves the fuzz tests (tests/project/test_fuzz.py, driven by hypothesis
through a ``random.Random``) and the campaign script
(benchmarks/fuzz_campaign.py, driven by a seeded ``random.Random``).  Every
case renders a tiny detector (8 x 8 pixels, one sub-pixel) so thousands of
runs fit in a minute.

A run is judged on four defects (:func:`defects`):

- ``traceback``: a Python exception escaped the command (or a traceback was printed);
- ``signal``: the process died by a signal (subprocess runs only);
- ``left_behind``: a failed run (exit status != 0) left a file in its directory;
- ``nonfinite``: a successful run wrote an image holding inf or NaN, or printed inf/NaN statistics.
"""
from __future__ import annotations

import contextlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: the tiny good command line every case starts from
BASE = ["-cell", "50", "50", "50", "90", "90", "90", "-default_F", "10", "-detpixels", "8",
        "-oversample", "1", "-N", "1", "-nonoise", "-noprogress"]

GOOD_HKL = b"0 0 0 10\n1 0 0 5\n0 1 0 5\n0 0 1 5\n-1 0 0 3\n"
GOOD_STOL = b"0 10\n0.1 8\n0.2 5\n0.3 3\n"
GOOD_SOURCES = b"0 0 -10 1 1e-10\n0 0.001 -10 1 1.01e-10\n"
GOOD_MAT = b"0.02 0 0\n0 0.02 0\n0 0 0.02\n"


def smv_bytes(header: Dict[str, str], fast: int = 8, slow: int = 8, data: Optional[bytes] = None) -> bytes:
    """A small SMV file: a 512-byte header with ``header`` keys and uint16 data."""
    keys = {"HEADER_BYTES": "512", "DIM": "2", "BYTE_ORDER": "little_endian", "TYPE": "unsigned_short",
            "SIZE1": str(fast), "SIZE2": str(slow)}
    keys.update(header)
    text = "{\n" + "".join(f"{k}={v};\n" for k, v in keys.items()) + "}\f"
    raw = text.encode().ljust(512, b" ")
    if data is None:
        data = np.ones((slow, fast), dtype="<u2").tobytes()
    return raw + data


def fdump_bytes(bounds: Sequence[int], values: Optional[np.ndarray] = None, truncate: int = 0) -> bytes:
    h0, h1, k0, k1, l0, l1 = bounds
    shape = (h1 - h0 + 2, k1 - k0 + 2, l1 - l0 + 2)
    if values is None:
        values = np.full(shape, 10.0)
    data = np.asarray(values, dtype="<f8").reshape(shape).tobytes()
    raw = b"%d %d %d %d %d %d\n\f" % tuple(bounds) + data
    return raw[: len(raw) - truncate] if truncate else raw


#: corrupt or odd input files: name -> (option, file bytes)
def _bad_files() -> Dict[str, Tuple[str, bytes]]:
    nan_grid = np.full((3, 3, 3), 10.0)
    nan_grid[0, 0, 0] = np.nan
    inf_grid = np.full((3, 3, 3), 10.0)
    inf_grid[1, 0, 0] = np.inf
    return {
        "hkl_nan": ("-hkl", b"0 0 0 nan\n1 0 0 5\n"),
        "hkl_inf": ("-hkl", b"0 0 0 inf\n"),
        "hkl_1e400": ("-hkl", b"0 0 0 1e400\n1 0 0 5\n"),
        "hkl_digits": ("-hkl", b"0 0 0 1" + b"0" * 100000 + b"\n"),
        "hkl_huge_F": ("-hkl", b"0 0 0 1e300\n1 0 0 1e300\n"),
        "hkl_range": ("-hkl", b"0 0 0 1\n100000 100000 100000 1\n"),
        "hkl_range2": ("-hkl", b"-3000 0 0 1\n3000 3000 3000 1\n"),
        "hkl_short": ("-hkl", b"0 0 10\n"),
        "hkl_text": ("-hkl", b"h k l F\n"),
        "hkl_float_index": ("-hkl", b"0.5 0 0 10\n"),
        "hkl_empty": ("-hkl", b""),
        "hkl_binary": ("-hkl", bytes(range(256)) * 4),
        "hkl_bigint": ("-hkl", b"99999999999999999999 0 0 1\n"),
        "fdump_nan": ("-dump", fdump_bytes((0, 1, 0, 1, 0, 1), nan_grid)),
        "fdump_inf": ("-dump", fdump_bytes((0, 1, 0, 1, 0, 1), inf_grid)),
        "fdump_truncated": ("-dump", fdump_bytes((0, 1, 0, 1, 0, 1), truncate=17)),
        "fdump_huge_header": ("-dump", b"0 100000 0 100000 0 100000\n\f" + bytes(64)),
        "fdump_garbage": ("-dump", b"\x00\x01garbage"),
        "fdump_reversed": ("-dump", b"1 0 0 1 0 1\n\f" + bytes(64)),
        "stol_nan": ("-stol", b"0 nan\n0.1 3\n"),
        "stol_text": ("-stol", b"zero ten\n"),
        "stol_empty": ("-stol", b"\n\n"),
        "stol_1e400": ("-stol", b"0 1e400\n"),
        "src_zero_lambda": ("-sourcefile", b"0 0 -10 1 0\n"),
        "src_neg_lambda": ("-sourcefile", b"0 0 -10 1 -1e-10\n"),
        "src_huge_lambda": ("-sourcefile", b"0 0 -10 1 1e300\n"),
        "src_origin": ("-sourcefile", b"0 0 0 1 1e-10\n"),
        "src_text": ("-sourcefile", b"a b c\n"),
        "src_empty": ("-sourcefile", b""),
        "src_1e400": ("-sourcefile", b"0 0 -1e400 1 1e-10\n"),
        "src_many": ("-sourcefile", b"0 0 -10 1 1e-10\n" * 3000),
        "mat_singular": ("-mat", b"0 0 0\n0 0 0\n0 0 0\n"),
        "mat_nan": ("-mat", b"nan 0 0\n0 0.02 0\n0 0 0.02\n"),
        "mat_short": ("-mat", b"0.02 0 0\n"),
        "mat_text": ("-mat", b"not a matrix\n"),
        "mat_huge": ("-mat", b"1e300 0 0\n0 1e300 0\n0 0 1e300\n"),
        "mat_tiny": ("-mat", b"1e-300 0 0\n0 1e-300 0\n0 0 1e-300\n"),
        "img_wavelength_inf": ("-img", smv_bytes({"WAVELENGTH": "inf"})),
        "img_wavelength_nan": ("-img", smv_bytes({"WAVELENGTH": "nan"})),
        "img_wavelength_0": ("-img", smv_bytes({"WAVELENGTH": "0"})),
        "img_wavelength_neg": ("-img", smv_bytes({"WAVELENGTH": "-1"})),
        "img_pixel_0": ("-img", smv_bytes({"PIXEL_SIZE": "0"})),
        "img_pixel_inf": ("-img", smv_bytes({"PIXEL_SIZE": "inf"})),
        "img_distance_0": ("-img", smv_bytes({"DISTANCE": "0"})),
        "img_distance_nan": ("-img", smv_bytes({"DISTANCE": "nan"})),
        "img_beam_inf": ("-img", smv_bytes({"BEAM_CENTER_X": "inf"})),
        "img_osc_huge": ("-img", smv_bytes({"OSC_RANGE": "1e300"})),
        "img_truncated": ("-img", smv_bytes({})[:600]),
        "img_header_huge": ("-img", smv_bytes({"HEADER_BYTES": "99999999999"})),
        "img_size_huge": ("-img", smv_bytes({"SIZE1": "100000", "SIZE2": "100000"})),
        "img_size_neg": ("-img", smv_bytes({"SIZE1": "-8"})),
        "img_garbage": ("-img", b"\x00" * 100),
        "mask_wrong_size": ("-mask", smv_bytes({}, fast=4, slow=4)),
        "mask_zero": ("-mask", smv_bytes({}, data=bytes(128))),
        "mask_pixel_nan": ("-mask", smv_bytes({"PIXEL_SIZE": "nan"})),
    }


BAD_FILES = _bad_files()

#: odd values for numeric options
ODD_NUMBERS = ["nan", "inf", "-inf", "1e308", "1e300", "1e166", "1e200", "-1", "0", "-0", "1e-300", "abc", "",
               "1e999", "99999999999", "2147483648", "1e5", "100000", "3000", "0x10", "1_0", "--1", "+5"]

#: numeric options and the extra flags that make them matter
NUMERIC_OPTIONS: List[Tuple[str, List[str]]] = [
    ("-distance", []), ("-close_distance", []), ("-lambda", []), ("-energy", []), ("-pixel", []),
    ("-detpixels", []), ("-detpixels_f", []), ("-detsize", ["-detpixels", "0"]), ("-N", []), ("-Na", []),
    ("-default_F", []), ("-water", []), ("-flux", ["-exposure", "1", "-beamsize", "0.1"]),
    ("-exposure", ["-flux", "1e12"]), ("-beamsize", ["-flux", "1e12"]), ("-fluence", []), ("-polar", []),
    ("-mosaic", []), ("-mosaic_domains", ["-mosaic", "0.1"]), ("-oversample", []), ("-phisteps", ["-osc", "1"]),
    ("-osc", []), ("-phi", []), ("-phistep", ["-osc", "1"]), ("-dispersion", ["-dispsteps", "2"]),
    ("-dispsteps", ["-dispersion", "1"]), ("-hdivrange", []), ("-hdivstep", ["-hdivrange", "1"]),
    ("-divsteps", ["-divergence", "1"]), ("-divergence", []), ("-xtal_size", []), ("-xtal_width", []),
    ("-detector_thick", []), ("-detector_abs", ["-detector_thick", "100"]),
    ("-detector_thicksteps", ["-detector_thick", "100"]), ("-dmin", []), ("-twotheta", []),
    ("-detector_rotx", []), ("-Xbeam", []), ("-Ybeam", []), ("-Xclose", []), ("-ORGX", ["-xds"]),
    ("-adc", []), ("-scale", []), ("-pgmscale", []), ("-seed", ["-noisefile", "n.img"]),
    ("-misset_seed", ["-misset", "random"]), ("-mosaic_seed", ["-mosaic", "0.1"]), ("-fudge", ["-round_xtal"]),
    ("-nthreads", []), ("-xtal_thick", []), ("-density", []), ("-MW", []),
]

VECTOR_OPTIONS = ["-beam_vector", "-polar_vector", "-fdet_vector", "-sdet_vector", "-odet_vector",
                  "-twotheta_axis", "-spindle_axis", "-misset"]
ODD_VECTORS = [["0", "0", "0"], ["nan", "0", "1"], ["1e308", "1e308", "0"], ["inf", "0", "0"], ["1", "0"],
               ["1e-300", "0", "0"], ["1", "1", "1"]]
ODD_CELLS = [["0", "50", "50", "90", "90", "90"], ["50", "50", "50", "0", "0", "0"],
             ["50", "50", "50", "180", "90", "90"], ["1e308", "50", "50", "90", "90", "90"],
             ["nan", "50", "50", "90", "90", "90"], ["-50", "50", "50", "90", "90", "90"],
             ["50", "50", "50", "120", "120", "120"], ["1e-300", "50", "50", "90", "90", "90"],
             ["50", "50"], ["50", "50", "50", "90", "90", "nan"], ["0.1", "0.1", "0.1", "90", "90", "90"]]

#: output options and bad destinations
OUTPUT_OPTIONS = ["-floatfile", "-intfile", "-pgmfile", "-noisefile", "-dump"]
BAD_DESTINATIONS = ["nodir/x.bin", "odir", "/proc/version", "", "ro/x.bin", "odir/", ".", "a\x00b"]


@dataclass
class Case:
    """One generated command (without ``-engine``) and the files it needs in its directory."""

    argv: List[str]
    files: Dict[str, bytes] = field(default_factory=dict)
    dirs: Tuple[str, ...] = ()
    what: str = ""


def _with(argv: List[str], *extra: str) -> List[str]:
    return list(argv) + list(extra)


def random_case(rng: random.Random) -> Case:
    """One bad or odd case; every kind of mutation is equally likely."""
    kind = rng.choice(["number", "number", "vector", "cell", "file", "file", "output", "output", "combo", "tokens"])
    argv = list(BASE)
    files: Dict[str, bytes] = {}
    dirs: Tuple[str, ...] = ()
    if kind == "number":
        option, extra = rng.choice(NUMERIC_OPTIONS)
        value = rng.choice(ODD_NUMBERS)
        argv = _with(argv, *extra, option, value)
        what = f"{option} {value!r}"
    elif kind == "vector":
        option = rng.choice(VECTOR_OPTIONS)
        vec = rng.choice(ODD_VECTORS)
        argv = _with(argv, option, *vec)
        what = f"{option} {' '.join(vec)}"
    elif kind == "cell":
        cell = rng.choice(ODD_CELLS)
        argv = _with(argv, "-cell", *cell)
        what = f"-cell {' '.join(cell)}"
    elif kind == "file":
        name = rng.choice(sorted(BAD_FILES))
        option, data = BAD_FILES[name]
        files["bad.in"] = data
        if option == "-dump":  # read as the cache: no -hkl, -default_F 0 so the cache is used
            files["Fdump.bin"] = data
            argv = [a for a in argv]
            what = f"Fdump.bin {name}"
        elif option == "-mask":
            argv = _with(argv, "-mask", "bad.in")
            what = f"-mask {name}"
        else:
            argv = _with(argv, option, "bad.in")
            what = f"{option} {name}"
    elif kind == "output":
        option = rng.choice(OUTPUT_OPTIONS)
        dest = rng.choice(BAD_DESTINATIONS)
        dirs = ("odir", "ro")
        files["good.hkl"] = GOOD_HKL
        use_hkl = rng.random() < 0.5
        argv = _with(argv, *(["-hkl", "good.hkl"] if use_hkl else []), *(["-noisefile", "noise.img"] if rng.random() < 0.3 else []),
                     option, dest)
        what = f"{option} {dest!r}" + (" with -hkl" if use_hkl else "")
    elif kind == "combo":
        # the crash-at-exit command and overflow combinations with real files
        files.update({"t.stol": GOOD_STOL, "good.hkl": GOOD_HKL, "src.txt": GOOD_SOURCES, "A.mat": GOOD_MAT})
        extras = rng.sample([["-stol", "t.stol"], ["-water", rng.choice(["100", "1e300", "1e30"])],
                             ["-hkl", "good.hkl"], ["-sourcefile", "src.txt"], ["-mat", "A.mat"],
                             ["-default_F", rng.choice(["1e200", "1e20", "10"])], ["-flux", rng.choice(["1e166", "1e12"])],
                             ["-polar", rng.choice(["1e300", "0.5"])], ["-noisefile", "noise.img"],
                             ["-curved_det"], ["-detector_thick", "100", "-detector_thicksteps", "2"],
                             ["-roi", "0", "3", "0", "3"], ["-mosaic", "1", "-mosaic_domains", "3"]],
                            k=rng.randint(2, 4))
        for e in extras:
            argv = _with(argv, *e)
        what = "combo " + " ".join(" ".join(e) for e in extras)
    else:  # random tokens
        pool = ["-cell", "-N", "-lambda", "-hkl", "-nonoise", "-roi", "-misset", "-detpixels", "1", "-1", "nan",
                "0", "x", "-", "--", "-floatfile", "-unknown", "-engine", "-device", "cuda:7", "-dtype", "float16"]
        tokens = [rng.choice(pool) for _ in range(rng.randint(1, 5))]
        argv = _with(argv, *tokens)
        what = "tokens " + " ".join(tokens)
    return Case(argv=argv, files=files, dirs=dirs, what=what)


# ---------------------------------------------------------------- running


@dataclass
class Outcome:
    status: Optional[int]  # exit status; negative: killed by that signal; None: exception escaped
    stdout: str
    stderr: str
    new_files: List[str]
    float_image_finite: Optional[bool]  # None: no float image written
    escaped: Optional[str] = None  # repr of an exception that escaped main()
    timed_out: bool = False


def _materialize(case: Case, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for d in case.dirs:
        (workdir / d).mkdir(exist_ok=True)
    if "ro" in case.dirs:
        os.chmod(workdir / "ro", 0o555)
    for name, data in case.files.items():
        (workdir / name).write_bytes(data)


def _listing(workdir: Path) -> Dict[str, int]:
    out = {}
    for root, dirnames, names in os.walk(workdir):
        for n in names:
            p = os.path.join(root, n)
            out[os.path.relpath(p, workdir)] = os.stat(p).st_mtime_ns
    return out


def _float_finite(workdir: Path, argv: Sequence[str], new: Sequence[str]) -> Optional[bool]:
    name = "floatimage.bin"
    for i, a in enumerate(argv[:-1]):
        if a == "-floatfile":
            name = argv[i + 1]
    if name not in new:
        return None
    data = np.fromfile(workdir / name, dtype="<f4")
    return bool(np.isfinite(data).all())


class _Timeout(BaseException):
    pass


def run_in_process(case: Case, engine: str, workdir: Path, timeout_s: float = 20.0) -> Outcome:
    """Run ``nanobrag.cli.main`` in this process, in ``workdir`` (which must be fresh)."""
    from nanobrag import cli

    _materialize(case, workdir)
    before = _listing(workdir)
    argv = list(case.argv) + ["-engine", engine]
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    status, escaped, timed_out = None, None, False
    in_main = threading.current_thread() is threading.main_thread()

    def alarm(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, alarm) if in_main else None
    torch_threads = None
    if "torch" in sys.modules:
        torch_threads = sys.modules["torch"].get_num_threads()
    try:
        os.chdir(workdir)
        if in_main:
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = cli.main(argv)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
    except _Timeout:
        timed_out = True
    except BaseException as exc:  # noqa: BLE001 - every escape is a defect to record
        escaped = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        if in_main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        os.chdir(cwd)
        if torch_threads is not None:
            sys.modules["torch"].set_num_threads(torch_threads)
        if "ro" in case.dirs:
            os.chmod(workdir / "ro", 0o755)
    after = _listing(workdir)
    new = sorted(p for p, t in after.items() if before.get(p) != t)
    return Outcome(status, out.getvalue(), err.getvalue(), new, _float_finite(workdir, argv, new), escaped, timed_out)


def cli_command() -> List[str]:
    return [sys.executable, "-m", "nanobrag.cli"]


def run_subprocess(case: Case, engine: str, workdir: Path, timeout_s: float = 60.0,
                   env: Optional[Dict[str, str]] = None) -> Outcome:
    """Run the command in a child process (signals and exit-time crashes show only here)."""
    _materialize(case, workdir)
    before = _listing(workdir)
    argv = list(case.argv) + ["-engine", engine]
    if any("\x00" in a for a in argv):
        argv = [a.replace("\x00", "") for a in argv]
    timed_out = False
    try:
        proc = subprocess.run(cli_command() + argv, cwd=workdir, capture_output=True, text=True,
                              timeout=timeout_s, env=env, errors="replace")
        status, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        status, stdout, stderr, timed_out = None, "", str(exc), True
    finally:
        if "ro" in case.dirs:
            os.chmod(workdir / "ro", 0o755)
    after = _listing(workdir)
    new = sorted(p for p, t in after.items() if before.get(p) != t)
    return Outcome(status, stdout, stderr, new, _float_finite(workdir, argv, new), None, timed_out)


_NONFINITE_STAT = re.compile(r"statistics:.*\b(nan|inf)\b", re.IGNORECASE)


def defects(outcome: Outcome) -> List[str]:
    """The defect classes one run shows (empty: the run behaved)."""
    found = []
    if outcome.escaped is not None or "Traceback (most recent call last)" in outcome.stderr:
        found.append("traceback")
    if outcome.status is not None and outcome.status < 0:
        found.append("signal")
    if outcome.timed_out:
        found.append("timeout")
    failed = outcome.status != 0
    if failed and outcome.new_files:
        found.append("left_behind")
    if not failed and (outcome.float_image_finite is False or _NONFINITE_STAT.search(outcome.stdout)):
        found.append("nonfinite")
    return found


# ---------------------------------------------------------------- bad Config objects for simulate()


def tiny_config():
    """A good 8 x 8 pixel Config (the API counterpart of BASE)."""
    from nanobrag import Config

    cfg = Config()
    cfg.crystal.cell = (50.0, 50.0, 50.0, 90.0, 90.0, 90.0)
    cfg.structure_factors.default_F = 10.0
    cfg.detector.detpixels = (8, 8)
    cfg.sampling.oversample = 1
    return cfg


_NAN, _INF = float("nan"), float("inf")

#: (Config field path, bad values) for the API fuzz
BAD_FIELDS: List[Tuple[str, list]] = [
    ("crystal.cell", [None, (0, 50, 50, 90, 90, 90), (_NAN,) * 6, (1e308, 50, 50, 90, 90, 90), (50, 50), "abc",
                      (50, 50, 50, 0, 0, 0), (-50, 50, 50, 90, 90, 90), (50, 50, 50, 180, 90, 90)]),
    ("crystal.n_cells", [(0, 0, 0), (_NAN, 1, 1), (-1, 1, 1), (1e9, 1e9, 1e9), (1, 1), None, "abc", (_INF, 1, 1)]),
    ("crystal.size_mm", [(_NAN, 0, 0), (-1, 0, 0), (1, 1, 1), None]),
    ("crystal.misset_deg", [(_NAN, 0, 0), (1, 2), (_INF, 0, 0)]),
    ("crystal.mosaic_spread_deg", [_NAN, -1.0, _INF, "x"]),
    ("crystal.mosaic_domains", [-5, 0, 10**9, 1.5, "x", _NAN]),
    ("crystal.fudge", [_NAN, 0.0, -1.0, _INF]),
    ("crystal.shape", ["cube", None, 3]),
    ("crystal.mosflm_matrix", [np.zeros((3, 3)), np.full((3, 3), _NAN), np.eye(2), "abc"]),
    ("structure_factors.default_F", [_NAN, _INF, 1e200, None, "x", -1e300]),
    ("beam.wavelength_A", [0.0, -1.0, _NAN, _INF, None, "1", 1e-300, 1e300]),
    ("beam.fluence_photons_per_m2", [_NAN, _INF, -1.0, 1e300, None]),
    ("beam.flux_photons_per_s", [_NAN, 1e166, -1.0, None]),
    ("beam.beamsize_mm", [0.0, _NAN, -1.0]),
    ("beam.exposure_s", [_NAN, _INF]),
    ("beam.kahn_factor", [_NAN, 1e300, _INF]),
    ("beam.dispersion_percent", [_NAN, -5.0, 1e300]),
    ("beam.dispersion_steps", [-1, 10**9, 1.5]),
    ("beam.hdiv_range_mrad", [_NAN, -1.0, 1e300]),
    ("beam.hdiv_steps", [10**9, -3]),
    ("beam.beam_vector", [(0, 0, 0), (_NAN, 0, 1), (1, 0)]),
    ("beam.polar_vector", [(0, 0, 0), (_NAN, 0, 1)]),
    ("detector.distance_mm", [0.0, _NAN, _INF, -100.0, None, 1e-300]),
    ("detector.close_distance_mm", [0.0, _NAN, _INF]),
    ("detector.pixel_size_mm", [0.0, -0.1, _NAN, _INF, None]),
    ("detector.detpixels", [(2**31, 8), (-1, 8), (100000, 100000), (8,), (8.5, 8), ("a", 8)]),
    ("detector.detsize_mm", [(_NAN, 1.0), (-1.0, 1.0), (1e300, 1e300)]),
    ("detector.xbeam_mm", [_NAN, _INF, 1e300]),
    ("detector.fdet_vector", [(0, 0, 0), (_NAN, 0, 0)]),
    ("detector.rot_deg", [(_NAN, 0, 0), (_INF, 0, 0)]),
    ("detector.twotheta_deg", [_NAN, _INF]),
    ("detector.thickness_um", [_NAN, -1.0, 1e300]),
    ("detector.attenuation_depth_um", [_NAN, -1.0, 0.0]),
    ("detector.thicksteps", [10**9, -2]),
    ("detector.roi", [(5, 2, 0, 7), (0, 100, 0, 7), (-5, 7, 0, 7), (0, 7)]),
    ("detector.mask", [np.ones((4, 4)), np.ones(8), "x"]),
    ("sampling.oversample", [0, -1, 10**6, 1.5, _NAN]),
    ("sampling.phi_steps", [0, -1, 10**9]),
    ("sampling.osc_deg", [_NAN, _INF, -1.0]),
    ("sampling.phi_step_deg", [_NAN, 0.0]),
    ("sampling.phi_start_deg", [_NAN, _INF]),
    ("sampling.dmin_A", [_NAN, -1.0]),
    ("sampling.spindle_axis", [(0, 0, 0), (_NAN, 0, 0)]),
    ("background.water_um", [_NAN, -1.0, 1e300, _INF]),
    ("phi_mode", ["legacy", None]),
    ("dtype", ["float16", None]),
    ("device", ["tpu", 3]),
]


def bad_configs() -> List[Tuple[str, object]]:
    """(description, Config) pairs: the good tiny Config with one field set to a bad value."""
    out = []
    for path, values in BAD_FIELDS:
        for value in values:
            cfg = tiny_config()
            obj = cfg
            *parents, leaf = path.split(".")
            for p in parents:
                obj = getattr(obj, p)
            setattr(obj, leaf, value)
            out.append((f"{path}={value!r}"[:80], cfg))
    return out


def simulate_outcome(cfg, engine: str, **options) -> Tuple[str, str]:
    """("ok" | "config_error" | "nonfinite" | "other", detail) of ``nanobrag.simulate`` on a Config."""
    from nanobrag import ConfigError, simulate

    try:
        result = simulate(cfg, engine=engine, **options)
    except ConfigError as exc:
        return "config_error", str(exc)[:200]
    except Exception as exc:  # noqa: BLE001 - the class under test
        return "other", f"{type(exc).__name__}: {exc}"[:200]
    if not np.isfinite(np.asarray(result.float_image)).all():
        return "nonfinite", ""
    return "ok", ""
