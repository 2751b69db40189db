"""nanobrag-nonbragg: the legacy option rules, the deliberate differences, and the -amorphous_* options of nanobrag."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nanobrag
from nanobrag.config import ConfigError
from nanobrag.nonbragg import parse_nonbragg_args
from nanobrag.nonbragg.cli import main

from nonbragg_golden import SUITE_DIR, case

STOL = SUITE_DIR / "nb_basic_flux_noise" / "a.stol"
SMALL = ["-stol", "a.stol", "-detpixels", "8", "-pixel", "2", "-distance", "40", "-fluence", "1e20", "-seed", "3"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    shutil.copy(STOL, tmp_path / "a.stol")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def parse(folder, *args):
    return parse_nonbragg_args(list(args), cwd=str(folder))


def test_pgm_has_no_heap_garbage_tail(folder):
    """Deliberate difference: the legacy writes 2*fast*slow pixel bytes, the second half heap garbage."""
    assert main(SMALL + ["-nonoise"]) == 0
    raw = (folder / "image.pgm").read_bytes()
    header = b"P5\n8 8\n"
    assert raw.startswith(header)
    body_start = raw.index(b"255\n") + 4
    assert len(raw) - body_start == 8 * 8
    # the legacy golden PGM is longer by exactly fast*slow bytes
    c = case("nb_basic_flux_noise")
    legacy = c.expected("image.pgm")
    assert len(legacy) == c.outputs["image.pgm"]["defined_bytes"] + 128 * 128


def test_default_beam_centre_is_the_legacy_asymmetric_one(folder):
    p = parse(folder, "-stol", "a.stol", "-detpixels", "128", "-pixel", "0.15", "-distance", "40")
    g = nanobrag.simulate(p.config, engine="c").geometry
    # (detsize - pixel)/2 along fast, (detsize + pixel)/2 along slow (legacy nonBragg)
    assert g.fbeam_m == pytest.approx(9.525e-3, abs=1e-15)
    assert g.sbeam_m == pytest.approx(9.675e-3, abs=1e-15)


def test_odet_vector_is_ignored_and_noted(folder):
    a = parse(folder, *SMALL, "-fdet_vector", "0", "1", "0", "-sdet_vector", "0", "0", "1")
    b = parse(folder, *SMALL, "-fdet_vector", "0", "1", "0", "-sdet_vector", "0", "0", "1", "-odet_vector", "1", "1", "1")
    assert a.config.detector.odet_vector == b.config.detector.odet_vector == (1.0, 0.0, 0.0)
    assert any("-odet_vector has no effect" in n for n in b.options.notes)


def test_twotheta_axis_collision_is_not_reproduced(folder):
    """As for nanoBragg: the legacy substring match also read -twotheta_axis X Y Z as -twotheta X."""
    p = parse(folder, *SMALL, "-twotheta", "20", "-twotheta_axis", "0", "0", "1")
    assert p.config.detector.twotheta_deg == 20.0
    assert p.config.detector.pivot == "sample"  # from -twotheta
    assert p.config.detector.twotheta_axis == (0.0, 0.0, 1.0)


def test_switches_work_at_the_end(folder):
    """Deliberate difference (as for nanoBragg): the legacy -curved_det needed one more argument after it."""
    assert parse(folder, *SMALL, "-curved_det").config.detector.curved is True


def test_noise_switches_last_one_wins(folder):
    assert parse(folder, *SMALL, "-nonoise", "-noisefile", "n.img").config.output.write_noise is True
    assert parse(folder, *SMALL, "-noisefile", "n.img", "-nonoise").config.output.write_noise is False


def test_last_pivot_option_wins(folder):
    assert parse(folder, *SMALL, "-Xclose", "5", "-distance", "40").config.detector.pivot == "beam"
    assert parse(folder, *SMALL, "-Xbeam", "5", "-ORGX", "7").config.detector.pivot == "sample"


@pytest.mark.parametrize("args,message", [
    (["-img", "x.img"], "-img is not supported"),
    (["-hdivrang", "0.2"], "unknown option -hdivrang"),
    (["-density", "abc"], "-density expects a number >= 0"),
    (["-thickness"], "command line ends there"),
])
def test_errors_name_the_option(folder, args, message):
    with pytest.raises(ConfigError, match=message):
        parse(folder, *SMALL, *args)


def test_stol_table_is_required(folder):
    with pytest.raises(ConfigError, match="give -stol FILE"):
        parse(folder, "-detpixels", "8")


def test_table_must_ascend(folder):
    (folder / "bad.stol").write_text("0 2.5\n0.2 2.4\n0.1 2.3\n0.3 2.0\n")
    with pytest.raises(ConfigError, match="-stol: .*increase strictly"):
        parse(folder, "-stol", "bad.stol")


def test_failed_run_writes_nothing(folder):
    assert main(["-stol", "missing.stol"]) == 2
    assert sorted(os.listdir(folder)) == ["a.stol"]


def test_module_runs_with_python_m(folder):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "nanobrag.nonbragg", *SMALL, "-nonoise", "-nopgm"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (folder / "floatimage.bin").stat().st_size == 8 * 8 * 4
    assert (folder / "intimage.img").stat().st_size == 512 + 8 * 8 * 2


def test_noise_comes_from_the_legacy_generator_without_earlier_draws(folder):
    """nonBragg draws nothing before the noise: -seed -5 (a positive idum) starts from a fresh table."""
    from nanobrag.c_engine import engine as c_engine

    p = parse(folder, *SMALL)
    image = np.full((8, 8), 10.0, np.float32)  # ~10 photons: Poisson deviates of the small-mean branch
    noise, _, _ = c_engine.noise_image(p.config, image, seed=-5)
    with_crystal = p.config.copy()
    with_crystal.crystal.cell = (30, 30, 30, 90, 90, 90)
    with_crystal.structure_factors.default_F = 1.0
    other, _, _ = c_engine.noise_image(with_crystal, image, seed=-5)
    assert not np.array_equal(noise, other)  # the crystal's mosaic draw precedes the noise there


# ---------------------------------------------------------------- the nanobrag command's -amorphous_* options


def test_nanobrag_amorphous_options_build_the_sample(folder):
    cfg = nanobrag.Config.from_args(["-cell", "30", "30", "30", "90", "90", "90", "-default_F", "10",
                                     "-amorphous_stol", "a.stol", "-amorphous_size", "0.05",
                                     "-amorphous_density", "0.9", "-amorphous_MW", "20"], cwd=str(folder))
    a = cfg.amorphous
    assert (a.thickness_mm, a.width_mm, a.height_mm, a.density_g_cm3, a.molecular_weight_g_mol) == (0.05, 0.05, 0.05, 0.9, 20.0)
    assert cfg.crystal.size_mm == (0.0, 0.0, 0.0)  # nanoBragg's crystal size options are untouched


def test_nanobrag_stol_keeps_its_legacy_meaning(folder):
    """Collision: nanoBragg's -stol is read and ignored; only -amorphous_stol renders the background."""
    base = ["-cell", "30", "30", "30", "90", "90", "90", "-default_F", "10", "-detpixels", "8", "-pixel", "2",
            "-oversample", "1"]
    plain = nanobrag.Config.from_args(base, cwd=str(folder))
    stol = nanobrag.Config.from_args(base + ["-stol", "a.stol"], cwd=str(folder))
    amorphous = nanobrag.Config.from_args(base + ["-amorphous_stol", "a.stol"], cwd=str(folder))
    assert stol.amorphous is None and amorphous.amorphous is not None
    img = lambda c: nanobrag.simulate(c, engine="c").float_image  # noqa: E731
    assert np.array_equal(img(plain), img(stol))
    assert np.all(img(amorphous) > img(plain))


