"""The nanobrag command: help, exit codes, messages, the run flow and that errors write nothing.

The flow tests stand in for the engine (nanobrag.api.simulate / trace, through
monkeypatch) and use the real readers and writers, so they check the command
itself; one test runs a golden case end to end with the real C engine.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from golden_cases import case

import nanobrag
import nanobrag.api
import nanobrag.legacy_flags.files  # the readers it calls, patched below
from nanobrag.cli import main
from nanobrag.legacy_flags import FLAGS
from nanobrag.results import Geometry, SimulationResult

ARGS = ["-cell", "50", "-default_F", "10", "-detpixels", "4", "-pixel", "0.1", "-distance", "90"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files_in(path: Path):
    return sorted(p.name for p in path.iterdir())


def fake_geometry(config) -> Geometry:
    values = {}
    for f in dataclasses.fields(Geometry):
        t = str(f.type)
        if f.name in ("convention",):
            values[f.name] = config.detector.convention
        elif f.name == "pivot":
            values[f.name] = config.detector.pivot
        elif t.startswith("Vec3") or t.startswith("Tuple"):
            values[f.name] = (0.0, 0.0, 1.0) if t.startswith("Vec3") else (0, 3, 0, 3)
        elif t == "int":
            values[f.name] = 4
        elif t == "bool":
            values[f.name] = False
        else:
            values[f.name] = 0.1
    return Geometry(**values)


@pytest.fixture
def fake_run(monkeypatch):
    """A stand-in engine (simulate, trace); records what the command asked of it and of the writers."""
    calls = {"simulate": [], "outputs": [], "trace": []}
    import nanobrag.outputs

    real_writer = nanobrag.outputs.write_legacy_outputs

    def write_legacy_outputs(result, directory=".", noise_seed=None, transaction=None):
        calls["outputs"].append({"directory": directory, "noise_seed": noise_seed})
        if result.config.output.write_noise:  # the noise image needs the C engine's generator
            result.config.output.write_noise = False
        return real_writer(result, directory=directory, noise_seed=noise_seed, transaction=transaction)

    monkeypatch.setattr(nanobrag.outputs, "write_legacy_outputs", write_legacy_outputs)

    def simulate(config, engine=None, nthreads=None, progress=None, **kw):
        calls["simulate"].append({"engine": engine, "nthreads": nthreads})
        total = 16
        for done in range(0, total + 1, 4):
            if progress is not None and progress(done, total):
                raise RuntimeError("cancelled")
        image = np.arange(16, dtype=np.float32).reshape(4, 4)
        return SimulationResult(config=config, engine=engine, float_image=image, geometry=fake_geometry(config))

    def trace(config, pixels, engine=None):
        calls["trace"].append(list(pixels))
        p = len(pixels)
        shape = (p, 1, 1, 1, 1, 1)
        out = {n: np.full(shape, 0.25) for n in ("h", "k", "l", "F_latt", "F_cell")}
        out.update({n: np.full(shape + (3,), 5e-9) for n in ("a_m", "b_m", "c_m")})
        out.update(polar=np.full((p, 1, 1, 1), 0.9), omega=np.full((p, 1, 1), 1e-6),
                   capture_fraction=np.ones((p, 1, 1)), pixel_value=np.arange(p, dtype=float))
        return out

    monkeypatch.setattr(nanobrag.api, "simulate", simulate)
    monkeypatch.setattr(nanobrag.api, "trace", trace)
    return calls


# ---- help ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["-h", "-help", "--help"])
def test_help_lists_every_option_and_writes_nothing(workdir, capsys, flag):
    assert main([flag]) == 0
    out = capsys.readouterr().out
    for f in FLAGS:
        for spelling in f.spellings:
            assert spelling in out, spelling
    assert files_in(workdir) == []


def test_help_gives_units_and_defaults(workdir, capsys):
    main(["-help"])
    out = capsys.readouterr().out
    assert "  -distance MM\n" in out and "(mm); pivot: beam [default: 100]" in out
    assert "  -lambda A\n" in out and "(also -wavelength, -wave)" in out
    assert "  -engine auto|torch|c\n" in out and "[default: auto]" in out
    assert main(["-distance", "50", "-h"]) == 0  # help wins wherever it appears


# ---- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["-foo"], "unknown option -foo"),
    (ARGS + ["-distance", "abc"], "-distance expects a number (mm), got 'abc'"),
    (["-distance", "100"], "no structure factors: give -hkl FILE"),
    (ARGS + ["-hkl", "missing.hkl"], "-hkl: file not found: "),
])
def test_errors_exit_2_with_one_line_and_write_nothing(workdir, capsys, fake_run, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("nanobrag: error: " + message)
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n")
    assert captured.out == ""
    assert files_in(workdir) == [] and fake_run["simulate"] == []


def test_engine_not_available_exits_nonzero_and_writes_nothing(workdir, capsys, monkeypatch):
    def simulate(*args, **kwargs):
        raise NotImplementedError("the torch engine is not written yet")

    monkeypatch.setattr(nanobrag.api, "simulate", simulate)
    (workdir / "x.hkl").write_text("0 0 0 10\n")
    assert main(ARGS + ["-hkl", "x.hkl", "-noprogress", "-engine", "torch"]) == 1
    err = capsys.readouterr().err
    assert err == "nanobrag: error: the torch engine cannot run this: the torch engine is not written yet\n"
    assert files_in(workdir) == ["x.hkl"]  # no Fdump cache either


def test_engine_failure_exits_1(workdir, capsys, monkeypatch):
    monkeypatch.setattr(nanobrag.api, "simulate", lambda *a, **k: 1 / 0)
    assert main(ARGS + ["-noprogress", "-engine", "torch"]) == 1
    assert capsys.readouterr().err == "nanobrag: error: the torch engine failed: ZeroDivisionError: division by zero\n"
    assert files_in(workdir) == []


# ---- the run -------------------------------------------------------------------------------------

def test_run_writes_cache_and_outputs_and_prints_a_summary(workdir, capsys, fake_run):
    (workdir / "x.hkl").write_text("0 0 0 10\n1 0 0 5\n")
    assert main(ARGS + ["-hkl", "x.hkl", "-dump", "cache.bin", "-seed", "12345", "-engine", "c",
                        "-nthreads", "2", "-noprogress"]) == 0
    out = capsys.readouterr().out
    assert fake_run["simulate"] == [{"engine": "c", "nthreads": 2}]
    assert fake_run["outputs"] == [{"directory": str(workdir), "noise_seed": 12345}]
    assert files_in(workdir) == ["cache.bin", "floatimage.bin", "image.pgm", "intimage.img", "x.hkl"]
    table = nanobrag.io.read_fdump(str(workdir / "cache.bin"))
    assert table.hkl_min == (0, 0, 0) and table.as_numpy()[1, 0, 0] == 5.0
    assert "convention MOSFLM, pivot beam" in out
    assert "statistics: max_I 15, " in out and ", mean 7.5, " in out
    assert f"int image scale {55000 / 15:g}; pgm scale " in out
    assert "wrote the structure-factor cache cache.bin" in out
    assert "wrote floatimage.bin, intimage.img, image.pgm" in out
    np.testing.assert_array_equal(np.fromfile(workdir / "floatimage.bin", "<f4"), np.arange(16))


def test_no_cache_is_written_without_hkl(workdir, capsys, fake_run):
    assert main(ARGS + ["-noprogress", "-nonoise", "-nopgm"]) == 0
    assert files_in(workdir) == ["floatimage.bin", "intimage.img"]
    assert "noise seed" not in capsys.readouterr().out


def test_noise_seed_comes_from_the_clock_when_not_given(workdir, capsys, fake_run):
    assert main(ARGS + ["-noprogress"]) == 0
    seed = fake_run["outputs"][0]["noise_seed"]
    assert isinstance(seed, int) and seed > 1_600_000_000
    assert f"noise seed (from the clock): {seed}" in capsys.readouterr().out


def test_progress_on_stderr_unless_noprogress_or_printout(workdir, capsys, fake_run):
    assert main(ARGS) == 0
    err = capsys.readouterr().err
    assert "0% done (0/16 pixels)" in err and "100% done (16/16 pixels)" in err
    assert main(ARGS + ["-noprogress"]) == 0
    assert capsys.readouterr().err == ""
    assert main(ARGS + ["-printout_pixel", "1", "2"]) == 0
    assert "done" not in capsys.readouterr().err


def test_notes_go_to_stderr(workdir, capsys, fake_run):
    assert main(ARGS + ["-noprogress", "-coherent"]) == 0
    assert capsys.readouterr().err == "nanobrag: note: -coherent has no effect: the legacy program stores it " \
                                      "but never uses it\n"


def test_printout_pixel_traces_that_pixel(workdir, capsys, fake_run):
    assert main(ARGS + ["-printout_pixel", "3", "2"]) == 0
    out = capsys.readouterr().out
    assert fake_run["trace"] == [[(2, 3)]]
    assert "pixel fast 3 slow 2: 0 photons" in out
    assert "hkl 0.250000 0.250000 0.250000 (nearest 0 0 0)" in out
    assert "polar 0.9  omega 1e-06 sr  capture fraction 1" in out
    assert "rotated cell (Angstrom): a (50 50 50)" in out


def test_printout_covers_every_rendered_pixel_in_raster_order(workdir, capsys, fake_run):
    assert main(ARGS + ["-printout", "-roi", "1", "2", "0", "1"]) == 0
    assert fake_run["trace"] == [[(0, 1), (0, 2), (1, 1), (1, 2)]]


# ---- Ctrl-C --------------------------------------------------------------------------------------

def test_keyboard_interrupt_exits_130_and_writes_nothing(workdir, capsys, monkeypatch):
    def simulate(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nanobrag.api, "simulate", simulate)
    (workdir / "x.hkl").write_text("0 0 0 10\n")
    assert main(ARGS + ["-hkl", "x.hkl", "-noprogress"]) == 130
    assert capsys.readouterr().err.endswith("nanobrag: interrupted; nothing written\n")
    assert files_in(workdir) == ["x.hkl"]


def test_ctrl_c_asks_the_engine_to_stop_through_the_progress_callback(workdir, capsys, fake_run, monkeypatch):
    seen = []

    def simulate(config, engine=None, nthreads=None, progress=None, **kw):
        seen.append(progress(0, 16))
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs before the next bytecode
        seen.append(progress(8, 16))
        raise RuntimeError("cancelled by the progress callback")

    monkeypatch.setattr(nanobrag.api, "simulate", simulate)
    previous = signal.getsignal(signal.SIGINT)
    assert main(ARGS + ["-noprogress"]) == 130
    assert seen == [False, True]
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is restored
    assert files_in(workdir) == []


# ---- the installed command -----------------------------------------------------------------------

def test_console_script_reports_errors_with_status_2(tmp_path):
    script = Path(sys.executable).with_name("nanobrag")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "nanobrag.cli"]
    done = subprocess.run(command + ["-distance", "abc"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == "nanobrag: error: -distance expects a number (mm), got 'abc'\n"
    assert done.stdout == "" and files_in(tmp_path) == []
    done = subprocess.run(command + ["-help"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("usage: nanobrag [options]")


def test_golden_case_end_to_end_with_the_c_engine(tmp_path, monkeypatch, capsys):
    """cubic_default_F through the command with the C engine reproduces the legacy float image.

    Tolerance: the C engine follows the legacy arithmetic, so pixels may differ only by float32
    rounding of the stored value; 1e-6 of the image maximum bounds that.
    """
    c = case("cubic_default_F")
    c.materialize_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    status = main(c.args + ["-engine", "c", "-noprogress"])
    err = capsys.readouterr().err
    assert status == 0, err
    got = np.fromfile(tmp_path / "floatimage.bin", dtype="<f4").reshape(c.float_image().shape)
    expected = c.float_image()
    assert np.max(np.abs(got - expected)) <= 1e-6 * float(expected.max())


def test_an_output_that_cannot_be_written_exits_1(workdir, capsys, fake_run, monkeypatch):
    def refuse(result, directory, noise_seed, transaction=None):
        raise PermissionError(13, "Permission denied", os.path.join(directory, "floatimage.bin"))

    monkeypatch.setattr(sys.modules["nanobrag.outputs"], "write_legacy_outputs", refuse)
    assert main(ARGS + ["-noprogress"]) == 1
    err = capsys.readouterr().err
    assert err == f"nanobrag: error: cannot write {workdir / 'floatimage.bin'}: Permission denied\n"


def test_reader_warnings_are_printed_once_as_notes(workdir, capsys, fake_run, monkeypatch):
    import warnings

    def read_hkl(path, default_F):
        warnings.warn("odd line 3 skipped", UserWarning)
        return nanobrag.StructureFactorTable((0, 0, 0), np.ones((1, 1, 1)))

    monkeypatch.setattr(nanobrag.legacy_flags.files, "read_hkl", read_hkl)
    (workdir / "x.hkl").write_text("0 0 0 1\n")
    assert main(ARGS + ["-hkl", "x.hkl", "-noprogress"]) == 0
    assert capsys.readouterr().err == "nanobrag: note: -hkl: odd line 3 skipped\n"


@pytest.mark.parametrize("engine", ["c", "torch"])
def test_engine_warnings_are_printed_with_one_prefix(workdir, capsys, engine):
    """Both engines' warnings already start with "WARNING:"; the summary must not add a second one."""
    (workdir / "x.hkl").write_text("0 0 0 10\n")
    # 40 cells of 50 A with -oversample 1 forced: the legacy warns that one sample per pixel is too few
    argv = ARGS + ["-hkl", "x.hkl", "-N", "40", "-oversample", "1", "-noprogress", "-engine", engine]
    assert main(argv) == 0
    out = capsys.readouterr().out
    warned = [line for line in out.splitlines() if "recommend -oversample" in line]
    assert len(warned) == 1 and warned[0].startswith("WARNING: maximum dimension of sample"), out
    assert "WARNING: WARNING" not in out


def test_a_warning_without_the_prefix_gets_one():
    from nanobrag.cli import _warning_line

    assert _warning_line("something odd") == "WARNING: something odd"
    assert _warning_line("WARNING: already said") == "WARNING: already said"
