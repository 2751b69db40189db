"""nanobrag-noisify reproduces every legacy noisify golden case, and the recorded control runs."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from noisify_cases import args, case, cases, read, stage_inputs

from nanobrag import noisify_cli

CASES = [c["name"] for c in cases()]


def run(tmp_path: Path, argv, monkeypatch, capsys=None) -> int:
    monkeypatch.chdir(tmp_path)
    return noisify_cli.main(list(argv))


def smv_pixels(raw: bytes) -> np.ndarray:
    """Independent SMV decoding (the golden suite README's recipe)."""
    h = dict(re.findall(r"(\w+)=([^;\n]*)", raw[:512].decode("latin-1")))
    dtype = "<u2" if h["TYPE"] == "unsigned_short" else "<u4"
    return np.frombuffer(raw[int(h["HEADER_BYTES"]):], dtype).reshape(int(h["SIZE2"]), int(h["SIZE1"]))


def test_the_suite_is_complete():
    assert len(CASES) == 14  # every noisify case of the visible golden suite


@pytest.mark.parametrize("name", CASES)
def test_golden_case_outputs_are_byte_identical(name, tmp_path, monkeypatch):
    stage_inputs(name, tmp_path)
    assert run(tmp_path, args(name), monkeypatch) == 0
    record = case(name)
    written = sorted(p.name for p in tmp_path.iterdir() if p.name not in {i["file"] for i in record["inputs"]})
    assert written == sorted(o["file"] for o in record["outputs"])  # no extra, no missing file
    for out in record["outputs"]:
        ours = (tmp_path / out["file"]).read_bytes()
        assert hashlib.sha256(ours).hexdigest() == out["sha256"], out["file"]
        assert ours == read(name, out["stored_as"])


@pytest.mark.parametrize("name", ["nz_defaults_guess_dims", "nz_psf_gauss_auto_noise", "nz_header_import_custom_names"])
def test_16_bit_outputs_read_back_with_fabio_and_pillow(name, tmp_path, monkeypatch):
    fabio = pytest.importorskip("fabio")
    Image = pytest.importorskip("PIL.Image")
    stage_inputs(name, tmp_path)
    assert run(tmp_path, args(name), monkeypatch) == 0
    for out in case(name)["outputs"]:
        path = tmp_path / out["file"]
        if out["kind"] == "smv":
            data = fabio.open(str(path)).data
            np.testing.assert_array_equal(data, smv_pixels(read(name, out["stored_as"])))
        elif out["kind"] == "pgm":
            with Image.open(path) as im:
                assert im.size == (out["shape"][1], out["shape"][0])
                assert np.asarray(im).max() <= 255


def test_32_bit_images_hold_the_legacy_values(tmp_path, monkeypatch):
    name = "nz_bits32_bright"
    stage_inputs(name, tmp_path)
    assert run(tmp_path, args(name), monkeypatch) == 0
    noise = smv_pixels((tmp_path / "noise32.img").read_bytes())
    noiseless = smv_pixels((tmp_path / "int32.img").read_bytes())
    assert noise.dtype == np.dtype("<u4") and noise.max() > 65535  # really 32-bit
    assert noiseless.max() == 65535  # the legacy clips the noiseless 32-bit image at 65535


def test_python_m_entry_point(tmp_path):
    name = "nz_positional_floatimage_nonoise"
    stage_inputs(name, tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-m", "nanobrag.noisify_cli", *args(name)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "intimage.img").read_bytes() == read(name, "intimage.img")


# ---- control runs recorded with the golden suite (cases.json "checks")


def _noise(tmp_path, monkeypatch, argv, sub):
    d = tmp_path / sub
    d.mkdir()
    stage_inputs("nz_defaults_guess_dims", d)
    assert run(d, argv, monkeypatch) == 0
    return (d / "noiseimage.img").read_bytes()


def test_seed_0_equals_seed_1_and_negative_seeds_differ(tmp_path, monkeypatch):
    base = ["-floatfile", "in_float.bin"]
    one = _noise(tmp_path, monkeypatch, base + ["-seed", "1"], "s1")
    assert _noise(tmp_path, monkeypatch, base + ["-seed", "0"], "s0") == one
    assert _noise(tmp_path, monkeypatch, base + ["-seed", "-1"], "sm1") != one
    assert _noise(tmp_path, monkeypatch, base + ["-seed", "2"], "s2") != one


def test_the_default_calibration_seed_differs_from_giving_it(tmp_path, monkeypatch):
    base = ["-floatfile", "in_float.bin", "-seed", "11"]
    default = _noise(tmp_path, monkeypatch, base, "default")
    assert default == read("nz_defaults_guess_dims", "noiseimage.img")
    explicit = _noise(tmp_path, monkeypatch, base + ["-calibration", "0.03", "-calib_seed", "123456789"], "explicit")
    assert explicit != default


def test_nonoise_zeroes_the_extra_noise_and_floatfile_equals_positional(tmp_path, monkeypatch):
    name = "nz_positional_floatimage_nonoise"
    for sub, extra in (("a", ["-calibration", "0.5", "-readout", "9", "-flicker", "0.3"]), ("b", [])):
        d = tmp_path / sub
        d.mkdir()
        stage_inputs(name, d)
        argv = ["-floatfile", "floatimage.bin"] if sub == "b" else ["floatimage.bin"]
        assert run(d, argv + ["-detpixels", "128", "-seed", "12", "-nonoise"] + extra, monkeypatch) == 0
        for f in ("intimage.img", "image.pgm"):
            assert (d / f).read_bytes() == read(name, f)
        assert not (d / "noiseimage.img").exists()


def test_reordered_seeds_and_unused_pixel_seeds(tmp_path, monkeypatch):
    name = "nz_seed_calib_seed_unused_pix_seeds"
    stage_inputs(name, tmp_path)
    argv = ["-floatfile", "in_float.bin", "-detpixels", "128", "-calibration", "0.1", "-calib_seed", "99", "-seed", "17"]
    assert run(tmp_path, argv, monkeypatch) == 0
    assert (tmp_path / "noiseimage.img").read_bytes() == read(name, "noiseimage.img")


def test_unknown_psf_type_warns_and_renders_no_psf(tmp_path, monkeypatch, capsys):
    name = "nz_psf_fiber_radius_nonoise"
    stage_inputs(name, tmp_path)
    argv = args(name)
    argv[argv.index("fiber")] = "airy"
    assert run(tmp_path, argv, monkeypatch) == 0
    assert "WARNING: unknown psf type: airy" in capsys.readouterr().out
    ours = (tmp_path / "intimage.img").read_bytes()
    assert ours != read(name, "intimage.img")
    # without a PSF the noiseless image is trunc(photons * gain + adc) of the input (scale 20, adc 0)
    factor = np.float64((125932015286227086360700780544.0 * 7.94079248018965e-30) * 20.0)
    photons = (np.frombuffer(read(name, "in_float.bin"), "<f4").astype(np.float64) * factor).astype(np.float32)
    expected = np.trunc(np.minimum(photons.astype(np.float64), 65535)).astype(np.uint16).reshape(128, 128)
    np.testing.assert_array_equal(smv_pixels(ours), expected)


def test_fiber_psf_edge_taps_wrap_into_the_next_row(tmp_path, monkeypatch, capsys):
    """The synthetic delta control of the suite: values recorded from the legacy program."""
    image = np.zeros((16, 16), np.float32)
    image[5, 15] = 1000
    image[15, 3] = 1000
    image.tofile(tmp_path / "delta.bin")
    argv = ["-floatfile", "delta.bin", "-detpixels", "16", "-nonoise", "-psf", "fiber", "-psf_fwhm", "100",
            "-psf_radius", "2", "-adc", "0", "-nopgm", "-seed", "1"]
    assert run(tmp_path, argv, monkeypatch) == 0
    out = smv_pixels((tmp_path / "intimage.img").read_bytes())
    result = case("nz_psf_fiber_radius_nonoise")["checks"][0]["result"]
    assert list(out[5, 12:16]) == result["row5_fast12..15"]
    assert list(out[6, 0:3]) == result["row6_fast0..2"]
    assert list(out[7, 0:3]) == result["row7_fast0..2"]
    assert list(out[4, 0:3]) == result["row4_fast0..2"]
    assert list(out[15, 0:6]) == result["row15_fast0..5"]
    assert list(out[0, 0:6]) == result["row0_fast0..5"]
    assert "adding back 620.221 lost photons" in capsys.readouterr().out


@pytest.mark.parametrize("name", CASES)
def test_counts_match_the_legacy_stdout(name, tmp_path, monkeypatch, capsys):
    """Photon sums, overloads, lost photons and PSF radius: the numbers the legacy program printed."""
    from nanobrag.noisify_flags import parse_noisify_args

    stage_inputs(name, tmp_path)
    monkeypatch.chdir(tmp_path)
    job = parse_noisify_args(args(name))
    captured = []

    import nanobrag.noisify_cli as module

    real = module.apply_detector_response

    def spy(*a, **k):
        captured.append(real(*a, **k))
        return captured[-1]

    monkeypatch.setattr(module, "apply_detector_response", spy)
    noisify_cli.run_noisify(job)
    stats = captured[0].stats
    legacy = read(name, "stdout.txt").decode()
    m = re.search(r"maximum value in input file: (\S+)", legacy)
    assert f"{stats.max_input:g}" == m.group(1)
    m = re.search(r"^(\d+) photons on noise image \((\d+) overloads\)", legacy, re.M)
    if m:
        assert f"{stats.photons:.0f}" == m.group(1) and stats.overloads == int(m.group(2))
    m = re.search(r"^(\d+) photons on noise image before PSF", legacy, re.M)
    if m:
        assert f"{stats.photons_before_psf:.0f}" == m.group(1)
    m = re.search(r"adding back (\S+) lost photons", legacy)
    if m:
        assert f"{stats.lost_photons:g}" == m.group(1)
    m = re.search(r"auto-selected psf_radius = (\d+) pixels", legacy)
    if m:
        assert stats.psf_radius_px == int(m.group(1))
