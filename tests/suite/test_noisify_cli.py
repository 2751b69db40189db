"""nanobrag-noisify's command line (errors, quirks) and the detector response inside ``nanobrag``."""
from __future__ import annotations

import numpy as np
import pytest

from noisify_cases import read, stage_inputs

from nanobrag import cli, noisify_cli
from nanobrag.noisify_flags import parse_noisify_args

SMALL = ["-cell", "50", "50", "50", "90", "90", "90", "-default_F", "30", "-N", "3", "-detpixels", "48",
         "-pixel", "0.1", "-distance", "50", "-water", "0.03", "-engine", "c", "-noprogress", "-seed", "5"]  # ~25 photons/pixel


def _error(capsys) -> str:
    return capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["-floatfile", "x.bin", "-psf_fwhm", "wide"], ["-psf_fwhm", "a number", "'wide'"]),
    (["-floatfile", "x.bin", "-seed"], ["-seed", "ends there"]),
    (["-floatfile", "x.bin", "-psf_radius", "-2"], ["-psf_radius", ">= 0"]),
    (["-floatfile", "x.bin", "-calibration", "nan"], ["-calibration"]),
    (["-floatfile", "x.bin", "-detpixels_x", "1.5"], ["-detpixels_x", "integer"]),
    (["-floatfile", "x.bin", "-psfx", "gauss"], ["unknown option -psfx"]),
    (["-floatfile", "x.bin", "stray"], ["unexpected argument 'stray'"]),
])
def test_bad_command_lines_are_usage_errors(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert noisify_cli.main(argv) == 2
    err = _error(capsys)
    assert err.startswith("nanobrag-noisify: error:")
    for w in words:
        assert w in err
    assert not any(p.suffix in (".img", ".pgm") for p in tmp_path.iterdir())


def test_missing_short_and_nonfinite_inputs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert noisify_cli.main(["-floatfile", "absent.bin"]) == 2
    assert "cannot read absent.bin" in _error(capsys)
    np.zeros(10, np.float32).tofile(tmp_path / "short.bin")
    assert noisify_cli.main(["-floatfile", "short.bin", "-detpixels", "4"]) == 2
    assert "need 64 bytes" in _error(capsys)  # the legacy reads 10 floats and leaves the rest 0
    bad = np.ones(16, np.float32)
    bad[3] = np.inf
    bad.tofile(tmp_path / "inf.bin")
    assert noisify_cli.main(["-floatfile", "inf.bin"]) == 2
    assert "inf or NaN" in _error(capsys)
    (tmp_path / "hdr.img").write_bytes(b"not a header" * 100)
    np.ones(16, np.float32).tofile(tmp_path / "ok.bin")
    assert noisify_cli.main(["-floatfile", "ok.bin", "-header", "hdr.img"]) == 2
    assert "does not look like an SMV file" in _error(capsys)
    assert noisify_cli.main(["-floatfile", "ok.bin", "-intfile", "same.img", "-noisefile", "same.img"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hdr.img", "inf.bin", "ok.bin", "short.bin"]


def test_no_arguments_prints_the_usage(capsys):
    assert noisify_cli.main([]) == 2
    assert "-psf_fwhm" in capsys.readouterr().out
    assert noisify_cli.main(["-help"]) == 0


def test_parser_quirks():
    job = parse_noisify_args(["my_floatimage.bin.old", "-psf", "gaussian", "-psf_rad", "3.9", "-seed", "-5"])
    assert job.input_path == "my_floatimage.bin.old"  # bare argument containing floatimage.bin
    assert job.psf_type == "gauss" and job.psf_radius_px == 3  # substring match; atof truncated to int
    assert job.seed == -5
    assert parse_noisify_args(["-psf", "none"]).psf_type == "none"
    assert parse_noisify_args(["-psf_width", "70"]).psf_fwhm_um == 70
    assert parse_noisify_args(["-readnoise", "2"]).readout_noise_adu == 2


def test_only_detpixels_x_divides_the_file(tmp_path, monkeypatch):
    name = "nz_guess_nonsquare_transposed"
    stage_inputs(name, tmp_path)
    monkeypatch.chdir(tmp_path)
    assert noisify_cli.main(["-floatfile", "in_float.bin", "-seed", "22", "-nopgm", "-detpixels_x", "96"]) == 0
    ours = (tmp_path / "intimage.img").read_bytes()
    golden = read(name, "intimage.img")
    assert b"SIZE1=96;\nSIZE2=64;" in ours[:512]
    assert ours[512:] == golden[512:]  # same pixel stream; only the header's size differs (suite control)


# ---- the detector response inside the nanobrag command


def test_nanobrag_applies_the_response_to_its_noise_image(tmp_path, monkeypatch):
    """One run with the response == render, then nanobrag-noisify on the float image (one pipeline)."""
    monkeypatch.chdir(tmp_path)
    response = ["-psf", "gauss", "-psf_fwhm", "80", "-readout_noise", "3", "-flicker", "0.02", "-gain", "1.5"]
    assert cli.main(SMALL + response) == 0
    one_run = (tmp_path / "noiseimage.img").read_bytes()
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    assert cli.main(SMALL) == 0
    assert (plain / "noiseimage.img").read_bytes() != one_run
    assert (plain / "floatimage.bin").read_bytes() == (tmp_path / "floatimage.bin").read_bytes()
    two = tmp_path / "two"
    two.mkdir()
    (two / "floatimage.bin").write_bytes((tmp_path / "floatimage.bin").read_bytes())
    monkeypatch.chdir(two)
    assert noisify_cli.main(["-floatfile", "floatimage.bin", "-detpixels", "48", "-pixel", "0.1", "-calibration",
                             "0", "-seed", "5"] + response) == 0
    assert (two / "noiseimage.img").read_bytes()[512:] == one_run[512:]


def test_nanobrag_nonoise_blurs_the_rendered_image(tmp_path, monkeypatch, capsys):
    """As noisify -nonoise: without a noise image the PSF goes on the float, integer and PGM images."""
    from nanobrag.c_engine import response as c_response
    from nanobrag.detector_response import psf_fwhm_pixels

    plain, blurred = tmp_path / "plain", tmp_path / "blurred"
    for d, extra in ((plain, []), (blurred, ["-psf", "fiber", "-psf_fwhm", "150", "-psf_radius", "3"])):
        d.mkdir()
        monkeypatch.chdir(d)
        assert cli.main(SMALL + ["-nonoise"] + extra) == 0
    assert "only the PSF of the detector response applies" in capsys.readouterr().err
    image = np.fromfile(plain / "floatimage.bin", "<f4").reshape(48, 48)
    expected, _, _ = c_response.apply_psf(image, "fiber", psf_fwhm_pixels(150, 0.1), 3)
    np.testing.assert_array_equal(np.fromfile(blurred / "floatimage.bin", "<f4").reshape(48, 48), expected)
    assert (blurred / "intimage.img").read_bytes() != (plain / "intimage.img").read_bytes()
    assert not (blurred / "noiseimage.img").exists()


def test_nanobrag_response_flags_reach_the_config():
    from nanobrag import Config

    cfg = Config.from_args(SMALL + ["-psf", "fiber", "-psf_fwhm", "60", "-psf_radius", "5", "-readout", "2",
                                    "-calibration", "0.1", "-calib_seed", "7", "-gain", "2"])
    r = cfg.response
    assert (r.psf_type, r.psf_fwhm_um, r.psf_radius_px, r.readout_noise_adu) == ("fiber", 60, 5, 2)
    assert (r.calibration_noise, r.calibration_seed, r.gain_adu_per_photon) == (0.1, 7, 2)
    assert r.active() and not Config.from_args(SMALL).response.active()


def test_every_noisify_alias_gives_the_same_job_as_the_name():
    from nanobrag.noisify_flags import NOISIFY_FLAGS

    for flag in NOISIFY_FLAGS:
        name, aliases, takes = flag.name, flag.aliases, bool(flag.values)
        value = ["gauss" if name == "-psf" else ("in.bin" if name in ("-floatfile", "-header") or "file" in name
                                                 else "3")] if takes else []
        reference = parse_noisify_args([name] + value)
        for alias in aliases:
            assert parse_noisify_args([alias] + value) == reference, alias