def test_nanobrag_amorphous_option_needs_a_table(folder):
    with pytest.raises(ConfigError, match="-amorphous_thick needs the amorphous F"):
        nanobrag.Config.from_args(["-cell", "30", "-default_F", "1", "-amorphous_thick", "0.2"], cwd=str(folder))


def test_nanobrag_background_alone_without_a_crystal(folder):
    cfg = nanobrag.Config.from_args(["-amorphous_stol", "a.stol", "-detpixels", "8", "-pixel", "2",
                                     "-fluence", "1e20"], cwd=str(folder))
    c = nanobrag.simulate(cfg, engine="c").float_image
    t = nanobrag.simulate(cfg, engine="torch").float_image
    assert np.all(c > 0)
    assert np.max(np.abs(t.astype(float) - c) / c) <= 1e-6


def test_spec_lists_every_option_and_alias():
    from nanobrag.nonbragg.flags import NONBRAGG_FLAGS

    spec = (Path(__file__).resolve().parents[2] / "specs" / "amorphous.md").read_text()
    for flag in NONBRAGG_FLAGS:
        for spelling in flag.spellings:
            assert f"`{spelling}`" in spec, spelling


def test_fmap_holds_the_interpolated_F_at_each_pixel(folder):
    """-Fmap: a pixel is F at its sin(theta)/lambda (the cubic through 4 table points); both engines."""
    p = parse(folder, *SMALL, "-Fmap", "-nonoise")
    c = nanobrag.simulate(p.config, engine="c").float_image
    t = nanobrag.simulate(p.config, engine="torch").float_image
    assert np.max(np.abs(t.astype(float) - c)) <= 1e-6 * np.max(np.abs(c))
    # independent geometry: 8 x 8 pixels of 2 mm at 40 mm, beam at fast 7 mm, slow 9 mm (the nonBragg default)
    table = np.loadtxt(folder / "a.stol")
    for s, f in [(0, 0), (3, 5), (7, 2)]:
        pos = np.array([0.040, -((s + 0.5) * 2e-3 - 9e-3), (f + 0.5) * 2e-3 - 7e-3])
        d = pos / np.linalg.norm(pos)
        stol = 0.5 * np.linalg.norm(d - np.array([1.0, 0, 0])) / 1.0  # 1/Angstrom at lambda = 1 A
        k = np.searchsorted(table[:, 0], stol, side="right") - 1
        xs, ys = table[k - 1:k + 3, 0], table[k - 1:k + 3, 1]
        F = sum(ys[i] * np.prod([(stol - xs[j]) / (xs[i] - xs[j]) for j in range(4) if j != i]) for i in range(4))
        assert c[s, f] == pytest.approx(F, rel=1e-5)


def test_legacy_no_op_options_change_nothing_and_say_so(folder):
    """The header-comment flags and -detector_thick are no-ops in the legacy nonBragg (golden control run)."""
    base = parse(folder, *SMALL)
    more = parse(folder, *SMALL, "-dispstep", "3", "-hdiv", "0.28", "-vdiv", "0.28", "-coherent",
                 "-stolout", "x.stol", "-detector_thick", "100")
    assert np.array_equal(nanobrag.simulate(base.config, engine="c").float_image,
                          nanobrag.simulate(more.config, engine="c").float_image)
    for name in ("-dispstep", "-hdiv", "-vdiv", "-coherent", "-stolout", "-detector_thick"):
        assert any(n.startswith(f"{name} has no effect") for n in more.options.notes), name
