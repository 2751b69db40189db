"""The one Config check (nanobrag.validation), the C library's own guards, and transactional outputs."""
import os

import numpy as np
import pytest

import fuzz_cases
from nanobrag import ConfigError
from nanobrag.io.atomic import OutputTransaction
from nanobrag.validation import NonFiniteImageError, check_image_finite, validate_config


def _c_library_refuses(cfg) -> bool:
    """Build an nb_plan straight from the Config, bypassing the Python check."""
    from nanobrag.c_engine._ffi import ffi, lib
    from nanobrag.c_engine.engine import to_nb_config

    nb, keep = to_nb_config(cfg)
    plan = ffi.new("nb_plan **")
    message = ffi.new("char[]", 512)
    status = lib.nb_plan_create(nb, plan, message, 512)
    if status == lib.NB_OK:
        lib.nb_plan_free(plan[0])
    return status == lib.NB_ERR_INVALID_ARGUMENT


SAMPLE = [
    ("beam.wavelength_A", 0.0), ("detector.pixel_size_mm", -0.1), ("crystal.cell", (0, 50, 50, 90, 90, 90)),
    ("crystal.cell", (float("nan"),) * 6), ("crystal.n_cells", (float("nan"), 1, 1)),
    ("crystal.mosaic_domains", 10**7), ("sampling.oversample", 5000), ("detector.detpixels", (2_000_000, 8)),
    ("structure_factors.default_F", 0.0), ("detector.distance_mm", float("inf")),
]


@pytest.mark.parametrize("field,value", SAMPLE, ids=[f"{f}={v}" for f, v in SAMPLE])
def test_python_check_and_c_library_refuse_alike(field, value):
    cfg = fuzz_cases.tiny_config()
    if field == "crystal.mosaic_domains":
        cfg.crystal.mosaic_spread_deg = 1.0
    obj = cfg
    *parents, leaf = field.split(".")
    for p in parents:
        obj = getattr(obj, p)
    setattr(obj, leaf, value)
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        validate_config(cfg, resources=True)
    assert _c_library_refuses(cfg)


def test_distance_zero_is_named_as_the_distance_for_both_engines():
    from nanobrag import simulate

    cfg = fuzz_cases.tiny_config()
    cfg.detector.distance_mm = 0.0
    for engine in ("c", "torch"):
        with pytest.raises(ConfigError, match=r"detector\.distance_mm \(-distance"):
            simulate(cfg, engine=engine)


def test_an_overflowing_input_is_named():
    cfg = fuzz_cases.tiny_config()
    cfg.structure_factors.default_F = 1e200
    with pytest.raises(NonFiniteImageError, match="-default_F 1e\\+200"):
        check_image_finite(cfg, np.array([[np.inf, 1.0]], dtype=np.float32))
    check_image_finite(cfg, np.ones((2, 2), dtype=np.float32))  # finite: no error


def test_transaction_renames_all_on_success(tmp_path):
    with OutputTransaction() as tx:
        tx.write(tmp_path / "a.bin", b"aa")
        with open(tx.path_for(tmp_path / "b.h5"), "wb") as handle:
            handle.write(b"bb")
        assert sorted(os.listdir(tmp_path)) != ["a.bin", "b.h5"]  # still under temporary names
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.h5"]
    assert (tmp_path / "b.h5").read_bytes() == b"bb"


def test_transaction_removes_all_on_failure_and_names_the_users_file(tmp_path):
    (tmp_path / "old.img").write_bytes(b"keep")
    (tmp_path / "odir").mkdir()
    with pytest.raises(OSError) as info:
        with OutputTransaction() as tx:
            tx.write(tmp_path / "old.img", b"new")
            tx.write(tmp_path / "odir", b"x")
    assert info.value.filename == str(tmp_path / "odir") and ".tmp" not in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["odir", "old.img"]
    assert (tmp_path / "old.img").read_bytes() == b"keep"
    with pytest.raises(OSError, match="does not exist"):
        OutputTransaction().path_for(tmp_path / "nodir" / "x.bin")


def test_c_noise_refuses_non_finite_pixels_instead_of_converting_nan():
    """The legacy noise loop converted NaN to long (undefined behaviour); the library now refuses."""
    from nanobrag.c_engine import CEngineError
    from nanobrag.c_engine.engine import noise_image

    cfg = fuzz_cases.tiny_config()
    image = np.ones((8, 8), dtype=np.float32)
    out, overloads, photons = noise_image(cfg, image, seed=1)
    assert out.shape == (8, 8) and np.isfinite(photons)
    for bad in (np.nan, np.inf, -np.inf):
        image[3, 4] = bad
        with pytest.raises(CEngineError, match="invalid"):
            noise_image(cfg, image, seed=1)
    cfg.output.adc_offset = float("nan")
    with pytest.raises(CEngineError):
        noise_image(cfg, np.ones((8, 8), dtype=np.float32), seed=1)


@pytest.mark.parametrize("text,expected", [
    (b"0 0 0 10\n1 0 0 1e400\n", r"line 2: structure factor F must be a finite number"),
    (b"0 0 0 1" + b"0" * 100000 + b"\n", r"line 1: structure factor F must be a finite number"),
    (b"0 0 0 1\n100000 100000 100000 1\n", r"dense grid of 1e\+15 points"),
    (b"0 0 0 1\n1 0 0 1e30\n", r"line 2: structure factor F 1e\+30 is absurd"),
    (b"99999999999999999999 0 0 1\n", r"line 1: Miller index out of range"),
])
def test_hkl_reader_refuses_non_finite_and_absurd_values_with_file_and_line(tmp_path, text, expected):
    from nanobrag.io import FormatError, read_hkl

    path = tmp_path / "bad.hkl"
    path.write_bytes(text)
    with pytest.raises(FormatError, match=expected) as info:
        read_hkl(path)
    assert str(path) in str(info.value)


def test_sigterm_during_a_run_leaves_nothing(tmp_path):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "good.hkl").write_bytes(fuzz_cases.GOOD_HKL)
    env = dict(os.environ, PYTHONPATH=str(repo / "python"), OMP_NUM_THREADS="1")
    argv = ["-hkl", "good.hkl", "-cell", "50", "50", "50", "90", "90", "90", "-N", "5", "-detpixels", "400",
            "-oversample", "4", "-progress", "-engine", "c"]
    proc = subprocess.Popen([sys.executable, "-m", "nanobrag.cli", *argv], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # the first progress line: the run is rendering
    assert "done" in line, line
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert sorted(os.listdir(tmp_path)) == ["good.hkl"]
